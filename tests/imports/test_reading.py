"""Messy bank exports read into exact values, or into row errors that say why."""

from __future__ import annotations

import codecs
import datetime as dt
from decimal import Decimal

import pytest

from finora_gql.imports.mapping import PRESET_OPTIONS, Mapping, Options, Preset, SignConvention
from finora_gql.imports.parsing import AmountParser, CellError, DateFormat, Encoding, detect_date_format
from finora_gql.imports.reading import FileError, Row, RowError, open_table


def read(data: bytes, mapping: Mapping = Mapping(), options: Options = Options()) -> tuple[list[Row], list[RowError]]:
    table = open_table(data, mapping, options)
    results = [table.read_row(record) for record in table.records]
    return [r for r in results if isinstance(r, Row)], [r for r in results if isinstance(r, RowError)]


def test_seed_format_with_bom_quotes_commas_newlines_and_blank_lines() -> None:
    data = codecs.BOM_UTF8 + (
        b'date,amount,category,merchant\r\n'
        b'2026-01-05,-12.50,Groceries,"Fresh, Market"\r\n'
        b'\r\n'
        b'2026-01-06,"-1,234.56",Rent,"Landlord\r\nLtd"\r\n'
        b'   \r\n'
        b'2026-01-07,2500,Salary,ACME\r\n'
    )
    rows, errors = read(data, options=PRESET_OPTIONS[Preset.FINORA])
    assert errors == []
    assert [(r.line, r.date, r.amount, r.category, r.merchant) for r in rows] == [
        (2, dt.date(2026, 1, 5), Decimal("-12.50"), "Groceries", "Fresh, Market"),
        (4, dt.date(2026, 1, 6), Decimal("-1234.56"), "Rent", "Landlord Ltd"),
        (7, dt.date(2026, 1, 7), Decimal("2500"), "Salary", "ACME"),
    ]
    assert open_table(data, Mapping(), Options()).encoding is Encoding.UTF_8_BOM


def test_european_export_in_latin_1_detected_without_options() -> None:
    data = (
        "Buchungstag;Empfänger;Verwendungszweck;Betrag\n"
        "03.02.2026;Bäckerei Müller;Brötchen;-3,45\n"
        "14.02.2026;Arbeitgeber GmbH;Gehalt Februar;2.345,67\n"
        "28.02.2026;Café Größe;Kaffee €;-1.000,00\n"
    ).encode("latin-1", errors="replace")
    table = open_table(data, Mapping(), Options())
    assert (table.encoding, table.delimiter, table.date_format, table.decimal_separator) == (
        Encoding.WINDOWS_1252, ";", DateFormat.DAY_MONTH_YEAR_DOTS, ",")
    rows, errors = read(data)
    assert errors == []
    assert [(r.date, r.amount, r.merchant, r.description) for r in rows] == [
        (dt.date(2026, 2, 3), Decimal("-3.45"), "Bäckerei Müller", "Brötchen"),
        (dt.date(2026, 2, 14), Decimal("2345.67"), "Arbeitgeber GmbH", "Gehalt Februar"),
        (dt.date(2026, 2, 28), Decimal("-1000.00"), "Café Größe", "Kaffee ?"),
    ]


def test_european_preset_reads_thousands_and_decimal_commas() -> None:
    data = b"Datum;Betrag;Beschreibung\n01.03.2026;-1.234.567,89;Haus\n02.03.2026;0,5;Zins\n"
    rows, errors = read(data, options=PRESET_OPTIONS[Preset.EUROPEAN])
    assert errors == []
    assert [r.amount for r in rows] == [Decimal("-1234567.89"), Decimal("0.5")]


def test_debit_credit_columns_parentheses_and_trailing_minus() -> None:
    data = (
        b"Date,Description,Debit,Credit,Balance\n"
        b"01/15/2026,Coffee,4.50,,100\n"
        b"01/16/2026,Refund,,\"1,020.00\",1000\n"
        b"01/17/2026,Card fee,(2.00),,998\n"
        b"01/18/2026,Both empty,,,998\n"
    )
    rows, errors = read(data)
    assert [(r.date, r.amount) for r in rows] == [
        (dt.date(2026, 1, 15), Decimal("-4.50")),
        (dt.date(2026, 1, 16), Decimal("1020.00")),
        (dt.date(2026, 1, 17), Decimal("-2.00")),
    ]
    assert [(e.line, e.field) for e in errors] == [(5, "amount")]
    assert "empty" in errors[0].reason


def test_amount_spellings() -> None:
    dot = AmountParser(".")
    assert dot("(12.50)") == Decimal("-12.50")
    assert dot("12.50-") == Decimal("-12.50")
    assert dot("$1,234.5") == Decimal("1234.5")
    assert dot("-USD 7") == Decimal("-7")
    assert dot("7.00 DR") == Decimal("-7.00")
    assert dot("7.00 CR") == Decimal("7.00")
    assert dot("\u2212 3.10") == Decimal("-3.10")
    assert dot(".75") == Decimal("0.75")
    comma = AmountParser(",")
    assert comma("-€ 1.234,50") == Decimal("-1234.50")
    assert comma("1 234,50") == Decimal("1234.50")
    for bad in ("", "abc", "1,23,4", "12.3.4", "--5"):
        with pytest.raises(CellError):
            dot(bad)


def test_positive_is_outflow_flips_the_sign() -> None:
    data = b"date,amount,description\n2026-01-02,25.00,Charge\n2026-01-03,-10.00,Payment\n"
    rows, _ = read(data, options=Options(sign=SignConvention.POSITIVE_IS_OUTFLOW))
    assert [r.amount for r in rows] == [Decimal("-25.00"), Decimal("10.00")]


def test_bad_rows_become_errors_with_line_numbers() -> None:
    data = (
        b"date,amount,description\n"
        b"2026-01-02,10.00,ok\n"
        b"2026-02-30,1.00,no such day\n"
        b"yesterday,1.00,not a date\n"
        b"2026-01-03,ten,not an amount\n"
        b"2026-01-04\n"
        b"2026-01-05,-3.00,fine again\n"
    )
    rows, errors = read(data)
    assert [r.line for r in rows] == [2, 7]
    assert [(e.line, e.field) for e in errors] == [(3, "date"), (4, "date"), (5, "amount"), (6, "amount")]


def test_day_first_or_month_first_is_decided_by_the_data() -> None:
    assert detect_date_format(["03/04/2026", "25/04/2026"]) is DateFormat.DAY_MONTH_YEAR_SLASHES
    assert detect_date_format(["03/04/2026", "04/25/2026"]) is DateFormat.MONTH_DAY_YEAR_SLASHES
    assert detect_date_format(["5 Jan 2026", "12 Feb 2026"]) is DateFormat.DAY_MONTH_NAME_YEAR
    with pytest.raises(CellError, match="dateFormat"):
        detect_date_format(["03/04/2026", "05/06/2026"])


def test_preamble_rows_skipped_and_headerless_files_mapped_by_number() -> None:
    data = b"Account statement\nExported 2026-02-01\n2026-01-02;-5,00;Bus\n"
    rows, errors = read(data, Mapping(date="1", amount="2", description="3"),
                        Options(skip_rows=2, has_header=False, delimiter=";"))
    assert errors == [] and [(r.amount, r.description) for r in rows] == [(Decimal("-5.00"), "Bus")]


def test_whole_file_problems_name_the_input() -> None:
    with pytest.raises(FileError) as missing:
        open_table(b"when,how much\n2026-01-01,1\n", Mapping(), Options())
    assert missing.value.field == "mapping.date"
    with pytest.raises(FileError) as unknown:
        open_table(b"date,amount\n2026-01-01,1\n", Mapping(amount="Betrag"), Options())
    assert unknown.value.field == "mapping.amount" and "“amount”" in str(unknown.value)
    with pytest.raises(FileError) as ambiguous:
        open_table(b"date,amount\n03/04/2026,1\n", Mapping(), Options())
    assert ambiguous.value.field == "options.dateFormat"
    with pytest.raises(FileError):
        open_table(b"date,amount\n", Mapping(), Options())

"""From the bytes of an export to rows of typed values, each row read or refused with a reason."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from finora_gql.imports.mapping import Columns, Mapping, MappingError, Options, SignConvention, resolve_columns
from finora_gql.imports.parsing import (
    AmountParser,
    CellError,
    DateFormat,
    DateParser,
    Encoding,
    Record,
    decode,
    detect_date_format,
    detect_decimal_separator,
    detect_delimiter,
    read_records,
)

MAX_DESCRIPTION = 500
MAX_MERCHANT = 200
MAX_CATEGORY = 60
MAX_EXTERNAL_ID = 100


class FileError(ValueError):
    """The file as a whole cannot be imported (nothing about one row); `field` says which input."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class Row:
    line: int
    date: dt.date
    amount: Decimal  # signed: negative is money out
    description: str
    merchant: str | None
    category: str | None
    currency: str | None
    external_id: str | None


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    field: str
    reason: str


@dataclass
class Table:
    """A decoded export: what was detected, and its data records, not yet read."""

    encoding: Encoding
    delimiter: str
    date_format: DateFormat
    decimal_separator: str
    columns: Columns
    records: list[Record]
    read_row: Callable[[Record], Row | RowError]


def _text(cells: list[str], index: int | None, limit: int) -> str | None:
    if index is None or index >= len(cells):
        return None
    return " ".join(cells[index].split())[:limit] or None


def open_table(data: bytes, mapping: Mapping, options: Options) -> Table:
    try:
        text, encoding = decode(data, options.encoding)
    except CellError as exc:
        raise FileError(str(exc), "options.encoding") from None
    delimiter = options.delimiter or detect_delimiter(text)
    records = list(read_records(text, delimiter=delimiter, skip_rows=options.skip_rows))
    del text
    if not records:
        raise FileError("The file has no rows.")
    if options.has_header and records[0].problem:
        raise FileError(f"The header line (line {records[0].line}) cannot be read: {records[0].problem}")
    header = records.pop(0).cells if options.has_header else None
    width = len(header) if header is not None else max(len(r.cells) for r in records[:50])
    try:
        columns = resolve_columns(header, width, mapping)
    except MappingError as exc:
        raise FileError(str(exc), exc.field) from None
    if not records:
        raise FileError("The file has a header but no rows.")

    def column(index: int | None) -> list[str]:
        return [r.cells[index] for r in records[:2000] if index is not None and index < len(r.cells)]

    try:
        date_format = options.date_format or detect_date_format(column(columns.date))
    except CellError as exc:
        raise FileError(str(exc), "options.dateFormat") from None
    amounts = column(columns.amount) + column(columns.debit) + column(columns.credit)
    decimal_separator = options.decimal_separator or detect_decimal_separator(amounts)
    try:
        read_amount = AmountParser(decimal_separator, options.thousands_separator)
    except CellError as exc:
        raise FileError(str(exc), "options.thousandsSeparator") from None
    read_date = DateParser(date_format)
    flip = options.sign is SignConvention.POSITIVE_IS_OUTFLOW
    c = columns

    def amount_of(cells: list[str]) -> Decimal:
        if c.amount is not None:
            value = read_amount(cells[c.amount])
            return -value if flip else value
        debit = cells[c.debit].strip() if c.debit < len(cells) else ""
        credit = cells[c.credit].strip() if c.credit < len(cells) else ""
        if not debit and not credit:
            raise CellError("Both the debit and the credit are empty.")
        # Debit columns hold money out; some banks write it negative, some positive.
        out = abs(read_amount(debit)) if debit else Decimal(0)
        into = abs(read_amount(credit)) if credit else Decimal(0)
        return into - out

    def read_row(record: Record) -> Row | RowError:
        if record.problem is not None:
            return RowError(record.line, "line", record.problem)
        cells = record.cells
        if c.date >= len(cells):
            return RowError(record.line, "date", f"The row has {len(cells)} columns; the date is in column {c.date + 1}.")
        try:
            day = read_date(cells[c.date])
        except CellError as exc:
            return RowError(record.line, "date", str(exc))
        try:
            amount = amount_of(cells)
        except CellError as exc:
            return RowError(record.line, "amount", str(exc))
        except IndexError:
            return RowError(record.line, "amount", f"The row has only {len(cells)} columns.")
        currency = _text(cells, c.currency, 3)
        return Row(
            line=record.line, date=day, amount=amount,
            description=_text(cells, c.description, MAX_DESCRIPTION) or "",
            merchant=_text(cells, c.merchant, MAX_MERCHANT),
            category=_text(cells, c.category, MAX_CATEGORY),
            currency=currency.upper() if currency else None,
            external_id=_text(cells, c.external_id, MAX_EXTERNAL_ID),
        )

    return Table(encoding, delimiter, date_format, decimal_separator, columns, records, read_row)

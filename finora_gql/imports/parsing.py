"""Reading a bank's CSV export: its encoding, delimiter, dates and amounts, as exact values.

Pure functions, no database: `read_table` turns bytes into records with their line numbers,
`detect_*` guess what the options leave open from the data itself, and `AmountParser` /
`DateParser` turn one cell into a Decimal or a date, or raise `CellError` with the reason.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import Enum

DELIMITERS = (",", ";", "\t", "|")
SNIFF_LINES = 30
SAMPLE_VALUES = 2000
SNIFF_LINE_CHARS = 65_536
MAX_CELL_KIB = csv.field_size_limit() // 1024


class CellError(ValueError):
    """A cell that cannot be read; the message is shown to the person importing."""


class Encoding(str, Enum):
    UTF_8 = "utf-8"
    UTF_8_BOM = "utf-8-sig"
    UTF_16 = "utf-16"
    WINDOWS_1252 = "windows-1252"
    LATIN_1 = "latin-1"


def decode(data: bytes, encoding: Encoding | None = None) -> tuple[str, Encoding]:
    """The text of `data` and the encoding it was read with.

    Without a stated encoding: a BOM decides; else UTF-8 if the bytes are valid UTF-8; else
    Windows-1252 (what spreadsheet programs call "ANSI" in the west), or Latin-1 for the few
    bytes 1252 leaves undefined. Latin-1 accepts any byte, so detection never fails.
    """
    if encoding is None:
        if data.startswith(codecs.BOM_UTF8):
            encoding = Encoding.UTF_8_BOM
        elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            encoding = Encoding.UTF_16
        else:
            for candidate in (Encoding.UTF_8, Encoding.WINDOWS_1252, Encoding.LATIN_1):
                try:
                    return data.decode(candidate.value), candidate
                except UnicodeDecodeError:
                    continue
    if encoding is Encoding.UTF_8 and data.startswith(codecs.BOM_UTF8):
        encoding = Encoding.UTF_8_BOM
    try:
        return data.decode(encoding.value), encoding
    except UnicodeDecodeError as exc:
        raise CellError(f"The file is not valid {encoding.value} (byte {exc.start + 1}).") from None


def detect_delimiter(text: str) -> str:
    """The candidate that splits the first lines into the most consistent number (>1) of columns."""
    # Lines cut to a sane length: a first line of megabytes must not stop the guess (csv's field limit).
    lines = [line[:SNIFF_LINE_CHARS] for line in text.splitlines()[: SNIFF_LINES * 2] if line.strip()][:SNIFF_LINES]
    best, best_score = ",", (0, 0)
    for candidate in DELIMITERS:
        try:
            widths = [len(row) for row in csv.reader(lines, delimiter=candidate, strict=False)]
        except csv.Error:
            continue
        if not widths:
            continue
        width, rows = Counter(widths).most_common(1)[0]
        if width > 1 and (rows, width) > best_score:
            best, best_score = candidate, (rows, width)
    return best


@dataclass(frozen=True, slots=True)
class Record:
    line: int  # the physical line the record starts on, 1-based, as an editor shows it
    cells: list[str]
    problem: str | None = None  # why the record cannot be read (it then has no cells)


def read_records(text: str, *, delimiter: str, skip_rows: int = 0) -> Iterator[Record]:
    """Every non-blank record after the first `skip_rows` lines; quoted fields may hold newlines.

    A record that cannot be read (a cell over csv's 128 KiB limit, a NUL byte, which Postgres
    cannot store) comes with its `problem` instead of cells: one row error, not a crash of the job.
    """
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    may_hold_nul = "\x00" in text
    last_line = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            start, last_line = last_line + 1, reader.line_num
            if start > skip_rows:
                reason = (f"A cell is longer than {MAX_CELL_KIB} KiB." if "field limit" in str(exc)
                          else f"The line cannot be read as CSV ({exc}).")
                yield Record(start, [], reason)
            continue
        start, last_line = last_line + 1, reader.line_num
        if start <= skip_rows or not any(cell.strip() for cell in cells):
            continue
        if may_hold_nul and any("\x00" in cell for cell in cells):
            yield Record(start, [], "The row contains a NUL byte (\\0); is this a text CSV file?")
            continue
        yield Record(start, cells)


# --- dates ---------------------------------------------------------------------------------

MONTHS = {name: number for number, name in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}


class DateFormat(str, Enum):
    ISO = "YYYY-MM-DD"
    DAY_MONTH_YEAR_DOTS = "DD.MM.YYYY"
    DAY_MONTH_YEAR_SLASHES = "DD/MM/YYYY"
    MONTH_DAY_YEAR_SLASHES = "MM/DD/YYYY"
    DAY_MONTH_YEAR_DASHES = "DD-MM-YYYY"
    YEAR_MONTH_DAY_SLASHES = "YYYY/MM/DD"
    DAY_MONTH_NAME_YEAR = "DD MMM YYYY"


_DATE_PATTERNS: dict[DateFormat, tuple[re.Pattern[str], str]] = {
    DateFormat.ISO: (re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ].*)?"), "ymd"),
    DateFormat.DAY_MONTH_YEAR_DOTS: (re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4}|\d{2})"), "dmy"),
    DateFormat.DAY_MONTH_YEAR_SLASHES: (re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})"), "dmy"),
    DateFormat.MONTH_DAY_YEAR_SLASHES: (re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})"), "mdy"),
    DateFormat.DAY_MONTH_YEAR_DASHES: (re.compile(r"(\d{1,2})-(\d{1,2})-(\d{4})"), "dmy"),
    DateFormat.YEAR_MONTH_DAY_SLASHES: (re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})"), "ymd"),
    DateFormat.DAY_MONTH_NAME_YEAR: (re.compile(r"(\d{1,2})[ -]([A-Za-z]{3})[a-z]*\.?[ -](\d{4})"), "dMy"),
}


class DateParser:
    def __init__(self, date_format: DateFormat) -> None:
        self.format = date_format
        self._pattern, self._order = _DATE_PATTERNS[date_format]

    def __call__(self, value: str) -> dt.date:
        match = self._pattern.fullmatch(value.strip())
        if match is None:
            raise CellError(f"“{value}” is not a date in the format {self.format.value}.")
        parts = dict(zip(self._order, match.groups(), strict=True))
        year = int(parts["y"])
        if len(parts["y"]) == 2:
            year += 2000 if year < 70 else 1900
        month = MONTHS.get(parts["M"].lower()) if "M" in parts else int(parts["m"])
        if month is None:
            raise CellError(f"“{value}” names no month.")
        try:
            return dt.date(year, month, int(parts["d"]))
        except ValueError:
            raise CellError(f"“{value}” is not a real date.") from None


class AmbiguousDates(CellError):
    pass


def detect_date_format(values: Sequence[str]) -> DateFormat:
    """The format most sampled values read as (a few bad rows don't spoil it); day-first vs
    month-first must be decided by the data (a day above 12), never guessed."""
    sample = [value for value in values if value.strip()][:SAMPLE_VALUES]
    if not sample:
        raise CellError("The date column is empty.")
    fits: dict[DateFormat, int] = {}
    for date_format in DateFormat:
        parse = DateParser(date_format)
        fits[date_format] = sum(1 for value in sample if _reads(parse, value))
    best = max(fits.values())
    if best * 2 < len(sample):
        raise CellError(f"Cannot read dates like “{sample[0]}”; set options.dateFormat.")
    fitting = [date_format for date_format, count in fits.items() if count == best]
    if len(fitting) > 1:
        raise AmbiguousDates(
            f"Dates like “{sample[0]}” could be {' or '.join(f.value for f in fitting)}; set options.dateFormat."
        )
    return fitting[0]


def _reads(parse: DateParser, value: str) -> bool:
    try:
        parse(value)
    except CellError:
        return False
    return True


# --- amounts -------------------------------------------------------------------------------

# Currency signs and codes banks put next to amounts; stripped before reading the number.
_DECORATION = re.compile(r"[\s\u00a0\u202f'’$€£¥₹₽₩₪₫฿]|\b[A-Z]{3}\b")
_EUROPEAN_DECIMAL = re.compile(r",\d{1,2}$")
_DOT_DECIMAL = re.compile(r"\.\d{1,2}$")


def detect_decimal_separator(values: Sequence[str]) -> str:
    """"," when amounts end in ,dd more often than in .dd; "." otherwise (and for whole numbers)."""
    comma = dot = 0
    for value in values[:SAMPLE_VALUES]:
        value = value.strip().rstrip(")-").rstrip()
        if _EUROPEAN_DECIMAL.search(value):
            comma += 1
        elif _DOT_DECIMAL.search(value):
            dot += 1
    return "," if comma > dot else "."


class AmountParser:
    """Reads "1,234.56", "(12.50)", "12.50-", "-€3,00", "7.00 DR" and the like into exact Decimals."""

    def __init__(self, decimal_separator: str = ".", thousands_separator: str | None = None) -> None:
        if thousands_separator is None:
            thousands_separator = "," if decimal_separator == "." else "."
        if decimal_separator == thousands_separator:
            raise CellError("The decimal and thousands separators must differ.")
        dec, thou = re.escape(decimal_separator), re.escape(thousands_separator)
        self._number = re.compile(rf"(\d{{1,3}}(?:{thou}\d{{3}})+|\d+)(?:{dec}(\d+))?|{dec}(\d+)")
        self._decimal = decimal_separator

    def __call__(self, value: str) -> Decimal:
        text = value.strip()
        if not text:
            raise CellError("The amount is empty.")
        negative = False
        upper = text.upper()
        if upper.endswith(("DR", "CR")):
            negative, text = upper.endswith("DR"), text[:-2]
        text = _DECORATION.sub("", text)
        if text.startswith("(") and text.endswith(")"):
            negative, text = not negative, text[1:-1]
        if text.endswith("-"):
            negative, text = not negative, text[:-1]
        text = text.replace("\u2212", "-")
        if text.startswith(("-", "+")):
            negative, text = negative ^ (text[0] == "-"), text[1:]
        text = _DECORATION.sub("", text)
        match = self._number.fullmatch(text)
        if match is None:
            raise CellError(f"“{value}” is not an amount (decimal separator “{self._decimal}”).")
        whole, fraction, only_fraction = match.groups()
        digits = re.sub(r"\D", "", whole or "0")
        fraction = fraction if fraction is not None else (only_fraction or "")
        try:
            amount = Decimal(f"{digits}.{fraction}" if fraction else digits)
        except InvalidOperation:  # pragma: no cover - the pattern only lets digits through
            raise CellError(f"“{value}” is not an amount.") from None
        return -amount if negative else amount

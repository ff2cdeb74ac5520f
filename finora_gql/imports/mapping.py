"""Which column holds what, and how the file is written: presets, header aliases and options.

A mapping names columns by their header (or "1", "2", ... when the file has no header row).
What the mapping leaves out is found through the aliases below, so the common exports of
banks work without any mapping at all; a preset fixes the options of a known format.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from enum import Enum

from finora_gql.imports.parsing import DateFormat, Encoding


class Preset(str, Enum):
    FINORA = "FINORA"  # the seed's export: date,amount,category,merchant; ISO dates, "." decimals
    DEBIT_CREDIT = "DEBIT_CREDIT"  # money out and money in as two positive columns
    EUROPEAN = "EUROPEAN"  # ";" delimiter, "," decimals, "." thousands, dd.mm.yyyy


class SignConvention(str, Enum):
    NEGATIVE_IS_OUTFLOW = "NEGATIVE_IS_OUTFLOW"
    POSITIVE_IS_OUTFLOW = "POSITIVE_IS_OUTFLOW"  # most credit-card exports list charges as positive


class LikelyDuplicatePolicy(str, Enum):
    IMPORT = "IMPORT"  # import them, flagged for review
    SKIP = "SKIP"


@dataclass(frozen=True)
class Options:
    delimiter: str | None = None
    encoding: Encoding | None = None
    date_format: DateFormat | None = None
    decimal_separator: str | None = None
    thousands_separator: str | None = None
    sign: SignConvention = SignConvention.NEGATIVE_IS_OUTFLOW
    skip_rows: int = 0
    has_header: bool = True
    likely_duplicates: LikelyDuplicatePolicy = LikelyDuplicatePolicy.IMPORT

    def over(self, defaults: Options) -> Options:
        """These options, with what they leave unset taken from `defaults`."""
        base = Options()
        return replace(defaults, **{
            f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) != getattr(base, f.name)
        })


@dataclass(frozen=True)
class Mapping:
    date: str | None = None
    amount: str | None = None
    debit: str | None = None
    credit: str | None = None
    description: str | None = None
    merchant: str | None = None
    category: str | None = None
    currency: str | None = None
    external_id: str | None = None


PRESET_OPTIONS = {
    Preset.FINORA: Options(delimiter=",", date_format=DateFormat.ISO, decimal_separator="."),
    Preset.DEBIT_CREDIT: Options(),
    Preset.EUROPEAN: Options(delimiter=";", date_format=DateFormat.DAY_MONTH_YEAR_DOTS,
                             decimal_separator=",", thousands_separator="."),
}

# Headers seen in exports of banks and budgeting apps (lower case, without punctuation).
ALIASES: dict[str, tuple[str, ...]] = {
    "date": ("date", "transaction date", "booking date", "posted date", "posting date", "value date", "datum",
             "buchungstag", "buchungsdatum", "valuta", "wertstellung", "fecha", "data", "date operation"),
    "amount": ("amount", "transaction amount", "value", "betrag", "umsatz", "importe", "montant", "bedrag",
               "importo", "amount eur", "amount usd"),
    "debit": ("debit", "debits", "withdrawal", "withdrawals", "paid out", "money out", "debit amount", "soll",
              "ausgang", "outflow"),
    "credit": ("credit", "credits", "deposit", "deposits", "paid in", "money in", "credit amount", "haben",
               "eingang", "inflow"),
    "description": ("description", "details", "memo", "narrative", "reference", "verwendungszweck",
                    "buchungstext", "beschreibung", "concepto", "libelle", "transaction description"),
    "merchant": ("merchant", "payee", "name", "counterparty", "beguenstigter zahlungspflichtiger",
                 "empfaenger", "empfänger", "auftraggeber empfaenger", "zahlungsempfaenger"),
    "category": ("category", "kategorie", "categoria", "categorie"),
    "currency": ("currency", "waehrung", "währung", "moneda", "devise"),
    "external_id": ("id", "transaction id", "reference number", "ref", "fitid", "external id", "transaktions id"),
}


def _normal(header: str) -> str:
    return " ".join("".join(ch if ch.isalnum() else " " for ch in header.lower()).split())


@dataclass(frozen=True)
class Columns:
    """Column positions for each field the file has; None where it has none."""

    date: int
    amount: int | None
    debit: int | None
    credit: int | None
    description: int | None
    merchant: int | None
    category: int | None
    currency: int | None
    external_id: int | None
    names: tuple[str, ...]


class MappingError(ValueError):
    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def resolve_columns(header: list[str] | None, width: int, mapping: Mapping) -> Columns:
    """Positions of the mapped (or recognised) columns; MappingError names what is missing."""
    names = [cell.strip() for cell in header] if header is not None else [str(i) for i in range(1, width + 1)]
    by_name = {_normal(name): index for index, name in reversed(list(enumerate(names)))}
    found: dict[str, int | None] = {}
    for field in fields(Mapping):
        wanted = getattr(mapping, field.name)
        if wanted is not None:
            index = by_name.get(_normal(wanted))
            if index is None:
                raise MappingError(
                    f"No column “{wanted}”; the file has {', '.join(f'“{n}”' for n in names)}.",
                    f"mapping.{_camel(field.name)}",
                )
            found[field.name] = index
        elif header is not None:
            found[field.name] = next((by_name[a] for a in ALIASES[field.name] if a in by_name), None)
        else:
            found[field.name] = None
    if found["date"] is None:
        raise MappingError("Say which column holds the date.", "mapping.date")
    has_split = found["debit"] is not None or found["credit"] is not None
    if mapping.amount is not None and (mapping.debit is not None or mapping.credit is not None):
        raise MappingError("Map either amount or debit and credit, not both.", "mapping.amount")
    if mapping.amount is None and has_split:
        found["amount"] = None  # separate columns are more specific than a recognised "amount"
    if found["amount"] is None and (found["debit"] is None or found["credit"] is None):
        if has_split:
            raise MappingError("Map both the debit and the credit column.", "mapping.debit")
        raise MappingError("Say which column holds the amount (or the debit and credit columns).", "mapping.amount")
    if found["merchant"] == found["description"]:
        found["merchant"] = None
    return Columns(**found, names=tuple(names))


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)

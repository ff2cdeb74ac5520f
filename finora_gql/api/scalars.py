"""The schema's scalars, described for clients: Decimal is a string, DateTime is UTC, and
currencies are one `CurrencyCode` scalar that accepts only ISO 4217 codes (the list is in
core/currency.py; no network)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import NewType

import strawberry
from strawberry.schema.types.base_scalars import DateDefinition, DateTimeDefinition, DecimalDefinition

from finora_gql.core.currency import is_currency
from finora_gql.core.errors import PublicError


class BadCurrency(PublicError):
    """A value that is not an ISO 4217 code: a client's mistake, answered with its code (not logged as a bug)."""

    code = "BAD_USER_INPUT"


def _parse_currency(value: object) -> str:
    if not isinstance(value, str):
        raise BadCurrency("A currency is a string: an ISO 4217 code such as \"EUR\".")
    code = value.strip().upper()
    if not is_currency(code):
        raise BadCurrency(f"{value[:10]!r} is not an ISO 4217 currency code (such as \"EUR\" or \"USD\").")
    return code


# Annotate fields with CurrencyCode; the schema maps it to the scalar below (SCALAR_MAP).
CurrencyCode = NewType("CurrencyCode", str)

CURRENCY_CODE = strawberry.scalar(
    name="CurrencyCode",
    description="An ISO 4217 currency code in circulation, such as \"EUR\" or \"USD\". Input is trimmed and upper-cased; "
    "anything else is refused as a bad argument.",
    specified_by_url="https://www.iso.org/iso-4217-currency-codes.html",
    serialize=str,
    parse_value=_parse_currency,
)

SCALAR_MAP = {CurrencyCode: CURRENCY_CODE}

SCALAR_OVERRIDES: dict[object, object] = {
    Decimal: dataclasses.replace(
        DecimalDefinition,
        description="An exact decimal number, sent and received as a string (e.g. \"-12.50\"), never a float. "
        "Money amounts have as many decimals as their currency's minor unit.",
    ),
    dt.datetime: dataclasses.replace(
        DateTimeDefinition,
        description="A moment in time in ISO 8601, always in UTC with its offset (e.g. \"2026-03-31T18:30:00+00:00\").",
    ),
    dt.date: dataclasses.replace(
        DateDefinition,
        description="A calendar day in ISO 8601 (\"2026-03-31\"), in the owner's calendar (no time zone).",
    ),
}

"""Validation of amounts: exact Decimals that respect their currency's minor units."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from babel.numbers import format_currency

from finora_gql.core.currency import minor_units
from finora_gql.core.errors import ErrorCode, ServiceError

# NUMERIC(20, 4) holds up to 16 integer digits; stay well inside it.
MAX_ABS_AMOUNT = Decimal("1e12")


def clean_amount(
    value: Decimal, *, currency: str, field: str = "amount", allow_zero: bool = True, positive: bool = False
) -> Decimal:
    if not value.is_finite():
        raise ServiceError(ErrorCode.INVALID, "Amount must be a finite number.", field)
    if abs(value) >= MAX_ABS_AMOUNT:
        raise ServiceError(ErrorCode.INVALID, "Amount is too large.", field)
    places = minor_units(currency)
    if value != value.quantize(Decimal(1).scaleb(-places)):
        raise ServiceError(ErrorCode.INVALID, f"{currency} amounts have at most {places} decimal places.", field)
    if positive and value <= 0:
        raise ServiceError(ErrorCode.INVALID, "Amount must be greater than zero.", field)
    if not allow_zero and value == 0:
        raise ServiceError(ErrorCode.INVALID, "Amount must not be zero.", field)
    return value


def round_money(value: Decimal, currency: str) -> Decimal:
    """Round once, at the end, to the currency's minor units (banker's rounding).

    Stored amounts already fit their currency, so for them this only fixes the scale:
    NUMERIC(20, 4) reads back as 12.5000, the API shows 12.50.
    """
    return value.quantize(Decimal(1).scaleb(-minor_units(currency)), rounding=ROUND_HALF_EVEN)


# Until people choose a locale (there is no such setting on the user yet), messages use this one.
DEFAULT_LOCALE = "en_US"


def format_money(amount: Decimal, currency: str, locale: str = DEFAULT_LOCALE) -> str:
    """Money for people, in messages: "$500.00", "500,00 €" (de_DE), "¥1,200" (JPY has no minor units).

    Babel's CLDR data decides the symbol, its place and the separators; the amount is rounded to
    the currency's minor units first, so "500.0000" as stored reads "$500.00".
    """
    try:
        rounded = round_money(amount, currency)
    except Exception:  # noqa: BLE001 - an unknown code still prints, as "500.00 XYZ"
        rounded = amount
    try:
        return format_currency(rounded, currency, locale=locale, currency_digits=True)
    except Exception:  # noqa: BLE001
        return f"{rounded} {currency}"

"""Money in messages reads as people write it (Babel's CLDR data), never as `500.0000 USD`."""

from __future__ import annotations

from decimal import Decimal

import pytest

from finora_gql.core.money import format_money


@pytest.mark.parametrize(
    ("amount", "currency", "locale", "expected"),
    [
        ("500.0000", "USD", "en_US", "$500.00"),
        ("1234.5", "USD", "en_US", "$1,234.50"),
        ("-12.5", "USD", "en_US", "-$12.50"),
        ("500", "EUR", "de_DE", "500,00\xa0€"),
        ("1234.5", "EUR", "fr_FR", "1\u202f234,50\xa0€"),
        ("1200.0000", "JPY", "en_US", "¥1,200"),
        ("500", "EUR", "en_US", "€500.00"),
    ],
)
def test_format_money(amount: str, currency: str, locale: str, expected: str) -> None:
    assert format_money(Decimal(amount), currency, locale) == expected


def test_an_unknown_currency_still_prints() -> None:
    assert "XQZ" in format_money(Decimal("5"), "XQZ")

"""How quantities and unit prices read: exact, without the padding NUMERIC(28, 10) reads back with.

Shared by the API (types.py) and the assistant's portfolio tool, so both show the same figure.
"""

from __future__ import annotations

from decimal import Decimal


def plain(value: Decimal | None) -> Decimal | None:
    """12.5000000000 -> 12.5, 10.0000000000 -> 10 (not 1E+1)."""
    if value is None:
        return None
    normal = value.normalize()
    return normal.quantize(Decimal(1)) if normal == normal.to_integral_value() else normal

"""Column helpers shared by every domain's SQLModel tables."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from finora_gql.core import clock


def id_field() -> Any:
    return Field(default_factory=uuid.uuid4, primary_key=True)


def created_at_field(*, index: bool = False) -> Any:
    return Field(default_factory=clock.now, sa_type=sa.DateTime(timezone=True), nullable=False, index=index)


def timestamp_field(*, nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_type=sa.DateTime(timezone=True), nullable=nullable, index=index)


def enum_field(enum: type[Enum], default: Enum, *, index: bool = False) -> Any:
    """A VARCHAR column holding the enum's value, so adding a member needs no type migration."""
    return Field(
        default=default,
        sa_type=sa.Enum(enum, native_enum=False, length=32, validate_strings=True,
                        values_callable=lambda members: [m.value for m in members]),
        nullable=False,
        index=index,
    )


def owner_field(*, index: bool = True) -> Any:
    return Field(foreign_key="user.id", ondelete="CASCADE", nullable=False, index=index)


def touched(row: Any) -> datetime:
    """Mark a row updated now; returns the time used."""
    row.updated_at = clock.now()
    return row.updated_at


# Money: NUMERIC with 4 decimals covers every ISO 4217 minor unit; 20 digits is ~10^16 units.
MONEY = sa.Numeric(20, 4)


def money_field(*, default: Decimal | None = Decimal(0), nullable: bool = False) -> Any:
    return Field(default=default, sa_type=MONEY, nullable=nullable)

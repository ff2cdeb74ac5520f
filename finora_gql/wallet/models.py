"""Analytics state: exchange rates, net-worth snapshots, and the per-day totals summaries read."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from finora_gql.core.models import MONEY, created_at_field, id_field, owner_field

# Totals of transactions without a category are kept under this key.
UNCATEGORIZED = uuid.UUID(int=0)


class FxRate(SQLModel, table=True):
    """1 `base` = `rate` `quote`, effective from `date` until the next rate of the pair."""

    __tablename__ = "fx_rate"
    __table_args__ = (sa.UniqueConstraint("base", "quote", "date", name="uq_fx_rate_pair_date"),)

    id: uuid.UUID = id_field()
    date: dt.date = Field(sa_type=sa.Date, nullable=False)
    base: str = Field(max_length=3, nullable=False)
    quote: str = Field(max_length=3, nullable=False)
    rate: Decimal = Field(sa_type=sa.Numeric(24, 10), nullable=False)
    created_at: dt.datetime = created_at_field()


class NetWorthSnapshot(SQLModel, table=True):
    __tablename__ = "net_worth_snapshot"
    __table_args__ = (sa.UniqueConstraint("user_id", "date", name="uq_net_worth_snapshot_user_date"),)

    id: uuid.UUID = id_field()
    user_id: uuid.UUID = owner_field(index=False)
    date: dt.date = Field(sa_type=sa.Date, nullable=False)
    value: Decimal = Field(sa_type=MONEY, nullable=False)
    currency: str = Field(max_length=3, nullable=False)
    created_at: dt.datetime = created_at_field()


class Flows(SQLModel):
    """What one totals row counts: money in, money out, and how many transactions."""

    inflow: Decimal = Field(default=Decimal(0), sa_type=MONEY, nullable=False)
    outflow: Decimal = Field(default=Decimal(0), sa_type=MONEY, nullable=False)  # negative or zero
    count: int = Field(default=0, nullable=False)


class DailyTotal(Flows, table=True):
    """Per user, day, currency and category: what flowed in and out.

    Maintained in the same database transaction as every transaction write, so summaries read
    a few thousand rows instead of a hundred thousand. Transfers are kept apart (`is_transfer`)
    so they move balances but never count as income or spending.
    """

    __tablename__ = "daily_total"

    user_id: uuid.UUID = Field(primary_key=True, foreign_key="user.id", ondelete="CASCADE")
    day: dt.date = Field(sa_type=sa.Date, primary_key=True)
    currency: str = Field(max_length=3, primary_key=True)
    category_key: uuid.UUID = Field(primary_key=True)
    is_transfer: bool = Field(primary_key=True)


class MonthlyTotal(Flows, table=True):
    """The daily totals summed per calendar month (`month` is its first day).

    Kept by the same writes in the same database transaction; summaries over whole months read
    these (~20 rows a month) instead of every day's (~600 a month for a busy ledger).
    """

    __tablename__ = "monthly_total"

    user_id: uuid.UUID = Field(primary_key=True, foreign_key="user.id", ondelete="CASCADE")
    month: dt.date = Field(sa_type=sa.Date, primary_key=True)
    currency: str = Field(max_length=3, primary_key=True)
    category_key: uuid.UUID = Field(primary_key=True)
    is_transfer: bool = Field(primary_key=True)

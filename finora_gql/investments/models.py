"""Investments: securities (shared market ones and a person's own), their prices, and the
activities people record in their INVESTMENT accounts.

Exact numbers everywhere: money is NUMERIC(20, 4) like the ledger, quantities and prices carry
10 decimals (fractional shares, crypto, split-adjusted quantities), split ratios too.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from enum import Enum

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from finora_gql.core.models import MONEY, created_at_field, enum_field, id_field, owner_field, timestamp_field
from finora_gql.investments.engine import CostMethod, Kind

QUANTITY = sa.Numeric(28, 10)
PRICE = sa.Numeric(24, 10)


class AssetClass(str, Enum):
    STOCK = "STOCK"
    ETF = "ETF"
    FUND = "FUND"
    BOND = "BOND"
    CRYPTO = "CRYPTO"
    CASH_EQUIVALENT = "CASH_EQUIVALENT"
    OTHER = "OTHER"


class Security(SQLModel, table=True):
    """A market security (`user_id` NULL, shared by everyone, priced by the provider or an admin) or
    a person's own manual one (`user_id` set, priced by them). A person's symbol shadows the market's."""

    __table_args__ = (
        sa.Index("uq_security_market_symbol", "symbol", unique=True, postgresql_where=sa.text("user_id IS NULL")),
        sa.Index("uq_security_user_symbol", "user_id", "symbol", unique=True,
                 postgresql_where=sa.text("user_id IS NOT NULL")),
    )

    id: uuid.UUID = id_field()
    user_id: uuid.UUID | None = Field(default=None, foreign_key="user.id", ondelete="CASCADE", nullable=True)
    symbol: str = Field(max_length=32, nullable=False)
    name: str = Field(max_length=200, nullable=False)
    currency: str = Field(max_length=3, nullable=False)
    asset_class: AssetClass = enum_field(AssetClass, AssetClass.STOCK)
    # The price job's state: consecutive failures and when to try again (exponential backoff).
    refresh_failures: int = Field(default=0, nullable=False)
    next_refresh_at: dt.datetime | None = timestamp_field()
    created_at: dt.datetime = created_at_field()


class Price(SQLModel, table=True):
    """The close of one security on one day, in the security's currency."""

    security_id: uuid.UUID = Field(foreign_key="security.id", ondelete="CASCADE", primary_key=True)
    date: dt.date = Field(sa_type=sa.Date, primary_key=True)
    close: Decimal = Field(sa_type=PRICE, nullable=False)
    currency: str = Field(max_length=3, nullable=False)
    source: str = Field(max_length=32, nullable=False)  # MANUAL, ADMIN, CSV, or the provider's name
    created_at: dt.datetime = created_at_field()


class Activity(SQLModel, table=True):
    """One thing that happened in an investment account, in the account's currency. `amount` is the
    total (>= 0): paid for a BUY (fees and taxes included), received for a SELL (net of them), the
    gross dividend or interest, the fee or tax, the cash deposited or withdrawn, the cost of
    securities transferred in or out. `price` is what was entered per unit, when it was."""

    __table_args__ = (sa.Index("ix_activity_user_account_date", "user_id", "account_id", "date"),)

    id: uuid.UUID = id_field()
    user_id: uuid.UUID = owner_field(index=False)
    account_id: uuid.UUID = Field(foreign_key="account.id", ondelete="CASCADE", nullable=False)
    security_id: uuid.UUID | None = Field(default=None, foreign_key="security.id", ondelete="RESTRICT", index=True)
    kind: Kind = enum_field(Kind, Kind.BUY)
    date: dt.date = Field(sa_type=sa.Date, nullable=False)
    quantity: Decimal = Field(default=Decimal(0), sa_type=QUANTITY, nullable=False)
    price: Decimal | None = Field(default=None, sa_type=PRICE)
    amount: Decimal = Field(default=Decimal(0), sa_type=MONEY, nullable=False)
    fee: Decimal = Field(default=Decimal(0), sa_type=MONEY, nullable=False)
    tax: Decimal = Field(default=Decimal(0), sa_type=MONEY, nullable=False)
    split_from: Decimal | None = Field(default=None, sa_type=QUANTITY)
    split_to: Decimal | None = Field(default=None, sa_type=QUANTITY)
    note: str | None = Field(default=None, max_length=500)
    import_id: uuid.UUID | None = Field(default=None, index=True)  # the CSV import that created it (undo)
    # A transfer between two of the person's accounts: its TRANSFER_OUT and TRANSFER_INs (one per lot
    # moved, `lot_date` the day the lot was first acquired) share this id and are deleted together.
    transfer_id: uuid.UUID | None = Field(default=None, index=True)
    lot_date: dt.date | None = Field(default=None, sa_type=sa.Date)
    # And its share of the source's moving-average cost (exact, the account's currency), which the
    # target's moving average starts from.
    carried_average: Decimal | None = Field(default=None, sa_type=sa.Numeric())
    created_at: dt.datetime = created_at_field()
    updated_at: dt.datetime = created_at_field()


class InvestmentSetting(SQLModel, table=True):
    """A person's investment preferences; without a row, FIFO."""

    __tablename__ = "investment_setting"

    user_id: uuid.UUID = Field(foreign_key="user.id", ondelete="CASCADE", primary_key=True)
    cost_method: CostMethod = enum_field(CostMethod, CostMethod.FIFO)


class Checkpoint(SQLModel, table=True):
    """An account's positions and cash at the end of a year (Dec 31), so a portfolio over a recent
    range replays only the activities after it. Cost basis is in `currency` (the owner's base
    currency when built); `rates_version` names the exchange rates it was converted with (NULL
    when the account is in that currency). Deleted from the day of any activity change on, and
    rebuilt by a job; a missing or outdated one only means the full replay."""

    __tablename__ = "investment_checkpoint"

    account_id: uuid.UUID = Field(foreign_key="account.id", ondelete="CASCADE", primary_key=True)
    date: dt.date = Field(sa_type=sa.Date, primary_key=True)
    currency: str = Field(max_length=3, primary_key=True)
    user_id: uuid.UUID = owner_field(index=False)
    rates_version: str | None = Field(default=None, max_length=200)
    state: dict = Field(default_factory=dict, sa_type=JSONB, nullable=False)
    created_at: dt.datetime = created_at_field()


class DayRange(SQLModel, table=True):
    """Which of an account's daily values are kept (day_values.py): every day from `first` (its
    first activity or ledger movement; before it the account is worth nothing) through `through`,
    in `currency` (the owner's base currency). With an opening balance, `first` is 1900-01-01
    (ledger_cash.OPENING_DAY) and the days are kept from the first later movement only. `first`
    NULL: the account had no activity or ledger movement through `through`."""

    __tablename__ = "investment_day_range"

    # The owner first in the key: ready to distribute by user (tests/ops/test_distribution.py).
    user_id: uuid.UUID = Field(foreign_key="user.id", ondelete="CASCADE", primary_key=True)
    account_id: uuid.UUID = Field(foreign_key="account.id", ondelete="CASCADE", primary_key=True)
    currency: str = Field(max_length=3, nullable=False)
    first: dt.date | None = Field(default=None, sa_type=sa.Date)
    through: dt.date = Field(sa_type=sa.Date, nullable=False)
    updated_at: dt.datetime = created_at_field()


class DayValue(SQLModel, table=True):
    """An account's value at the end of one day and its net external flow that day (inflows
    positive), exact (unconstrained NUMERIC), in its DayRange's currency. `reason` names why the
    day's value or flow could not be computed (MISSING_PRICE, MISSING_FX_RATE); `value` is then NULL
    or the flow incomplete, and readers compute the range from scratch instead."""

    __tablename__ = "investment_day_value"

    user_id: uuid.UUID = Field(foreign_key="user.id", ondelete="CASCADE", primary_key=True)
    account_id: uuid.UUID = Field(foreign_key="account.id", ondelete="CASCADE", primary_key=True)
    date: dt.date = Field(sa_type=sa.Date, primary_key=True)
    value: Decimal | None = Field(default=None, sa_type=sa.Numeric())
    net_flow: Decimal = Field(default=Decimal(0), sa_type=sa.Numeric(), nullable=False)
    reason: str | None = Field(default=None, max_length=32)

"""Plans: monthly budgets per category, and savings goals with their contributions."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from finora_gql.core.models import MONEY, created_at_field, id_field, owner_field, timestamp_field


class Budget(SQLModel, table=True):
    __table_args__ = (sa.UniqueConstraint("user_id", "month", "category_id", name="uq_budget_user_month_category"),)

    id: uuid.UUID = id_field()
    user_id: uuid.UUID = owner_field()
    month: dt.date = Field(sa_type=sa.Date, nullable=False)  # first day of the month
    category_id: uuid.UUID = Field(foreign_key="category.id", ondelete="CASCADE", nullable=False)
    limit_amount: Decimal = Field(sa_type=MONEY, nullable=False)  # in the user's base currency
    rollover: bool = Field(default=False, nullable=False)
    created_at: dt.datetime = created_at_field()
    updated_at: dt.datetime = created_at_field()


class Goal(SQLModel, table=True):
    id: uuid.UUID = id_field()
    user_id: uuid.UUID = owner_field()
    name: str = Field(max_length=100, nullable=False)
    target_amount: Decimal = Field(sa_type=MONEY, nullable=False)
    currency: str = Field(max_length=3, nullable=False)
    target_date: dt.date | None = Field(default=None, sa_type=sa.Date)
    account_id: uuid.UUID | None = Field(default=None, foreign_key="account.id", ondelete="SET NULL")
    achieved_at: dt.datetime | None = timestamp_field()
    created_at: dt.datetime = created_at_field()
    updated_at: dt.datetime = created_at_field()


class GoalContribution(SQLModel, table=True):
    __tablename__ = "goal_contribution"

    id: uuid.UUID = id_field()
    goal_id: uuid.UUID = Field(foreign_key="goal.id", ondelete="CASCADE", nullable=False, index=True)
    user_id: uuid.UUID = owner_field(index=False)
    amount: Decimal = Field(sa_type=MONEY, nullable=False)
    date: dt.date = Field(sa_type=sa.Date, nullable=False)
    note: str | None = Field(default=None, max_length=200)
    created_at: dt.datetime = created_at_field()

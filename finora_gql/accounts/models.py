"""Where money sits: bank accounts, cards, cash, loans."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import Enum

from sqlmodel import Field, SQLModel

from finora_gql.core.models import created_at_field, enum_field, id_field, money_field, owner_field


class AccountType(str, Enum):
    CHECKING = "CHECKING"
    SAVINGS = "SAVINGS"
    CREDIT_CARD = "CREDIT_CARD"
    CASH = "CASH"
    INVESTMENT = "INVESTMENT"
    LOAN = "LOAN"
    OTHER = "OTHER"


class Account(SQLModel, table=True):
    id: uuid.UUID = id_field()
    user_id: uuid.UUID = owner_field()
    type: AccountType = enum_field(AccountType, AccountType.CHECKING)
    name: str = Field(max_length=100, nullable=False)
    currency: str = Field(max_length=3, nullable=False)
    opening_balance: Decimal = money_field()
    # Kept equal to opening_balance + the sum of its transactions by every write, in the same
    # database transaction (the ledger service is the only writer).
    current_balance: Decimal = money_field()
    archived: bool = Field(default=False, nullable=False)
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()

"""The ledger's rows: categories, transactions and the rules that categorise them."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from enum import Enum

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, TSVECTOR
from sqlmodel import Field, SQLModel

from finora_gql.core.models import MONEY, created_at_field, enum_field, id_field, owner_field


class CategoryKind(str, Enum):
    INCOME = "INCOME"
    EXPENSE = "EXPENSE"
    TRANSFER = "TRANSFER"


class Category(SQLModel, table=True):
    __table_args__ = (sa.UniqueConstraint("user_id", "name", name="uq_category_user_name"),)

    id: uuid.UUID = id_field()
    user_id: uuid.UUID = owner_field()
    name: str = Field(max_length=60, nullable=False)
    kind: CategoryKind = enum_field(CategoryKind, CategoryKind.EXPENSE)
    parent_id: uuid.UUID | None = Field(default=None, foreign_key="category.id", ondelete="SET NULL")
    created_at: dt.datetime = created_at_field()


class Transaction(SQLModel, table=True):
    __tablename__ = "transaction"
    __table_args__ = (
        # Keyset pagination for both sort orders, always within one user.
        sa.Index("ix_transaction_user_date", "user_id", sa.text("date DESC"), sa.text("id DESC")),
        sa.Index("ix_transaction_user_amount", "user_id", "amount", "id"),
        sa.Index("ix_transaction_user_account_date", "user_id", "account_id", "date"),
        sa.Index("ix_transaction_user_category_date", "user_id", "category_id", "date"),
        sa.Index("ix_transaction_user_merchant", "user_id", sa.text("lower(merchant)"), sa.text("date DESC")),
        sa.Index("ix_transaction_tags", "tags", postgresql_using="gin"),
        sa.Index("ix_transaction_search", "search", postgresql_using="gin"),
        sa.Index(
            "uq_transaction_external_id", "account_id", "external_id", unique=True,
            postgresql_where=sa.text("external_id IS NOT NULL"),
        ),
        # An import never adds the same row to an account twice (see imports/duplicates.py).
        sa.Index(
            "uq_transaction_import_hash", "account_id", "import_hash", unique=True,
            postgresql_where=sa.text("import_hash IS NOT NULL"),
        ),
        sa.Index("ix_transaction_import", "import_id", postgresql_where=sa.text("import_id IS NOT NULL")),
    )

    id: uuid.UUID = id_field()
    user_id: uuid.UUID = owner_field(index=False)
    account_id: uuid.UUID = Field(foreign_key="account.id", ondelete="CASCADE", nullable=False)
    date: dt.date = Field(sa_type=sa.Date, nullable=False)
    # Signed: negative is money leaving the account. In the account's currency.
    amount: Decimal = Field(sa_type=MONEY, nullable=False)
    currency: str = Field(max_length=3, nullable=False)
    category_id: uuid.UUID | None = Field(default=None, foreign_key="category.id", ondelete="SET NULL")
    merchant: str | None = Field(default=None, max_length=200)
    description: str = Field(default="", max_length=500, nullable=False)
    notes: str | None = Field(default=None, max_length=2000)
    tags: list[str] = Field(default_factory=list, sa_type=ARRAY(sa.String(40)), nullable=False)
    external_id: str | None = Field(default=None, max_length=100)
    # Both legs of a transfer carry the same transfer_id.
    transfer_id: uuid.UUID | None = Field(default=None, index=True)
    search: str | None = Field(
        default=None,
        sa_column=sa.Column(
            TSVECTOR,
            sa.Computed("to_tsvector('simple', coalesce(merchant, '') || ' ' || description)", persisted=True),
        ),
    )
    # Set on rows an import added: undoing the import removes exactly these.
    import_id: uuid.UUID | None = Field(default=None, foreign_key="import.id", ondelete="SET NULL")
    import_hash: str | None = Field(default=None, max_length=40)
    created_at: dt.datetime = created_at_field()
    updated_at: dt.datetime = created_at_field()


class RuleField(str, Enum):
    MERCHANT = "MERCHANT"
    DESCRIPTION = "DESCRIPTION"
    ANY = "ANY"


class RuleMatch(str, Enum):
    CONTAINS = "CONTAINS"
    REGEX = "REGEX"


class CategoryRule(SQLModel, table=True):
    __tablename__ = "category_rule"

    id: uuid.UUID = id_field()
    user_id: uuid.UUID = owner_field()
    category_id: uuid.UUID = Field(foreign_key="category.id", ondelete="CASCADE", nullable=False)
    field: RuleField = enum_field(RuleField, RuleField.ANY)
    match: RuleMatch = enum_field(RuleMatch, RuleMatch.CONTAINS)
    pattern: str = Field(max_length=200, nullable=False)
    # Lower numbers win.
    priority: int = Field(default=100, nullable=False)
    created_at: dt.datetime = created_at_field()

"""Investments: persisted daily values per account (investment_day_range, investment_day_value), and
transfers of securities between accounts (activity.transfer_id, activity.lot_date), and imports of
activities through the import pipeline (import.kind)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "import",
        sa.Column(
            "kind",
            sa.Enum("TRANSACTIONS", "INVESTMENT_ACTIVITIES", name="importkind", native_enum=False, length=32),
            nullable=False,
            server_default="TRANSACTIONS",
        ),
    )
    op.add_column("activity", sa.Column("transfer_id", sa.Uuid(), nullable=True))
    op.add_column("activity", sa.Column("lot_date", sa.Date(), nullable=True))
    op.add_column("activity", sa.Column("carried_average", sa.Numeric(), nullable=True))
    op.create_index(op.f("ix_activity_transfer_id"), "activity", ["transfer_id"], unique=False)
    op.create_table(
        "investment_day_range",
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("currency", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("first", sa.Date(), nullable=True),
        sa.Column("through", sa.Date(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "account_id"),
    )
    op.create_table(
        "investment_day_value",
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("value", sa.Numeric(), nullable=True),
        sa.Column("net_flow", sa.Numeric(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "account_id", "date"),
    )


def downgrade() -> None:
    op.drop_table("investment_day_value")
    op.drop_table("investment_day_range")
    op.drop_index(op.f("ix_activity_transfer_id"), table_name="activity")
    op.drop_column("activity", "carried_average")
    op.drop_column("activity", "lot_date")
    op.drop_column("activity", "transfer_id")
    op.drop_column("import", "kind")

"""Monthly totals: the daily totals summed per calendar month, kept by the same writes

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 07:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('monthly_total',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('category_key', sa.Uuid(), nullable=False),
    sa.Column('is_transfer', sa.Boolean(), nullable=False),
    sa.Column('inflow', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.Column('outflow', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('user_id', 'month', 'currency', 'category_key', 'is_transfer')
    )
    # Existing ledgers: the months are exactly the sums of their days.
    op.execute("""
        INSERT INTO monthly_total (user_id, month, currency, category_key, is_transfer, inflow, outflow, count)
        SELECT user_id, date_trunc('month', day::timestamp)::date, currency, category_key, is_transfer,
               sum(inflow), sum(outflow), sum(count)
        FROM daily_total GROUP BY 1, 2, 3, 4, 5
    """)


def downgrade() -> None:
    op.drop_table('monthly_total')

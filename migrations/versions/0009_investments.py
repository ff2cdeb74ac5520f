"""Investments: securities, prices, activities and the cost-method setting

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 23:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = ('BUY', 'SELL', 'DIVIDEND', 'INTEREST', 'FEE', 'TAX', 'SPLIT', 'DEPOSIT', 'WITHDRAWAL', 'TRANSFER_IN',
         'TRANSFER_OUT')
ASSET_CLASSES = ('STOCK', 'ETF', 'FUND', 'BOND', 'CRYPTO', 'CASH_EQUIVALENT', 'OTHER')


def upgrade() -> None:
    op.create_table('security',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=True),
    sa.Column('symbol', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('asset_class', sa.Enum(*ASSET_CLASSES, name='assetclass', native_enum=False, length=32), nullable=False),
    sa.Column('refresh_failures', sa.Integer(), nullable=False),
    sa.Column('next_refresh_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('uq_security_market_symbol', 'security', ['symbol'], unique=True,
                    postgresql_where=sa.text('user_id IS NULL'))
    op.create_index('uq_security_user_symbol', 'security', ['user_id', 'symbol'], unique=True,
                    postgresql_where=sa.text('user_id IS NOT NULL'))
    op.create_table('price',
    sa.Column('security_id', sa.Uuid(), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('close', sa.Numeric(precision=24, scale=10), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['security_id'], ['security.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('security_id', 'date')
    )
    op.create_table('activity',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('security_id', sa.Uuid(), nullable=True),
    sa.Column('kind', sa.Enum(*KINDS, name='kind', native_enum=False, length=32), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=28, scale=10), nullable=False),
    sa.Column('price', sa.Numeric(precision=24, scale=10), nullable=True),
    sa.Column('amount', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.Column('fee', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.Column('tax', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.Column('split_from', sa.Numeric(precision=28, scale=10), nullable=True),
    sa.Column('split_to', sa.Numeric(precision=28, scale=10), nullable=True),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('import_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['security_id'], ['security.id'], ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_activity_user_account_date', 'activity', ['user_id', 'account_id', 'date'], unique=False)
    op.create_index(op.f('ix_activity_security_id'), 'activity', ['security_id'], unique=False)
    op.create_index(op.f('ix_activity_import_id'), 'activity', ['import_id'], unique=False)
    op.create_table('investment_setting',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('cost_method', sa.Enum('FIFO', 'AVERAGE', name='costmethod', native_enum=False, length=32), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id')
    )
    op.create_table('investment_checkpoint',
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('rates_version', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('state', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('account_id', 'date', 'currency')
    )


def downgrade() -> None:
    op.drop_table('investment_checkpoint')
    op.drop_table('investment_setting')
    op.drop_index(op.f('ix_activity_import_id'), table_name='activity')
    op.drop_index(op.f('ix_activity_security_id'), table_name='activity')
    op.drop_index('ix_activity_user_account_date', table_name='activity')
    op.drop_table('activity')
    op.drop_table('price')
    op.drop_index('uq_security_user_symbol', table_name='security', postgresql_where=sa.text('user_id IS NOT NULL'))
    op.drop_index('uq_security_market_symbol', table_name='security', postgresql_where=sa.text('user_id IS NULL'))
    op.drop_table('security')

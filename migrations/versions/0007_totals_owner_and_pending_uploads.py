"""Totals belong to their user (deleted with them); an index for the abandoned-uploads sweep

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 09:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TOTALS = ('daily_total', 'monthly_total')


def upgrade() -> None:
    for table in TOTALS:
        # Rows of users deleted before this revision belong to no one: they go, or the key cannot be added.
        op.execute(f'DELETE FROM {table} AS t WHERE NOT EXISTS (SELECT 1 FROM "user" AS u WHERE u.id = t.user_id)')
        op.create_foreign_key(f'{table}_user_id_fkey', table, 'user', ['user_id'], ['id'], ondelete='CASCADE')
    op.create_index('ix_file_pending_created', 'file', ['created_at'], unique=False,
                    postgresql_where=sa.text("status = 'PENDING'"))


def downgrade() -> None:
    op.drop_index('ix_file_pending_created', table_name='file', postgresql_where=sa.text("status = 'PENDING'"))
    for table in TOTALS:
        op.drop_constraint(f'{table}_user_id_fkey', table, type_='foreignkey')

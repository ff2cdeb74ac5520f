"""A transactional outbox for background jobs: written with the commit that causes them

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('job_outbox',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('actor_name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('args', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('relayed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_job_outbox_unrelayed', 'job_outbox', ['created_at'], unique=False,
                    postgresql_where=sa.text('relayed_at IS NULL'))
    op.create_index('ix_job_outbox_relayed_at', 'job_outbox', ['relayed_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_job_outbox_relayed_at', table_name='job_outbox')
    op.drop_index('ix_job_outbox_unrelayed', table_name='job_outbox', postgresql_where=sa.text('relayed_at IS NULL'))
    op.drop_table('job_outbox')

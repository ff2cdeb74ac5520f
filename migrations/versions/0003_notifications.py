"""notifications and outgoing email

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 20:13:16.476145
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('notification',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.Enum('ACCOUNT_LOCKED', 'BUDGET_THRESHOLD', 'GOAL_REACHED', 'IMPORT_FINISHED', 'ADMIN_ACTION', name='notificationkind', native_enum=False, length=32), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('body', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('data', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('dedup_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('user_id', 'dedup_key', name='uq_notification_user_dedup')
    )
    op.create_index('ix_notification_user_created', 'notification', ['user_id', sa.literal_column('created_at DESC'), sa.literal_column('id DESC')], unique=False)
    op.create_index('ix_notification_user_unread', 'notification', ['user_id'], unique=False, postgresql_where=sa.text('read_at IS NULL'))
    op.create_table('notification_preference',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.Enum('ACCOUNT_LOCKED', 'BUDGET_THRESHOLD', 'GOAL_REACHED', 'IMPORT_FINISHED', 'ADMIN_ACTION', name='notificationkind', native_enum=False, length=32), nullable=False),
    sa.Column('channel', sa.Enum('IN_APP', 'EMAIL', name='channel', native_enum=False, length=32), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'kind', 'channel')
    )
    op.create_table('outgoing_email',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=True),
    sa.Column('to', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('html', sa.Text(), nullable=True),
    sa.Column('message_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('status', sa.Enum('PENDING', 'SENT', 'FAILED', name='emailstatus', native_enum=False, length=32), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('message_id')
    )
    op.create_index('ix_outgoing_email_pending', 'outgoing_email', ['status', 'created_at'], unique=False)
    op.create_index(op.f('ix_outgoing_email_user_id'), 'outgoing_email', ['user_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_outgoing_email_user_id'), table_name='outgoing_email')
    op.drop_index('ix_outgoing_email_pending', table_name='outgoing_email')
    op.drop_table('outgoing_email')
    op.drop_table('notification_preference')
    op.drop_index('ix_notification_user_unread', table_name='notification', postgresql_where=sa.text('read_at IS NULL'))
    op.drop_index('ix_notification_user_created', table_name='notification')
    op.drop_table('notification')

"""CSV imports: the import and its row issues; transactions remember which import added them

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 02:01:43.828977
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('import',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('file_id', sa.Uuid(), nullable=True),
    sa.Column('content', sa.LargeBinary(), nullable=True),
    sa.Column('source_name', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('preset', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('mapping', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('options', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('dry_run', sa.Boolean(), nullable=False),
    sa.Column('status', sa.Enum('QUEUED', 'RUNNING', 'PREVIEWED', 'COMPLETED', 'FAILED', 'UNDONE', name='importstatus', native_enum=False, length=32), nullable=False),
    sa.Column('message', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('message_field', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('encoding', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('delimiter', sqlmodel.sql.sqltypes.AutoString(length=4), nullable=True),
    sa.Column('date_format', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('decimal_separator', sqlmodel.sql.sqltypes.AutoString(length=4), nullable=True),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('processed', sa.Integer(), nullable=False),
    sa.Column('inserted', sa.Integer(), nullable=False),
    sa.Column('duplicates', sa.Integer(), nullable=False),
    sa.Column('likely_duplicates', sa.Integer(), nullable=False),
    sa.Column('errors', sa.Integer(), nullable=False),
    sa.Column('preview', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('undone_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['file_id'], ['file.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_import_user_created', 'import', ['user_id', sa.literal_column('created_at DESC'), sa.literal_column('id DESC')], unique=False)
    op.create_table('import_issue',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('import_id', sa.Uuid(), nullable=False),
    sa.Column('line', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('ERROR', 'DUPLICATE', 'LIKELY_DUPLICATE', name='issuekind', native_enum=False, length=32), nullable=False),
    sa.Column('field', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('transaction_id', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['import_id'], ['import.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_import_issue_import_line', 'import_issue', ['import_id', 'line'], unique=False)
    op.add_column('transaction', sa.Column('import_id', sa.Uuid(), nullable=True))
    op.add_column('transaction', sa.Column('import_hash', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True))
    op.create_index('ix_transaction_import', 'transaction', ['import_id'], unique=False, postgresql_where=sa.text('import_id IS NOT NULL'))
    op.create_index('uq_transaction_import_hash', 'transaction', ['account_id', 'import_hash'], unique=True, postgresql_where=sa.text('import_hash IS NOT NULL'))
    op.create_foreign_key('transaction_import_id_fkey', 'transaction', 'import', ['import_id'], ['id'], ondelete='SET NULL')


def downgrade() -> None:
    op.drop_constraint('transaction_import_id_fkey', 'transaction', type_='foreignkey')
    op.drop_index('uq_transaction_import_hash', table_name='transaction', postgresql_where=sa.text('import_hash IS NOT NULL'))
    op.drop_index('ix_transaction_import', table_name='transaction', postgresql_where=sa.text('import_id IS NOT NULL'))
    op.drop_column('transaction', 'import_hash')
    op.drop_column('transaction', 'import_id')
    op.drop_index('ix_import_issue_import_line', table_name='import_issue')
    op.drop_table('import_issue')
    op.drop_index('ix_import_user_created', table_name='import')
    op.drop_table('import')

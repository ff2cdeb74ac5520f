"""The AI assistant: conversations, messages, tool calls, proposals, retrieval context (pgvector)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from pgvector.sqlalchemy import Vector
from sqlalchemy.dialects import postgresql

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=32)


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    op.create_table(
        'conversation',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('user_id', sa.Uuid(), nullable=False),
        sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_conversation_user_updated', 'conversation', ['user_id', sa.text('updated_at DESC'), 'id'])
    op.create_table(
        'assistant_message',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('user_id', sa.Uuid(), nullable=False),
        sa.Column('conversation_id', sa.Uuid(), nullable=False),
        sa.Column('role', _enum('role', 'USER', 'ASSISTANT'), nullable=False),
        sa.Column('content', sa.Text(), nullable=False),
        sa.Column('status', _enum('messagestatus', 'PENDING', 'STREAMING', 'COMPLETE', 'FAILED'), nullable=False),
        sa.Column('error', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column('tokens', sa.Integer(), nullable=False),
        sa.Column('citations', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column('client_key', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column('model', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['conversation_id'], ['conversation.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('user_id', 'client_key', name='uq_assistant_message_client_key'),
    )
    op.create_index('ix_assistant_message_conversation', 'assistant_message', ['conversation_id', 'created_at', 'id'])
    op.create_index('ix_assistant_message_user_created', 'assistant_message', ['user_id', 'created_at'])
    op.create_table(
        'assistant_tool_call',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('user_id', sa.Uuid(), nullable=False),
        sa.Column('message_id', sa.Uuid(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column('arguments', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column('result', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column('ok', sa.Boolean(), nullable=False),
        sa.Column('duration_ms', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['message_id'], ['assistant_message.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_assistant_tool_call_message', 'assistant_tool_call', ['message_id', 'position'])
    op.create_table(
        'assistant_proposal',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('user_id', sa.Uuid(), nullable=False),
        sa.Column('message_id', sa.Uuid(), nullable=False),
        sa.Column('kind', _enum('proposalkind', 'SET_BUDGET', 'CREATE_GOAL', 'CREATE_RULE'), nullable=False),
        sa.Column('summary', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column('payload', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column('status', _enum('proposalstatus', 'PENDING', 'CONFIRMED', 'REJECTED', 'FAILED'), nullable=False),
        sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['message_id'], ['assistant_message.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_assistant_proposal_message', 'assistant_proposal', ['message_id'])
    op.create_table(
        'ai_context',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('user_id', sa.Uuid(), nullable=True),
        sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column('content', sa.Text(), nullable=False),
        sa.Column('url', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column('embedding', Vector(256), nullable=False),
        sa.Column('model', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('dimension', sa.Integer(), nullable=False),
        sa.Column('content_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('user_id', 'source', 'key', name='uq_ai_context_source_key'),
    )
    op.create_index('ix_ai_context_user', 'ai_context', ['user_id'])
    op.create_index('ix_ai_context_corpus_hnsw', 'ai_context', ['embedding'], postgresql_using='hnsw',
                    postgresql_with={'m': 16, 'ef_construction': 64},
                    postgresql_ops={'embedding': 'vector_cosine_ops'}, postgresql_where=sa.text('user_id IS NULL'))


def downgrade() -> None:
    op.drop_index('ix_ai_context_corpus_hnsw', table_name='ai_context', postgresql_where=sa.text('user_id IS NULL'))
    op.drop_index('ix_ai_context_user', table_name='ai_context')
    op.drop_table('ai_context')
    op.drop_index('ix_assistant_proposal_message', table_name='assistant_proposal')
    op.drop_table('assistant_proposal')
    op.drop_index('ix_assistant_tool_call_message', table_name='assistant_tool_call')
    op.drop_table('assistant_tool_call')
    op.drop_index('ix_assistant_message_user_created', table_name='assistant_message')
    op.drop_index('ix_assistant_message_conversation', table_name='assistant_message')
    op.drop_table('assistant_message')
    op.drop_index('ix_conversation_user_updated', table_name='conversation')
    op.drop_table('conversation')

"""The assistant's tables: conversations, their messages, the tools a reply called, the proposals
it made (nothing is written until the person confirms), and the retrieval context (pgvector)."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import Enum
from typing import Any

import sqlalchemy as sa
from pgvector.sqlalchemy import Vector
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from finora_gql.core.models import created_at_field, enum_field, id_field, owner_field, timestamp_field

# wordllama's l2_supercat at 256 dimensions; a litellm embedding model in production is cut (or
# refused) to this size, and the model that made each row is recorded beside it.
EMBEDDING_DIMENSION = 256


class Role(str, Enum):
    USER = "USER"
    ASSISTANT = "ASSISTANT"


class MessageStatus(str, Enum):
    PENDING = "PENDING"
    STREAMING = "STREAMING"
    COMPLETE = "COMPLETE"
    FAILED = "FAILED"


class ProposalKind(str, Enum):
    SET_BUDGET = "SET_BUDGET"
    CREATE_GOAL = "CREATE_GOAL"
    CREATE_RULE = "CREATE_RULE"


class ProposalStatus(str, Enum):
    PENDING = "PENDING"
    CONFIRMED = "CONFIRMED"
    REJECTED = "REJECTED"
    FAILED = "FAILED"


class Conversation(SQLModel, table=True):
    __table_args__ = (sa.Index("ix_conversation_user_updated", "user_id", sa.text("updated_at DESC"), "id"),)

    id: uuid.UUID = id_field()
    user_id: uuid.UUID = owner_field(index=False)
    title: str = Field(max_length=200, nullable=False)
    created_at: dt.datetime = created_at_field()
    updated_at: dt.datetime = created_at_field()


class Message(SQLModel, table=True):
    __tablename__ = "assistant_message"
    __table_args__ = (
        sa.Index("ix_assistant_message_conversation", "conversation_id", "created_at", "id"),
        # The daily token budget sums a user's replies of the day.
        sa.Index("ix_assistant_message_user_created", "user_id", "created_at"),
        sa.UniqueConstraint("user_id", "client_key", name="uq_assistant_message_client_key"),
    )

    id: uuid.UUID = id_field()
    user_id: uuid.UUID = owner_field(index=False)
    conversation_id: uuid.UUID = Field(foreign_key="conversation.id", ondelete="CASCADE", nullable=False)
    role: Role = enum_field(Role, Role.USER)
    content: str = Field(default="", sa_type=sa.Text, nullable=False)
    status: MessageStatus = enum_field(MessageStatus, MessageStatus.COMPLETE)
    error: str | None = Field(default=None, max_length=500)
    tokens: int = Field(default=0, nullable=False)
    citations: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONB, nullable=False)
    # A client's idempotency key for sendAssistantMessage (the user's message only).
    client_key: str | None = Field(default=None, max_length=100)
    model: str | None = Field(default=None, max_length=200)
    created_at: dt.datetime = created_at_field()
    finished_at: dt.datetime | None = timestamp_field()


class ToolCall(SQLModel, table=True):
    __tablename__ = "assistant_tool_call"
    __table_args__ = (sa.Index("ix_assistant_tool_call_message", "message_id", "position"),)

    id: uuid.UUID = id_field()
    user_id: uuid.UUID = owner_field(index=False)
    message_id: uuid.UUID = Field(foreign_key="assistant_message.id", ondelete="CASCADE", nullable=False)
    position: int = Field(default=0, nullable=False)
    name: str = Field(max_length=100, nullable=False)
    arguments: dict[str, Any] = Field(default_factory=dict, sa_type=JSONB, nullable=False)
    result: dict[str, Any] = Field(default_factory=dict, sa_type=JSONB, nullable=False)
    ok: bool = Field(default=True, nullable=False)
    duration_ms: int = Field(default=0, nullable=False)
    created_at: dt.datetime = created_at_field()


class Proposal(SQLModel, table=True):
    __tablename__ = "assistant_proposal"
    __table_args__ = (sa.Index("ix_assistant_proposal_message", "message_id"),)

    id: uuid.UUID = id_field()
    user_id: uuid.UUID = owner_field(index=False)
    message_id: uuid.UUID = Field(foreign_key="assistant_message.id", ondelete="CASCADE", nullable=False)
    kind: ProposalKind = enum_field(ProposalKind, ProposalKind.SET_BUDGET)
    summary: str = Field(max_length=500, nullable=False)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSONB, nullable=False)
    status: ProposalStatus = enum_field(ProposalStatus, ProposalStatus.PENDING)
    outcome: str | None = Field(default=None, max_length=500)
    created_at: dt.datetime = created_at_field()
    decided_at: dt.datetime | None = timestamp_field()


class AiContext(SQLModel, table=True):
    """A piece of text the assistant may retrieve: one of a user's documents (user_id set, kept by
    jobs) or a tip of the shipped corpus (user_id null). Per-user retrieval is an exact scan of
    that user's rows; the HNSW index serves the shared corpus only (a filtered HNSW scan loses recall)."""

    __tablename__ = "ai_context"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "source", "key", name="uq_ai_context_source_key"),
        sa.Index("ix_ai_context_user", "user_id"),
        sa.Index(
            "ix_ai_context_corpus_hnsw", "embedding", postgresql_using="hnsw",
            postgresql_with={"m": 16, "ef_construction": 64},
            postgresql_ops={"embedding": "vector_cosine_ops"}, postgresql_where=sa.text("user_id IS NULL"),
        ),
    )

    id: uuid.UUID = id_field()
    user_id: uuid.UUID | None = Field(default=None, foreign_key="user.id", ondelete="CASCADE")
    source: str = Field(max_length=40, nullable=False)  # monthly, merchants, categories, budgets, goals, note, tip
    key: str = Field(max_length=200, nullable=False)
    title: str = Field(max_length=300, nullable=False)
    content: str = Field(sa_type=sa.Text, nullable=False)
    url: str | None = Field(default=None, max_length=500)
    embedding: Any = Field(sa_type=Vector(EMBEDDING_DIMENSION), nullable=False)
    model: str = Field(max_length=200, nullable=False)
    dimension: int = Field(default=EMBEDDING_DIMENSION, nullable=False)
    content_hash: str = Field(max_length=64, nullable=False)
    updated_at: dt.datetime = created_at_field()

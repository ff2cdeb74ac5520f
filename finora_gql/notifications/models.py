"""Notifications for people, their preferences, and the durable record of every email sent."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import Enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from finora_gql.core.models import created_at_field, enum_field, id_field, owner_field, timestamp_field


class EmailStatus(str, Enum):
    PENDING = "PENDING"
    SENT = "SENT"
    FAILED = "FAILED"


class OutgoingEmail(SQLModel, table=True):
    """Written in the same transaction as whatever caused the email; the worker sends it once.

    `status` is the dedup record: a retried job that finds SENT does nothing.
    """

    __tablename__ = "outgoing_email"
    __table_args__ = (sa.Index("ix_outgoing_email_pending", "status", "created_at"),)

    id: uuid.UUID = id_field()
    user_id: uuid.UUID | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL", index=True)
    to: str = Field(max_length=254, nullable=False)
    subject: str = Field(max_length=300, nullable=False)
    text: str = Field(sa_type=sa.Text, nullable=False)
    html: str | None = Field(default=None, sa_type=sa.Text)
    message_id: str = Field(max_length=255, nullable=False, unique=True)
    status: EmailStatus = enum_field(EmailStatus, EmailStatus.PENDING)
    attempts: int = Field(default=0, nullable=False)
    last_error: str | None = Field(default=None, max_length=500)
    created_at: dt.datetime = created_at_field()
    sent_at: dt.datetime | None = timestamp_field()


class NotificationKind(str, Enum):
    ACCOUNT_LOCKED = "ACCOUNT_LOCKED"
    BUDGET_THRESHOLD = "BUDGET_THRESHOLD"
    GOAL_REACHED = "GOAL_REACHED"
    IMPORT_FINISHED = "IMPORT_FINISHED"
    ADMIN_ACTION = "ADMIN_ACTION"
    PRICE_MOVE = "PRICE_MOVE"  # a held security's close moved beyond the threshold in a day
    BADGE_EARNED = "BADGE_EARNED"
    CHALLENGE_COMPLETED = "CHALLENGE_COMPLETED"
    REWARD_REDEEMED = "REWARD_REDEEMED"


class Channel(str, Enum):
    IN_APP = "IN_APP"
    EMAIL = "EMAIL"


class Notification(SQLModel, table=True):
    __table_args__ = (
        sa.Index("ix_notification_user_created", "user_id", sa.text("created_at DESC"), sa.text("id DESC")),
        sa.Index("ix_notification_user_unread", "user_id", postgresql_where=sa.text("read_at IS NULL")),
        # A producer may name the event (e.g. budget x crossed 80% in 2026-03) so it fires once.
        sa.UniqueConstraint("user_id", "dedup_key", name="uq_notification_user_dedup"),
    )

    id: uuid.UUID = id_field()
    user_id: uuid.UUID = owner_field(index=False)
    kind: NotificationKind = enum_field(NotificationKind, NotificationKind.ADMIN_ACTION)
    title: str = Field(max_length=200, nullable=False)
    body: str = Field(max_length=2000, nullable=False)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSONB, nullable=False)
    dedup_key: str | None = Field(default=None, max_length=200)
    read_at: dt.datetime | None = timestamp_field()
    created_at: dt.datetime = created_at_field()


class NotificationPreference(SQLModel, table=True):
    """An explicit choice; without a row, a kind reaches its default channels
    (`notifications.service.DEFAULT_CHANNELS`)."""

    __tablename__ = "notification_preference"

    user_id: uuid.UUID = Field(foreign_key="user.id", ondelete="CASCADE", primary_key=True)
    kind: NotificationKind = Field(
        sa_type=sa.Enum(NotificationKind, native_enum=False, length=32), primary_key=True
    )
    channel: Channel = Field(sa_type=sa.Enum(Channel, native_enum=False, length=32), primary_key=True)
    enabled: bool = Field(nullable=False)

"""Tables of gamification: the catalog (badges, challenges, rewards, shared by everyone) and each
person's derived state (events, progress, awards, the points ledger, redemptions, leaderboard profile)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from enum import Enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from finora_gql.core.models import MONEY, created_at_field, enum_field, id_field, owner_field, timestamp_field


class ChallengeKind(str, Enum):
    TRANSACTION_COUNT = "TRANSACTION_COUNT"
    SPEND_UNDER = "SPEND_UNDER"
    SAVE_AMOUNT = "SAVE_AMOUNT"
    NO_SPEND_DAYS = "NO_SPEND_DAYS"
    LOGIN_STREAK = "LOGIN_STREAK"
    BUDGET_KEPT = "BUDGET_KEPT"
    GOAL_CONTRIBUTION = "GOAL_CONTRIBUTION"


# Judged once the period has closed, from the ledger, by the period-close job.
JUDGED_AT_CLOSE = frozenset({ChallengeKind.SPEND_UNDER, ChallengeKind.NO_SPEND_DAYS, ChallengeKind.BUDGET_KEPT})


class Recurrence(str, Enum):
    NONE = "NONE"  # once, from joining, for duration_days (or open-ended)
    WEEKLY = "WEEKLY"  # ISO weeks, Monday to Sunday, in the person's time zone
    MONTHLY = "MONTHLY"  # calendar months in the person's time zone


class BadgeCriterion(str, Enum):
    TRANSACTIONS_LOGGED = "TRANSACTIONS_LOGGED"
    CHALLENGES_COMPLETED = "CHALLENGES_COMPLETED"
    LOGIN_STREAK = "LOGIN_STREAK"
    GOAL_CONTRIBUTIONS = "GOAL_CONTRIBUTIONS"
    IMPORTS_COMPLETED = "IMPORTS_COMPLETED"
    BUDGETS_KEPT = "BUDGETS_KEPT"
    POINTS_EARNED = "POINTS_EARNED"


class Badge(SQLModel, table=True):
    id: uuid.UUID = id_field()
    code: str = Field(max_length=40, unique=True, nullable=False)
    name: str = Field(max_length=80, nullable=False)
    description: str = Field(max_length=500, nullable=False)
    icon: str = Field(max_length=40, nullable=False, default="star")
    criterion: BadgeCriterion = enum_field(BadgeCriterion, BadgeCriterion.TRANSACTIONS_LOGGED)
    threshold: int = Field(default=1, nullable=False)
    points: int = Field(default=0, nullable=False)
    retired_at: dt.datetime | None = timestamp_field()
    created_at: dt.datetime = created_at_field()


class Challenge(SQLModel, table=True):
    id: uuid.UUID = id_field()
    code: str = Field(max_length=40, unique=True, nullable=False)
    name: str = Field(max_length=80, nullable=False)
    description: str = Field(max_length=500, nullable=False)
    kind: ChallengeKind = enum_field(ChallengeKind, ChallengeKind.TRANSACTION_COUNT)
    # A count (transactions, days) or an amount in the person's base currency.
    target: Decimal = Field(sa_type=MONEY, nullable=False)
    reward_points: int = Field(default=0, nullable=False)
    recurrence: Recurrence = enum_field(Recurrence, Recurrence.NONE)
    duration_days: int | None = Field(default=None)
    # SPEND_UNDER on one category: matched by name in each person's own categories.
    category_name: str | None = Field(default=None, max_length=60)
    default_enrolled: bool = Field(default=False, nullable=False)
    starts_at: dt.datetime | None = timestamp_field()
    ends_at: dt.datetime | None = timestamp_field()
    retired_at: dt.datetime | None = timestamp_field()
    created_at: dt.datetime = created_at_field()


class Reward(SQLModel, table=True):
    id: uuid.UUID = id_field()
    code: str = Field(max_length=40, unique=True, nullable=False)
    name: str = Field(max_length=80, nullable=False)
    description: str = Field(max_length=500, nullable=False)
    cost_points: int = Field(nullable=False)
    retired_at: dt.datetime | None = timestamp_field()
    created_at: dt.datetime = created_at_field()


class EventKind(str, Enum):
    TRANSACTION_CREATED = "TRANSACTION_CREATED"
    TRANSACTION_DELETED = "TRANSACTION_DELETED"
    TRANSACTION_UPDATED = "TRANSACTION_UPDATED"
    SIGNED_IN = "SIGNED_IN"
    GOAL_CONTRIBUTION = "GOAL_CONTRIBUTION"
    IMPORT_COMPLETED = "IMPORT_COMPLETED"
    PERIOD_CLOSED = "PERIOD_CLOSED"
    CHALLENGE_JOINED = "CHALLENGE_JOINED"
    CHALLENGE_LEFT = "CHALLENGE_LEFT"


class GamificationEvent(SQLModel, table=True):
    """What happened, written in the cause's transaction. `seq` is the order it is applied in,
    set when processed (under the person's state lock): replaying by `seq` gives the same state."""

    __tablename__ = "gamification_event"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "dedup_key", name="uq_gamification_event_dedup"),
        sa.Index("ix_gamification_event_pending", "user_id", "created_at", postgresql_where=sa.text("seq IS NULL")),
        sa.Index("ix_gamification_event_user_seq", "user_id", "seq"),
    )

    id: uuid.UUID = id_field()
    user_id: uuid.UUID = owner_field(index=False)
    kind: EventKind = enum_field(EventKind, EventKind.SIGNED_IN)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSONB, nullable=False)
    dedup_key: str | None = Field(default=None, max_length=200)
    occurred_at: dt.datetime = created_at_field()
    created_at: dt.datetime = created_at_field()
    # Set when applied: the order, and the person's time zone then (so a replay is the same).
    seq: int | None = Field(default=None, sa_type=sa.BigInteger)
    timezone: str | None = Field(default=None, max_length=64)
    processed_at: dt.datetime | None = timestamp_field()


class GamificationState(SQLModel, table=True):
    """One row per person: the lock every change to their gamification takes, and the rules'
    working state (counted transactions, streak, counters), derivable from their events."""

    __tablename__ = "gamification_state"

    user_id: uuid.UUID = Field(foreign_key="user.id", ondelete="CASCADE", primary_key=True)
    last_seq: int = Field(default=0, nullable=False, sa_type=sa.BigInteger)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSONB, nullable=False)
    updated_at: dt.datetime = created_at_field()


class ChallengeProgress(SQLModel, table=True):
    """A person's progress in one period of one challenge."""

    __tablename__ = "challenge_progress"
    __table_args__ = (sa.UniqueConstraint("user_id", "challenge_id", "period_start", name="uq_challenge_progress"),)

    id: uuid.UUID = id_field()
    user_id: uuid.UUID = owner_field(index=False)
    challenge_id: uuid.UUID = Field(foreign_key="challenge.id", ondelete="CASCADE", nullable=False)
    period_start: dt.date = Field(sa_type=sa.Date, nullable=False)
    period_end: dt.date | None = Field(default=None, sa_type=sa.Date)  # exclusive; None: open-ended
    progress: Decimal = Field(default=Decimal(0), sa_type=MONEY, nullable=False)
    completed_at: dt.datetime | None = timestamp_field()
    judged: bool = Field(default=False, nullable=False)


class ChallengeEnrollment(SQLModel, table=True):
    """Joining or leaving a challenge (default ones count as joined until left)."""

    __tablename__ = "challenge_enrollment"
    __table_args__ = (sa.UniqueConstraint("user_id", "challenge_id", name="uq_challenge_enrollment"),)

    id: uuid.UUID = id_field()
    user_id: uuid.UUID = owner_field(index=False)
    challenge_id: uuid.UUID = Field(foreign_key="challenge.id", ondelete="CASCADE", nullable=False)
    joined_at: dt.datetime | None = timestamp_field()
    left_at: dt.datetime | None = timestamp_field()


class Award(SQLModel, table=True):
    """A badge earned or a challenge completed: once per (person, badge or challenge, period)."""

    __table_args__ = (
        sa.UniqueConstraint("user_id", "subject", "period", name="uq_award_once"),
        sa.Index("ix_award_user_created", "user_id", "created_at"),
    )

    id: uuid.UUID = id_field()
    user_id: uuid.UUID = owner_field(index=False)
    # "badge:<id>" or "challenge:<id>"
    subject: str = Field(max_length=60, nullable=False)
    badge_id: uuid.UUID | None = Field(default=None, foreign_key="badge.id", ondelete="CASCADE")
    challenge_id: uuid.UUID | None = Field(default=None, foreign_key="challenge.id", ondelete="CASCADE")
    period: str = Field(max_length=20, nullable=False)  # "ALL" for badges, the period's first day otherwise
    points: int = Field(default=0, nullable=False)
    event_id: uuid.UUID | None = Field(default=None)
    created_at: dt.datetime = created_at_field()


class PointsSource(str, Enum):
    CHALLENGE = "CHALLENGE"
    BADGE = "BADGE"
    REDEMPTION = "REDEMPTION"
    ADJUSTMENT = "ADJUSTMENT"


class PointsEntry(SQLModel, table=True):
    """The points ledger: append-only (a trigger refuses updates); the balance is its sum."""

    __tablename__ = "points_entry"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "source_key", name="uq_points_entry_source"),
        sa.Index("ix_points_entry_user_created", "user_id", sa.text("created_at DESC"), sa.text("id DESC")),
    )

    id: uuid.UUID = id_field()
    user_id: uuid.UUID = owner_field(index=False)
    amount: int = Field(nullable=False)
    source: PointsSource = enum_field(PointsSource, PointsSource.CHALLENGE)
    source_key: str = Field(max_length=120, nullable=False)
    description: str = Field(max_length=200, nullable=False)
    created_at: dt.datetime = created_at_field()


class Redemption(SQLModel, table=True):
    __table_args__ = (sa.UniqueConstraint("user_id", "client_key", name="uq_redemption_client_key"),)

    id: uuid.UUID = id_field()
    user_id: uuid.UUID = owner_field(index=False)
    reward_id: uuid.UUID = Field(foreign_key="reward.id", ondelete="RESTRICT", nullable=False)
    client_key: str = Field(max_length=100, nullable=False)
    points: int = Field(nullable=False)
    created_at: dt.datetime = created_at_field()


class LeaderboardProfile(SQLModel, table=True):
    __tablename__ = "leaderboard_profile"

    id: uuid.UUID = id_field()
    user_id: uuid.UUID = Field(foreign_key="user.id", ondelete="CASCADE", nullable=False, unique=True)
    opt_in: bool = Field(default=False, nullable=False)
    display_name: str | None = Field(default=None, max_length=40)
    updated_at: dt.datetime = created_at_field()

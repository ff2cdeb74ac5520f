"""Gamification's shared state: the ownership kits of its tables, the catalog as the rules see
it (cached briefly per process), and the per-person lock every change takes first."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import text
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from finora_gql.core import clock
from finora_gql.core.db import CompiledRead, fetch
from finora_gql.core.owned import Owned
from finora_gql.gamification.engine import (
    BadgeSpec,
    ChallengeSpec,
    Engine,
    EventIn,
    empty_state,
)
from finora_gql.gamification.models import (
    Award,
    Badge,
    Challenge,
    ChallengeEnrollment,
    ChallengeProgress,
    GamificationEvent,
    GamificationState,
    LeaderboardProfile,
    PointsEntry,
    Redemption,
)

events = Owned(GamificationEvent, "event")
progress_rows = Owned(ChallengeProgress, "challenge progress")
enrollments = Owned(ChallengeEnrollment, "challenge enrollment")
awards = Owned(Award, "award")
points = Owned(PointsEntry, "points entry")
redemptions = Owned(Redemption, "redemption")
profiles = Owned(LeaderboardProfile, "leaderboard profile")
states = Owned(GamificationState, "gamification state")

ACHIEVEMENT = "ACHIEVEMENT"  # realtime message kind on the person's channel


# --- the catalog as the rules see it ----------------------------------------------------------------


CATALOG_TTL = 2.0  # seconds a process trusts its copy of the catalog (every job reads it)
_catalog: tuple[float, list[ChallengeSpec], list[BadgeSpec]] | None = None


async def engine(session: AsyncSession, *, daily_points_cap: int = 0, fresh: bool = False) -> Engine:
    """The rules over the catalog. The catalog is read at most every CATALOG_TTL seconds per
    process: an admin's edit reaches the workers within that (this process's at once)."""
    global _catalog
    if fresh or _catalog is None or _catalog[0] < time.monotonic():
        challenges = (await session.exec(select(Challenge))).all()
        badges = (await session.exec(select(Badge).order_by(col(Badge.threshold), col(Badge.code)))).all()
        _catalog = (
            time.monotonic() + CATALOG_TTL,
            [ChallengeSpec(str(c.id), c.code, c.name, c.kind, c.target, c.reward_points, c.recurrence,
                           c.duration_days, c.default_enrolled, c.starts_at, c.ends_at, c.retired_at)
             for c in challenges],
            [BadgeSpec(str(b.id), b.code, b.name, b.criterion, b.threshold, b.points, b.retired_at) for b in badges],
        )
    return Engine(_catalog[1], _catalog[2], daily_points_cap=daily_points_cap)


def catalog_changed() -> None:
    """This process's next job reads the catalog again (called after an admin edit commits)."""
    global _catalog
    _catalog = None


@dataclass
class Locked:
    user_id: uuid.UUID
    last_seq: int
    data: dict[str, Any]


# A person's state row, created on first use; the no-op update takes the row lock for the
# transaction (one statement, and a job's first: a concurrent job for the same person waits here).
_UPSERT = """
INSERT INTO gamification_state (user_id, last_seq, data, updated_at) {source}
ON CONFLICT (user_id) DO UPDATE SET user_id = EXCLUDED.user_id
RETURNING user_id, last_seq, data"""
_LOCK = CompiledRead(text(_UPSERT.format(source="VALUES (:user_id, 0, CAST(:empty AS jsonb), :now)")))
# The same for the person an event belongs to, if that event is still pending: nothing (and no
# lock) when it was applied already, so a redelivered job ends after one statement.
_LOCK_FOR_EVENT = CompiledRead(text(_UPSERT.format(
    source="SELECT e.user_id, 0, CAST(:empty AS jsonb), :now FROM gamification_event AS e "
           "WHERE e.id = :event_id AND e.seq IS NULL")))
_EMPTY = orjson.dumps(empty_state()).decode()


async def lock(session: AsyncSession, user_id: uuid.UUID) -> Locked:
    """The person's state, its row locked for this transaction (created on first use)."""
    rows = await fetch(session, _LOCK, {"user_id": user_id, "empty": _EMPTY, "now": clock.now()})
    return _locked(rows[0])


async def lock_for_event(session: AsyncSession, event_id: uuid.UUID) -> Locked | None:
    """The state of the event's person, locked, if the event is pending; None otherwise."""
    rows = await fetch(session, _LOCK_FOR_EVENT, {"event_id": event_id, "empty": _EMPTY, "now": clock.now()})
    return _locked(rows[0]) if rows else None


def _locked(row: Any) -> Locked:
    user_id, last_seq, data = row
    return Locked(user_id, last_seq, data or empty_state())


def event_in(event: GamificationEvent) -> EventIn:
    return EventIn(str(event.id), event.kind, event.occurred_at, event.timezone or "UTC", event.payload)



def week_key(moment: dt.datetime) -> str:
    year, week, _ = moment.astimezone(dt.UTC).isocalendar()
    return f"week:{year}-{week:02d}"


def week_start(moment: dt.datetime) -> dt.datetime:
    utc = moment.astimezone(dt.UTC)
    monday = utc.date() - dt.timedelta(days=utc.weekday())
    return dt.datetime.combine(monday, dt.time(), dt.UTC)

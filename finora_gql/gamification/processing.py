"""Applying events: once, in order, under the person's lock (`process_event`, the job); the
sweep of events whose job was lost; `recompute` from the events alone; and the period close that
judges SPEND_UNDER / NO_SPEND_DAYS / BUDGET_KEPT from the ledger once a period has ended in the
person's time zone."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import bindparam, func, text
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from finora_gql.core import clock
from finora_gql.core.db import CompiledRead, after_commit, atomic, fetch
from finora_gql.core.errors import ErrorCode, ServiceError
from finora_gql.core.owned import SYSTEM, user_sql
from finora_gql.core.runtime import Runtime
from finora_gql.core.viewer import Viewer, user_channel
from finora_gql.gamification import events as gamification_events
from finora_gql.gamification import leaderboard as boards
from finora_gql.gamification.engine import (
    ChallengeSpec,
    Earned,
    EventIn,
    empty_state,
    period_of,
)
from finora_gql.gamification.models import (
    JUDGED_AT_CLOSE,
    Challenge,
    ChallengeKind,
    EventKind,
    GamificationEvent,
    GamificationState,
    LeaderboardProfile,
    PointsSource,
)
from finora_gql.gamification.state import (
    ACHIEVEMENT,
    Locked,
    engine,
    event_in,
    events,
    lock,
    lock_for_event,
    profiles,
    states,
    week_key,
)
from finora_gql.notifications import service as notifications
from finora_gql.notifications.models import NotificationKind
from finora_gql.users import service as users
from finora_gql.users.models import User

BATCH = 500  # events applied per transaction


# --- processing events --------------------------------------------------------------------------


async def process_event(rt: Runtime, event_id: uuid.UUID) -> int:
    """The job: apply this event (and any earlier pending ones of the same person) once.
    A redelivered or duplicated job finds it applied and does nothing. Returns how many applied."""
    async with rt.sessions() as session, atomic(session):
        locked = await lock_for_event(session, event_id)
        return 0 if locked is None else await _apply(session, rt, locked)


async def apply_pending(session: AsyncSession, rt: Runtime, user_id: uuid.UUID) -> int:
    """Apply the person's pending events, under their lock (the sweep and the period close)."""
    return await _apply(session, rt, await lock(session, user_id))


# The person's pending events, in the order they were recorded (after the lock: a job that
# waited for it sees what the one before it applied).
_PENDING = CompiledRead(
    select(GamificationEvent.id, GamificationEvent.kind, GamificationEvent.occurred_at, GamificationEvent.payload)
    .where(events.owned_by(bindparam("user_id")), col(GamificationEvent.seq).is_(None))
    .order_by(col(GamificationEvent.created_at), col(GamificationEvent.id)).limit(BATCH)
)
# Commits without waiting for the WAL flush (see `_apply`).
_ASYNC_COMMIT = CompiledRead(text("SELECT set_config('synchronous_commit', 'off', true)"))
# Everything a job writes but awards, in one statement: the applied events' order (and the zone
# their days were judged in), the person's progress rows, their working state.
_STORE = CompiledRead(text(f"""
WITH applied AS (
  UPDATE gamification_event AS e
  SET seq = a.seq, timezone = :timezone, processed_at = :now, payload = COALESCE(a.payload, e.payload)
  FROM unnest(CAST(:event_ids AS uuid[]), CAST(:seqs AS bigint[]), CAST(:payloads AS jsonb[])) AS a(id, seq, payload)
  WHERE e.id = a.id AND {user_sql("e.user_id")}
), progress AS (
  INSERT INTO challenge_progress (id, user_id, challenge_id, period_start, period_end, progress, completed_at, judged)
  SELECT gen_random_uuid(), :user_id, p.* FROM unnest(
    CAST(:challenge_ids AS uuid[]), CAST(:starts AS date[]), CAST(:ends AS date[]), CAST(:values AS numeric[]),
    CAST(:completed AS timestamptz[]), CAST(:judged AS boolean[])) AS p
  ON CONFLICT ON CONSTRAINT uq_challenge_progress DO UPDATE SET period_end = EXCLUDED.period_end,
    progress = EXCLUDED.progress, completed_at = EXCLUDED.completed_at, judged = EXCLUDED.judged
)
UPDATE gamification_state SET data = CAST(:data AS jsonb), last_seq = :last_seq, updated_at = :now
WHERE {user_sql()}"""))


async def _apply(session: AsyncSession, rt: Runtime, locked: Locked) -> int:
    """Apply the locked person's pending events in order. With the lock, five statements, each
    compiled once (the ORM's statement building cost several times the database's work), and
    per award one more plus its notification's.

    The transaction commits without waiting for its WAL flush: a database crash can lose its
    last few milliseconds of commits, but the events' `seq` is lost with their effects (one
    transaction), so they are pending again and the sweep applies them. Nothing half-applied."""
    user_id = locked.user_id
    await fetch(session, _ASYNC_COMMIT, {})
    pending = await fetch(session, _PENDING, {"user_id": user_id})
    if not pending:
        return 0
    user = await users.basics(session, user_id)
    if user is None:
        return 0
    rules = await engine(session, daily_points_cap=rt.settings.gamification_daily_points_cap)
    if any(row[3].get("challenge_id") not in (None, *rules.challenges) for row in pending):
        # A challenge newer than this process's copy of the catalog: read it again.
        rules = await engine(session, daily_points_cap=rt.settings.gamification_daily_points_cap, fresh=True)
    state, seq, now = locked.data, locked.last_seq, clock.now()
    touched: dict[str, dict[str, Any]] = {}
    earned: list[tuple[uuid.UUID, Earned]] = []
    seqs, payloads = [], []
    for event_id, kind, occurred_at, payload in pending:
        seq += 1
        seqs.append(seq)
        kind = EventKind(kind)
        if kind is EventKind.GOAL_CONTRIBUTION:
            payload = {**payload, "base_currency": user.base_currency}
            payloads.append(orjson.dumps(payload).decode())
        else:
            payloads.append(None)  # unchanged
        outcome = rules.apply(state, EventIn(str(event_id), kind, occurred_at, user.timezone, payload))
        touched.update(outcome.progress)
        earned.extend((event_id, item) for item in outcome.earned)
    await _store(session, user_id, state, seq, touched, now=now, timezone=user.timezone,
                 applied=([row[0] for row in pending], seqs, payloads))
    await _write_awards(session, rt, user_id, user.email, earned)
    return len(pending)


async def _store(
    session: AsyncSession, user_id: uuid.UUID, state: dict[str, Any], last_seq: int,
    touched: dict[str, dict[str, Any]], *, now: dt.datetime, timezone: str | None,
    applied: tuple[list[uuid.UUID], list[int], list[str | None]] = ([], [], []),
) -> None:
    rows = list(touched.values())
    event_ids, seqs, payloads = applied
    await fetch(session, _STORE, {
        "user_id": user_id, "now": now, "timezone": timezone, "last_seq": last_seq,
        "data": orjson.dumps(state).decode(),
        "event_ids": event_ids, "seqs": seqs, "payloads": payloads,
        "challenge_ids": [uuid.UUID(row["challenge_id"]) for row in rows],
        "starts": [dt.date.fromisoformat(row["start"]) for row in rows],
        "ends": [dt.date.fromisoformat(row["end"]) if row["end"] else None for row in rows],
        "values": [Decimal(row["value"]) for row in rows],
        "completed": [dt.datetime.fromisoformat(row["completed"]) if row["completed"] else None for row in rows],
        "judged": [row["judged"] for row in rows],
    })


# An award once (by its unique key) and, if it is new and worth points, its points entry: one
# statement; its answer says whether the award is new.
_AWARD = CompiledRead(text("""
WITH award AS (
  INSERT INTO award (id, user_id, subject, badge_id, challenge_id, period, points, event_id, created_at)
  VALUES (gen_random_uuid(), :user_id, :subject, :badge_id, :challenge_id, :period, :points, :event_id, :now)
  ON CONFLICT ON CONSTRAINT uq_award_once DO NOTHING RETURNING id
), points AS (
  INSERT INTO points_entry (id, user_id, amount, source, source_key, description, created_at)
  SELECT gen_random_uuid(), :user_id, :points, :source, :source_key, :description, :now FROM award WHERE :points > 0
  ON CONFLICT ON CONSTRAINT uq_points_entry_source DO NOTHING
)
SELECT count(*) FROM award"""))
_OPTED_IN = CompiledRead(select(LeaderboardProfile.opt_in).where(profiles.owned_by(bindparam("user_id"))))


async def _write_awards(
    session: AsyncSession, rt: Runtime, user_id: uuid.UUID, email: str, earned: Sequence[tuple[uuid.UUID, Earned]]
) -> int:
    """Awards (once each, by the unique key) and their points; told after commit. Returns how many were new."""
    if not earned:
        return 0
    added = 0
    board_points = 0
    for event_id, item in earned:
        source = PointsSource.BADGE if item.badge_id else PointsSource.CHALLENGE
        rows = await fetch(session, _AWARD, {
            "user_id": user_id, "subject": item.subject, "period": item.period, "points": item.points,
            "badge_id": uuid.UUID(item.badge_id) if item.badge_id else None,
            "challenge_id": uuid.UUID(item.challenge_id) if item.challenge_id else None,
            "event_id": event_id, "now": clock.now(), "source": source.value,
            "source_key": f"{item.subject}|{item.period}", "description": item.title[:200],
        })
        if not rows[0][0]:
            continue  # already awarded: a replay or a duplicate changes nothing
        added += 1
        board_points += item.points
        kind = NotificationKind.BADGE_EARNED if item.badge_id else NotificationKind.CHALLENGE_COMPLETED
        body = f"+{item.points} points." if item.points else "Points for today are at their daily limit."
        await notifications.notify(
            session, rt, Viewer.acting_for(user_id), kind=kind, title=item.title, body=body, email_to=email,
            data={"subject": item.subject, "period": item.period, "points": item.points},
            dedup_key=f"award:{item.subject}:{item.period}",
        )
        message = {"kind": ACHIEVEMENT, "achievement": {
            "kind": "BADGE_EARNED" if item.badge_id else "CHALLENGE_COMPLETED", "title": item.title,
            "points": item.points, "code": item.code, "badge_id": item.badge_id, "challenge_id": item.challenge_id,
            "period": item.period, "at": clock.now().isoformat(),
        }}
        after_commit(session, lambda message=message: rt.pubsub.publish(user_channel(user_id), message))
    if board_points:
        opted = await fetch(session, _OPTED_IN, {"user_id": user_id})
        if opted and opted[0][0]:
            board = boards.board_for(rt.redis)
            member, week = str(user_id), week_key(clock.now())

            async def score() -> None:
                await board.incr("all", member, board_points)
                await board.incr(week, member, board_points)

            after_commit(session, score)
    return added


async def sweep_pending(rt: Runtime, *, older_than: dt.timedelta = dt.timedelta(minutes=1)) -> int:
    """Apply events whose job was lost (a crash between commit and enqueue)."""
    async with rt.sessions() as session:
        user_ids = (await session.exec(
            events.where_visible(select(GamificationEvent.user_id), SYSTEM).where(
                col(GamificationEvent.seq).is_(None), col(GamificationEvent.created_at) < clock.now() - older_than)
            .distinct().limit(1000)
        )).all()
    applied = 0
    for user_id in user_ids:
        async with rt.sessions() as session, atomic(session):
            applied += await apply_pending(session, rt, user_id)
    return applied


# --- recompute ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recomputed:
    events: int
    awards_added: int
    progress_rows: int


async def recompute(session: AsyncSession, rt: Runtime, user_id: uuid.UUID) -> Recomputed:
    """Rebuild the person's working state and progress from their applied events, in order, from
    nothing; add any award (and its points) the replay earns that is missing. Awards are never
    taken back and the points ledger is never rewritten."""
    user = await users.get_user(session, user_id)
    if user is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "No user has this id.", "userId")
    state_row = await lock(session, user_id)
    await engine(session, fresh=True)
    applied = (await session.exec(
        events.readable(Viewer.acting_for(user_id)).where(col(GamificationEvent.seq).is_not(None))
        .order_by(col(GamificationEvent.seq))
    )).all()
    rules = await engine(session, daily_points_cap=rt.settings.gamification_daily_points_cap)
    state = empty_state()
    touched: dict[str, dict[str, Any]] = {}
    earned: list[tuple[uuid.UUID, Earned]] = []
    for event in applied:
        outcome = rules.apply(state, event_in(event))
        touched.update(outcome.progress)
        earned.extend((event.id, item) for item in outcome.earned)
    await _store(session, user_id, state, state_row.last_seq, touched, now=clock.now(), timezone=None)
    added = await _write_awards(session, rt, user_id, user.email, earned)
    return Recomputed(events=len(applied), awards_added=added, progress_rows=len(touched))


# --- period close -------------------------------------------------------------------------------


def _closed_period(spec: ChallengeSpec, today: dt.date, joined: dt.date | None) -> tuple[dt.date, dt.date] | None:
    """The latest period of `spec` that has ended by `today` (in the person's zone)."""
    start, end = period_of(spec, today, joined)
    if end is not None and end <= today:
        return start, end
    previous_start, previous_end = period_of(spec, start - dt.timedelta(days=1), joined)
    if previous_end is None or previous_end > today or previous_start == start:
        return None
    return previous_start, previous_end


async def close_periods(rt: Runtime) -> int:
    """The scheduled job: for everyone with gamification state, judge the challenges that are
    judged at close (SPEND_UNDER, NO_SPEND_DAYS, BUDGET_KEPT) for the period that has just
    closed in their time zone, from the ledger. Each judgement is a PERIOD_CLOSED event keyed by
    (challenge, period), so running twice (or on two schedulers) judges once. Returns how many
    judgements were recorded."""
    await sweep_pending(rt)
    async with rt.sessions() as session:
        user_ids = (await session.exec(states.where_visible(select(GamificationState.user_id), SYSTEM))).all()
    recorded = 0
    for user_id in user_ids:
        async with rt.sessions() as session, atomic(session):
            recorded += await close_user_periods(session, rt, user_id)
            await apply_pending(session, rt, user_id)
    return recorded


async def close_user_periods(session: AsyncSession, rt: Runtime, user_id: uuid.UUID) -> int:
    user = await users.get_user(session, user_id)
    if user is None:
        return 0
    state = (await lock(session, user_id)).data
    if not state.get("since"):
        return 0
    since = dt.date.fromisoformat(state["since"])
    now = clock.now()
    today = now.astimezone(ZoneInfo(user.timezone)).date()
    rules = await engine(session, daily_points_cap=rt.settings.gamification_daily_points_cap)
    recorded = 0
    for spec in rules.challenges.values():
        if spec.kind not in JUDGED_AT_CLOSE or not spec.active_at(now) or not rules.enrolled(state, spec, now):
            continue
        closed = _closed_period(spec, today, rules.joined_day(state, spec))
        if closed is None or closed[1] <= since:
            continue  # the period ended before this person was around
        start, end = closed
        key = f"close:{spec.id}:{start.isoformat()}"
        exists = (await session.exec(
            events.readable(Viewer.acting_for(user_id)).where(col(GamificationEvent.dedup_key) == key)
        )).first()
        if exists is not None:
            continue
        value, reason = await _judge(session, user, spec, start, end)
        gamification_events.record(session, Viewer.acting_for(user_id), EventKind.PERIOD_CLOSED, {
            "challenge_id": spec.id, "period_start": start.isoformat(), "period_end": end.isoformat(),
            "value": None if value is None else str(value), "reason": reason,
        }, dedup_key=key)
        recorded += 1
    await session.flush()
    return recorded


async def _judge(
    session: AsyncSession, user: User, spec: ChallengeSpec, start: dt.date, end: dt.date
) -> tuple[Decimal | None, str | None]:
    """The closed period's figure from the ledger, or None with the reason it can't be known."""
    from finora_gql.budgets import service as budgets
    from finora_gql.transactions import categories
    from finora_gql.transactions import service as transactions
    from finora_gql.wallet import totals

    viewer = Viewer.acting_for(user.id)
    last = end - dt.timedelta(days=1)
    if spec.kind is ChallengeKind.SPEND_UNDER:
        found, missing = await totals.converted_totals(
            session, viewer, start=start, end=last, currency=user.base_currency, by_category=True)
        if missing:
            return None, f"No exchange rate for {missing[0].currency}."
        challenge = await session.get(Challenge, uuid.UUID(spec.id))
        name = challenge.category_name if challenge else None
        if name is None:
            return sum((-t.outflow for t in found if not t.is_transfer), Decimal(0)), None
        named = (await session.exec(
            categories.readable(viewer).where(func.lower(col(categories.Category.name)) == name.lower())
        )).all()
        ids = {c.id for c in named}
        return sum((-(t.inflow + t.outflow) for t in found if not t.is_transfer and t.category_id in ids),
                   Decimal(0)), None
    if spec.kind is ChallengeKind.NO_SPEND_DAYS:
        from finora_gql.transactions.models import Transaction

        spent_days = (await session.exec(
            transactions.readable(viewer).with_only_columns(col(Transaction.date)).distinct().where(
                col(Transaction.date) >= start, col(Transaction.date) < end, col(Transaction.amount) < 0,
                col(Transaction.transfer_id).is_(None))
        )).all()
        return Decimal((end - start).days - len(spent_days)), None
    status = await budgets.budget_status(session, viewer, month=start)
    if not status.lines:
        return None, "No budgets that month."
    if status.missing_rates:
        return None, "Missing exchange rates that month."
    return Decimal(1 if all(line.spent <= line.available for line in status.lines) else 0), None

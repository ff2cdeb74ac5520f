"""Gamification's state: applying events (once, in order, under the person's lock), awards and
the points ledger, challenges people join, rewards they redeem, the leaderboard.

Every change to one person's gamification takes their `gamification_state` row lock first, so
jobs, period closes, redemptions and recomputes of one person run one after another.
"""

from __future__ import annotations

import copy
import datetime as dt
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from finora_gql.core import clock
from finora_gql.core.db import after_commit, any_of, atomic
from finora_gql.core.errors import ErrorCode, ServiceError
from finora_gql.core.owned import SYSTEM, Actor, Owned
from finora_gql.core.pagination import Page, PageRequest, encode_cursor, newest_first, window
from finora_gql.core.runtime import Runtime
from finora_gql.core.validation import clean_text
from finora_gql.core.viewer import Viewer, user_channel
from finora_gql.gamification import events as gamification_events
from finora_gql.gamification import leaderboard as boards
from finora_gql.gamification.engine import (
    BadgeSpec, ChallengeSpec, Earned, Engine, EventIn, empty_state, period_of,
)
from finora_gql.gamification.models import (
    JUDGED_AT_CLOSE, Award, Badge, Challenge, ChallengeEnrollment, ChallengeKind, ChallengeProgress, EventKind,
    GamificationEvent, GamificationState, LeaderboardProfile, PointsEntry, PointsSource, Redemption, Reward,
)
from finora_gql.notifications import service as notifications
from finora_gql.notifications.models import NotificationKind
from finora_gql.users import service as users
from finora_gql.users.models import User

events = Owned(GamificationEvent, "event")
progress_rows = Owned(ChallengeProgress, "challenge progress")
enrollments = Owned(ChallengeEnrollment, "challenge enrollment")
awards = Owned(Award, "award")
points = Owned(PointsEntry, "points entry")
redemptions = Owned(Redemption, "redemption")
profiles = Owned(LeaderboardProfile, "leaderboard profile")
states = Owned(GamificationState, "gamification state")

ACHIEVEMENT = "ACHIEVEMENT"  # realtime message kind on the person's channel
BATCH = 500  # events applied per transaction
POINTS_CURSOR = "points"


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
class _Locked:
    last_seq: int
    data: dict[str, Any]


async def _lock(session: AsyncSession, user_id: uuid.UUID) -> _Locked:
    """The person's state, its row locked for this transaction (created on first use); one statement."""
    statement = insert(GamificationState).values(user_id=user_id, last_seq=0, data=empty_state(), updated_at=clock.now())
    statement = statement.on_conflict_do_update(
        index_elements=["user_id"], set_={"user_id": statement.excluded.user_id},  # a no-op that takes the row lock
    ).returning(col(GamificationState.last_seq), col(GamificationState.data))
    last_seq, data = (await session.exec(statement)).one()
    return _Locked(last_seq, data or empty_state())


async def _save(session: AsyncSession, user_id: uuid.UUID, state: dict[str, Any], last_seq: int) -> None:
    await session.exec(update(GamificationState).where(states.owned_by(user_id)).values(
        data=state, last_seq=last_seq, updated_at=clock.now()))


def _event_in(event: GamificationEvent) -> EventIn:
    return EventIn(str(event.id), event.kind, event.occurred_at, event.timezone or "UTC", event.payload)


# --- processing events --------------------------------------------------------------------------


async def process_event(rt: Runtime, event_id: uuid.UUID) -> int:
    """The job: apply this event (and any earlier pending ones of the same person) once.
    A redelivered or duplicated job finds it applied and does nothing. Returns how many applied."""
    async with rt.sessions() as session, atomic(session):
        event = await events.find(session, SYSTEM, event_id)
        if event is None or event.seq is not None:
            return 0
        return await apply_pending(session, rt, event.user_id)


async def apply_pending(session: AsyncSession, rt: Runtime, user_id: uuid.UUID) -> int:
    """Apply the person's pending events in the order they were recorded, under their lock.

    The transaction commits without waiting for its WAL flush: a database crash can lose its
    last few milliseconds of commits, but the events' `seq` is lost with their effects (one
    transaction), so they are pending again and the sweep applies them. Nothing half-applied."""
    await session.exec(text("SET LOCAL synchronous_commit TO OFF"))
    state_row = await _lock(session, user_id)
    viewer = Viewer.acting_for(user_id)
    pending = (await session.exec(
        events.readable(viewer).where(col(GamificationEvent.seq).is_(None))
        .order_by(col(GamificationEvent.created_at), col(GamificationEvent.id)).limit(BATCH)
        .execution_options(populate_existing=True)
    )).all()
    if not pending:
        return 0
    user = await users.get_user(session, user_id)
    if user is None:
        return 0
    rules = await engine(session, daily_points_cap=rt.settings.gamification_daily_points_cap)
    if any(e.payload.get("challenge_id") not in (None, *rules.challenges) for e in pending):
        # A challenge newer than this process's copy of the catalog: read it again.
        rules = await engine(session, daily_points_cap=rt.settings.gamification_daily_points_cap, fresh=True)
    state = copy.deepcopy(state_row.data)
    seq, now = state_row.last_seq, clock.now()
    touched: dict[str, dict[str, Any]] = {}
    earned: list[tuple[GamificationEvent, Earned]] = []
    for event in pending:
        seq += 1
        event.seq, event.timezone, event.processed_at = seq, user.timezone, now
        if event.kind is EventKind.GOAL_CONTRIBUTION:
            event.payload = {**event.payload, "base_currency": user.base_currency}
        outcome = rules.apply(state, _event_in(event))
        touched.update(outcome.progress)
        earned.extend((event, item) for item in outcome.earned)
        session.add(event)
    await _save(session, user_id, state, seq)
    await _write_progress(session, user_id, touched)
    await _write_awards(session, rt, user, earned)
    return len(pending)


async def _write_progress(session: AsyncSession, user_id: uuid.UUID, touched: dict[str, dict[str, Any]]) -> None:
    if not touched:
        return
    values = [{
        "id": uuid.uuid4(), "user_id": user_id, "challenge_id": uuid.UUID(row["challenge_id"]),
        "period_start": dt.date.fromisoformat(row["start"]),
        "period_end": dt.date.fromisoformat(row["end"]) if row["end"] else None,
        "progress": Decimal(row["value"]),
        "completed_at": dt.datetime.fromisoformat(row["completed"]) if row["completed"] else None,
        "judged": row["judged"],
    } for row in touched.values()]
    statement = insert(ChallengeProgress).values(values)
    await session.exec(statement.on_conflict_do_update(
        constraint="uq_challenge_progress",
        set_={name: statement.excluded[name] for name in ("period_end", "progress", "completed_at", "judged")},
    ))


async def _write_awards(
    session: AsyncSession, rt: Runtime, user: User, earned: Sequence[tuple[GamificationEvent, Earned]]
) -> int:
    """Awards (once each, by the unique key) and their points; told after commit. Returns how many were new."""
    if not earned:
        return 0
    added = 0
    board_points = 0
    for event, item in earned:
        award_id = (await session.exec(
            insert(Award).values(
                id=uuid.uuid4(), user_id=user.id, subject=item.subject, period=item.period, points=item.points,
                badge_id=uuid.UUID(item.badge_id) if item.badge_id else None,
                challenge_id=uuid.UUID(item.challenge_id) if item.challenge_id else None,
                event_id=event.id, created_at=clock.now(),
            ).on_conflict_do_nothing(constraint="uq_award_once").returning(col(Award.id))
        )).first()
        if award_id is None:
            continue  # already awarded: a replay or a duplicate changes nothing
        added += 1
        if item.points:
            source = PointsSource.BADGE if item.badge_id else PointsSource.CHALLENGE
            await session.exec(insert(PointsEntry).values(
                id=uuid.uuid4(), user_id=user.id, amount=item.points, source=source,
                source_key=f"{item.subject}|{item.period}", description=item.title[:200], created_at=clock.now(),
            ).on_conflict_do_nothing(constraint="uq_points_entry_source"))
            board_points += item.points
        kind = NotificationKind.BADGE_EARNED if item.badge_id else NotificationKind.CHALLENGE_COMPLETED
        body = f"+{item.points} points." if item.points else "Points for today are at their daily limit."
        await notifications.notify(
            session, rt, user.id, kind=kind, title=item.title, body=body, email_to=user.email,
            data={"subject": item.subject, "period": item.period, "points": item.points},
            dedup_key=f"award:{item.subject}:{item.period}",
        )
        message = {"kind": ACHIEVEMENT, "achievement": {
            "kind": "BADGE_EARNED" if item.badge_id else "CHALLENGE_COMPLETED", "title": item.title,
            "points": item.points, "code": item.code, "badge_id": item.badge_id, "challenge_id": item.challenge_id,
            "period": item.period, "at": clock.now().isoformat(),
        }}
        after_commit(session, lambda message=message: rt.pubsub.publish(user_channel(user.id), message))
    if board_points:
        profile = (await session.exec(profiles.readable(Viewer.acting_for(user.id)))).first()
        if profile is not None and profile.opt_in:
            board = boards.board_for(rt.redis)
            member, week = str(user.id), week_key(clock.now())

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
    state_row = await _lock(session, user_id)
    await engine(session, fresh=True)
    applied = (await session.exec(
        events.readable(Viewer.acting_for(user_id)).where(col(GamificationEvent.seq).is_not(None))
        .order_by(col(GamificationEvent.seq))
    )).all()
    rules = await engine(session, daily_points_cap=rt.settings.gamification_daily_points_cap)
    state = empty_state()
    touched: dict[str, dict[str, Any]] = {}
    earned: list[tuple[GamificationEvent, Earned]] = []
    for event in applied:
        outcome = rules.apply(state, _event_in(event))
        touched.update(outcome.progress)
        earned.extend((event, item) for item in outcome.earned)
    await _save(session, user_id, state, state_row.last_seq)
    await _write_progress(session, user_id, touched)
    added = await _write_awards(session, rt, user, earned)
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
    state = (await _lock(session, user_id)).data
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
        gamification_events.record(session, user_id, EventKind.PERIOD_CLOSED, {
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
            session, user.id, start=start, end=last, currency=user.base_currency, by_category=True)
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


# --- reading ------------------------------------------------------------------------------------


async def list_challenges(session: AsyncSession, *, include_retired: bool = False) -> Sequence[Challenge]:
    statement = select(Challenge).order_by(col(Challenge.code))
    if not include_retired:
        statement = statement.where(col(Challenge.retired_at).is_(None))
    return (await session.exec(statement)).all()


async def list_badges(session: AsyncSession, *, include_retired: bool = False) -> Sequence[Badge]:
    statement = select(Badge).order_by(col(Badge.code))
    if not include_retired:
        statement = statement.where(col(Badge.retired_at).is_(None))
    return (await session.exec(statement)).all()


async def list_rewards(session: AsyncSession, *, include_retired: bool = False) -> Sequence[Reward]:
    statement = select(Reward).order_by(col(Reward.cost_points), col(Reward.code))
    if not include_retired:
        statement = statement.where(col(Reward.retired_at).is_(None))
    return (await session.exec(statement)).all()


async def catalog_by_ids(session: AsyncSession, model: type, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Any]:
    if not ids:
        return {}
    rows = (await session.exec(select(model).where(any_of(col(model.id), list(ids))))).all()
    return {row.id: row for row in rows}


@dataclass(frozen=True)
class MyChallenge:
    challenge: Challenge
    enrolled_by_default: bool
    period_start: dt.date
    period_end: dt.date | None
    progress: Decimal
    completed_at: dt.datetime | None
    judged: bool


async def my_challenges(session: AsyncSession, viewer: Viewer) -> list[MyChallenge]:
    """The challenges the viewer takes part in now, with this period's progress."""
    user = await users.get_user(session, viewer.user_id)
    assert user is not None
    state_row = (await session.exec(states.readable(viewer))).first()
    state = state_row.data if state_row else empty_state()
    explicit = {row.challenge_id: row for row in (await session.exec(enrollments.readable(viewer))).all()}
    now = clock.now()
    today = now.astimezone(ZoneInfo(user.timezone)).date()
    rules = await engine(session)
    result = []
    listed = await list_challenges(session)
    if any(str(c.id) not in rules.challenges for c in listed):
        rules = await engine(session, fresh=True)
    for challenge in listed:
        spec = rules.challenges[str(challenge.id)]
        enrollment = explicit.get(challenge.id)
        if enrollment is not None and enrollment.left_at is not None:
            continue
        if enrollment is None and not challenge.default_enrolled:
            continue
        if not spec.active_at(now):
            continue
        start, end = period_of(spec, today, rules.joined_day(state, spec))
        row = (await session.exec(progress_rows.readable(viewer).where(
            col(ChallengeProgress.challenge_id) == challenge.id, col(ChallengeProgress.period_start) == start))).first()
        result.append(MyChallenge(challenge, enrollment is None, start, end,
                                  row.progress if row else Decimal(0), row.completed_at if row else None,
                                  row.judged if row else False))
    return result


async def my_awards(session: AsyncSession, viewer: Viewer, *, badges_only: bool = True) -> Sequence[Award]:
    statement = awards.readable(viewer).order_by(col(Award.created_at).desc(), col(Award.id))
    if badges_only:
        statement = statement.where(col(Award.badge_id).is_not(None))
    return (await session.exec(statement)).all()


async def balance(session: AsyncSession, actor: Actor) -> int:
    statement = points.where_visible(select(func.coalesce(func.sum(PointsEntry.amount), 0)), actor)
    return int((await session.exec(statement)).one())


async def points_page(session: AsyncSession, viewer: Viewer, *, page: PageRequest) -> Page[PointsEntry]:
    statement = newest_first(points.readable(viewer), (col(PointsEntry.created_at), col(PointsEntry.id)), page)
    return window(list((await session.exec(statement)).all()), page)


def points_cursor(row: PointsEntry) -> str:
    return encode_cursor(POINTS_CURSOR, row.created_at, row.id)


async def count_points(session: AsyncSession, viewer: Viewer) -> int:
    return (await session.exec(points.where_visible(select(func.count()).select_from(PointsEntry), viewer))).one()


# --- joining and leaving ------------------------------------------------------------------------


async def _active_challenge(session: AsyncSession, challenge_id: uuid.UUID) -> Challenge:
    challenge = await session.get(Challenge, challenge_id)
    if challenge is None or challenge.retired_at is not None:
        raise ServiceError(ErrorCode.NOT_FOUND, "No open challenge has this id.", "challengeId")
    return challenge


async def join_challenge(session: AsyncSession, viewer: Viewer, challenge_id: uuid.UUID) -> Challenge:
    challenge = await _active_challenge(session, challenge_id)
    now = clock.now()
    if challenge.ends_at is not None and challenge.ends_at <= now:
        raise ServiceError(ErrorCode.INVALID, "This challenge has ended.", "challengeId")
    existing = (await session.exec(enrollments.readable(viewer).where(
        col(ChallengeEnrollment.challenge_id) == challenge.id).with_for_update())).first()
    if existing is not None and existing.left_at is None and existing.joined_at is not None:
        return challenge  # already in: joining twice changes nothing
    if existing is None and challenge.default_enrolled:
        return challenge  # everyone is in this one unless they leave it
    row = existing or ChallengeEnrollment(user_id=viewer.user_id, challenge_id=challenge.id)
    row.joined_at, row.left_at = now, None
    session.add(row)
    gamification_events.record(session, viewer, EventKind.CHALLENGE_JOINED, {"challenge_id": str(challenge.id)})
    return challenge


async def leave_challenge(session: AsyncSession, viewer: Viewer, challenge_id: uuid.UUID) -> Challenge:
    challenge = await session.get(Challenge, challenge_id)
    if challenge is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "No challenge has this id.", "challengeId")
    existing = (await session.exec(enrollments.readable(viewer).where(
        col(ChallengeEnrollment.challenge_id) == challenge.id).with_for_update())).first()
    if existing is not None and existing.left_at is not None:
        return challenge
    if existing is None and not challenge.default_enrolled:
        raise ServiceError(ErrorCode.INVALID, "You have not joined this challenge.", "challengeId")
    row = existing or ChallengeEnrollment(user_id=viewer.user_id, challenge_id=challenge.id)
    row.left_at = clock.now()
    session.add(row)
    gamification_events.record(session, viewer, EventKind.CHALLENGE_LEFT, {"challenge_id": str(challenge.id)})
    return challenge


# --- rewards ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Redeemed:
    redemption: Redemption
    reward: Reward
    balance: int
    replayed: bool  # the same client key was redeemed before: nothing new was debited


async def redeem(session: AsyncSession, rt: Runtime, viewer: Viewer, *, reward_id: uuid.UUID, client_key: str) -> Redeemed:
    """Spend points on a reward, once per client key; the balance never goes below zero."""
    key = clean_text(client_key, field="clientKey", max_length=100)
    await _lock(session, viewer.user_id)  # one redemption (or award) of this person at a time
    previous = (await session.exec(redemptions.readable(viewer).where(col(Redemption.client_key) == key))).first()
    if previous is not None:
        if previous.reward_id != reward_id:
            raise ServiceError(ErrorCode.INVALID, "This client key was used for another reward.", "clientKey")
        reward = await session.get(Reward, previous.reward_id)
        return Redeemed(previous, reward, await balance(session, viewer), replayed=True)
    reward = await session.get(Reward, reward_id)
    if reward is None or reward.retired_at is not None:
        raise ServiceError(ErrorCode.NOT_FOUND, "No available reward has this id.", "rewardId")
    available = await balance(session, viewer)
    if available < reward.cost_points:
        raise ServiceError(ErrorCode.INVALID,
                           f"This reward costs {reward.cost_points} points; you have {available}.", "rewardId")
    redemption = Redemption(user_id=viewer.user_id, reward_id=reward.id, client_key=key, points=reward.cost_points)
    session.add(redemption)
    session.add(PointsEntry(user_id=viewer.user_id, amount=-reward.cost_points, source=PointsSource.REDEMPTION,
                            source_key=f"redemption:{redemption.id}", description=f"Redeemed: {reward.name}"[:200]))
    user = await users.get_user(session, viewer.user_id)
    await notifications.notify(
        session, rt, viewer.user_id, kind=NotificationKind.REWARD_REDEEMED, title=f"Reward redeemed: {reward.name}",
        body=f"{reward.cost_points} points spent.", email_to=user.email if user else None,
        data={"rewardId": str(reward.id)}, dedup_key=f"redemption:{key}",
    )
    await session.flush()
    return Redeemed(redemption, reward, available - reward.cost_points, replayed=False)


# --- leaderboard --------------------------------------------------------------------------------


def week_key(moment: dt.datetime) -> str:
    year, week, _ = moment.astimezone(dt.UTC).isocalendar()
    return f"week:{year}-{week:02d}"


def _board_key(period: str) -> str:
    return "all" if period == "ALL_TIME" else week_key(clock.now())


async def set_profile(
    session: AsyncSession, rt: Runtime, viewer: Viewer, *, opt_in: bool, display_name: str | None
) -> LeaderboardProfile:
    name = clean_text(display_name, field="displayName", max_length=40, required=False) if display_name else None
    profile = (await session.exec(profiles.readable(viewer).with_for_update())).first()
    profile = profile or LeaderboardProfile(user_id=viewer.user_id)
    profile.opt_in, profile.display_name, profile.updated_at = opt_in, name or None, clock.now()
    session.add(profile)
    board = boards.board_for(rt.redis)
    member = str(viewer.user_id)
    shown = profile.display_name or boards.pseudonym(viewer.user_id)
    if opt_in:
        all_time = await _earned(session, viewer.user_id, None)
        this_week = await _earned(session, viewer.user_id, _week_start(clock.now()))

        async def join() -> None:
            await board.set_name(member, shown)
            await board.remove(member, ["all", week_key(clock.now())])
            if all_time:
                await board.incr("all", member, all_time)
            if this_week:
                await board.incr(week_key(clock.now()), member, this_week)

        after_commit(session, join)
    else:
        async def leave() -> None:
            await board.remove(member, ["all", week_key(clock.now())])
            await board.set_name(member, None)

        after_commit(session, leave)
    return profile


def _week_start(moment: dt.datetime) -> dt.datetime:
    utc = moment.astimezone(dt.UTC)
    monday = utc.date() - dt.timedelta(days=utc.weekday())
    return dt.datetime.combine(monday, dt.time(), dt.UTC)


async def _earned(session: AsyncSession, user_id: uuid.UUID, since: dt.datetime | None) -> int:
    statement = points.where_visible(
        select(func.coalesce(func.sum(PointsEntry.amount), 0)), Viewer.acting_for(user_id)
    ).where(col(PointsEntry.amount) > 0)
    if since is not None:
        statement = statement.where(col(PointsEntry.created_at) >= since)
    return int((await session.exec(statement)).one())


async def rebuild_leaderboard(session: AsyncSession, rt: Runtime, period: str) -> int:
    """Refill a board from the points ledger: earned points of everyone opted in."""
    named = (await session.exec(profiles.readable(SYSTEM).where(col(LeaderboardProfile.opt_in)))).all()
    scores: dict[str, int] = {}
    if named:
        statement = (
            points.where_visible(select(PointsEntry.user_id, func.sum(PointsEntry.amount)), SYSTEM)
            .where(any_of(col(PointsEntry.user_id), [p.user_id for p in named]), col(PointsEntry.amount) > 0)
            .group_by(col(PointsEntry.user_id))
        )
        if period != "ALL_TIME":
            statement = statement.where(col(PointsEntry.created_at) >= _week_start(clock.now()))
        scores = {str(user_id): int(total) for user_id, total in (await session.exec(statement)).all()}
    board = boards.board_for(rt.redis)
    await board.set_names({str(p.user_id): p.display_name or boards.pseudonym(p.user_id) for p in named})
    await board.replace(_board_key(period), scores)
    return len(scores)


@dataclass(frozen=True)
class Standing:
    rank: int
    display_name: str
    points: int
    is_viewer: bool


@dataclass(frozen=True)
class Leaderboard:
    period: str
    entries: list[Standing]
    viewer_entry: Standing | None
    neighbourhood: list[Standing]


async def leaderboard(session: AsyncSession, rt: Runtime, viewer: Viewer, *, period: str, radius: int = 2) -> Leaderboard:
    """The top 10 and the viewer's neighbourhood: one read of the board (one Redis call), which
    is first rebuilt from the points ledger when it is not built."""
    board = boards.board_for(rt.redis)
    key, member = _board_key(period), str(viewer.user_id)
    reading = await board.read(key, member, count=10, radius=radius)
    if reading is None:
        await rebuild_leaderboard(session, rt, period)
        reading = await board.read(key, member, count=10, radius=radius)
        assert reading is not None

    def standing(row: boards.Ranked) -> Standing:
        shown = reading.names.get(row.member) or boards.pseudonym(uuid.UUID(row.member))
        return Standing(row.rank, shown, row.points, row.member == member)

    return Leaderboard(period, [standing(r) for r in reading.top],
                       standing(reading.mine) if reading.mine else None, [standing(r) for r in reading.around])


async def profile_of(session: AsyncSession, viewer: Viewer) -> LeaderboardProfile | None:
    return (await session.exec(profiles.readable(viewer))).first()


# --- administration -----------------------------------------------------------------------------


async def user_counts(session: AsyncSession, user_id: uuid.UUID) -> dict[str, int]:
    """How many awards a person has and their points balance (for the admin console)."""
    viewer = Viewer.acting_for(user_id)
    earned = (await session.exec(awards.where_visible(select(func.count()).select_from(Award), viewer))).one()
    return {"awards": int(earned), "points": await balance(session, viewer)}

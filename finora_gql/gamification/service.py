"""Gamification for people and the API: the catalog, the viewer's challenges, badges and points,
joining and leaving, redeeming rewards, and the leaderboard. Events are applied in
`processing.py`; the kits, the catalog cache and the lock live in `state.py`."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from finora_gql.core import clock
from finora_gql.core.db import after_commit, any_of
from finora_gql.core.errors import ErrorCode, ServiceError
from finora_gql.core.owned import SYSTEM, Actor
from finora_gql.core.pagination import Page, PageRequest, encode_cursor, newest_first, window
from finora_gql.core.runtime import Runtime
from finora_gql.core.validation import clean_text
from finora_gql.core.viewer import Viewer
from finora_gql.gamification import events as gamification_events
from finora_gql.gamification import leaderboard as boards
from finora_gql.gamification.engine import (
    empty_state,
    period_of,
)
from finora_gql.gamification.models import (
    Award,
    Badge,
    Challenge,
    ChallengeEnrollment,
    ChallengeProgress,
    EventKind,
    LeaderboardProfile,
    PointsEntry,
    PointsSource,
    Redemption,
    Reward,
)
from finora_gql.gamification.state import (
    awards,
    engine,
    enrollments,
    lock,
    points,
    profiles,
    progress_rows,
    redemptions,
    states,
    week_key,
    week_start,
)
from finora_gql.notifications import service as notifications
from finora_gql.notifications.models import NotificationKind
from finora_gql.users import service as users

POINTS_CURSOR = "points"


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
    await lock(session, viewer.user_id)  # one redemption (or award) of this person at a time
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
        session, rt, viewer, kind=NotificationKind.REWARD_REDEEMED, title=f"Reward redeemed: {reward.name}",
        body=f"{reward.cost_points} points spent.", email_to=user.email if user else None,
        data={"rewardId": str(reward.id)}, dedup_key=f"redemption:{key}",
    )
    await session.flush()
    return Redeemed(redemption, reward, available - reward.cost_points, replayed=False)


# --- leaderboard --------------------------------------------------------------------------------


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
        this_week = await _earned(session, viewer.user_id, week_start(clock.now()))

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
            statement = statement.where(col(PointsEntry.created_at) >= week_start(clock.now()))
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

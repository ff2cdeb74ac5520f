"""Savings goals and their contributions: progress (a linked account's balance, else the sum of
contributions), the monthly rate and projected date, and being told once when a goal is reached."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

from sqlalchemy import case, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from finora_gql.accounts import service as accounts
from finora_gql.budgets.common import EARLIEST, HISTORY_MONTHS, LATEST, current_user, money, percent_of, today_of
from finora_gql.budgets.models import Goal, GoalContribution
from finora_gql.core import clock
from finora_gql.core.calendar import add_months
from finora_gql.core.db import any_of
from finora_gql.core.errors import Collector, ErrorCode, ServiceError
from finora_gql.core.models import touched
from finora_gql.core.money import clean_amount, format_money
from finora_gql.core.owned import Owned
from finora_gql.core.runtime import Runtime
from finora_gql.core.validation import clean_currency, clean_text
from finora_gql.core.viewer import Viewer
from finora_gql.gamification import events as gamification
from finora_gql.notifications import service as notifications
from finora_gql.notifications.models import NotificationKind

# A projection further out than this is no projection: null.
MAX_PROJECTION_MONTHS = 1200
GOAL_NAME_MAX = 100
NOTE_MAX = 200

goals = Owned(Goal, "goal")
contributions = Owned(GoalContribution, "goal contribution")


def readable_goals(viewer: Viewer) -> SelectOfScalar[Goal]:
    return goals.readable(viewer)


def readable_contributions(viewer: Viewer) -> SelectOfScalar[GoalContribution]:
    return contributions.readable(viewer)


@dataclass(frozen=True)
class GoalProgress:
    """Where a goal stands, in the goal's currency, rounded."""

    goal: Goal
    progress: Decimal  # the linked account's balance, else the sum of contributions
    remaining: Decimal  # target - progress, never below 0
    percent: Decimal
    reached: bool
    monthly_rate: Decimal | None  # average monthly contribution over the last 3 months
    projected_date: dt.date | None
    on_track: bool | None


async def list_goals(session: AsyncSession, viewer: Viewer, *, include_achieved: bool = True) -> Sequence[Goal]:
    statement = readable_goals(viewer)
    if not include_achieved:
        statement = statement.where(col(Goal.achieved_at).is_(None))
    return (await session.exec(statement.order_by(col(Goal.created_at), col(Goal.id)))).all()


async def get_goals(session: AsyncSession, viewer: Viewer, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Goal]:
    return await goals.by_ids(session, viewer, ids)


async def get_goal(
    session: AsyncSession, viewer: Viewer, goal_id: uuid.UUID, *, field: str = "id", for_update: bool = False
) -> Goal:
    return await goals.get(session, viewer, goal_id, field=field, for_update=for_update)


async def get_contributions(
    session: AsyncSession, viewer: Viewer, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, GoalContribution]:
    return await contributions.by_ids(session, viewer, ids)


async def contributions_by_goal(
    session: AsyncSession, viewer: Viewer, goal_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[GoalContribution]]:
    """Each goal's contributions, newest first (a dataloader batch: goals without any are absent)."""
    rows = (await session.exec(
        readable_contributions(viewer).where(any_of(col(GoalContribution.goal_id), goal_ids))
        .order_by(col(GoalContribution.date).desc(), col(GoalContribution.created_at).desc(), col(GoalContribution.id))
    )).all()
    found: dict[uuid.UUID, list[GoalContribution]] = defaultdict(list)
    for row in rows:
        found[row.goal_id].append(row)
    return dict(found)


def projected_date(remaining: Decimal, rate: Decimal | None, *, today: dt.date) -> dt.date | None:
    """Today plus the whole months `rate` per month needs to cover `remaining`;
    None when nothing remains, the rate is not positive, or it takes over 100 years."""
    if remaining <= 0 or rate is None or rate <= 0:
        return None
    months = int((remaining / rate).to_integral_value(rounding=ROUND_CEILING))
    if months > MAX_PROJECTION_MONTHS:
        return None
    return add_months(today, months)


def _on_track(goal: Goal, reached: bool, projected: dt.date | None) -> bool | None:
    if goal.target_date is None:
        return None
    if reached:
        return True
    return projected is not None and projected <= goal.target_date


async def goal_progress(
    session: AsyncSession, viewer: Viewer, goals: Sequence[Goal], *, today: dt.date | None = None
) -> list[GoalProgress]:
    """Progress, rate and projection of `goals` (all the viewer's), in three queries whatever their number.

    The rate is the sum of contributions dated in the 3 months up to today, divided by 3.
    A linked goal's progress is its account's current balance; its rate still comes from its
    contributions (none: no rate, no projection).
    """
    if not goals:
        return []
    if today is None:
        today = today_of(await current_user(session, viewer))
    window_start = add_months(today, -HISTORY_MONTHS)
    ids = [goal.id for goal in goals]
    owned = readable_contributions(viewer).where(any_of(col(GoalContribution.goal_id), ids)).subquery()
    in_window = (owned.c.date > window_start) & (owned.c.date <= today)
    sums = (await session.exec(
        select(
            owned.c.goal_id,
            func.sum(owned.c.amount),
            func.coalesce(func.sum(case((in_window, owned.c.amount), else_=0)), 0),
            func.count(),
        ).group_by(owned.c.goal_id)
    )).all()
    by_goal = {goal_id: (Decimal(total), Decimal(recent), count) for goal_id, total, recent, count in sums}
    linked = await accounts.get_accounts(session, viewer, [g.account_id for g in goals if g.account_id])
    result: list[GoalProgress] = []
    for goal in goals:
        total, recent, count = by_goal.get(goal.id, (Decimal(0), Decimal(0), 0))
        account = linked.get(goal.account_id) if goal.account_id else None
        progress = money(account.current_balance if account is not None else total, goal.currency)
        target = money(goal.target_amount, goal.currency)
        remaining = max(target - progress, money(Decimal(0), goal.currency))
        reached = progress >= target
        rate = money(recent / HISTORY_MONTHS, goal.currency) if count else None
        projected = None if reached else projected_date(remaining, rate, today=today)
        result.append(GoalProgress(
            goal=goal, progress=progress, remaining=remaining, percent=percent_of(progress, target) or Decimal("0.00"),
            reached=reached, monthly_rate=rate, projected_date=projected,
            on_track=_on_track(goal, reached, projected),
        ))
    return result


async def one_goal_progress(session: AsyncSession, viewer: Viewer, goal: Goal) -> GoalProgress:
    return (await goal_progress(session, viewer, [goal]))[0]


async def _linkable_account(session: AsyncSession, viewer: Viewer, account_id: uuid.UUID, currency: str | None):
    account = await accounts.get_account(session, viewer, account_id, field="accountId")
    if account.archived:
        raise ServiceError(ErrorCode.INVALID, "This account is archived; unarchive it first.", "accountId")
    if currency is not None and account.currency != currency:
        raise ServiceError(
            ErrorCode.INVALID, f"Link an account in the goal's currency ({currency}), not {account.currency}.", "accountId"
        )
    return account


def _clean_target_date(value: dt.date, today: dt.date) -> dt.date:
    if value < today:
        raise ServiceError(ErrorCode.INVALID, "The target date must not be in the past.", "targetDate")
    if value >= LATEST:
        raise ServiceError(ErrorCode.INVALID, "The target date must be before 2200.", "targetDate")
    return value


def _contribution_date(day: dt.date, today: dt.date) -> dt.date:
    if day > today:
        raise ServiceError(ErrorCode.INVALID, "A contribution cannot be dated in the future.", "date")
    if day < EARLIEST:
        raise ServiceError(ErrorCode.INVALID, "The date must be after 1900.", "date")
    return day


async def _settle(session: AsyncSession, viewer: Viewer, goal: Goal) -> tuple[GoalProgress, bool]:
    """Record whether the goal is reached after a write: `achieved_at` is set when progress first
    reaches the target and cleared when a later write (a withdrawal, a higher target) takes it
    back below. Returns the progress and whether this write reached the target."""
    await session.flush()
    progress = await one_goal_progress(session, viewer, goal)
    reached_now = _mark_achieved(progress)
    session.add(goal)
    await session.flush()
    return progress, reached_now


def _mark_achieved(progress: GoalProgress) -> bool:
    """Set the goal's `achieved_at` when progress first reaches the target, clear it when progress
    is back below; True when it was just reached."""
    goal = progress.goal
    if progress.reached and goal.achieved_at is None:
        goal.achieved_at = clock.now()
        return True
    if not progress.reached and goal.achieved_at is not None:
        goal.achieved_at = None
    return False


async def create_goal(
    session: AsyncSession, viewer: Viewer, *, name: str, target_amount: Decimal, currency: str | None = None,
    target_date: dt.date | None = None, account_id: uuid.UUID | None = None,
) -> GoalProgress:
    """A savings goal. Currency defaults to the linked account's, else the viewer's base currency."""
    user = await current_user(session, viewer)
    today = today_of(user)
    errors = Collector()  # every problem of the input, not only the first
    cleaned_name = errors.check(clean_text, name, field="name", max_length=GOAL_NAME_MAX)
    chosen = errors.check(clean_currency, currency) if currency is not None else None
    account = await errors.check_async(_linkable_account(session, viewer, account_id, chosen)) if account_id is not None else None
    goal_currency = chosen or (account.currency if account is not None else user.base_currency)
    amount = errors.check(clean_amount, target_amount, currency=goal_currency, field="targetAmount", positive=True)
    cleaned_date = errors.check(_clean_target_date, target_date, today) if target_date is not None else None
    errors.raise_any()
    goal = Goal(
        user_id=viewer.user_id,
        name=cleaned_name,
        target_amount=amount,
        currency=goal_currency,
        target_date=cleaned_date,
        account_id=account.id if account is not None else None,
    )
    session.add(goal)
    progress, _ = await _settle(session, viewer, goal)
    return progress


async def update_goal(
    session: AsyncSession, viewer: Viewer, goal_id: uuid.UUID, *, name: str | None = None,
    target_amount: Decimal | None = None, target_date: dt.date | None = None, clear_target_date: bool = False,
    account_id: uuid.UUID | None = None, clear_account: bool = False,
) -> GoalProgress:
    """Change a goal; its currency is fixed at creation (its contributions are in it)."""
    goal = await get_goal(session, viewer, goal_id, for_update=True)
    errors = Collector()  # every problem of the input, not only the first
    cleaned_name = errors.check(clean_text, name, field="name", max_length=GOAL_NAME_MAX) if name is not None else None
    amount = (
        errors.check(clean_amount, target_amount, currency=goal.currency, field="targetAmount", positive=True)
        if target_amount is not None else None
    )
    new_date = not clear_target_date and target_date is not None and target_date != goal.target_date
    cleaned_date = (
        errors.check(_clean_target_date, target_date, today_of(await current_user(session, viewer))) if new_date else None
    )
    new_account = not clear_account and account_id is not None and account_id != goal.account_id
    account = await errors.check_async(_linkable_account(session, viewer, account_id, goal.currency)) if new_account else None
    errors.raise_any()
    if cleaned_name is not None:
        goal.name = cleaned_name
    if amount is not None:
        goal.target_amount = amount
    if clear_target_date:
        goal.target_date = None
    elif new_date:
        goal.target_date = cleaned_date
    if clear_account:
        goal.account_id = None
    elif new_account:
        goal.account_id = account.id
    touched(goal)
    progress, _ = await _settle(session, viewer, goal)
    return progress


async def delete_goal(session: AsyncSession, viewer: Viewer, goal_id: uuid.UUID) -> Goal:
    """Delete a goal and its contributions."""
    goal = await get_goal(session, viewer, goal_id, for_update=True)
    await session.delete(goal)
    await session.flush()
    return goal


async def _contributed(session: AsyncSession, viewer: Viewer, goal_id: uuid.UUID) -> Decimal:
    """The sum of a goal's contributions (deposits minus withdrawals)."""
    owned = readable_contributions(viewer).where(col(GoalContribution.goal_id) == goal_id).subquery()
    total = (await session.exec(select(func.coalesce(func.sum(owned.c.amount), 0)))).one()
    return Decimal(total)


@dataclass(frozen=True)
class ContributionResult:
    contribution: GoalContribution
    goal: GoalProgress
    reached_now: bool  # this write brought the goal to its target (achieved_at was just set)


async def add_contribution(
    session: AsyncSession, rt: Runtime, viewer: Viewer, *, goal_id: uuid.UUID, amount: Decimal,
    date: dt.date | None = None, note: str | None = None,
) -> ContributionResult:
    """Money put towards a goal (negative: taken out), in the goal's currency.

    A withdrawal may not take the goal's contributions below zero, and contributions cannot be
    dated in the future. When the goal's progress reaches its target, `achieved_at` is set.
    """
    goal = await get_goal(session, viewer, goal_id, field="goalId", for_update=True)  # serialises writers
    today = today_of(await current_user(session, viewer))
    errors = Collector()  # every problem of the input, not only the first
    value = errors.check(clean_amount, amount, currency=goal.currency, field="amount", allow_zero=False)
    if value is not None and value < 0 and await _contributed(session, viewer, goal.id) + value < 0:
        errors.add(ServiceError(ErrorCode.INVALID, "You cannot take out more than was put in.", "amount"))
    day = errors.check(_contribution_date, date or today, today)
    cleaned_note = errors.check(clean_text, note, field="note", max_length=NOTE_MAX, required=False) if note is not None else ""
    errors.raise_any()
    contribution = GoalContribution(
        goal_id=goal.id, user_id=viewer.user_id, amount=value, date=day, note=cleaned_note or None
    )
    session.add(contribution)
    gamification.record(session, viewer, gamification.EventKind.GOAL_CONTRIBUTION, {
        "goal_id": str(goal.id), "amount": str(value), "currency": goal.currency, "date": day.isoformat()})
    touched(goal)
    progress, reached_now = await _settle(session, viewer, goal)
    if reached_now:
        await _goal_reached(session, rt, viewer, goal)
    return ContributionResult(contribution, progress, reached_now)


async def settle_linked_goals(session: AsyncSession, rt: Runtime, viewer: Viewer, account_ids: Sequence[uuid.UUID]) -> int:
    """After these accounts' balances moved: a goal linked to one of them that the balance now
    reaches is marked achieved and told (once, as when a contribution reaches it); one the
    balance fell back below is unmarked. Returns how many were reached."""
    linked = (await session.exec(
        readable_goals(viewer).where(any_of(col(Goal.account_id), account_ids)).order_by(col(Goal.id)).with_for_update()
    )).all()
    reached = 0
    for progress in await goal_progress(session, viewer, linked):  # all of them in three queries
        if _mark_achieved(progress):
            await _goal_reached(session, rt, viewer, progress.goal)
            reached += 1
        session.add(progress.goal)
    return reached


async def _goal_reached(session: AsyncSession, rt: Runtime, viewer: Viewer, goal: Goal) -> None:
    user = await current_user(session, viewer)
    await notifications.notify(
        session, rt, viewer,
        kind=NotificationKind.GOAL_REACHED,
        title=f"Goal reached: {goal.name}",
        body=f"You reached your goal of {format_money(goal.target_amount, goal.currency)} for {goal.name}.",
        email_to=user.email,
        data={"goalId": str(goal.id)},
        dedup_key=f"goal:{goal.id}:reached",
    )


async def delete_contribution(session: AsyncSession, viewer: Viewer, contribution_id: uuid.UUID) -> ContributionResult:
    """Remove a contribution; refused when it would leave the goal's contributions below zero."""
    found = await contributions.get(session, viewer, contribution_id, field="id")
    goal = await get_goal(session, viewer, found.goal_id, for_update=True)
    if await _contributed(session, viewer, goal.id) - found.amount < 0:
        raise ServiceError(
            ErrorCode.INVALID, "Deleting this would leave the goal below zero; delete a withdrawal first.", "id"
        )
    await session.delete(found)
    touched(goal)
    progress, reached_now = await _settle(session, viewer, goal)
    return ContributionResult(found, progress, reached_now)

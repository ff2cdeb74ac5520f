"""Budgets and goals of the viewer: the plans, their status against spending, and what-if scenarios.

Every read starts from one `readable*` statement, the one place ownership is decided. Money is
Decimal throughout and rounded once, at the end, to the currency's minor units.

Spending always comes from the daily totals (`wallet.totals.converted_totals`), never from the
transactions table: spent in a category = -(the sum of its non-transfer amounts), converted to
the viewer's base currency at the rate in force on each day. A refund (a positive amount in an
expense category) reduces spent; a day whose currency has no rate yet is left out and reported.
"""

from __future__ import annotations

import bisect
import calendar
import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import case, func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from finora_gql.gamification import events as gamification
from finora_gql.accounts import service as accounts
from finora_gql.budgets.models import Budget, Goal, GoalContribution
from finora_gql.core import clock
from finora_gql.core.db import any_of
from finora_gql.core.errors import ErrorCode, ServiceError
from finora_gql.core.models import touched
from finora_gql.core.money import clean_amount, round_money
from finora_gql.core.validation import clean_currency, clean_text
from finora_gql.core.runtime import Runtime
from finora_gql.core.viewer import Viewer
from finora_gql.notifications import service as notifications
from finora_gql.notifications.models import NotificationKind
from finora_gql.transactions import categories
from finora_gql.transactions.models import Category, CategoryKind
from finora_gql.users import service as users
from finora_gql.users.models import User
from finora_gql.wallet import totals
from finora_gql.wallet.totals import MissingRate

EARLIEST = dt.date(1900, 1, 1)
LATEST = dt.date(2200, 1, 1)
# Months of history behind the spending average (simulateBudget) and a goal's contribution rate.
HISTORY_MONTHS = 3
# A projection further out than this is no projection: null.
MAX_PROJECTION_MONTHS = 1200
MAX_ADJUSTMENT_PERCENT = Decimal(10_000)
PERCENT = Decimal("0.01")
GOAL_NAME_MAX = 100
NOTE_MAX = 200


def readable(viewer: Viewer) -> SelectOfScalar[Budget]:
    return select(Budget).where(col(Budget.user_id) == viewer.user_id)


def readable_goals(viewer: Viewer) -> SelectOfScalar[Goal]:
    return select(Goal).where(col(Goal.user_id) == viewer.user_id)


def readable_contributions(viewer: Viewer) -> SelectOfScalar[GoalContribution]:
    return select(GoalContribution).where(col(GoalContribution.user_id) == viewer.user_id)


# --- calendar and money helpers -----------------------------------------------------------------


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later (or earlier), clamped to the end of a shorter month."""
    years, index = divmod(day.month - 1 + months, 12)
    year, month = day.year + years, index + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def month_end(first: dt.date) -> dt.date:
    return add_months(first, 1) - dt.timedelta(days=1)


def _money(value: Decimal, currency: str) -> Decimal:
    # `+ 0` turns a negative zero (e.g. -(0)) into 0.00.
    return round_money(value, currency) + 0


def percent_of(part: Decimal, whole: Decimal) -> Decimal | None:
    """part / whole * 100 to 2 places (banker's rounding); None when whole <= 0."""
    if whole <= 0:
        return None
    return (part * 100 / whole).quantize(PERCENT, rounding=ROUND_HALF_EVEN) + 0


def _clean_month(value: dt.date, field: str) -> dt.date:
    if not EARLIEST <= value < LATEST:
        raise ServiceError(ErrorCode.INVALID, "The month must be between 1900 and 2199.", field)
    return month_start(value)


async def _user(session: AsyncSession, viewer: Viewer) -> User:
    user = await users.get_user(session, viewer.user_id)
    if user is None:  # deleted since the session was confirmed; a deleted user has no budgets to show
        raise ServiceError(ErrorCode.NOT_FOUND, "No such user.")
    return user


def today_of(user: User) -> dt.date:
    """The viewer's calendar day now (the business clock, in their time zone)."""
    return clock.now().astimezone(ZoneInfo(user.timezone)).date()


async def spent_by_category(
    session: AsyncSession, user_id: uuid.UUID, *, start: dt.date, end: dt.date, currency: str
) -> tuple[dict[uuid.UUID, Decimal], list[MissingRate]]:
    """Unrounded spending per category between `start` and `end` (inclusive), in `currency`."""
    found, missing = await totals.converted_totals(
        session, user_id, start=start, end=end, currency=currency, by_category=True
    )
    spent: dict[uuid.UUID, Decimal] = defaultdict(Decimal)
    for total in found:
        if total.is_transfer or total.category_id is None:
            continue
        spent[total.category_id] -= total.inflow + total.outflow
    return spent, missing


def rolled_up(spent: dict[uuid.UUID, Decimal], parents: dict[uuid.UUID, uuid.UUID | None]) -> dict[uuid.UUID, Decimal]:
    """Each category's spending together with all its subcategories': a budget for Food covers
    Groceries and Restaurants when they are Food's subcategories."""
    total: dict[uuid.UUID, Decimal] = defaultdict(Decimal)
    for category_id, amount in spent.items():
        for category in categories.ancestry(category_id, parents):
            total[category] += amount
    return total


# --- budgets: reads -----------------------------------------------------------------------------


async def list_budgets(session: AsyncSession, viewer: Viewer, *, month: dt.date) -> list[Budget]:
    """The viewer's budgets of the month containing `month`, by category name."""
    first = _clean_month(month, "month")
    rows = (await session.exec(readable(viewer).where(col(Budget.month) == first))).all()
    names = await categories.get_categories(session, viewer, list({row.category_id for row in rows}))
    return sorted(rows, key=lambda row: (names[row.category_id].name.casefold(), names[row.category_id].name, str(row.id)))


async def get_budgets(session: AsyncSession, viewer: Viewer, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Budget]:
    rows = (await session.exec(readable(viewer).where(any_of(col(Budget.id), ids)))).all()
    return {row.id: row for row in rows}


async def get_budget(
    session: AsyncSession, viewer: Viewer, budget_id: uuid.UUID, *, field: str = "id", for_update: bool = False
) -> Budget:
    statement = readable(viewer).where(col(Budget.id) == budget_id)
    if for_update:
        statement = statement.with_for_update()
    budget = (await session.exec(statement)).first()
    if budget is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "No budget of yours has this id.", field)
    return budget


async def _expense_category(session: AsyncSession, viewer: Viewer, category_id: uuid.UUID, field: str) -> Category:
    category = await categories.get_category(session, viewer, category_id, field=field)
    if category.kind is not CategoryKind.EXPENSE:
        raise ServiceError(ErrorCode.INVALID, "Budgets are for expense categories only.", field)
    return category


# --- budgets: writes ----------------------------------------------------------------------------


async def _save_budget(session: AsyncSession, budget: Budget, *, conflict_field: str) -> Budget:
    session.add(budget)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise ServiceError(
            ErrorCode.ALREADY_EXISTS, "You already have a budget for this category in this month.", conflict_field
        ) from None
    return budget


async def create_budget(
    session: AsyncSession, viewer: Viewer, *, month: dt.date, category_id: uuid.UUID, limit: Decimal,
    rollover: bool = False,
) -> Budget:
    """A monthly limit for one expense category, in the viewer's base currency."""
    user = await _user(session, viewer)
    first = _clean_month(month, "month")
    category = await _expense_category(session, viewer, category_id, "categoryId")
    amount = clean_amount(limit, currency=user.base_currency, field="limit", positive=True)
    budget = Budget(user_id=viewer.user_id, month=first, category_id=category.id, limit_amount=amount, rollover=rollover)
    return await _save_budget(session, budget, conflict_field="categoryId")


async def update_budget(
    session: AsyncSession, viewer: Viewer, budget_id: uuid.UUID, *, month: dt.date | None = None,
    category_id: uuid.UUID | None = None, limit: Decimal | None = None, rollover: bool | None = None,
) -> Budget:
    budget = await get_budget(session, viewer, budget_id, for_update=True)
    conflict_field = "categoryId"
    if month is not None:
        first = _clean_month(month, "month")
        if first != budget.month:
            budget.month, conflict_field = first, "month"
    if category_id is not None and category_id != budget.category_id:
        budget.category_id = (await _expense_category(session, viewer, category_id, "categoryId")).id
        conflict_field = "categoryId"
    if limit is not None:
        user = await _user(session, viewer)
        budget.limit_amount = clean_amount(limit, currency=user.base_currency, field="limit", positive=True)
    if rollover is not None:
        budget.rollover = rollover
    touched(budget)
    return await _save_budget(session, budget, conflict_field=conflict_field)


async def delete_budget(session: AsyncSession, viewer: Viewer, budget_id: uuid.UUID) -> Budget:
    budget = await get_budget(session, viewer, budget_id, for_update=True)
    await session.delete(budget)
    await session.flush()
    return budget


@dataclass(frozen=True)
class CopyResult:
    copied: list[Budget]
    skipped: int  # budgets of the source month whose category already had one in the target month


async def copy_budgets(session: AsyncSession, viewer: Viewer, *, from_month: dt.date, to_month: dt.date) -> CopyResult:
    """Copy every budget of one month (limit and rollover) into another, skipping categories that
    already have a budget there. Safe against a concurrent copy: a conflicting row is skipped."""
    source_month = _clean_month(from_month, "fromMonth")
    target_month = _clean_month(to_month, "toMonth")
    if source_month == target_month:
        raise ServiceError(ErrorCode.INVALID, "Choose a different month to copy to.", "toMonth")
    sources = (await session.exec(readable(viewer).where(col(Budget.month) == source_month))).all()
    if not sources:
        return CopyResult([], 0)
    now = clock.now()
    table = Budget.__table__
    statement = (
        insert(table)
        .values([
            {"id": uuid.uuid4(), "user_id": viewer.user_id, "month": target_month, "category_id": source.category_id,
             "limit_amount": source.limit_amount, "rollover": source.rollover, "created_at": now, "updated_at": now}
            for source in sorted(sources, key=lambda b: str(b.category_id))
        ])
        .on_conflict_do_nothing(constraint="uq_budget_user_month_category")
        .returning(table.c.id)
    )
    created_ids = list((await session.exec(statement)).scalars().all())
    copied = list(await list_budgets(session, viewer, month=target_month))
    copied = [budget for budget in copied if budget.id in set(created_ids)]
    return CopyResult(copied, len(sources) - len(copied))


# --- budget status ------------------------------------------------------------------------------


@dataclass(frozen=True)
class BudgetLine:
    budget: Budget
    limit: Decimal
    rolled_over: Decimal
    available: Decimal  # limit + rolled_over
    spent: Decimal
    remaining: Decimal  # available - spent
    percent_used: Decimal | None  # spent / available * 100; None when available <= 0


@dataclass(frozen=True)
class BudgetStatus:
    month: dt.date
    currency: str
    lines: list[BudgetLine]
    total_limit: Decimal
    total_rolled_over: Decimal
    total_spent: Decimal
    total_remaining: Decimal
    missing_rates: list[MissingRate]


async def convert_limits(session: AsyncSession, viewer: Viewer, *, source: str, target: str) -> int:
    """The viewer's base currency changes from `source` to `target`: every budget limit (they
    are in the base currency) is converted, so a 500 USD limit becomes about 460 EUR rather than
    500 EUR. Each at the rate in force at the end of its month (today's for this month and later
    ones), so a past month keeps the limit it had against its spending, which is converted day
    by day; a month before the first known rate takes that first rate. Without any rate the
    change is refused (nothing is written: the caller's transaction rolls back). Returns how
    many budgets were converted."""
    if source == target:
        return 0
    rows = (await session.exec(readable(viewer).order_by(col(Budget.id)).with_for_update())).all()
    if not rows:
        return 0
    today = today_of(await _user(session, viewer))
    history = await totals.rate_history(session, source, target, through=today)
    if not history:
        raise ServiceError(
            ErrorCode.INVALID,
            f"Your budgets are in {source} and there is no {source} to {target} exchange rate to convert them "
            "with yet; try again once one is set.",
            "baseCurrency",
        )
    days = [day for day, _ in history]
    for budget in rows:
        in_force = bisect.bisect_right(days, min(month_end(budget.month), today)) - 1
        budget.limit_amount = round_money(budget.limit_amount * history[max(in_force, 0)][1], target)
        touched(budget)
        session.add(budget)
    return len(rows)


async def budget_status(session: AsyncSession, viewer: Viewer, *, month: dt.date) -> BudgetStatus:
    """Each budget of the month against what was spent in its category and its subcategories.
    Totals count each category once: a budgeted subcategory of a budgeted category is already
    in its parent's line, so only the top budgeted lines are summed.

    spent is rounded first; remaining = limit + rolledOver - spent; percentUsed =
    spent / (limit + rolledOver) * 100. rolledOver, for a budget with rollover on, is what the
    previous month's budget of the same category left (its limit minus its spent; negative when
    it was overspent), one step only; 0 without such a budget.
    """
    user = await _user(session, viewer)
    currency = user.base_currency
    first = _clean_month(month, "month")
    budgets = list(await list_budgets(session, viewer, month=first))
    parents = await categories.parents(session, viewer)
    spent, missing = await spent_by_category(
        session, viewer.user_id, start=first, end=month_end(first), currency=currency
    )
    spent = rolled_up(spent, parents)
    previous_month = add_months(first, -1)
    carrying = [b.category_id for b in budgets if b.rollover]
    previous: dict[uuid.UUID, Budget] = {}
    if carrying:
        rows = await session.exec(
            readable(viewer).where(col(Budget.month) == previous_month, any_of(col(Budget.category_id), carrying))
        )
        previous = {row.category_id: row for row in rows.all()}
    previous_spent: dict[uuid.UUID, Decimal] = {}
    if previous:
        previous_spent, previous_missing = await spent_by_category(
            session, viewer.user_id, start=previous_month, end=month_end(previous_month), currency=currency
        )
        previous_spent = rolled_up(previous_spent, parents)
        missing = totals.merge_missing(missing, previous_missing)
    lines: list[BudgetLine] = []
    for budget in budgets:
        limit = _money(budget.limit_amount, currency)
        rolled_over = Decimal(0)
        before = previous.get(budget.category_id) if budget.rollover else None
        if before is not None:
            rolled_over = _money(before.limit_amount, currency) - _money(
                previous_spent.get(budget.category_id, Decimal(0)), currency
            )
        rolled_over = _money(rolled_over, currency)
        used = _money(spent.get(budget.category_id, Decimal(0)), currency)
        available = limit + rolled_over
        lines.append(BudgetLine(
            budget=budget, limit=limit, rolled_over=rolled_over, available=available, spent=used,
            remaining=available - used, percent_used=percent_of(used, available),
        ))
    zero = _money(Decimal(0), currency)
    # Totals count each category once: a budgeted subcategory is already in its budgeted parent's line.
    budgeted = {budget.category_id for budget in budgets}
    counted = [line for line in lines
               if not budgeted.intersection(categories.ancestry(line.budget.category_id, parents)[1:])]
    return BudgetStatus(
        month=first,
        currency=currency,
        lines=lines,
        total_limit=sum((line.limit for line in counted), zero),
        total_rolled_over=sum((line.rolled_over for line in counted), zero),
        total_spent=sum((line.spent for line in counted), zero),
        total_remaining=sum((line.remaining for line in counted), zero),
        missing_rates=totals.merge_missing(missing),
    )


# --- goals: reads -------------------------------------------------------------------------------


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
    rows = (await session.exec(readable_goals(viewer).where(any_of(col(Goal.id), ids)))).all()
    return {row.id: row for row in rows}


async def get_goal(
    session: AsyncSession, viewer: Viewer, goal_id: uuid.UUID, *, field: str = "id", for_update: bool = False
) -> Goal:
    statement = readable_goals(viewer).where(col(Goal.id) == goal_id)
    if for_update:
        statement = statement.with_for_update()
    goal = (await session.exec(statement)).first()
    if goal is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "No goal of yours has this id.", field)
    return goal


async def get_contributions(
    session: AsyncSession, viewer: Viewer, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, GoalContribution]:
    rows = (await session.exec(readable_contributions(viewer).where(any_of(col(GoalContribution.id), ids)))).all()
    return {row.id: row for row in rows}


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
        today = today_of(await _user(session, viewer))
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
        progress = _money(account.current_balance if account is not None else total, goal.currency)
        target = _money(goal.target_amount, goal.currency)
        remaining = max(target - progress, _money(Decimal(0), goal.currency))
        reached = progress >= target
        rate = _money(recent / HISTORY_MONTHS, goal.currency) if count else None
        projected = None if reached else projected_date(remaining, rate, today=today)
        result.append(GoalProgress(
            goal=goal, progress=progress, remaining=remaining, percent=percent_of(progress, target) or Decimal("0.00"),
            reached=reached, monthly_rate=rate, projected_date=projected,
            on_track=_on_track(goal, reached, projected),
        ))
    return result


async def one_goal_progress(session: AsyncSession, viewer: Viewer, goal: Goal) -> GoalProgress:
    return (await goal_progress(session, viewer, [goal]))[0]


# --- goals: writes ------------------------------------------------------------------------------


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
    user = await _user(session, viewer)
    today = today_of(user)
    cleaned_name = clean_text(name, field="name", max_length=GOAL_NAME_MAX)
    chosen = clean_currency(currency) if currency is not None else None
    account = await _linkable_account(session, viewer, account_id, chosen) if account_id is not None else None
    goal_currency = chosen or (account.currency if account is not None else user.base_currency)
    goal = Goal(
        user_id=viewer.user_id,
        name=cleaned_name,
        target_amount=clean_amount(target_amount, currency=goal_currency, field="targetAmount", positive=True),
        currency=goal_currency,
        target_date=_clean_target_date(target_date, today) if target_date is not None else None,
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
    if name is not None:
        goal.name = clean_text(name, field="name", max_length=GOAL_NAME_MAX)
    if target_amount is not None:
        goal.target_amount = clean_amount(target_amount, currency=goal.currency, field="targetAmount", positive=True)
    if clear_target_date:
        goal.target_date = None
    elif target_date is not None and target_date != goal.target_date:
        goal.target_date = _clean_target_date(target_date, today_of(await _user(session, viewer)))
    if clear_account:
        goal.account_id = None
    elif account_id is not None and account_id != goal.account_id:
        goal.account_id = (await _linkable_account(session, viewer, account_id, goal.currency)).id
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
    today = today_of(await _user(session, viewer))
    value = clean_amount(amount, currency=goal.currency, field="amount", allow_zero=False)
    day = date or today
    if day > today:
        raise ServiceError(ErrorCode.INVALID, "A contribution cannot be dated in the future.", "date")
    if day < EARLIEST:
        raise ServiceError(ErrorCode.INVALID, "The date must be after 1900.", "date")
    if value < 0 and await _contributed(session, viewer, goal.id) + value < 0:
        raise ServiceError(ErrorCode.INVALID, "You cannot take out more than was put in.", "amount")
    cleaned_note = clean_text(note, field="note", max_length=NOTE_MAX, required=False) if note is not None else ""
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
    user = await _user(session, viewer)
    await notifications.notify(
        session, rt, viewer.user_id,
        kind=NotificationKind.GOAL_REACHED,
        title=f"Goal reached: {goal.name}",
        body=f"You reached your goal of {goal.target_amount} {goal.currency} for {goal.name}.",
        email_to=user.email,
        data={"goalId": str(goal.id)},
        dedup_key=f"goal:{goal.id}:reached",
    )


async def delete_contribution(session: AsyncSession, viewer: Viewer, contribution_id: uuid.UUID) -> ContributionResult:
    """Remove a contribution; refused when it would leave the goal's contributions below zero."""
    found = (await session.exec(
        readable_contributions(viewer).where(col(GoalContribution.id) == contribution_id)
    )).first()
    if found is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "No goal contribution of yours has this id.", "id")
    goal = await get_goal(session, viewer, found.goal_id, for_update=True)
    if await _contributed(session, viewer, goal.id) - found.amount < 0:
        raise ServiceError(
            ErrorCode.INVALID, "Deleting this would leave the goal below zero; delete a withdrawal first.", "id"
        )
    await session.delete(found)
    touched(goal)
    progress, reached_now = await _settle(session, viewer, goal)
    return ContributionResult(found, progress, reached_now)


# --- what-if ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GoalScenario:
    current: GoalProgress
    extra_per_month: Decimal | None  # the goal's share of the freed money, in its currency; None: no FX rate
    scenario_rate: Decimal | None
    scenario_date: dt.date | None


@dataclass(frozen=True)
class Simulation:
    month: dt.date
    category: Category
    budget: Budget | None
    currency: str
    original_limit: Decimal | None
    adjusted_limit: Decimal
    average_spending: Decimal
    original_projected_spending: Decimal
    projected_spending: Decimal
    surplus: Decimal
    freed_per_month: Decimal
    goals: list[GoalScenario]
    missing_rates: list[MissingRate]


def _exactly_one(first: object, second: object, names: tuple[str, str]) -> None:
    if first is None and second is None:
        raise ServiceError(ErrorCode.REQUIRED, f"Give {names[0]} or {names[1]}.", names[0])
    if first is not None and second is not None:
        raise ServiceError(ErrorCode.INVALID, f"Give {names[0]} or {names[1]}, not both.", names[1])


async def simulate_budget(
    session: AsyncSession, viewer: Viewer, *, budget_id: uuid.UUID | None = None,
    category_id: uuid.UUID | None = None, adjustment_percent: Decimal | None = None,
    new_limit: Decimal | None = None, month: dt.date | None = None,
) -> Simulation:
    """What a different limit would mean. Writes nothing.

    - originalLimit: the budget's limit (with categoryId: that month's budget of the category, or
      null when there is none; then only newLimit can be given).
    - adjustedLimit: newLimit, or originalLimit * (1 + adjustmentPercent / 100), rounded.
    - averageSpending: monthly spent in the category over the 3 full months before the month.
    - projectedSpending = min(averageSpending, adjustedLimit): a limit is assumed to be kept;
      originalProjectedSpending likewise with the original limit (the average without one).
    - surplus = adjustedLimit - projectedSpending: room left under the new limit.
    - freedPerMonth = originalProjectedSpending - projectedSpending: money the scenario frees each
      month (negative: costs). It is split evenly over the goals not yet reached and added to each
      one's monthly contribution rate, converted to the goal's currency at today's rate.
    """
    _exactly_one(budget_id, category_id, ("budgetId", "categoryId"))
    _exactly_one(adjustment_percent, new_limit, ("adjustmentPercent", "newLimit"))
    user = await _user(session, viewer)
    currency = user.base_currency
    today = today_of(user)
    budget: Budget | None
    if budget_id is not None:
        budget = await get_budget(session, viewer, budget_id, field="budgetId")
        if month is not None and month_start(month) != budget.month:
            raise ServiceError(ErrorCode.INVALID, "With budgetId, the month is the budget's own; leave it out.", "month")
        first = budget.month
        category = await categories.get_category(session, viewer, budget.category_id, field="budgetId")
    else:
        assert category_id is not None
        first = _clean_month(month or today, "month")
        category = await _expense_category(session, viewer, category_id, "categoryId")
        budget = (await session.exec(
            readable(viewer).where(col(Budget.month) == first, col(Budget.category_id) == category.id)
        )).first()
    original = _money(budget.limit_amount, currency) if budget is not None else None

    if new_limit is not None:
        adjusted = _money(clean_amount(new_limit, currency=currency, field="newLimit", positive=True), currency)
    else:
        assert adjustment_percent is not None
        if original is None:
            raise ServiceError(
                ErrorCode.INVALID, "There is no budget to adjust in this month; give newLimit instead.", "adjustmentPercent"
            )
        if not adjustment_percent.is_finite() or not -100 < adjustment_percent <= MAX_ADJUSTMENT_PERCENT:
            raise ServiceError(
                ErrorCode.INVALID, f"The adjustment must be above -100 and at most {MAX_ADJUSTMENT_PERCENT}.",
                "adjustmentPercent",
            )
        adjusted = _money(original * (100 + adjustment_percent) / 100, currency)
        adjusted = clean_amount(adjusted, currency=currency, field="adjustmentPercent", positive=True)

    history_start = add_months(first, -HISTORY_MONTHS)
    spent, missing = await spent_by_category(
        session, viewer.user_id, start=history_start, end=first - dt.timedelta(days=1), currency=currency
    )
    spent = rolled_up(spent, await categories.parents(session, viewer))
    average = _money(spent.get(category.id, Decimal(0)) / HISTORY_MONTHS, currency)
    projected = min(average, adjusted)
    original_projected = min(average, original) if original is not None else average
    freed = original_projected - projected

    goals = [p for p in await goal_progress(session, viewer, await list_goals(session, viewer), today=today) if not p.reached]
    rates = await totals.rates_on(session, {p.goal.currency for p in goals}, target=currency, day=today)
    scenarios: list[GoalScenario] = []
    for current in goals:
        goal_currency = current.goal.currency
        rate = rates.get(goal_currency)
        if rate is None or rate <= 0:
            scenarios.append(GoalScenario(current, None, None, None))
            continue
        extra = _money(freed / len(goals) / rate, goal_currency)
        scenario_rate = (current.monthly_rate or _money(Decimal(0), goal_currency)) + extra
        scenarios.append(GoalScenario(
            current, extra, scenario_rate, projected_date(current.remaining, scenario_rate, today=today)
        ))
    return Simulation(
        month=first, category=category, budget=budget, currency=currency, original_limit=original,
        adjusted_limit=adjusted, average_spending=average, original_projected_spending=original_projected,
        projected_spending=projected, surplus=adjusted - projected, freed_per_month=freed, goals=scenarios,
        missing_rates=missing,
    )

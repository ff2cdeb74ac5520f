"""What-if: what a different budget limit would mean for spending and for the goals. Writes nothing."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from finora_gql.budgets.common import (
    HISTORY_MONTHS,
    clean_month,
    current_user,
    money,
    rolled_up,
    spent_by_category,
    today_of,
)
from finora_gql.budgets.goals import GoalProgress, goal_progress, list_goals, projected_date
from finora_gql.budgets.limits import expense_category, get_budget, readable
from finora_gql.budgets.models import Budget
from finora_gql.core.calendar import add_months, month_start
from finora_gql.core.errors import ErrorCode, ServiceError
from finora_gql.core.money import clean_amount
from finora_gql.core.viewer import Viewer
from finora_gql.transactions import categories
from finora_gql.transactions.models import Category
from finora_gql.wallet import totals
from finora_gql.wallet.totals import MissingRate

MAX_ADJUSTMENT_PERCENT = Decimal(10_000)


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
    user = await current_user(session, viewer)
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
        first = clean_month(month or today, "month")
        category = await expense_category(session, viewer, category_id, "categoryId")
        budget = (await session.exec(
            readable(viewer).where(col(Budget.month) == first, col(Budget.category_id) == category.id)
        )).first()
    original = money(budget.limit_amount, currency) if budget is not None else None

    if new_limit is not None:
        adjusted = money(clean_amount(new_limit, currency=currency, field="newLimit", positive=True), currency)
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
        adjusted = money(original * (100 + adjustment_percent) / 100, currency)
        adjusted = clean_amount(adjusted, currency=currency, field="adjustmentPercent", positive=True)

    history_start = add_months(first, -HISTORY_MONTHS)
    spent, missing = await spent_by_category(
        session, viewer, start=history_start, end=first - dt.timedelta(days=1), currency=currency
    )
    spent = rolled_up(spent, await categories.parents(session, viewer))
    average = money(spent.get(category.id, Decimal(0)) / HISTORY_MONTHS, currency)
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
        extra = money(freed / len(goals) / rate, goal_currency)
        scenario_rate = (current.monthly_rate or money(Decimal(0), goal_currency)) + extra
        scenarios.append(GoalScenario(
            current, extra, scenario_rate, projected_date(current.remaining, scenario_rate, today=today)
        ))
    return Simulation(
        month=first, category=category, budget=budget, currency=currency, original_limit=original,
        adjusted_limit=adjusted, average_spending=average, original_projected_spending=original_projected,
        projected_spending=projected, surplus=adjusted - projected, freed_per_month=freed, goals=scenarios,
        missing_rates=missing,
    )

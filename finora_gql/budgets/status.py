"""Budget status: each budget of a month against what was spent in its categories, with rollover."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from finora_gql.budgets.common import clean_month, current_user, money, percent_of, rolled_up, spent_by_category
from finora_gql.budgets.limits import list_budgets, readable
from finora_gql.budgets.models import Budget
from finora_gql.core.calendar import add_months, month_end
from finora_gql.core.db import any_of
from finora_gql.core.viewer import Viewer
from finora_gql.transactions import categories
from finora_gql.wallet import totals
from finora_gql.wallet.totals import MissingRate


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


async def budget_status(session: AsyncSession, viewer: Viewer, *, month: dt.date) -> BudgetStatus:
    """Each budget of the month against what was spent in its category and its subcategories.
    Totals count each category once: a budgeted subcategory of a budgeted category is already
    in its parent's line, so only the top budgeted lines are summed.

    spent is rounded first; remaining = limit + rolledOver - spent; percentUsed =
    spent / (limit + rolledOver) * 100. rolledOver, for a budget with rollover on, is what the
    previous month's budget of the same category left (its limit minus its spent; negative when
    it was overspent), one step only; 0 without such a budget.
    """
    user = await current_user(session, viewer)
    currency = user.base_currency
    first = clean_month(month, "month")
    budgets = list(await list_budgets(session, viewer, month=first))
    parents = await categories.parents(session, viewer)
    spent, missing = await spent_by_category(
        session, viewer, start=first, end=month_end(first), currency=currency
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
            session, viewer, start=previous_month, end=month_end(previous_month), currency=currency
        )
        previous_spent = rolled_up(previous_spent, parents)
        missing = totals.merge_missing(missing, previous_missing)
    lines: list[BudgetLine] = []
    for budget in budgets:
        limit = money(budget.limit_amount, currency)
        rolled_over = Decimal(0)
        before = previous.get(budget.category_id) if budget.rollover else None
        if before is not None:
            rolled_over = money(before.limit_amount, currency) - money(
                previous_spent.get(budget.category_id, Decimal(0)), currency
            )
        rolled_over = money(rolled_over, currency)
        used = money(spent.get(budget.category_id, Decimal(0)), currency)
        available = limit + rolled_over
        lines.append(BudgetLine(
            budget=budget, limit=limit, rolled_over=rolled_over, available=available, spent=used,
            remaining=available - used, percent_used=percent_of(used, available),
        ))
    zero = money(Decimal(0), currency)
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

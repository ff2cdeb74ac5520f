"""Budgets: monthly limits per expense category, in the viewer's base currency; their upkeep
(create, change, copy to another month, delete) and their conversion when the base currency changes."""

from __future__ import annotations

import bisect
import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from finora_gql.budgets.common import clean_month, current_user, today_of
from finora_gql.budgets.models import Budget
from finora_gql.core import clock
from finora_gql.core.calendar import month_end
from finora_gql.core.errors import Collector, ErrorCode, ServiceError
from finora_gql.core.models import touched
from finora_gql.core.money import clean_amount, round_money
from finora_gql.core.owned import Owned
from finora_gql.core.viewer import Viewer
from finora_gql.transactions import categories
from finora_gql.transactions.models import Category, CategoryKind
from finora_gql.wallet import totals

budgets = Owned(Budget, "budget")


def readable(viewer: Viewer) -> SelectOfScalar[Budget]:
    return budgets.readable(viewer)


async def list_budgets(session: AsyncSession, viewer: Viewer, *, month: dt.date) -> list[Budget]:
    """The viewer's budgets of the month containing `month`, by category name."""
    first = clean_month(month, "month")
    rows = (await session.exec(readable(viewer).where(col(Budget.month) == first))).all()
    names = await categories.get_categories(session, viewer, list({row.category_id for row in rows}))
    return sorted(rows, key=lambda row: (names[row.category_id].name.casefold(), names[row.category_id].name, str(row.id)))


async def get_budgets(session: AsyncSession, viewer: Viewer, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Budget]:
    return await budgets.by_ids(session, viewer, ids)


async def get_budget(
    session: AsyncSession, viewer: Viewer, budget_id: uuid.UUID, *, field: str = "id", for_update: bool = False
) -> Budget:
    return await budgets.get(session, viewer, budget_id, field=field, for_update=for_update)


async def expense_category(session: AsyncSession, viewer: Viewer, category_id: uuid.UUID, field: str) -> Category:
    category = await categories.get_category(session, viewer, category_id, field=field)
    if category.kind is not CategoryKind.EXPENSE:
        raise ServiceError(ErrorCode.INVALID, "Budgets are for expense categories only.", field)
    return category


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
    user = await current_user(session, viewer)
    errors = Collector()  # every problem of the input, not only the first
    first = errors.check(clean_month, month, "month")
    category = await errors.check_async(expense_category(session, viewer, category_id, "categoryId"))
    amount = errors.check(clean_amount, limit, currency=user.base_currency, field="limit", positive=True)
    errors.raise_any()
    budget = Budget(user_id=viewer.user_id, month=first, category_id=category.id, limit_amount=amount, rollover=rollover)
    return await _save_budget(session, budget, conflict_field="categoryId")


async def update_budget(
    session: AsyncSession, viewer: Viewer, budget_id: uuid.UUID, *, month: dt.date | None = None,
    category_id: uuid.UUID | None = None, limit: Decimal | None = None, rollover: bool | None = None,
) -> Budget:
    budget = await get_budget(session, viewer, budget_id, for_update=True)
    errors = Collector()  # every problem of the input, not only the first
    first = errors.check(clean_month, month, "month") if month is not None else None
    new_category = category_id is not None and category_id != budget.category_id
    category = await errors.check_async(expense_category(session, viewer, category_id, "categoryId")) if new_category else None
    if limit is not None:
        user = await current_user(session, viewer)
        amount = errors.check(clean_amount, limit, currency=user.base_currency, field="limit", positive=True)
    errors.raise_any()
    conflict_field = "categoryId"
    if first is not None and first != budget.month:
        budget.month, conflict_field = first, "month"
    if category is not None:
        budget.category_id = category.id
        conflict_field = "categoryId"
    if limit is not None:
        budget.limit_amount = amount
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
    errors = Collector()  # every problem of the input, not only the first
    source_month = errors.check(clean_month, from_month, "fromMonth")
    target_month = errors.check(clean_month, to_month, "toMonth")
    if source_month is not None and source_month == target_month:
        errors.add(ServiceError(ErrorCode.INVALID, "Choose a different month to copy to.", "toMonth"))
    errors.raise_any()
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
    today = today_of(await current_user(session, viewer))
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

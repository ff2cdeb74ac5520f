"""What ledger writes set off, after they commit: budget threshold alerts (80% and 100% of a
month's budget, each told once per budget) and goals reached by a linked account's balance."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from sqlmodel.ext.asyncio.session import AsyncSession

from finora_gql.budgets import service as budgets
from finora_gql.core.calendar import month_start
from finora_gql.core.db import atomic
from finora_gql.core.money import format_money
from finora_gql.core.runtime import Runtime
from finora_gql.core.viewer import Viewer
from finora_gql.notifications import service as notifications
from finora_gql.notifications.models import NotificationKind
from finora_gql.users import service as users
from finora_gql.users.models import User

THRESHOLDS = (Decimal(80), Decimal(100))


async def check_thresholds(session: AsyncSession, rt: Runtime, user_id: uuid.UUID, months: list[dt.date]) -> int:
    """Notify for every threshold newly crossed in these months; returns how many notifications."""
    user = await users.get_user(session, user_id)
    if user is None:
        return 0
    viewer = Viewer.acting_for(user_id)
    async with atomic(session):  # commits, then emails and live events go out
        sent = await _check(session, rt, user, viewer, months)
    return sent


async def _check(session: AsyncSession, rt: Runtime, user: User, viewer: Viewer, months: list[dt.date]) -> int:
    sent = 0
    for month in sorted({month_start(m) for m in months}):
        status = await budgets.budget_status(session, viewer, month=month)
        for line in status.lines:
            for threshold in THRESHOLDS:
                if line.percent_used is None or line.percent_used < threshold:
                    continue
                over = threshold >= 100
                created = await notifications.notify(
                    session, rt, viewer,
                    kind=NotificationKind.BUDGET_THRESHOLD,
                    title=f"Budget {'exceeded' if over else 'at ' + str(threshold) + '%'} for {month:%B %Y}",
                    body=f"You have spent {format_money(line.spent, status.currency)} of "
                    f"{format_money(line.available, status.currency)} ({line.percent_used}%).",
                    email_to=user.email,
                    data={"budgetId": str(line.budget.id), "month": month.isoformat(), "threshold": int(threshold),
                          "percentUsed": str(line.percent_used)},
                    dedup_key=f"budget:{line.budget.id}:{threshold}",
                )
                sent += created is not None
    return sent


async def check_linked_goals(session: AsyncSession, rt: Runtime, user_id: uuid.UUID, account_ids: list[uuid.UUID]) -> int:
    """Settle the goals linked to these accounts; returns how many were just reached."""
    if await users.get_user(session, user_id) is None:
        return 0
    async with atomic(session):  # commits, then emails and live events go out
        return await budgets.settle_linked_goals(session, rt, Viewer.acting_for(user_id), account_ids)

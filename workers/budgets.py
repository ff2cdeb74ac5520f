"""Budget alerts and goals reached by a balance, computed after ledger writes so a write never
waits for them."""

from __future__ import annotations

import datetime as dt
import uuid

import dramatiq

from finora_gql.budgets import alerts
from workers.broker import retry_options, settings
from workers.runtime import runtime


@dramatiq.actor(actor_name="budget_alerts", queue_name="default", **retry_options(settings))
async def budget_alerts(user_id: str, months: list[str]) -> None:
    rt = await runtime()
    async with rt.sessions() as session:
        await alerts.check_thresholds(session, rt, uuid.UUID(user_id), [dt.date.fromisoformat(m) for m in months])


@dramatiq.actor(actor_name="linked_goals", queue_name="default", **retry_options(settings))
async def linked_goals(user_id: str, account_ids: list[str]) -> None:
    rt = await runtime()
    async with rt.sessions() as session:
        await alerts.check_linked_goals(session, rt, uuid.UUID(user_id), [uuid.UUID(a) for a in account_ids])

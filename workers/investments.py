"""Investments upkeep: prices of held market securities (hourly), year-end checkpoints rebuilt after
activity changes, and the daily values computed after changes (or when a reader found days missing)."""

from __future__ import annotations

import uuid

import dramatiq
from periodiq import cron

from finora_gql.core.db import atomic
from finora_gql.investments import checkpoints, day_values, prices
from workers.broker import retry_options, settings
from workers.runtime import runtime


@dramatiq.actor(actor_name="refresh_prices", queue_name="default", periodic=cron("41 * * * *"),
                time_limit=30 * 60 * 1000)
async def refresh_prices() -> None:
    """Hourly at :41: new closes for every held market security that is due (failing ones back off)."""
    rt = await runtime()
    async with rt.sessions() as session:
        await prices.refresh_prices(session, rt, prices.provider_for(rt.settings))


@dramatiq.actor(actor_name="investment_checkpoints", queue_name="default", **retry_options(settings))
async def investment_checkpoints(user_id: str, account_id: str) -> None:
    """Rebuild an account's year-end checkpoints after its activities changed."""
    rt = await runtime()
    async with rt.sessions() as session, atomic(session):
        await checkpoints.rebuild(session, uuid.UUID(user_id), uuid.UUID(account_id))


@dramatiq.actor(actor_name="investment_day_values", queue_name="default", **retry_options(settings))
async def investment_day_values(user_id: str, account_id: str) -> None:
    """Compute an account's daily values missing through today."""
    rt = await runtime()
    async with rt.sessions() as session, atomic(session):
        await day_values.extend(session, uuid.UUID(user_id), uuid.UUID(account_id))

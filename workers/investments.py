"""Prices of held market securities, refreshed hourly from the configured provider."""

from __future__ import annotations

import dramatiq
from periodiq import cron

from finora_gql.investments import prices
from workers.runtime import runtime


@dramatiq.actor(actor_name="refresh_prices", queue_name="default", periodic=cron("41 * * * *"),
                time_limit=30 * 60 * 1000)
async def refresh_prices() -> None:
    """Hourly at :41: new closes for every held market security that is due (failing ones back off)."""
    rt = await runtime()
    async with rt.sessions() as session:
        await prices.refresh_prices(session, rt, prices.provider_for(rt.settings))

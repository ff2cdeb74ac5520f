"""Upkeep of uploaded files."""

from __future__ import annotations

import dramatiq
from periodiq import cron

from finora_gql.core.db import atomic
from finora_gql.files import service as files
from workers.runtime import runtime


@dramatiq.actor(actor_name="remove_abandoned_uploads", queue_name="default", periodic=cron("17 * * * *"))
async def remove_abandoned_uploads() -> None:
    """Hourly: uploads never completed within a day are deleted with whatever bytes they left."""
    rt = await runtime()
    async with rt.sessions() as session, atomic(session):
        await files.remove_abandoned(session, rt)

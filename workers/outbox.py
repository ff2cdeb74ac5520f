"""The job outbox's sweep: jobs committed but never relayed (the broker refused them, or the
process died between commit and relay) are sent; rows long relayed are forgotten."""

from __future__ import annotations

import dramatiq
from periodiq import cron

from finora_gql.core import jobs
from workers.runtime import runtime


@dramatiq.actor(actor_name="relay_job_outbox", queue_name="default", periodic=cron("* * * * *"))
async def relay_job_outbox(older_than_seconds: float | None = None) -> None:
    """Every minute: relays the jobs committed more than JOB_OUTBOX_RELAY_AFTER_SECONDS ago (or
    `older_than_seconds`) and never relayed."""
    rt = await runtime()
    age = rt.settings.job_outbox_relay_after_seconds if older_than_seconds is None else older_than_seconds
    while await jobs.relay_stale(rt.engine, older_than_seconds=age) == jobs.SWEEP_BATCH:
        pass
    await jobs.forget_relayed(rt.engine, older_than_days=rt.settings.job_outbox_keep_days)

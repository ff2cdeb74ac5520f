"""Email delivery: each OutgoingEmail is sent once, retried with backoff while SMTP refuses."""

from __future__ import annotations

import uuid

import dramatiq
from periodiq import cron

from finora_gql.notifications import email as outbox
from workers.broker import retry_options, settings
from workers.runtime import runtime


@dramatiq.actor(actor_name="deliver_email", queue_name="email", **retry_options(settings))
async def deliver_email(email_id: str) -> None:
    rt = await runtime()
    async with rt.sessions() as session:
        await outbox.deliver(session, rt, uuid.UUID(email_id))


@dramatiq.actor(actor_name="requeue_stale_emails", queue_name="email", periodic=cron("*/5 * * * *"))
async def requeue_stale_emails() -> None:
    """Emails whose job was lost (e.g. the broker was down at commit) are sent again."""
    rt = await runtime()
    async with rt.sessions() as session:
        await outbox.requeue_stale(session)

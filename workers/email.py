"""Email delivery: each OutgoingEmail is sent once, retried with backoff while SMTP refuses."""

from __future__ import annotations

import uuid
from typing import Any

import dramatiq
from periodiq import cron

from finora_gql.notifications import email as outbox
from workers.broker import retry_options, settings
from workers.runtime import runtime


@dramatiq.actor(actor_name="deliver_email", queue_name="email", on_failure="email_gave_up", **retry_options(settings))
async def deliver_email(email_id: str) -> None:
    rt = await runtime()
    async with rt.sessions() as session:
        await outbox.deliver(session, rt, uuid.UUID(email_id))


@dramatiq.actor(actor_name="email_gave_up", queue_name="email")
async def email_gave_up(message: dict[str, Any], exception: dict[str, Any]) -> None:
    """Retries are exhausted: the job is dead-lettered, and the email is marked FAILED."""
    rt = await runtime()
    async with rt.sessions() as session:
        await outbox.mark_failed_after_retries(session, uuid.UUID(message["args"][0]), exception.get("message", ""))


@dramatiq.actor(actor_name="requeue_stale_emails", queue_name="email", periodic=cron("*/5 * * * *"))
async def requeue_stale_emails() -> None:
    """Emails whose job was lost (e.g. the broker was down at commit) are sent again."""
    rt = await runtime()
    async with rt.sessions() as session:
        await outbox.requeue_stale(session)

"""The assistant's jobs: writing a reply, and keeping each person's retrieval context current."""

from __future__ import annotations

import uuid

import dramatiq
from periodiq import cron

from finora_gql.assistant import generation, rag
from finora_gql.assistant.jobs import fail_stalled_replies, refresh_active_users
from workers.broker import retry_options, settings
from workers.runtime import runtime


# No retries: a reply that fails says why (FAILED) instead of streaming twice.
@dramatiq.actor(actor_name="assistant_reply", queue_name="assistant", max_retries=0,
                time_limit=int(settings.assistant_reply_timeout * 1000) + 30_000)
async def assistant_reply(message_id: str) -> None:
    await generation.generate_reply(await runtime(), uuid.UUID(message_id))


@dramatiq.actor(actor_name="assistant_refresh_context", queue_name="default", **retry_options(settings))
async def assistant_refresh_context(user_id: str) -> None:
    rt = await runtime()
    async with rt.sessions() as session:
        await rag.ensure_corpus(session, rt)
        await rag.refresh_user(session, rt, uuid.UUID(user_id))
        await session.commit()


@dramatiq.actor(actor_name="assistant_refresh_all", queue_name="default", periodic=cron("23 3 * * *"))
async def assistant_refresh_all() -> None:
    """Nightly: the documents of everyone who used the assistant in the last 30 days."""
    await refresh_active_users(await runtime())


@dramatiq.actor(actor_name="assistant_fail_stalled", queue_name="default", periodic=cron("*/10 * * * *"))
async def assistant_fail_stalled() -> None:
    """Every 10 minutes: replies whose worker died end FAILED with a reason."""
    await fail_stalled_replies(await runtime())

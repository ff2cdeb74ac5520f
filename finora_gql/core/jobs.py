"""Enqueueing background jobs by actor name, so services never import the workers package.

The broker is whatever `workers.broker` configured for this process: Redis when REDIS_URL is
set, otherwise an in-process stub that `serve` consumes with worker threads.
"""

from __future__ import annotations

import asyncio
from typing import Any

import dramatiq
from sqlmodel.ext.asyncio.session import AsyncSession

from finora_gql.core.db import after_commit


def enqueue(actor_name: str, *args: Any, delay_ms: int | None = None) -> str:
    """Send a job to the actor's queue; returns its message id. Blocking (Redis I/O)."""
    actor = dramatiq.get_broker().get_actor(actor_name)
    return actor.send_with_options(args=args, delay=delay_ms).message_id


async def enqueue_async(actor_name: str, *args: Any, delay_ms: int | None = None) -> str:
    return await asyncio.to_thread(enqueue, actor_name, *args, delay_ms=delay_ms)


def enqueue_after_commit(session: AsyncSession, actor_name: str, *args: Any) -> None:
    """Enqueue the job once the session commits, after its other after-commit work.

    Last, because a live event published by the same commit has people waiting for it, while
    the job waits in a queue anyway; an in-process worker that started the job first would
    compete with the event's fan-out for this interpreter.
    """

    async def send() -> None:
        await enqueue_async(actor_name, *args)

    after_commit(session, send, last=True)


def dead_letter_count() -> int:
    """Jobs that exhausted their retries: kept by the broker for inspection, never dropped."""
    from dramatiq.brokers.redis import RedisBroker

    broker = dramatiq.get_broker()
    if isinstance(broker, RedisBroker):
        queues = broker.get_declared_queues()
        return sum(broker.client.zcard(f"{broker.namespace}:{queue}.XQ") for queue in queues)
    return len(getattr(broker, "dead_letters", ()))

"""Worker-side half of the job outbox (`finora_gql.core.jobs`): a job relayed twice runs once.

A message relayed from the outbox carries its row's id as message id. Before such a message
runs, its row is read: completed means a copy already ran, and this one is skipped. After the
job succeeds, the row is marked completed. (A worker that dies between the job's own commit and
that mark leaves the job to run again on redelivery, as Dramatiq redelivers any unacknowledged
job: jobs stay idempotent.)
"""

from __future__ import annotations

import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

import dramatiq
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.middleware import SkipMessage

from finora_gql.core import jobs

log = logging.getLogger("finora.jobs")
T = TypeVar("T")


class OutboxMiddleware(dramatiq.Middleware):
    def before_process_message(self, broker: dramatiq.Broker, message: dramatiq.Message) -> None:
        if jobs.is_outbox_message(message) and _run(_is_completed(message.message_id)):
            log.info("job %s (%s) already completed: skipped", message.message_id, message.actor_name)
            raise SkipMessage(f"job {message.message_id} already completed")

    def after_process_message(self, broker: dramatiq.Broker, message: dramatiq.Message, *,
                              result: Any = None, exception: BaseException | None = None) -> None:
        if exception is None and jobs.is_outbox_message(message):
            try:
                _run(_mark_completed(message.message_id))
            except Exception:
                log.exception("job %s ran but could not be marked completed", message.message_id)


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    """On the workers' event loop (the AsyncIO middleware's), where the runtime lives."""
    thread = get_event_loop_thread()
    if thread is None:
        coroutine.close()
        raise RuntimeError("the outbox middleware needs Dramatiq's AsyncIO middleware")
    return thread.run_coroutine(coroutine)


async def _is_completed(message_id: str) -> bool:
    from workers.runtime import runtime

    return await jobs.is_completed((await runtime()).engine, message_id)


async def _mark_completed(message_id: str) -> None:
    from workers.runtime import runtime

    await jobs.mark_completed((await runtime()).engine, message_id)

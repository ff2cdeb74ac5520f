"""After-commit work: it runs once the transaction commits, never after a rollback, and jobs go last."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import dramatiq
import pytest

from finora_gql.core.db import after_commit, atomic
from finora_gql.core.jobs import enqueue_after_commit
from tests.server import RunningServer


class EnqueueRecorder(dramatiq.Middleware):
    def __init__(self, order: list[str]) -> None:
        self.order = order

    def after_enqueue(self, broker: dramatiq.Broker, message: dramatiq.Message, delay: int | None) -> None:
        self.order.append(f"job {message.actor_name}")


def recording(order: list[str], name: str) -> Callable[[], Coroutine[Any, Any, None]]:
    async def callback() -> None:
        order.append(name)

    return callback


@pytest.fixture
def order() -> Iterator[list[str]]:
    """What ran, in order: the callbacks by name, and each job as the broker enqueues it."""
    ran: list[str] = []
    broker = dramatiq.get_broker()
    recorder = EnqueueRecorder(ran)
    broker.middleware.append(recorder)
    yield ran
    broker.middleware.remove(recorder)


async def test_jobs_are_enqueued_after_the_commits_other_work(server: RunningServer, order: list[str]) -> None:
    # An event published by the same commit reaches its subscribers before an in-process
    # worker can start the job and compete with the fan-out.
    async with server.runtime.sessions() as session, atomic(session):
        # No such email: the job finds nothing to send.
        enqueue_after_commit(session, "deliver_email", str(uuid.uuid4()))
        after_commit(session, recording(order, "event"))
        after_commit(session, recording(order, "cache"))
        assert order == []
    assert order == ["event", "cache", "job deliver_email"]


async def test_nothing_runs_for_work_rolled_back(server: RunningServer, order: list[str]) -> None:
    with pytest.raises(RuntimeError):
        async with server.runtime.sessions() as session, atomic(session):
            enqueue_after_commit(session, "deliver_email", str(uuid.uuid4()))
            after_commit(session, recording(order, "event"))
            raise RuntimeError("the write failed")
    async with server.runtime.sessions() as session, atomic(session):
        after_commit(session, recording(order, "next commit"))
    assert order == ["next commit"]  # nothing of the rolled-back transaction leaks into the next

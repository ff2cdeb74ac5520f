"""The job outbox: a job is recorded in the transaction that causes it, relayed after commit, and
a job whose relay never happened (a crash between commit and relay) is run by the sweep exactly
once, however often it is relayed after that.

The broker refusing the enqueue (Redis down) is tests/multiprocess/test_job_outbox_redis.py."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator

import dramatiq
import pytest
from sqlmodel import col, select

from finora_gql.core import jobs
from finora_gql.core.db import atomic
from finora_gql.core.jobs import JobOutbox, enqueue_after_commit
from tests.flows import node_uuid, signed_in_user
from tests.imports.import_flows import start_import, wait_for_import
from tests.ledger.ledger_flows import create_account
from tests.server import RunningServer


class Ran(dramatiq.Middleware):
    """Which messages the workers processed and which they skipped, by message id."""

    def __init__(self) -> None:
        self.processed: Counter[str] = Counter()
        self.skipped: Counter[str] = Counter()
        self._lock = threading.Lock()

    def after_process_message(self, broker, message, *, result=None, exception=None) -> None:  # type: ignore[no-untyped-def]
        if exception is None:
            with self._lock:
                self.processed[message.message_id] += 1

    def after_skip_message(self, broker, message) -> None:  # type: ignore[no-untyped-def]
        with self._lock:
            self.skipped[message.message_id] += 1


@pytest.fixture
def ran() -> Iterator[Ran]:
    broker = dramatiq.get_broker()
    recorder = Ran()
    broker.middleware.append(recorder)
    yield recorder
    broker.middleware.remove(recorder)


async def outbox_row(server: RunningServer, job_id: uuid.UUID) -> JobOutbox | None:
    async with server.runtime.sessions() as session:
        return (await session.exec(select(JobOutbox).where(col(JobOutbox.id) == job_id))).first()


async def eventually(check, timeout: float = 30):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.05)


async def test_a_job_is_written_with_its_transaction_and_relayed_after_commit(server: RunningServer, ran: Ran) -> None:
    with pytest.raises(RuntimeError):
        async with server.runtime.sessions() as session, atomic(session):
            enqueue_after_commit(session, "deliver_email", str(uuid.uuid4()))
            rolled_back = (session.new and next(iter(session.new))).id  # type: ignore[union-attr]
            raise RuntimeError("the write failed")
    assert await outbox_row(server, rolled_back) is None  # no commit, no job

    async with server.runtime.sessions() as session, atomic(session):
        enqueue_after_commit(session, "deliver_email", str(uuid.uuid4()))  # no such email: nothing to send
        job_id = next(row.id for row in session.new if isinstance(row, JobOutbox))
    async def completed() -> JobOutbox | None:
        row = await outbox_row(server, job_id)
        return row if row is not None and row.completed_at is not None else None

    row = await eventually(completed)
    assert row is not None and row.relayed_at is not None and row.relayed_at <= row.completed_at
    assert ran.processed[str(job_id)] == 1  # the message id is the row's id


async def test_a_crash_between_commit_and_relay_is_run_by_the_sweep_exactly_once(
    server: RunningServer, ran: Ran, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def crashed(engine, job_id) -> None:  # type: ignore[no-untyped-def]
        """The process died after the commit: the relay never happens."""

    user = await signed_in_user(server)
    token = user.access_token
    account = await create_account(server, token)
    rows = 25
    csv = "date,amount,merchant\n" + "".join(f"2026-01-{1 + i % 28:02d},-{i + 1}.50,Shop {i}\n" for i in range(rows))

    monkeypatch.setattr(jobs, "_relay_after_commit", crashed)
    started = await start_import(server, token, accountId=account["id"], csv=csv)
    monkeypatch.undo()
    assert started["errors"] == [], started
    import_id = node_uuid(started["import"]["id"])
    async with server.runtime.sessions() as session:
        pending = (await session.exec(
            select(JobOutbox).where(col(JobOutbox.actor_name) == "run_import", col(JobOutbox.relayed_at).is_(None))
            .order_by(col(JobOutbox.created_at).desc())
        )).all()
    (job,) = [row for row in pending if row.args == [str(import_id)]]
    await asyncio.sleep(1)
    queued = await wait_for_import(server, token, started["import"]["id"], timeout=0)
    assert queued["status"] == "QUEUED"  # committed, never sent: without the sweep it would stay so

    sweep = dramatiq.get_broker().get_actor("relay_job_outbox")
    sweep.send(0)  # what the scheduler sends every minute, here with no minimum age
    done = await wait_for_import(server, token, started["import"]["id"], timeout=60)
    assert done["status"] == "COMPLETED", done
    assert done["progress"]["inserted"] == rows

    # Relayed again (a second sweep finds nothing; a relay that happened twice sends the same
    # message twice): the completed job is skipped, not run again.
    sweep.send(0)
    dramatiq.get_broker().enqueue(jobs.message_for(job.id, job.actor_name, job.args))

    async def skipped() -> bool:
        return ran.skipped[str(job.id)] >= 1

    assert await eventually(skipped)
    await asyncio.sleep(0.5)
    assert (ran.processed[str(job.id)], ran.skipped[str(job.id)]) == (1, 1)
    row = await outbox_row(server, job.id)
    assert row is not None and row.relayed_at is not None and row.completed_at is not None
    count = await server.gql("{ transactions(first: 1) { totalCount } }", token=token)
    assert count["data"]["transactions"]["totalCount"] == rows


async def test_the_sweep_leaves_young_rows_to_their_own_relay(server: RunningServer, monkeypatch: pytest.MonkeyPatch) -> None:
    async def crashed(engine, job_id) -> None:  # type: ignore[no-untyped-def]
        """No relay after this commit."""

    monkeypatch.setattr(jobs, "_relay_after_commit", crashed)
    async with server.runtime.sessions() as session, atomic(session):
        enqueue_after_commit(session, "deliver_email", str(uuid.uuid4()))
        job_id = next(row.id for row in session.new if isinstance(row, JobOutbox))
    engine = server.runtime.engine
    await jobs.relay_stale(engine, older_than_seconds=3600)  # younger than an hour: not the sweep's yet
    row = await outbox_row(server, job_id)
    assert row is not None and row.relayed_at is None
    assert await jobs.relay(engine, [job_id]) == 1
    assert await jobs.relay(engine, [job_id]) == 0  # relayed once: a second relay sends nothing
    row = await outbox_row(server, job_id)
    assert row is not None and row.relayed_at is not None

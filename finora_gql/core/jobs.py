"""Background jobs: enqueued by actor name (services never import the workers package), through a
transactional outbox, so no job a commit causes is ever lost.

The broker is whatever `workers.broker` configured for this process: Redis when REDIS_URL is
set, otherwise an in-process stub that `serve` consumes with worker threads.

`enqueue_after_commit` writes a `job_outbox` row in the caller's transaction: the job exists
exactly when the commit does. After the commit the row is relayed to the broker and marked
relayed; when that fails (broker down) or never happens (the process died between commit and
relay), the periodic sweep (`relay_stale`, the `relay_job_outbox` actor) relays it later. A
message's id is its row's id, and the worker marks the row completed when the job succeeds and
skips a message whose row is already completed (`workers.outbox.OutboxMiddleware`), so a relay
that happens twice does not run the job twice.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import dramatiq
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlmodel import Field, SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from finora_gql.core.db import after_commit
from finora_gql.core.models import id_field, timestamp_field

log = logging.getLogger("finora.jobs")

OUTBOX = "finora_outbox"  # message option: the message id is a job_outbox row's id
SWEEP_BATCH = 500


class JobOutbox(SQLModel, table=True):
    """A job a commit caused, written in that same transaction; relayed to the broker after it.

    `relayed_at` is set once the broker took the message, `completed_at` once a worker finished
    the job (a message of a completed row is skipped). Rows are deleted some days after relay.
    """

    __tablename__ = "job_outbox"
    __table_args__ = (
        sa.Index("ix_job_outbox_unrelayed", "created_at", postgresql_where=sa.text("relayed_at IS NULL")),
        sa.Index("ix_job_outbox_relayed_at", "relayed_at"),
    )

    id: uuid.UUID = id_field()
    actor_name: str = Field(max_length=100, nullable=False)
    args: list[Any] = Field(default_factory=list, sa_type=JSONB, nullable=False)
    # The database's clock, not the business clock tests move: the sweep compares it with now().
    created_at: datetime | None = Field(
        default=None, sa_type=sa.DateTime(timezone=True), nullable=False, sa_column_kwargs={"server_default": sa.func.now()}
    )
    relayed_at: datetime | None = timestamp_field()
    completed_at: datetime | None = timestamp_field()


def enqueue(actor_name: str, *args: Any, delay_ms: int | None = None) -> str:
    """Send a job to the actor's queue now, outside any transaction; returns its message id.
    Blocking (Redis I/O). For work no commit causes (a sweep re-sending what it found)."""
    actor = dramatiq.get_broker().get_actor(actor_name)
    return actor.send_with_options(args=args, delay=delay_ms).message_id


async def enqueue_async(actor_name: str, *args: Any, delay_ms: int | None = None) -> str:
    return await asyncio.to_thread(enqueue, actor_name, *args, delay_ms=delay_ms)


def enqueue_after_commit(session: AsyncSession, actor_name: str, *args: Any) -> None:
    """Record the job in the session's transaction and send it once the session commits, after
    the commit's other after-commit work. Rolled back with the transaction; never lost after it.

    Last, because a live event published by the same commit has people waiting for it, while
    the job waits in a queue anyway; an in-process worker that started the job first would
    compete with the event's fan-out for this interpreter.
    """
    dramatiq.get_broker().get_actor(actor_name)  # an unknown actor fails here, in the caller, not in a sweep
    row = JobOutbox(actor_name=actor_name, args=list(args))
    session.add(row)
    engine = _engine_of(session)
    job_id = row.id

    async def relay_committed() -> None:
        await _relay_after_commit(engine, job_id)

    after_commit(session, relay_committed, last=True)


def _engine_of(session: AsyncSession) -> AsyncEngine:
    bind = session.bind
    if isinstance(bind, AsyncConnection):
        return bind.engine
    assert isinstance(bind, AsyncEngine), "sessions are bound to an engine"
    return bind


async def _relay_after_commit(engine: AsyncEngine, job_id: uuid.UUID) -> None:
    """The after-commit relay of one job (a failure is the sweep's to repair)."""
    await relay(engine, [job_id])


async def relay(engine: AsyncEngine, ids: Sequence[uuid.UUID]) -> int:
    """Send the jobs `ids` that are not relayed yet; returns how many were sent."""
    return await _relay(engine, sa.text(
        "SELECT id, actor_name, args FROM job_outbox WHERE id = ANY(:ids) AND relayed_at IS NULL "
        "ORDER BY created_at FOR UPDATE SKIP LOCKED"
    ).bindparams(ids=list(ids)))


async def relay_stale(engine: AsyncEngine, *, older_than_seconds: float, limit: int = SWEEP_BATCH) -> int:
    """The sweep: send jobs committed more than `older_than_seconds` ago and never relayed (the
    broker refused them, or the process died between commit and relay). Returns how many."""
    return await _relay(engine, sa.text(
        "SELECT id, actor_name, args FROM job_outbox "
        "WHERE relayed_at IS NULL AND created_at < now() - make_interval(secs => :age) "
        "ORDER BY created_at LIMIT :limit FOR UPDATE SKIP LOCKED"
    ).bindparams(age=float(older_than_seconds), limit=limit))


async def _relay(engine: AsyncEngine, select_rows: sa.TextClause) -> int:
    # The rows stay locked while they are sent, so a concurrent sweep skips them; each one sent is
    # marked relayed in the same transaction. A crash after sending and before the commit leaves
    # them unmarked: sent again later, and skipped by the worker if the first copy completed.
    async with engine.begin() as connection:
        rows = (await connection.execute(select_rows)).all()
        if not rows:
            return 0
        sent = await asyncio.to_thread(_send_all, rows)
        if sent:
            await connection.execute(
                sa.text("UPDATE job_outbox SET relayed_at = clock_timestamp() WHERE id = ANY(:ids)"),
                {"ids": sent},
            )
    return len(sent)


def _send_all(rows: Sequence[Any]) -> list[uuid.UUID]:
    """Send each row's message until the broker refuses one; the ids of those it took."""
    broker = dramatiq.get_broker()
    sent: list[uuid.UUID] = []
    for job_id, actor_name, args in rows:
        try:
            broker.enqueue(message_for(job_id, actor_name, args))
        except Exception:
            log.exception("job %s (%s) not relayed: the outbox sweep will retry it", job_id, actor_name)
            break
        sent.append(job_id)
    return sent


def message_for(job_id: uuid.UUID, actor_name: str, args: Sequence[Any]) -> dramatiq.Message:
    """The message of an outbox row: the same id however many times it is relayed."""
    actor = dramatiq.get_broker().get_actor(actor_name)
    return dramatiq.Message(queue_name=actor.queue_name, actor_name=actor_name, args=tuple(args), kwargs={},
                            options={OUTBOX: True}, message_id=str(job_id))


def is_outbox_message(message: dramatiq.Message) -> bool:
    return bool(message.options.get(OUTBOX))


async def is_completed(engine: AsyncEngine, message_id: str) -> bool:
    async with engine.connect() as connection:
        found = await connection.execute(
            sa.text("SELECT completed_at IS NOT NULL FROM job_outbox WHERE id = :id"), {"id": uuid.UUID(message_id)}
        )
        return bool(found.scalar())


async def mark_completed(engine: AsyncEngine, message_id: str) -> None:
    async with engine.begin() as connection:
        await connection.execute(
            sa.text("UPDATE job_outbox SET completed_at = clock_timestamp(), relayed_at = coalesce(relayed_at, "
                    "clock_timestamp()) WHERE id = :id AND completed_at IS NULL"),
            {"id": uuid.UUID(message_id)},
        )


async def forget_relayed(engine: AsyncEngine, *, older_than_days: float) -> int:
    """Delete rows relayed more than `older_than_days` ago: their jobs are done or dead-lettered."""
    async with engine.begin() as connection:
        result = await connection.execute(
            sa.text("DELETE FROM job_outbox WHERE relayed_at < now() - make_interval(days => :days)"),
            {"days": int(older_than_days)},
        )
        return result.rowcount or 0


def dead_letter_count() -> int:
    """Jobs that exhausted their retries: kept by the broker for inspection, never dropped."""
    from dramatiq.brokers.redis import RedisBroker

    broker = dramatiq.get_broker()
    if isinstance(broker, RedisBroker):
        queues = broker.get_declared_queues()
        return sum(broker.client.zcard(f"{broker.namespace}:{queue}.XQ") for queue in queues)
    return len(getattr(broker, "dead_letters", ()))

"""A real worker process killed (SIGKILL) in the middle of an award, and the same job delivered
again: the challenge is completed, awarded and paid exactly once. API and workers are separate
processes sharing Redis (database 9, flushed before and after) and the test database."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from dramatiq import Message
from dramatiq.brokers.redis import RedisBroker
from sqlalchemy import func, text
from sqlmodel import col, select

from finora_gql.core.owned import SYSTEM
from finora_gql.gamification import state
from finora_gql.gamification.catalog import catalog_id
from finora_gql.gamification.models import Award, GamificationEvent, PointsEntry
from tests.flows import node_uuid, signed_in_user
from tests.gamification.gamification_flows import balance, my_challenges
from tests.ledger.ledger_flows import create_account, create_txn
from tests.processes import BIN, Process, free_port, process_env, start_worker, wait_until_healthy
from tests.server import RunningServer
from tests.smtp_sink import SmtpSink

REDIS_URL = "redis://127.0.0.1:6379/9"


@pytest.fixture
def shared_env(database_url: str, tmp_path: Path, smtp_sink: SmtpSink) -> Iterator[dict[str, str]]:
    redis.Redis.from_url(REDIS_URL).flushdb()
    yield process_env(
        FINORA_ENV="test", FINORA_DATA_DIR=str(tmp_path / "data"), DATABASE_URL=database_url, REDIS_URL=REDIS_URL,
        JWT_SECRET="gamification-kill-secret-" + "g" * 40,
        SMTP_HOST=smtp_sink.host, SMTP_PORT=str(smtp_sink.port), SMTP_USERNAME=smtp_sink.username,
        SMTP_PASSWORD=smtp_sink.password, SMTP_CA_FILE=str(smtp_sink.ca_file),
        RATE_LIMIT_LOGIN_PER_IP="100000/60", RATE_LIMIT_LOGIN_PER_EMAIL="100000/60",
        RATE_LIMIT_REGISTER_PER_IP="100000/60",
        JOB_MIN_BACKOFF_MS="50", JOB_MAX_BACKOFF_MS="500",
        WORKER_HEARTBEAT_TIMEOUT_MS="1500", WORKER_MAINTENANCE_CHANCE="1000000",
    )
    redis.Redis.from_url(REDIS_URL).flushdb()


def start_api(env: dict[str, str], log: Path) -> tuple[Process, str]:
    """As tests.processes.start_api, with more time to start on a loaded machine."""
    port = free_port()
    process = Process(
        [str(BIN / "uvicorn"), "--factory", "finora_gql.app:create_app", "--host", "127.0.0.1", "--port", str(port),
         "--ws", "websockets-sansio", "--log-level", "warning"], env, log)
    return process, wait_until_healthy(process, f"http://127.0.0.1:{port}", timeout=120)


async def wait_for(check, timeout: float = 30, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


async def test_worker_killed_mid_award_and_duplicate_delivery_award_once(
    shared_env: dict, tmp_path: Path, server: RunningServer
) -> None:
    api, api_url = start_api(shared_env, tmp_path / "api.log")
    worker = start_worker(shared_env, tmp_path / "worker-1.log")
    replacement = None
    blocker = None
    try:
        client = RunningServer(api_url, settings=None, app=None)  # type: ignore[arg-type]
        user = await signed_in_user(client)
        user_id = node_uuid(user.user_id)
        account = await create_account(client, user.access_token)
        today = dt.datetime.now(dt.UTC).date()  # separate processes: the real clock, the user's zone is UTC
        for _ in range(4):
            await create_txn(client, user.access_token, accountId=account["id"], date=today.isoformat(), amount="-1")

        async def pending() -> int:
            async with server.runtime.sessions() as session:
                return (await session.exec(select(func.count()).select_from(GamificationEvent).where(
                    state.events.owned_by(user_id), col(GamificationEvent.seq).is_(None)))).one()

        async def applied_nothing_pending() -> bool:
            return await pending() == 0

        await wait_for(applied_nothing_pending, what="the first four events")

        # Hold the award's notification key in an open transaction: the worker's award, once its
        # Award and PointsEntry rows are written, waits on it. That is where it gets killed.
        week = (today - dt.timedelta(days=today.weekday())).isoformat()
        challenge = catalog_id("challenge:LOG_5_WEEK")
        blocker = await server.runtime.engine.connect()
        transaction = await blocker.begin()
        await blocker.execute(text(
            "INSERT INTO notification (id, user_id, kind, title, body, data, dedup_key, created_at) "
            "VALUES (:id, :user, 'CHALLENGE_COMPLETED', 't', 'b', '{}', :key, now())"),
            {"id": uuid.uuid4(), "user": user_id, "key": f"award:challenge:{challenge}:{week}"})
        await create_txn(client, user.access_token, accountId=account["id"], date=today.isoformat(), amount="-1")

        async def worker_waits_mid_award() -> bool:
            async with server.runtime.sessions() as session:
                rows = (await session.exec(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND query ILIKE '%INSERT INTO notification%'"))).one()
            return rows[0] >= 1

        await wait_for(worker_waits_mid_award, what="the worker to block inside the award")
        worker.kill()  # SIGKILL mid-award: its transaction (award and points written) dies with it
        await transaction.rollback()
        await blocker.close()
        blocker = None

        async def count(model, *conditions) -> int:
            async with server.runtime.sessions() as session:
                return (await session.exec(select(func.count()).select_from(model).where(*conditions))).one()

        assert await count(Award, state.awards.owned_by(user_id), col(Award.challenge_id) == challenge) == 0
        assert await pending() >= 1

        replacement = start_worker(shared_env, tmp_path / "worker-2.log")
        await wait_for(applied_nothing_pending, timeout=60, what="redelivery to the replacement worker")

        # The same job delivered again (and again): nothing changes.
        async with server.runtime.sessions() as session:
            event_ids = (await session.exec(state.events.readable(SYSTEM).with_only_columns(
                col(GamificationEvent.id)).where(state.events.owned_by(user_id)))).all()
        broker = RedisBroker(url=REDIS_URL, namespace="finora-jobs")
        broker.declare_queue("gamification")
        for event_id in event_ids:
            for _ in range(2):
                broker.enqueue(Message(queue_name="gamification", actor_name="gamification_process",
                                       args=(str(event_id),), kwargs={}, options={}))
        await asyncio.sleep(3)
        broker.close()

        assert await count(Award, state.awards.owned_by(user_id), col(Award.challenge_id) == challenge) == 1
        assert await count(PointsEntry, state.points.owned_by(user_id)) == 3
        assert await balance(client, user.access_token) == 40
        assert (await my_challenges(client, user.access_token))["LOG_5_WEEK"]["progress"] == "5"
    finally:
        if blocker is not None:
            await blocker.close()
        for process in (worker, replacement, api):
            if process is not None:
                process.stop()

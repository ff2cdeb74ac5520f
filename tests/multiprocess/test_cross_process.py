"""Across real processes sharing Redis: realtime fan-out between API processes, and a worker
killed mid-job whose email still arrives exactly once, and one killed mid-import."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from redis import asyncio as aioredis
from sqlmodel import select

from finora_gql.core.viewer import user_channel
from finora_gql.notifications.models import EmailStatus, OutgoingEmail
from tests.flows import login, node_uuid, signed_in_user
from tests.processes import process_env, start_api, start_worker
from tests.server import RunningServer
from tests.smtp_sink import SmtpSink
from tests.ws import graphql_ws

REDIS_URL = "redis://127.0.0.1:6379/12"


@pytest.fixture
def shared_env(database_url: str, tmp_path: Path, smtp_sink: SmtpSink) -> Iterator[dict[str, str]]:
    redis.Redis.from_url(REDIS_URL).flushdb()
    yield process_env(
        FINORA_ENV="test",
        FINORA_DATA_DIR=str(tmp_path / "data"),
        DATABASE_URL=database_url,
        REDIS_URL=REDIS_URL,
        JWT_SECRET="cross-process-secret-" + "z" * 40,
        SMTP_HOST=smtp_sink.host,
        SMTP_PORT=str(smtp_sink.port),
        SMTP_USERNAME=smtp_sink.username,
        SMTP_PASSWORD=smtp_sink.password,
        SMTP_CA_FILE=str(smtp_sink.ca_file),
        RATE_LIMIT_LOGIN_PER_IP="100000/60",
        RATE_LIMIT_LOGIN_PER_EMAIL="100000/60",
        RATE_LIMIT_REGISTER_PER_IP="100000/60",
        RATE_LIMIT_PASSWORD_RESET_PER_IP="100000/60",
        JOB_MIN_BACKOFF_MS="50",
        JOB_MAX_BACKOFF_MS="500",
        WORKER_HEARTBEAT_TIMEOUT_MS="1500",
        WORKER_MAINTENANCE_CHANCE="1000000",  # every command sweeps: out of a million, not 100,000
    )
    redis.Redis.from_url(REDIS_URL).flushdb()


async def subscribed_in_redis(channel: str) -> None:
    """Wait until a server holds a Redis subscription to `channel`: an event published before
    that reaches nobody (pub/sub keeps nothing), however loaded the machine."""
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        for _ in range(400):
            if (await client.pubsub_numsub(channel))[0][1] >= 1:
                return
            await asyncio.sleep(0.025)
        raise AssertionError(f"no server subscribed to {channel} within 10 s")
    finally:
        await client.aclose()


async def test_event_from_one_process_reaches_a_subscriber_on_another(shared_env: dict, tmp_path: Path) -> None:
    first, first_url = start_api(shared_env, tmp_path / "api-1.log")
    second, second_url = start_api(shared_env, tmp_path / "api-2.log")
    try:
        one = RunningServer(first_url, settings=None, app=None)  # type: ignore[arg-type]
        two = RunningServer(second_url, settings=None, app=None)  # type: ignore[arg-type]
        user = await signed_in_user(one)
        async with graphql_ws(two.ws_url, {"authorization": f"Bearer {user.access_token}"}) as ws:
            assert (await ws.receive())["type"] == "connection_ack"
            await ws.subscribe("subscription { notifications { kind } }")
            await subscribed_in_redis(user_channel(node_uuid(user.user_id)))
            for _ in range(5):  # the fifth failure locks the account: a notification, made by process one
                await login(one, user.email, "not the password at all")
            event = await ws.receive(timeout=5)
        assert event["payload"]["data"] == {"notifications": {"kind": "ACCOUNT_LOCKED"}}
    finally:
        first.stop()
        second.stop()


async def test_worker_killed_mid_delivery_still_sends_exactly_once(
    shared_env: dict, tmp_path: Path, smtp_sink: SmtpSink, server: RunningServer
) -> None:
    api, api_url = start_api(shared_env, tmp_path / "api.log")
    worker = start_worker(shared_env, tmp_path / "worker-1.log")
    replacement = None
    try:
        client = RunningServer(api_url, settings=None, app=None)  # type: ignore[arg-type]
        user = await signed_in_user(client)  # its confirmation email goes through the worker first
        await smtp_sink.wait_for(lambda m: m["To"] == user.email, timeout=20)

        smtp_sink.stall_next_recipient(60, to=user.email)
        stalled_before = smtp_sink.stalled
        await client.gql("mutation($e: String!) { requestPasswordReset(input: {email: $e}) { ok } }", {"e": user.email})
        for _ in range(200):
            if smtp_sink.stalled > stalled_before:
                break
            await asyncio.sleep(0.05)
        assert smtp_sink.stalled > stalled_before, worker.output()
        worker.kill()  # mid-delivery: connected, nothing accepted yet

        replacement = start_worker(shared_env, tmp_path / "worker-2.log")
        delivered = await smtp_sink.wait_for(lambda m: m["To"] == user.email and "Reset" in m["Subject"], timeout=30)
        await asyncio.sleep(2)
        resets = [m for m in smtp_sink.messages if m["To"] == user.email and "Reset" in m["Subject"]]
        assert len(resets) == 1, ([m["Message-ID"] for m in resets], replacement.output()[-3000:])
        async with server.runtime.sessions() as session:
            row = (await session.exec(select(OutgoingEmail).where(OutgoingEmail.message_id == delivered["Message-ID"]))).one()
        assert row.status is EmailStatus.SENT
    finally:
        for process in (worker, replacement, api):
            if process is not None:
                process.stop()


async def test_worker_killed_mid_import_rerun_leaves_no_duplicates(shared_env: dict, tmp_path: Path) -> None:
    from tests.imports.import_flows import START, wait_for_import
    from tests.ledger.ledger_flows import create_account

    api, api_url = start_api(shared_env, tmp_path / "api.log")
    worker = start_worker(shared_env, tmp_path / "worker-1.log")
    replacement = None
    try:
        client = RunningServer(api_url, settings=None, app=None)  # type: ignore[arg-type]
        user = await signed_in_user(client)
        account = await create_account(client, user.access_token)
        rows = 30_000
        lines = "\n".join(f"2026-01-{1 + i % 28:02d},-{i % 900 + 1}.25,Shop {i}" for i in range(rows))
        started = (await client.gql(START, {"input": {"accountId": account["id"], "csv": f"date,amount,merchant\n{lines}\n"}},
                                    token=user.access_token))["data"]["startImport"]
        assert started["errors"] == [], started
        import_id = started["import"]["id"]
        progress_query = "query($id: ID!) { import(id: $id) { status progress { processed total } } }"
        for _ in range(1000):
            found = (await client.gql(progress_query, {"id": import_id}, token=user.access_token))["data"]["import"]
            if found["status"] == "RUNNING" and found["progress"]["processed"] > 0:
                break
            await asyncio.sleep(0.01)
        worker.kill()  # mid-run: rows read, nothing committed
        assert found["status"] == "RUNNING" and found["progress"]["processed"] < rows, found

        replacement = start_worker(shared_env, tmp_path / "worker-2.log")
        done = await wait_for_import(client, user.access_token, import_id, timeout=60)
        assert done["status"] == "COMPLETED", (done, replacement.output()[-3000:])
        assert done["progress"]["inserted"] == rows
        count = await client.gql("{ transactions(first: 1) { totalCount } }", token=user.access_token)
        assert count["data"]["transactions"]["totalCount"] == rows
    finally:
        for process in (worker, replacement, api):
            if process is not None:
                process.stop()

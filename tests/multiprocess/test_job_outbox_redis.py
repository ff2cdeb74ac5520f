"""No job is lost when the broker refuses it: with Redis stopped, a startImport commits and its
job stays in the outbox; once Redis is back the sweep relays it and a real worker process runs
the import, once.

This test runs a Redis server of its own on a free port (stopped and started again); the shared
Redis on 6379 is never touched."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import dramatiq
import pytest
import redis
from dramatiq.brokers.redis import RedisBroker
from sqlmodel import col, select

from finora_gql.core.jobs import JobOutbox
from tests.flows import node_uuid, signed_in_user
from tests.imports.import_flows import start_import, wait_for_import
from tests.ledger.ledger_flows import create_account
from tests.processes import free_port, process_env, start_api, start_worker
from tests.server import RunningServer
from tests.smtp_sink import SmtpSink

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")


class OwnRedis:
    """A redis-server of this test's own, without persistence."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        log = (self.directory / "redis.log").open("a")
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.directory)], stdout=log, stderr=subprocess.STDOUT)
        client = redis.Redis.from_url(self.url)
        for _ in range(200):
            try:
                if client.ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    server = OwnRedis(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


async def test_an_import_whose_enqueue_the_broker_refused_completes_once_redis_is_back(
    own_redis: OwnRedis, database_url: str, tmp_path: Path, smtp_sink: SmtpSink, server: RunningServer
) -> None:
    env = process_env(
        FINORA_ENV="test",
        FINORA_DATA_DIR=str(tmp_path / "data"),
        DATABASE_URL=database_url,
        REDIS_URL=own_redis.url,
        JWT_SECRET="outbox-secret-" + "o" * 40,
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
        JOB_OUTBOX_RELAY_AFTER_SECONDS="1",
    )
    api, api_url = start_api(env, tmp_path / "api.log")
    worker = None
    try:
        client = RunningServer(api_url, settings=None, app=None)  # type: ignore[arg-type]
        user = await signed_in_user(client)
        token = user.access_token
        account = await create_account(client, token)
        rows = 40
        csv = "date,amount,merchant\n" + "".join(f"2026-02-{1 + i % 28:02d},-{i + 1}.25,Shop {i}\n" for i in range(rows))

        own_redis.stop()  # the broker is gone: the job's enqueue after commit is refused
        started = await start_import(client, token, accountId=account["id"], csv=csv)
        assert started["errors"] == [], (started, api.output()[-3000:])
        import_id = node_uuid(started["import"]["id"])
        async with server.runtime.sessions() as session:
            job = (await session.exec(select(JobOutbox).where(col(JobOutbox.actor_name) == "run_import")
                                      .where(col(JobOutbox.args) == [str(import_id)]))).one()
        assert job.relayed_at is None, "the broker was down: nothing can have been relayed"
        assert (await wait_for_import(client, token, started["import"]["id"], timeout=0))["status"] == "QUEUED"

        own_redis.start()  # back, empty (no persistence): the job exists only in the outbox
        worker = start_worker(env, tmp_path / "worker.log")
        # What `finora-gql scheduler` sends every minute: the sweep, run by the worker.
        sender = RedisBroker(url=own_redis.url, namespace="finora-jobs", middleware=[])
        sender.enqueue(dramatiq.Message(queue_name="default", actor_name="relay_job_outbox", args=(), kwargs={},
                                        options={}))
        done = await wait_for_import(client, token, started["import"]["id"], timeout=60)
        assert done["status"] == "COMPLETED", (done, worker.output()[-3000:])
        assert done["progress"]["inserted"] == rows
        count = await client.gql("{ transactions(first: 1) { totalCount } }", token=token)
        assert count["data"]["transactions"]["totalCount"] == rows
        async with server.runtime.sessions() as session:
            relayed = await session.get(JobOutbox, job.id, populate_existing=True)
        assert relayed is not None and relayed.relayed_at is not None and relayed.completed_at is not None
        sender.close()
    finally:
        for process in (worker, api):
            if process is not None:
                process.stop()

"""Dramatiq on RabbitMQ (BROKER_URL=amqp://…), against the RabbitMQ on this machine: an API
process and worker processes with no Redis at all; emails arrive, and a worker killed mid-import
leaves the import to a replacement, which completes it once."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.flows import signed_in_user
from tests.ops.test_backup import fresh_database
from tests.processes import BIN, Process, free_port, process_env, start_worker, wait_until_healthy
from tests.server import RunningServer
from tests.smtp_sink import SmtpSink

VHOST = "finora-test"
QUEUES = ("default", "email", "imports")


def rabbitmq_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5672), timeout=2):
            return True
    except OSError:
        return False


pytestmark = pytest.mark.skipif(not rabbitmq_up(), reason="no RabbitMQ on 127.0.0.1:5672")


@pytest.fixture(scope="module")
def amqp_url() -> Iterator[str]:
    """A vhost of our own when rabbitmqctl lets us make one (so no other user's queues are touched)."""
    vhost = "/"
    if shutil.which("rabbitmqctl"):
        made = subprocess.run(["rabbitmqctl", "add_vhost", VHOST], capture_output=True, text=True, timeout=120)
        if made.returncode == 0 or "already_exists" in made.stderr + made.stdout:
            granted = subprocess.run(["rabbitmqctl", "set_permissions", "-p", VHOST, "guest", ".*", ".*", ".*"],
                                     capture_output=True, text=True, timeout=120)
            if granted.returncode == 0:
                vhost = VHOST
    url = "amqp://guest:guest@127.0.0.1:5672/" + ("%2F" if vhost == "/" else vhost)
    purge(url)
    yield url
    purge(url)


def purge(url: str) -> None:
    import pika

    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        for queue in QUEUES:
            for name in (queue, f"{queue}.DQ", f"{queue}.XQ"):
                channel = connection.channel()
                try:
                    channel.queue_purge(name)
                except pika.exceptions.ChannelClosedByBroker:
                    pass  # not declared yet
    finally:
        connection.close()


@pytest.fixture
async def rabbit_env(database_url: str, tmp_path: Path, smtp_sink: SmtpSink, amqp_url: str) -> dict[str, str]:
    return process_env(
        FINORA_ENV="test",
        FINORA_DATA_DIR=str(tmp_path / "data"),
        DATABASE_URL=await fresh_database(database_url),
        BROKER_URL=amqp_url,  # and no REDIS_URL: the broker alone carries the jobs
        JWT_SECRET="rabbit-secret-" + "r" * 40,
        SMTP_HOST=smtp_sink.host,
        SMTP_PORT=str(smtp_sink.port),
        SMTP_USERNAME=smtp_sink.username,
        SMTP_PASSWORD=smtp_sink.password,
        SMTP_CA_FILE=str(smtp_sink.ca_file),
        RATE_LIMIT_LOGIN_PER_IP="100000/60",
        RATE_LIMIT_REGISTER_PER_IP="100000/60",
        JOB_MIN_BACKOFF_MS="50",
        JOB_MAX_BACKOFF_MS="500",
    )


def start_api(env: dict[str, str], log: Path) -> tuple[Process, str]:
    """tests.processes.start_api with room for a loaded machine (two minutes to come up)."""
    port = free_port()
    process = Process([str(BIN / "uvicorn"), "--factory", "finora_gql.app:create_app", "--host", "127.0.0.1",
                       "--port", str(port), "--log-level", "warning"], env, log)
    return process, wait_until_healthy(process, f"http://127.0.0.1:{port}", timeout=120)


async def test_jobs_on_rabbitmq_survive_a_killed_worker(rabbit_env: dict[str, str], tmp_path: Path,
                                                       smtp_sink: SmtpSink) -> None:
    from finora_gql.core import db
    from tests.imports.import_flows import START, wait_for_import
    from tests.ledger.ledger_flows import create_account

    await asyncio.to_thread(db.migrate, rabbit_env["DATABASE_URL"])
    api, api_url = await asyncio.to_thread(start_api, rabbit_env, tmp_path / "api.log")
    worker = start_worker(rabbit_env, tmp_path / "worker-1.log")
    replacement = None
    try:
        client = RunningServer(api_url, settings=None, app=None)  # type: ignore[arg-type]
        user = await signed_in_user(client)
        confirm = await smtp_sink.wait_for(lambda m: m["To"] == user.email, timeout=60)  # through RabbitMQ
        assert "Confirm" in confirm["Subject"]
        account = await create_account(client, user.access_token)
        rows = 30_000
        lines = "\n".join(f"2026-01-{1 + i % 28:02d},-{i % 900 + 1}.25,Shop {i}" for i in range(rows))
        started = (await client.gql(START, {"input": {"accountId": account["id"], "csv": f"date,amount,merchant\n{lines}\n"}},
                                    token=user.access_token))["data"]["startImport"]
        assert started["errors"] == [], started
        import_id = started["import"]["id"]
        progress = "query($id: ID!) { import(id: $id) { status progress { processed total } } }"
        for _ in range(2000):
            found = (await client.gql(progress, {"id": import_id}, token=user.access_token))["data"]["import"]
            if found["status"] == "RUNNING" and found["progress"]["processed"] > 0:
                break
            await asyncio.sleep(0.01)
        worker.kill()  # SIGKILL mid-run: the message is unacknowledged, RabbitMQ requeues it
        assert found["status"] == "RUNNING" and found["progress"]["processed"] < rows, (found, worker.output()[-2000:])

        replacement = start_worker(rabbit_env, tmp_path / "worker-2.log")
        done = await wait_for_import(client, user.access_token, import_id, timeout=120)
        assert done["status"] == "COMPLETED", (done, replacement.output()[-3000:])
        assert done["progress"]["inserted"] == rows
        count = await client.gql("{ transactions(first: 1) { totalCount } }", token=user.access_token)
        assert count["data"]["transactions"]["totalCount"] == rows
    finally:
        for process in (worker, replacement, api):
            if process is not None:
                process.stop()

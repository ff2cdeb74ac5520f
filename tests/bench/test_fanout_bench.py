"""Fan-out benchmark: N websocket subscribers on one server process, one event to each.

Not a timed test: it prints figures. CI runs it small; the full run is
`BENCH_SUBSCRIBERS=500,2000 uv run pytest tests/bench/test_fanout_bench.py -s`.

Latency is measured from the moment the server stamps the notification (`createdAt`, the
server's clock, the same machine's clock as ours) to its arrival at each subscriber.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import resource
import statistics
import time
from pathlib import Path

import pytest
import websockets

from tests.flows import login, signed_in_user
from tests.processes import process_env, start_api
from tests.server import RunningServer

SIZES = [int(size) for size in os.environ.get("BENCH_SUBSCRIBERS", "50").split(",")]
SUBSCRIPTION = json.dumps({"id": "1", "type": "subscribe",
                           "payload": {"query": "subscription { notifications { id createdAt } }"}})


def rss_kib(pid: int) -> int:
    line = next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("VmRSS"))
    return int(line.split()[1])


async def subscriber(url: str, token: str, ready: asyncio.Event, arrivals: list[float]) -> None:
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"], open_timeout=60, ping_interval=None) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(SUBSCRIPTION)
        ready.set()
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), timeout=120))
            if message["type"] == "next":
                received = time.time()
                created = dt.datetime.fromisoformat(message["payload"]["data"]["notifications"]["createdAt"])
                arrivals.append(received - created.timestamp())
                return


@pytest.mark.bench
@pytest.mark.parametrize("subscribers", SIZES)
async def test_fanout(server: RunningServer, database_url: str, tmp_path: Path, subscribers: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 16384)), hard))
    env = process_env(FINORA_ENV="test", DATABASE_URL=database_url, JWT_SECRET=server.settings.signing_secret,
                      FINORA_DATA_DIR=str(tmp_path / "data"), LOG_LEVEL="WARNING",
                      RATE_LIMIT_LOGIN_PER_IP="100000/60", RATE_LIMIT_LOGIN_PER_EMAIL="100000/60")
    api, base = start_api(env, tmp_path / "api.log")
    try:
        remote = RunningServer(base, settings=None, app=None)  # type: ignore[arg-type]
        user = await signed_in_user(remote)
        before = rss_kib(api.popen.pid)
        arrivals: list[float] = []
        readies = [asyncio.Event() for _ in range(subscribers)]
        url = base.replace("http://", "ws://") + "/graphql"
        tasks = []
        for index in range(subscribers):  # connect in waves, as clients do, not all in one instant
            tasks.append(asyncio.create_task(subscriber(url, user.access_token, readies[index], arrivals)))
            if index % 100 == 99:
                await asyncio.gather(*(ready.wait() for ready in readies[: index + 1]))
        await asyncio.gather(*(ready.wait() for ready in readies))
        await asyncio.sleep(1 + subscribers / 1000)  # let the server register every subscription
        connected = rss_kib(api.popen.pid)
        for _ in range(5):  # the fifth failure locks the account: one ACCOUNT_LOCKED notification
            await login(remote, user.email, "not the password")
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=120)
    finally:
        api.stop()
    latencies = sorted(arrivals)
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000
    per_connection = (connected - before) / subscribers
    print(f"\nfan-out to {subscribers} subscribers: received by {len(latencies)}, p50 {p50:.1f} ms, "
          f"p99 {p99:.1f} ms, max {latencies[-1] * 1000:.1f} ms; server RSS {before / 1024:.0f} -> "
          f"{connected / 1024:.0f} MiB ({per_connection:.1f} KiB per connection)")
    assert len(latencies) == subscribers

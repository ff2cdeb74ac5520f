"""Fan-out benchmark: N websocket subscribers on one server process, one event to each.

Not a timed test: it prints figures. CI runs it small; the full run is
`BENCH_SUBSCRIBERS=500,2000 uv run pytest tests/bench/test_fanout_bench.py -s`.

Latency is measured from the moment the server stamps the notification (`createdAt`, the
server's clock, the same machine's clock as ours) to its arrival at each subscriber. The
subscribers run in BENCH_CLIENT_PROCESSES (default 2) processes of their own, sharing the
machine's two cores with the server. The server's CPU time from the triggering request to the
last arrival is reported too.

BENCH_CLIENT picks the subscribers' client:
- `lean` (default): websockets' sans-I/O protocol on a bare uvloop transport, stamping an
  event's arrival as its bytes are read, before they are parsed. It speaks the same
  graphql-transport-ws over the same TCP, at a few microseconds of client work per event.
- `websockets`: the `websockets` asyncio client, stamping when `recv()` returns. Each event
  costs that client tens of microseconds (its reader task, a future, a task switch), and the
  1,000 subscribers of one process queue behind each other's share of it: at 2,000 subscribers,
  that client time is counted in the latency as if it were the server's. Kept to compare with
  runs before the lean client.

BENCH_REDIS_URL (a Redis database the run may empty, e.g. redis://127.0.0.1:6379/13) runs the
server as production does: events through Redis pub/sub, jobs queued in Redis for worker
processes (none run here), instead of the in-process hub and worker threads.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import multiprocessing
import os
import resource
import statistics
import time
from pathlib import Path

import pytest
import redis
import uvloop
import websockets
from websockets.client import ClientProtocol
from websockets.frames import Opcode
from websockets.http11 import Response
from websockets.typing import Subprotocol
from websockets.uri import parse_uri

from tests.flows import login, signed_in_user
from tests.processes import process_env, start_api
from tests.server import RunningServer

SIZES = [int(size) for size in os.environ.get("BENCH_SUBSCRIBERS", "50").split(",")]
CLIENT_PROCESSES = max(1, int(os.environ.get("BENCH_CLIENT_PROCESSES", "2")))
CLIENT = os.environ.get("BENCH_CLIENT", "lean")
REDIS_URL = os.environ.get("BENCH_REDIS_URL")
SUBSCRIPTION = json.dumps({"id": "1", "type": "subscribe",
                           "payload": {"query": "subscription { notifications { id createdAt } }"}})


def rss_kib(pid: int) -> int:
    line = next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("VmRSS"))
    return int(line.split()[1])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def subscriber(url: str, token: str, ready: asyncio.Event, arrivals: list[tuple[float, str]],
                     everyone: asyncio.Event, count: int) -> None:
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"], open_timeout=60, ping_interval=None) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(SUBSCRIPTION)
        ready.set()
        while True:
            raw = await asyncio.wait_for(ws.recv(), timeout=120)
            received = time.time()  # before parsing: the client's own JSON work is not the server's latency
            message = json.loads(raw)
            if message["type"] == "next":
                arrivals.append((received, message["payload"]["data"]["notifications"]["createdAt"]))
                break
        # Stay connected until this process's subscribers all have their event, as live clients
        # do: a storm of closing handshakes would otherwise compete with the fan-out it measures.
        if len(arrivals) == count:
            everyone.set()
        await everyone.wait()


class LeanSubscriber(asyncio.Protocol):
    """One graphql-transport-ws subscriber: websockets' sans-I/O client protocol on a bare transport.

    Handshake, framing and close are websockets' own; what it saves is the asyncio client's
    reader task, futures and task switch per message. A frame that arrives once subscribed is
    stamped before anything else is done with it.
    """

    def __init__(self, url: str, token: str, ready: asyncio.Event, arrivals: list[tuple[float, str]],
                 everyone: asyncio.Event, count: int) -> None:
        self.ws = ClientProtocol(parse_uri(url), subprotocols=[Subprotocol("graphql-transport-ws")])
        self.token, self.ready, self.arrivals, self.everyone, self.count = token, ready, arrivals, everyone, count
        self.transport: asyncio.Transport | None = None
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.ws.send_request(self.ws.connect())
        self._flush()

    def data_received(self, data: bytes) -> None:
        received = time.time()
        self.ws.receive_data(data)
        for event in self.ws.events_received():
            if isinstance(event, Response):
                if self.ws.handshake_exc is not None:
                    raise self.ws.handshake_exc
                self._send({"type": "connection_init", "payload": {"authorization": f"Bearer {self.token}"}})
            elif event.opcode is Opcode.TEXT:
                self._on_message(json.loads(event.data), received)
        self._flush()

    def _on_message(self, message: dict, received: float) -> None:
        kind = message["type"]
        if kind == "connection_ack":
            self.ws.send_text(SUBSCRIPTION.encode())
            self.ready.set()
        elif kind == "ping":
            self._send({"type": "pong"})
        elif kind == "next" and self.ready.is_set():
            self.arrivals.append((received, message["payload"]["data"]["notifications"]["createdAt"]))
            if len(self.arrivals) == self.count:
                self.everyone.set()
        elif kind != "next":
            raise AssertionError(f"unexpected message {message}")

    def _send(self, message: dict) -> None:
        self.ws.send_text(json.dumps(message).encode())

    def _flush(self) -> None:
        for data in self.ws.data_to_send():
            if data:
                self.transport.write(data)  # type: ignore[union-attr]
            else:
                self.transport.write_eof()  # type: ignore[union-attr]

    def close(self) -> None:
        self.ws.send_close()
        self._flush()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


async def lean_subscriber(url: str, token: str, ready: asyncio.Event, arrivals: list[tuple[float, str]],
                          everyone: asyncio.Event, count: int) -> None:
    uri = parse_uri(url)
    _, protocol = await asyncio.get_running_loop().create_connection(
        lambda: LeanSubscriber(url, token, ready, arrivals, everyone, count), uri.host, uri.port)
    # Stay connected until this process's subscribers all have their event (see `subscriber`).
    await everyone.wait()
    protocol.close()
    await asyncio.wait_for(protocol.closed, timeout=30)


def client_process(url: str, token: str, count: int, ready, results) -> None:
    """One client process: `count` subscribers; reports when all are subscribed, then their arrivals."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 16384)), hard))
    connect = lean_subscriber if CLIENT == "lean" else subscriber

    async def run() -> list[tuple[float, str]]:
        arrivals: list[tuple[float, str]] = []
        readies = [asyncio.Event() for _ in range(count)]
        everyone = asyncio.Event()
        tasks = []
        for index in range(count):  # connect in waves, as clients do, not all in one instant
            tasks.append(asyncio.create_task(connect(url, token, readies[index], arrivals, everyone, count)))
            if index % 100 == 99:
                await asyncio.gather(*(ready.wait() for ready in readies[: index + 1]))
        await asyncio.gather(*(ready.wait() for ready in readies))
        ready.put(count)
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=120)
        return arrivals

    results.put(uvloop.run(run()) if CLIENT == "lean" else asyncio.run(run()))


@pytest.mark.bench
@pytest.mark.parametrize("subscribers", SIZES)
async def test_fanout(server: RunningServer, database_url: str, tmp_path: Path, subscribers: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 16384)), hard))
    production = {}
    if REDIS_URL:
        redis.Redis.from_url(REDIS_URL).flushdb()
        production["REDIS_URL"] = REDIS_URL
    env = process_env(FINORA_ENV="test", DATABASE_URL=database_url, JWT_SECRET=server.settings.signing_secret,
                      FINORA_DATA_DIR=str(tmp_path / "data"), LOG_LEVEL="WARNING",
                      RATE_LIMIT_LOGIN_PER_IP="100000/60", RATE_LIMIT_LOGIN_PER_EMAIL="100000/60", **production)
    api, base = start_api(env, tmp_path / "api.log")
    try:
        remote = RunningServer(base, settings=None, app=None)  # type: ignore[arg-type]
        user = await signed_in_user(remote)
        before = rss_kib(api.popen.pid)
        url = base.replace("http://", "ws://") + "/graphql"
        spawn = multiprocessing.get_context("spawn")
        ready, results = spawn.Queue(), spawn.Queue()
        shares = [subscribers // CLIENT_PROCESSES + (i < subscribers % CLIENT_PROCESSES) for i in range(CLIENT_PROCESSES)]
        clients = [spawn.Process(target=client_process, args=(url, user.access_token, share, ready, results))
                   for share in shares if share]
        for client in clients:
            client.start()
        try:
            for _ in clients:
                await asyncio.to_thread(ready.get, timeout=300)
            await asyncio.sleep(1 + subscribers / 1000)  # let the server register every subscription
            connected = rss_kib(api.popen.pid)
            cpu_before = cpu_seconds(api.popen.pid)
            for _ in range(5):  # the fifth failure locks the account: one ACCOUNT_LOCKED notification
                await login(remote, user.email, "not the password")
            received: list[tuple[float, str]] = []
            for _ in clients:
                received += await asyncio.to_thread(results.get, timeout=180)
            server_cpu = cpu_seconds(api.popen.pid) - cpu_before
        finally:
            for client in clients:
                client.join(timeout=10)
                if client.is_alive():
                    client.kill()
    finally:
        api.stop()
    arrivals = [stamp - dt.datetime.fromisoformat(created).timestamp() for stamp, created in received]
    latencies = sorted(arrivals)
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000
    per_connection = (connected - before) / subscribers
    print(f"\nfan-out to {subscribers} subscribers ({len(clients)} {CLIENT} client processes"
          f"{', Redis' if REDIS_URL else ''}): received by {len(latencies)}, "
          f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {latencies[-1] * 1000:.1f} ms; server CPU {server_cpu * 1000:.0f} ms "
          f"(5 logins and the fan-out); server RSS {before / 1024:.0f} -> {connected / 1024:.0f} MiB "
          f"({per_connection:.1f} KiB per connection)")
    assert len(latencies) == subscribers

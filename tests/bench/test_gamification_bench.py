"""Gamification benchmark: events applied per second, job time, and leaderboard reads.

Not a timed test: it prints figures. CI runs it small; the full run (10,000 users, 1,000,000
transactions' worth of events) is
`BENCH_GAMIFICATION_USERS=10000 BENCH_GAMIFICATION_TRANSACTIONS=1000000 uv run pytest tests/bench/test_gamification_bench.py -s`.

Events are what the API records: one TRANSACTION_CREATED per create call (1-9 transactions, 5 on
average), a TRANSACTION_DELETED now and then, a SIGNED_IN per person per day. They are inserted in
rounds of one event per active person ("live": each job then has about one event to apply, as
when the worker keeps up) and applied by the job's body (`processing.process_event`, what the
`gamification_process` actor calls) from BENCH_GAMIFICATION_THREADS concurrent workers sharing
one event loop, as Dramatiq's AsyncIO middleware runs async actors. Then everyone opts in to the
leaderboard, and its reads are timed in the service and over HTTP (GraphQL, keep-alive client).
With BENCH_REDIS_URL the board lives in that Redis (flushed: give it a database of its own).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import random
import statistics
import time
import uuid

import httpx
import pytest
from sqlalchemy import delete, func
from sqlalchemy import event as sa_event
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select

from finora_gql.core import clock
from finora_gql.core.db import any_of, atomic
from finora_gql.core.runtime import build_runtime
from finora_gql.core.viewer import Viewer
from finora_gql.gamification import leaderboard as boards
from finora_gql.gamification import processing, service
from finora_gql.gamification.models import EventKind, GamificationEvent, LeaderboardProfile
from finora_gql.users.models import Role, User
from tests.conftest import make_settings
from tests.flows import signed_in_user
from tests.server import RunningServer, running_server

USERS = int(os.environ.get("BENCH_GAMIFICATION_USERS", "200"))
TRANSACTIONS = int(os.environ.get("BENCH_GAMIFICATION_TRANSACTIONS", "10000"))
THREADS = int(os.environ.get("BENCH_GAMIFICATION_THREADS", "4"))
READS = int(os.environ.get("BENCH_GAMIFICATION_READS", "500"))
REDIS_URL = os.environ.get("BENCH_REDIS_URL")
START = dt.datetime(2033, 1, 3, 8, tzinfo=dt.UTC)  # a Monday


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def http_reads(server: RunningServer, query: str) -> tuple[list[float], float]:
    """Wall times of READS posts of `query` by a signed-in person (keep-alive), and the CPU per
    read of this process (client and server both: uvicorn runs in the test's loop)."""
    person = await signed_in_user(server)
    times: list[float] = []
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
        headers = {"authorization": f"Bearer {person.access_token}"}
        for _ in range(50):
            await client.post("/graphql", json={"query": query}, headers=headers)
        began_cpu = time.process_time()
        for _ in range(READS):
            began = time.perf_counter()
            response = await client.post("/graphql", json={"query": query}, headers=headers)
            times.append(time.perf_counter() - began)
            assert "errors" not in response.json()
        cpu = (time.process_time() - began_cpu) / READS
    return times, cpu


def planned_events(users: list[uuid.UUID], rng: random.Random) -> list[list[dict]]:
    """Rounds of events, one per active person per round, until TRANSACTIONS are covered."""
    rounds: list[list[dict]] = []
    made = 0
    day = 0
    counted: dict[uuid.UUID, list[str]] = {u: [] for u in users}
    while made < TRANSACTIONS:
        batch = []
        moment = START + dt.timedelta(hours=day * 6)
        for user_id in users:
            if made >= TRANSACTIONS:
                break
            roll = rng.random()
            if roll < 0.15:
                kind, payload = EventKind.SIGNED_IN, {}
            elif roll < 0.18 and counted[user_id]:
                kind, payload = EventKind.TRANSACTION_DELETED, {"ids": [counted[user_id].pop()]}
            else:
                n = rng.randint(1, 9)
                ids = [str(uuid.uuid4()) for _ in range(n)]
                counted[user_id].extend(ids[:1])
                made += n
                kind, payload = EventKind.TRANSACTION_CREATED, {"transactions": [
                    {"id": i, "date": (moment - dt.timedelta(days=rng.randint(0, 3))).date().isoformat(),
                     "transfer": rng.random() < 0.05, "imported": False} for i in ids]}
            batch.append({"id": uuid.uuid4(), "user_id": user_id, "kind": kind, "payload": payload,
                          "occurred_at": moment, "created_at": moment})
        rounds.append(batch)
        day += 1
    return rounds


@pytest.mark.bench
async def test_gamification_benchmark(server: RunningServer, database_url: str, tmp_path) -> None:
    settings = make_settings(database_url, tmp_path, None, redis_url=REDIS_URL)
    rt = build_runtime(settings, database_url)
    await rt.start()
    rng = random.Random(2033)
    users = [uuid.uuid4() for _ in range(USERS)]
    try:
        if rt.redis is not None:
            await rt.redis.flushdb()
        tag = uuid.uuid4().hex[:6]
        async with rt.sessions() as session, atomic(session):
            for start in range(0, USERS, 1000):
                await session.exec(insert(User).values([{
                    "id": u, "email": f"gb-{tag}-{n}@example.com", "name": f"Bench {n}", "role": Role.USER,
                    "base_currency": "USD", "timezone": rng.choice(["UTC", "Europe/Berlin", "America/New_York"]),
                    "created_at": START, "updated_at": START,
                } for n, u in enumerate(users[start:start + 1000], start)]))
        rounds = planned_events(users, rng)
        events = sum(len(r) for r in rounds)

        job_times: list[float] = []
        statements = 0

        def counted(*_args: object) -> None:
            nonlocal statements
            statements += 1

        sa_event.listen(rt.engine.sync_engine, "before_cursor_execute", counted)
        outcomes: dict[int, int] = {}
        cpu = 0.0
        applied = 0
        busy = 0.0

        async def worker(queue: asyncio.Queue) -> None:
            nonlocal applied
            while True:
                event_id = await queue.get()
                if event_id is None:
                    return
                began = time.perf_counter()
                done = await processing.process_event(rt, event_id)
                outcomes[done] = outcomes.get(done, 0) + 1
                applied += done
                job_times.append(time.perf_counter() - began)

        for batch in rounds:
            moment = batch[0]["occurred_at"]
            with clock.travel(moment + dt.timedelta(seconds=10) - clock.now()):  # the pending sweep waits a minute
                async with rt.sessions() as session, atomic(session):
                    for start in range(0, len(batch), 2000):
                        await session.exec(insert(GamificationEvent).values(batch[start:start + 2000]))
                queue: asyncio.Queue = asyncio.Queue()
                for row in batch:
                    queue.put_nowait(row["id"])
                for _ in range(THREADS):
                    queue.put_nowait(None)
                began, began_cpu = time.perf_counter(), time.process_time()
                await asyncio.gather(*(worker(queue) for _ in range(THREADS)))
                busy += time.perf_counter() - began
                cpu += time.process_time() - began_cpu
        sa_event.remove(rt.engine.sync_engine, "before_cursor_execute", counted)
        async with rt.sessions() as session:
            left = (await session.exec(select(func.count()).select_from(GamificationEvent).where(
                any_of(col(GamificationEvent.user_id), users), col(GamificationEvent.seq).is_(None)))).one()
        assert left == 0
        # Jobs that found their event applied already (by the hourly sweep, if it ran meanwhile) did nothing.
        assert applied <= events
        # Everyone opts in; the board is rebuilt from the ledger once, then read.
        async with rt.sessions() as session, atomic(session):
            for start in range(0, USERS, 2000):
                await session.exec(insert(LeaderboardProfile).values([
                    {"id": uuid.uuid4(), "user_id": u, "opt_in": True, "display_name": None, "updated_at": START}
                    for u in users[start:start + 2000]]).on_conflict_do_nothing())
        with clock.travel(rounds[-1][0]["occurred_at"] - clock.now()):
            async with rt.sessions() as session:
                began = time.perf_counter()
                ranked = await service.rebuild_leaderboard(session, rt, "ALL_TIME")
                rebuild = time.perf_counter() - began
                reads = []
                for _ in range(READS):
                    viewer = Viewer.acting_for(rng.choice(users))
                    began = time.perf_counter()
                    board = await service.leaderboard(session, rt, viewer, period="ALL_TIME")
                    reads.append(time.perf_counter() - began)
                assert len(board.entries) == min(10, ranked)

        # Over HTTP: the test server (in-process board), or one of its own on the bench's Redis.
        board_query = "{ leaderboard(period: ALL_TIME) { entries { rank displayName points } viewerEntry { rank } } }"
        floor_query = "{ __typename }"  # the same trip without a resolver: transport, parsing, the response
        if rt.redis is None:
            http, http_cpu = await http_reads(server, board_query)
            floor, floor_cpu = await http_reads(server, floor_query)
        else:
            async with running_server(make_settings(database_url, tmp_path, None, redis_url=REDIS_URL)) as own:
                http, http_cpu = await http_reads(own, board_query)
                floor, floor_cpu = await http_reads(own, floor_query)

        backend = "Redis" if rt.redis is not None else "in-process"
        print(f"\ngamification benchmark: {USERS:,} users, {TRANSACTIONS:,} transactions in {events:,} events "
              f"({len(rounds)} rounds), {THREADS} concurrent workers on one loop")
        print(f"  jobs: {outcomes.get(1, 0):,} applied one event, {outcomes.get(0, 0):,} found theirs applied, "
              f"{sum(v for k, v in outcomes.items() if k > 1):,} applied several")
        print(f"  applied {applied:,} events in {busy:.1f} s: {applied / busy:,.0f} events/s on one thread (its loop), "
              f"{applied / busy / THREADS:,.0f} events/s per concurrent worker")
        print(f"  SQL statements per event (BEGIN and COMMIT apart): {statements / applied:.2f}")
        print(f"  this process's CPU per event (the job's Python; Postgres apart): {cpu / applied * 1000:.1f} ms; "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        print(f"  job time ms: p50 {pct(job_times, .5) * 1000:.1f}  p95 {pct(job_times, .95) * 1000:.1f}  "
              f"p99 {pct(job_times, .99) * 1000:.1f}  mean {statistics.mean(job_times) * 1000:.1f}")
        print(f"  leaderboard ({backend}): rebuilt from the ledger for {ranked:,} people in {rebuild * 1000:.0f} ms; "
              f"service read p50 {pct(reads, .5) * 1000:.2f} ms, p95 {pct(reads, .95) * 1000:.2f} ms")
        print(f"  leaderboard over HTTP (GraphQL, keep-alive): p50 {pct(http, .5) * 1000:.2f} ms, "
              f"p95 {pct(http, .95) * 1000:.2f} ms, CPU {http_cpu * 1000:.2f} ms per read (client and server)")
        print(f"  {{ __typename }} over HTTP, the same trip without a resolver: p50 {pct(floor, .5) * 1000:.2f} ms, "
              f"p95 {pct(floor, .95) * 1000:.2f} ms, CPU {floor_cpu * 1000:.2f} ms")
        met = pct(reads, .95) <= 0.005
        print(f"  leaderboard read p95 <= 5 ms: {'met' if met else 'NOT met'}")
    finally:
        # The bench's people leave the boards again: later tests read a top 10 of their own.
        async with rt.sessions() as session, atomic(session):
            await session.exec(delete(LeaderboardProfile).where(any_of(col(LeaderboardProfile.user_id), users)))
        async with rt.sessions() as session:
            for period in ("ALL_TIME", "WEEKLY"):
                await service.rebuild_leaderboard(session, rt, period)
        if rt.redis is not None:
            await rt.redis.flushdb()
        boards.board_for(None)  # the in-process board stays for the test server
        await rt.aclose()

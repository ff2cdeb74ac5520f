"""Ledger benchmark: one heavy user (and many light ones) over real HTTP against a separate server.

Not a timed test: it prints figures. CI runs it small; the full run is
`BENCH_TRANSACTIONS=100000 BENCH_USERS=1000 uv run pytest tests/bench/test_ledger_bench.py -s`.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.flows import signed_in_user
from tests.processes import process_env, start_api
from tests.server import RunningServer

TRANSACTIONS = int(os.environ.get("BENCH_TRANSACTIONS", "2000"))
USERS = int(os.environ.get("BENCH_USERS", "3"))
OTHER_USERS_TRANSACTIONS = int(os.environ.get("BENCH_OTHER_TRANSACTIONS", str(TRANSACTIONS * 9)))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "30"))

PAGE = """query($f: TransactionFilter) { transactions(first: 50, filter: $f) {
  edges { node { id date amount merchant description tags account { name } category { name } } } } }"""
SUMMARY = "query($from: Date!, $to: Date!) { walletSummary(from: $from, to: $to) { totalBalance totalIncome " \
          "totalExpenses net savingsRate topCategories { name amount } monthlyTrend { period net } complete } }"
CASHFLOW = "query($from: Date!, $to: Date!) { cashflow(from: $from, to: $to, granularity: DAY) { buckets { net } } }"
BUDGET = "query($m: Date!) { budgetStatus(month: $m) { totalSpent lines { spent remaining percentUsed } } }"

# One statement fills a user's ledger: ~300 merchants, 17 categories, 3 accounts, 2 years.
FILL = """
INSERT INTO transaction (id, user_id, account_id, date, amount, currency, category_id, merchant, description,
                         tags, created_at, updated_at)
SELECT gen_random_uuid(), :user_id, (CAST(:accounts AS uuid[]))[1 + (n % 3)],
       DATE '2025-01-01' + (n * 7919 % 730),
       CASE WHEN n % 25 = 0 THEN 2500 + (n % 500) ELSE -((n * 37 % 20000) / 100.0 + 1) END,
       'USD', CASE WHEN n % 25 = 0 THEN (CAST(:income AS uuid[]))[1]
            ELSE (CAST(:expense AS uuid[]))[1 + (n % array_length(CAST(:expense AS uuid[]), 1))] END,
       'Merchant ' || (n % 300), 'card payment ' || (n % 97),
       CASE WHEN n % 11 = 0 THEN ARRAY['work'] ELSE ARRAY[]::varchar[] END, now(), now()
FROM generate_series(1, CAST(:count AS int)) AS n
"""
TOTALS = """
INSERT INTO daily_total (user_id, day, currency, category_key, is_transfer, inflow, outflow, count)
SELECT user_id, date, currency, coalesce(category_id, '00000000-0000-0000-0000-000000000000'), transfer_id IS NOT NULL,
       sum(greatest(amount, 0)), sum(least(amount, 0)), count(*)
FROM transaction WHERE user_id = :user_id GROUP BY 1, 2, 3, 4, 5
ON CONFLICT (user_id, day, currency, category_key, is_transfer) DO UPDATE
SET inflow = daily_total.inflow + excluded.inflow, outflow = daily_total.outflow + excluded.outflow,
    count = daily_total.count + excluded.count
"""
BALANCES = """
UPDATE account a SET current_balance = a.opening_balance + coalesce(
  (SELECT sum(amount) FROM transaction t WHERE t.account_id = a.id), 0) WHERE a.user_id = :user_id
"""


async def fill(database_url: str, server: RunningServer, token: str, user_id: uuid.UUID, count: int) -> None:
    accounts = [
        (await server.gql('mutation($n: String!) { createAccount(input: {name: $n, type: CHECKING, currency: "USD"}) '
                          '{ account { id } } }', {"n": f"A{i}"}, token=token))
        for i in range(3)
    ]
    assert all(a["data"]["createAccount"]["account"] for a in accounts)
    engine = create_async_engine(database_url)
    async with engine.begin() as conn:
        ids = (await conn.execute(text("SELECT id FROM account WHERE user_id = :u ORDER BY created_at"), {"u": user_id})).scalars().all()
        expense = (await conn.execute(text("SELECT id FROM category WHERE user_id = :u AND kind = 'EXPENSE' ORDER BY name"),
                                      {"u": user_id})).scalars().all()
        income = (await conn.execute(text("SELECT id FROM category WHERE user_id = :u AND kind = 'INCOME' ORDER BY name"),
                                     {"u": user_id})).scalars().all()
        await conn.execute(text(FILL), {"user_id": user_id, "accounts": list(ids), "income": list(income),
                                        "expense": list(expense), "count": count})
        await conn.execute(text(TOTALS), {"user_id": user_id})
        await conn.execute(text(BALANCES), {"user_id": user_id})
        await conn.execute(text(
            "INSERT INTO budget (id, user_id, month, category_id, limit_amount, rollover, created_at, updated_at) "
            "SELECT gen_random_uuid(), :u, DATE '2026-06-01', id, 500, true, now(), now() FROM category "
            "WHERE user_id = :u AND kind = 'EXPENSE'"), {"u": user_id})
    await engine.dispose()


async def analyze(database_url: str) -> None:
    engine = create_async_engine(database_url)
    async with engine.connect() as conn:
        await conn.execute(text("ANALYZE"))
    await engine.dispose()


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.95) - 1] * 1000


async def timed(client: httpx.AsyncClient, body_for, rounds: int) -> list[float]:
    samples = []
    for i in range(rounds):
        started = time.perf_counter()
        response = await client.post("/graphql", json=body_for(i))
        samples.append(time.perf_counter() - started)
        assert response.status_code == 200 and "errors" not in response.json(), response.text[:300]
    return samples


async def throughput(client: httpx.AsyncClient, body: dict, clients: int = 16, seconds: float = 2) -> float:
    done = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await client.post("/graphql", json=body)
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    return done / (time.perf_counter() - started)


def wrk_throughput(url: str, token: str, body: dict) -> float | None:
    """wrk measures the server, not a Python client sharing the two cores; used when installed."""
    if shutil.which("wrk") is None:
        return None
    import json

    script = Path("/tmp/finora-bench.lua")
    script.write_text(f'wrk.method = "POST"\nwrk.body = {json.dumps(json.dumps(body))}\n'
                      f'wrk.headers["Content-Type"] = "application/json"\nwrk.headers["Authorization"] = "Bearer {token}"\n')
    out = subprocess.run(["wrk", "-t2", "-c16", "-d5s", "-s", str(script), url], capture_output=True, text=True).stdout
    line = next((line for line in out.splitlines() if line.startswith("Requests/sec")), None)
    return float(line.split()[1]) if line else None


@pytest.mark.bench
async def test_ledger_benchmark(server: RunningServer, database_url: str, tmp_path: Path) -> None:
    user = await signed_in_user(server)
    started = time.perf_counter()
    from tests.flows import node_uuid

    await fill(database_url, server, user.access_token, node_uuid(user.user_id), TRANSACTIONS)
    for _ in range(USERS - 1):
        other = await signed_in_user(server)
        await fill(database_url, server, other.access_token, node_uuid(other.user_id),
                   max(1, OTHER_USERS_TRANSACTIONS // max(1, USERS - 1)))
    await analyze(database_url)
    load_seconds = time.perf_counter() - started

    env = process_env(FINORA_ENV="test", DATABASE_URL=database_url, JWT_SECRET=server.settings.signing_secret,
                      FINORA_DATA_DIR=str(tmp_path / "data"), LOG_LEVEL="WARNING")
    api, base = start_api(env, tmp_path / "api.log")
    rows = []
    try:
        headers = {"authorization": f"Bearer {user.access_token}"}
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as client:
            page = {"query": PAGE, "variables": {"f": {"dateFrom": "2025-06-01", "direction": "EXPENSE"}}}
            cases = [
                ("walletSummary, uncached (new range each time)",
                 lambda i: {"query": SUMMARY, "variables": {"from": "2025-01-01", "to": f"2025-12-{1 + i % 28:02d}"}}, False),
                ("walletSummary, cached", lambda i: {"query": SUMMARY, "variables": {"from": "2025-01-01", "to": "2025-12-31"}}, True),
                ("cashflow, a year by DAY", lambda i: {"query": CASHFLOW, "variables": {"from": f"2025-01-{1 + i % 28:02d}",
                                                                                       "to": "2025-12-31"}}, False),
                ("transactions page of 50, filtered", lambda i: page, False),
                ("budgetStatus", lambda i: {"query": BUDGET, "variables": {"m": "2026-06-01"}}, False),
            ]
            for name, body_for, warm in cases:
                await timed(client, body_for, 5 if warm else 3)
                p50, p95 = percentiles(await timed(client, body_for, ROUNDS))
                rows.append((name, p50, p95))
            python_rps = await throughput(client, page)
        wrk_rps = wrk_throughput(f"{base}/graphql", user.access_token, page)
        peak = next(line for line in Path(f"/proc/{api.popen.pid}/status").read_text().splitlines() if line.startswith("VmHWM"))
    finally:
        api.stop()

    print(f"\nledger benchmark: {TRANSACTIONS} transactions for one user, {USERS} users in all "
          f"({OTHER_USERS_TRANSACTIONS} for the others); loaded in {load_seconds:.1f}s")
    print(f"{'operation':45} {'p50 ms':>8} {'p95 ms':>8}")
    for name, p50, p95 in rows:
        print(f"{name:45} {p50:8.1f} {p95:8.1f}")
    print(f"transactions page, 16 concurrent clients: {python_rps:.0f} req/s (Python client)"
          + (f", {wrk_rps:.0f} req/s (wrk)" if wrk_rps else ", wrk not installed"))
    print(f"server peak memory: {peak.split(':')[1].strip()}")
    assert len(rows) == 5

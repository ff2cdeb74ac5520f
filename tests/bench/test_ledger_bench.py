"""Ledger benchmark: one heavy user among many, over real HTTP against a separate server process.

Not a timed test: it prints figures (see tests/bench/README.md). CI runs it small as part of
`uv run pytest`; the full run is

    BENCH_TRANSACTIONS=100000 BENCH_USERS=1000 uv run pytest tests/bench -s -m bench

which loads 100,000 transactions for the measured user and 1,000,000 in all across 1,000 users.

Loading: the measured user, their accounts and budgets go through the services; the other users,
their categories and accounts, and every transaction are bulk SQL (`INSERT ... SELECT
generate_series`); the daily totals are filled with one `INSERT ... SELECT ... GROUP BY`,
checked against what `wallet.totals.apply_changes` itself produces on samples.

Measuring: a uvicorn process of its own (uvloop, httptools, one worker), latency from sequential
requests after a warm-up (a bare HTTP/1.1 client, and httpx), throughput from 16 concurrent clients, SQL statements per request from
the in-process test server with a `before_cursor_execute` hook, the server's peak RSS from /proc.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import itertools
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from sqlalchemy import event, text

from finora_gql.accounts import service as accounts
from finora_gql.accounts.models import AccountType
from finora_gql.auth import service as auth
from finora_gql.budgets import service as budgets
from finora_gql.config import Settings
from finora_gql.core import clock
from finora_gql.core.db import atomic
from finora_gql.core.runtime import Runtime, build_runtime
from finora_gql.core.viewer import Viewer
from finora_gql.transactions import categories
from finora_gql.transactions.models import CategoryKind
from finora_gql.wallet import service as wallet
from finora_gql.wallet import totals
from tests.processes import Process, free_port, process_env, wait_until_healthy
from tests.server import RunningServer

TRANSACTIONS = int(os.environ.get("BENCH_TRANSACTIONS", "3000"))
USERS = max(1, int(os.environ.get("BENCH_USERS", "10")))
# Everyone together holds ten times the measured user's ledger unless told otherwise.
OTHER_TRANSACTIONS = int(os.environ.get("BENCH_OTHER_TRANSACTIONS", str(TRANSACTIONS * 9 if USERS > 1 else 0)))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "30"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "1"))
CLIENTS = 16
WARMUP = 5
PASSWORD = "bench password 2026"
FOREIGN = "SEK"  # the measured user's fourth account; no other test uses this currency

# ---------------------------------------------------------------------------------------------
# loading

# Rows for one user: n = 1..count, dates spread over the two years up to :today, ~17 expense
# categories and one income category, 1 in 40 uncategorised, 1 in 10 in the foreign account,
# 1 in 11 tagged; ~300 merchants.
FILL = """
WITH u AS (
  SELECT usr.id AS user_id,
         (SELECT array_agg(id ORDER BY name) FROM account WHERE user_id = usr.id AND currency = 'USD') AS usd,
         (SELECT min(id::text)::uuid FROM account WHERE user_id = usr.id AND currency <> 'USD') AS foreign_account,
         (SELECT min(currency) FROM account WHERE user_id = usr.id AND currency <> 'USD') AS foreign_currency,
         (SELECT array_agg(id ORDER BY name) FROM category WHERE user_id = usr.id AND kind = 'EXPENSE') AS expense,
         (SELECT min(id::text)::uuid FROM category WHERE user_id = usr.id AND name = 'Salary') AS salary
  FROM unnest(CAST(:users AS uuid[])) AS usr(id)
)
INSERT INTO transaction (id, user_id, account_id, date, amount, currency, category_id, merchant, description,
                         tags, created_at, updated_at)
SELECT gen_random_uuid(), u.user_id,
       CASE WHEN n % 10 = 3 AND u.foreign_account IS NOT NULL THEN u.foreign_account
            ELSE u.usd[1 + n % array_length(u.usd, 1)] END,
       CAST(:today AS date) - (n * 7919 % 730),
       CASE WHEN n % 25 = 0 THEN 2500 + (n % 500) ELSE -((n * 37 % 20000) / 100.0 + 1) END,
       CASE WHEN n % 10 = 3 AND u.foreign_account IS NOT NULL THEN u.foreign_currency ELSE 'USD' END,
       CASE WHEN n % 25 = 0 THEN u.salary WHEN n % 40 = 7 THEN NULL
            ELSE u.expense[1 + n % array_length(u.expense, 1)] END,
       'Merchant ' || (n % 300), 'card payment ' || (n % 97),
       CASE WHEN n % 11 = 0 THEN ARRAY['work'] ELSE ARRAY[]::varchar[] END, now(), now()
FROM u CROSS JOIN generate_series(1, CAST(:count AS int)) AS n
"""
# Transfers: pairs of legs sharing a transfer_id, between the first two USD accounts.
TRANSFERS = """
INSERT INTO transaction (id, user_id, account_id, date, amount, currency, description, tags, transfer_id,
                         created_at, updated_at)
SELECT gen_random_uuid(), u.user_id, a.ids[leg.position], CAST(:today AS date) - (n * 613 % 730),
       leg.sign * (100 + n % 400), 'USD', 'Transfer', ARRAY[]::varchar[],
       CAST(md5(u.user_id::text || ':' || n) AS uuid), now(), now()
FROM unnest(CAST(:users AS uuid[])) AS u(user_id)
CROSS JOIN LATERAL (SELECT array_agg(id ORDER BY name) AS ids FROM account
                    WHERE user_id = u.user_id AND currency = 'USD') AS a
CROSS JOIN generate_series(1, CAST(:count AS int)) AS n
CROSS JOIN (VALUES (1, -1), (2, 1)) AS leg(position, sign)
"""
# Exactly what apply_changes produces: amount > 0 is inflow, anything else outflow; one count per row.
TOTALS = """
INSERT INTO daily_total (user_id, day, currency, category_key, is_transfer, inflow, outflow, count)
SELECT user_id, date, currency, coalesce(category_id, '00000000-0000-0000-0000-000000000000'),
       transfer_id IS NOT NULL,
       coalesce(sum(amount) FILTER (WHERE amount > 0), 0), coalesce(sum(amount) FILTER (WHERE amount <= 0), 0),
       count(*)
FROM transaction WHERE user_id = ANY(CAST(:users AS uuid[])) GROUP BY 1, 2, 3, 4, 5
ON CONFLICT (user_id, day, currency, category_key, is_transfer) DO UPDATE
SET inflow = daily_total.inflow + excluded.inflow, outflow = daily_total.outflow + excluded.outflow,
    count = daily_total.count + excluded.count
"""
# The months from the days, as apply_changes keeps them (checked on the same samples).
MONTHS = """
INSERT INTO monthly_total (user_id, month, currency, category_key, is_transfer, inflow, outflow, count)
SELECT user_id, date_trunc('month', day::timestamp)::date, currency, category_key, is_transfer,
       sum(inflow), sum(outflow), sum(count)
FROM daily_total WHERE user_id = ANY(CAST(:users AS uuid[])) GROUP BY 1, 2, 3, 4, 5
ON CONFLICT (user_id, month, currency, category_key, is_transfer) DO UPDATE
SET inflow = excluded.inflow, outflow = excluded.outflow, count = excluded.count
"""
BALANCES = """
UPDATE account a SET current_balance = a.opening_balance + coalesce(t.total, 0)
FROM (SELECT account_id, sum(amount) AS total FROM transaction
      WHERE user_id = ANY(CAST(:users AS uuid[])) GROUP BY account_id) t
WHERE t.account_id = a.id
"""
OTHER_USERS = """
INSERT INTO "user" (id, email, name, role, base_currency, timezone, email_verified_at, created_at, updated_at)
SELECT gen_random_uuid(), 'bench-' || :run || '-' || n || '@example.com', 'Bench ' || n, 'USER', 'USD', 'UTC',
       now(), now(), now()
FROM generate_series(1, CAST(:count AS int)) AS n
RETURNING id
"""
OTHER_CATEGORIES = """
INSERT INTO category (id, user_id, name, kind, created_at)
SELECT gen_random_uuid(), u, c.name, c.kind, now()
FROM unnest(CAST(:users AS uuid[])) AS u CROSS JOIN unnest(CAST(:names AS text[]), CAST(:kinds AS text[])) AS c(name, kind)
"""
OTHER_ACCOUNTS = """
INSERT INTO account (id, user_id, type, name, currency, opening_balance, current_balance, archived, created_at, updated_at)
SELECT gen_random_uuid(), u, a.type, a.name, 'USD', 1000, 1000, false, now(), now()
FROM unnest(CAST(:users AS uuid[])) AS u
CROSS JOIN (VALUES ('CHECKING', 'Checking'), ('SAVINGS', 'Savings'), ('CREDIT_CARD', 'Card')) AS a(type, name)
"""


@dataclass
class Loaded:
    user_id: uuid.UUID
    email: str
    other_ids: list[uuid.UUID]
    seconds: float
    rows: int


async def _fill(conn, users: list[uuid.UUID], per_user: int, today: dt.date) -> None:
    if not users or per_user <= 0:
        return
    transfers = per_user // 50  # 2 legs each: ~4% of the rows are transfer legs
    await conn.execute(text(FILL), {"users": users, "count": per_user - 2 * transfers, "today": today})
    if transfers:
        await conn.execute(text(TRANSFERS), {"users": users, "count": transfers, "today": today})


async def load(rt: Runtime, today: dt.date) -> Loaded:
    started = time.perf_counter()
    email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
    async with rt.sessions() as session, atomic(session):
        user = await auth.register(session, rt, email=email, password=PASSWORD, name="Bench Heavy")
    viewer = Viewer.acting_for(user.id)
    async with rt.sessions() as session, atomic(session):
        for name, kind, currency in (("Checking", AccountType.CHECKING, "USD"), ("Savings", AccountType.SAVINGS, "USD"),
                                     ("Card", AccountType.CREDIT_CARD, "USD"), ("Krona", AccountType.CHECKING, FOREIGN)):
            await accounts.create_account(session, viewer, name=name, type=kind, currency=currency,
                                          opening_balance=Decimal(1000))
        known = {rate.date for rate in await wallet.list_fx_rates(session, base=FOREIGN, quote="USD", limit=100_000)}
        day = today - dt.timedelta(days=735)
        while day <= today:  # a weekly SEK->USD rate over the two years
            if day not in known:
                await wallet.set_fx_rate(session, rt, dataclasses.replace(viewer, is_admin=True), base=FOREIGN, quote="USD", date=day,
                                         rate=Decimal("0.0950") + Decimal(day.toordinal() % 13) / 10000)
            day += dt.timedelta(days=7)
        expense = await categories.list_categories(session, viewer, kind=CategoryKind.EXPENSE)
        for category in expense:
            await budgets.create_budget(session, viewer, month=today.replace(day=1), category_id=category.id,
                                        limit=Decimal(1500), rollover=category.name == "Groceries")

    names = [(name, kind.value) for kind, group in categories.DEFAULTS.items() for name in group]
    async with rt.engine.begin() as conn:
        others: list[uuid.UUID] = []
        if USERS > 1:
            others = list((await conn.execute(text(OTHER_USERS), {"run": uuid.uuid4().hex[:8], "count": USERS - 1})).scalars())
            await conn.execute(text(OTHER_CATEGORIES), {"users": others, "names": [n for n, _ in names],
                                                        "kinds": [k for _, k in names]})
            await conn.execute(text(OTHER_ACCOUNTS), {"users": others})
        await _fill(conn, [user.id], TRANSACTIONS, today)
        await _fill(conn, others, OTHER_TRANSACTIONS // max(1, len(others)), today)
        everyone = [user.id, *others]
        await conn.execute(text(TOTALS), {"users": everyone})
        await conn.execute(text(MONTHS), {"users": everyone})
        await conn.execute(text(BALANCES), {"users": everyone})
        rows = (await conn.execute(text("SELECT count(*) FROM transaction WHERE user_id = ANY(CAST(:u AS uuid[]))"),
                                   {"u": everyone})).scalar_one()
    # Measure a settled database, as in service: without this, autovacuum's first pass over the
    # fresh million rows (and the hint bits every first read writes) lands inside the measurements.
    async with rt.engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM (ANALYZE) transaction"))
        await conn.execute(text("ANALYZE"))
    return Loaded(user.id, email, others, time.perf_counter() - started, rows)


_TOTALS_OF = """SELECT day, currency, category_key, is_transfer, inflow, outflow, count FROM daily_total
                WHERE user_id = :u AND day BETWEEN :start AND :end ORDER BY 1, 2, 3, 4"""
_MONTHS_OF = """SELECT month, currency, category_key, is_transfer, inflow, outflow, count FROM monthly_total
                WHERE user_id = :u ORDER BY 1, 2, 3, 4"""


async def check_totals_like_apply_changes(rt: Runtime, user_id: uuid.UUID, start: dt.date, end: dt.date, *,
                                          whole_ledger: bool = False) -> int:
    """Replace the bulk-made totals of one user and date range by what apply_changes makes of the
    same transactions, compare, and roll back. Returns how many transactions were compared.
    With `whole_ledger` (the range holds all of the user's transactions) the months are compared too."""
    async with rt.sessions() as session:
        bulk = (await session.exec(text(_TOTALS_OF).bindparams(u=user_id, start=start, end=end))).all()
        bulk_months = (await session.exec(text(_MONTHS_OF).bindparams(u=user_id))).all()
        if whole_ledger:
            await session.exec(text("DELETE FROM monthly_total WHERE user_id = :u").bindparams(u=user_id))
        rows = [SimpleNamespace(**row._mapping) for row in (await session.exec(text(
            "SELECT user_id, date, currency, category_id, transfer_id, amount FROM transaction "
            "WHERE user_id = :u AND date BETWEEN :start AND :end").bindparams(u=user_id, start=start, end=end))).all()]
        await session.exec(text("DELETE FROM daily_total WHERE user_id = :u AND day BETWEEN :start AND :end")
                           .bindparams(u=user_id, start=start, end=end))
        for offset in range(0, len(rows), 1000):  # apply_changes is made for small batches
            await totals.apply_changes(session, added=rows[offset : offset + 1000])
        made = (await session.exec(text(_TOTALS_OF).bindparams(u=user_id, start=start, end=end))).all()
        made_months = (await session.exec(text(_MONTHS_OF).bindparams(u=user_id))).all()
        await session.rollback()
    assert [tuple(r) for r in made] == [tuple(r) for r in bulk]
    if whole_ledger:
        assert [tuple(r) for r in made_months] == [tuple(r) for r in bulk_months]
    assert sum(r[-1] for r in bulk) == len(rows) > 0
    return len(rows)


async def check_balances(rt: Runtime, users: list[uuid.UUID]) -> None:
    async with rt.engine.connect() as conn:
        wrong = (await conn.execute(text("""
            SELECT count(*) FROM account a WHERE a.user_id = ANY(CAST(:u AS uuid[]))
            AND a.current_balance <> a.opening_balance + coalesce((SELECT sum(amount) FROM transaction t
                                                                    WHERE t.account_id = a.id), 0)"""),
                                    {"u": users})).scalar_one()
    assert wrong == 0


# ---------------------------------------------------------------------------------------------
# measuring

PAGE = """query($f: TransactionFilter) { transactions(first: 50, filter: $f) {
  edges { cursor node { id date amount currency merchant description tags isTransfer account { id name } category { id name } } }
  pageInfo { hasNextPage endCursor } } }"""
SUMMARY = """query($from: Date!, $to: Date!) { walletSummary(from: $from, to: $to) { currency totalBalance totalIncome
  totalExpenses net savingsRate topCategories { name amount } monthlyTrend { period income expenses net } complete } }"""
CASHFLOW = """query($from: Date!, $to: Date!) { cashflow(from: $from, to: $to, granularity: DAY) {
  currency buckets { period income expenses net } } }"""
BUDGET = """query($m: Date!) { budgetStatus(month: $m) { currency totalLimit totalSpent totalRemaining
  lines { category { name } limit rolledOver spent remaining percentUsed } } }"""


@dataclass
class Operation:
    name: str
    field: str  # the Query field it needs
    body: Callable[[int], dict]  # request number -> JSON body; numbers are never reused


@dataclass
class Row:
    name: str
    n: int = 0
    p50: float | None = None
    p95: float | None = None
    httpx_p95: float | None = None
    rps: float | None = None
    statements: float | None = None
    checkouts: float | None = None
    note: str = ""


def operations(today: dt.date) -> list[Operation]:
    year_ago = today - dt.timedelta(days=365)

    def shifted(i: int) -> tuple[str, str]:
        # A range never asked before (so never cached): a year, ending i days after the first possible end.
        end = today - dt.timedelta(days=300) + dt.timedelta(days=i % 300)
        start = end - dt.timedelta(days=365 + i // 300)
        return start.isoformat(), end.isoformat()

    page_filter = {"dateFrom": year_ago.isoformat(), "direction": "EXPENSE"}
    return [
        Operation("walletSummary, uncached", "walletSummary",
                  lambda i: {"query": SUMMARY, "variables": dict(zip(("from", "to"), shifted(i), strict=True))}),
        Operation("walletSummary, cached", "walletSummary",
                  lambda i: {"query": SUMMARY, "variables": {"from": year_ago.isoformat(), "to": today.isoformat()}}),
        Operation("cashflow, a year by DAY, uncached", "cashflow",
                  lambda i: {"query": CASHFLOW, "variables": dict(zip(("from", "to"), shifted(i), strict=True))}),
        Operation("transactions, filtered page of 50", "transactions",
                  lambda i: {"query": PAGE, "variables": {"f": page_filter}}),
        Operation("budgetStatus, this month", "budgetStatus",
                  lambda i: {"query": BUDGET, "variables": {"m": today.replace(day=1).isoformat()}}),
    ]


def check(response: httpx.Response) -> None:
    check_body(response.status_code, response.content)


def check_body(status: int, content: bytes) -> None:
    assert status == 200, content[:300]
    body = json.loads(content)
    assert "errors" not in body, body["errors"]


def percentile(samples: list[float], q: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1] * 1000


class KeepAliveClient:
    """A bare HTTP/1.1 client on one kept-alive connection, for latency. httpx's own work is
    ~1.5 ms a request on this machine (0.7 ms of server time for a cached summary came back
    in 2.1 ms): the client's cost, not the server's."""

    def __init__(self, base_url: str, token: str) -> None:
        host, _, port = base_url.removeprefix("http://").partition(":")
        self.host, self.port = host, int(port)
        self.head = (f"POST /graphql HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                     f"Authorization: Bearer {token}\r\nContent-Length: ").encode()

    async def __aenter__(self) -> KeepAliveClient:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self.writer.close()

    async def post(self, payload: bytes) -> tuple[int, bytes]:
        self.writer.write(self.head + b"%d\r\n\r\n" % len(payload) + payload)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        length = next(int(line.split(b":")[1]) for line in lines if line.lower().startswith(b"content-length:"))
        return int(lines[0].split(b" ")[1]), await self.reader.readexactly(length)


async def sequential(client: KeepAliveClient | httpx.AsyncClient, op: Operation, numbers, rounds: int) -> list[float]:
    samples = []
    for _ in range(rounds):
        payload = json.dumps(op.body(next(numbers))).encode()
        started = time.perf_counter()
        if isinstance(client, KeepAliveClient):
            status, content = await client.post(payload)
        else:
            response = await client.post("/graphql", content=payload, headers={"content-type": "application/json"})
            status, content = response.status_code, response.content
        samples.append(time.perf_counter() - started)
        check_body(status, content)
    return samples


async def concurrent(client: httpx.AsyncClient, op: Operation, numbers, seconds: float) -> float:
    done = 0
    deadline = time.perf_counter() + seconds

    async def one_client() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            check(await client.post("/graphql", json=op.body(next(numbers))))
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(one_client() for _ in range(CLIENTS)))
    return done / (time.perf_counter() - started)


def wrk(url: str, token: str, body: dict, seconds: float) -> float | None:
    """wrk (when installed) measures the server without a Python client on the same two cores."""
    if shutil.which("wrk") is None:
        return None
    script = Path(f"/tmp/finora-bench-{os.getpid()}.lua")
    script.write_text(f"wrk.method = \"POST\"\nwrk.body = {json.dumps(json.dumps(body))}\n"
                      f"wrk.headers[\"Content-Type\"] = \"application/json\"\n"
                      f"wrk.headers[\"Authorization\"] = \"Bearer {token}\"\n")
    out = subprocess.run(["wrk", "-t2", f"-c{CLIENTS}", f"-d{max(1, round(seconds))}s", "-s", str(script), url],
                         capture_output=True, text=True, timeout=seconds + 60).stdout
    script.unlink()
    if "Non-2xx" in out:
        return None
    line = next((line for line in out.splitlines() if line.startswith("Requests/sec")), None)
    return float(line.split()[1]) if line else None


def start_server(settings: Settings, data_dir: Path, log: Path) -> tuple[Process, str]:
    port = free_port()
    env = process_env(
        FINORA_ENV="test", DATABASE_URL=settings.database_url or "", JWT_SECRET=settings.signing_secret,
        FINORA_DATA_DIR=str(data_dir), LOG_LEVEL="WARNING",
        **{f"RATE_LIMIT_{kind}_PER_{scope}": "1000000/60" for kind in ("LOGIN", "REGISTER", "PASSWORD_RESET")
           for scope in ("IP", "EMAIL")},
    )
    process = Process([sys.executable, "-m", "uvicorn", "--factory", "finora_gql.app:create_app", "--host", "127.0.0.1",
                       "--port", str(port), "--loop", "uvloop", "--http", "httptools", "--workers", "1",
                       "--no-access-log", "--log-level", "warning"], env, log)
    return process, wait_until_healthy(process, f"http://127.0.0.1:{port}", timeout=60)


def peak_rss_mib(pid: int) -> float:
    line = next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("VmHWM"))
    return int(line.split()[1]) / 1024


async def sign_in(rt: Runtime, email: str) -> str:
    async with rt.sessions() as session, atomic(session):
        signed = await auth.login(session, rt, email=email, password=PASSWORD, ip_address="127.0.0.1",
                                  user_agent="ledger-bench")
    return signed.access_token


async def count_statements(server: RunningServer, token: str, op: Operation, numbers, times: int = 3) -> tuple[float, float]:
    """SQL statements and pool checkouts per request, from the in-process server (same code, same database)."""
    engine = server.runtime.engine.sync_engine
    counts = {"statements": 0, "checkouts": 0}

    def on_execute(*_args) -> None:
        counts["statements"] += 1

    def on_checkout(*_args) -> None:
        counts["checkouts"] += 1

    async with server.client(headers={"authorization": f"Bearer {token}"}) as client:
        for _ in range(2):  # warm: the cached case must hit the in-process server's own cache
            check(await client.post("/graphql", json=op.body(next(numbers))))
        event.listen(engine, "before_cursor_execute", on_execute)
        event.listen(engine.pool, "checkout", on_checkout)
        try:
            for _ in range(times):
                check(await client.post("/graphql", json=op.body(next(numbers))))
        finally:
            event.remove(engine, "before_cursor_execute", on_execute)
            event.remove(engine.pool, "checkout", on_checkout)
    return counts["statements"] / times, counts["checkouts"] / times


def fmt(value: float | None, spec: str) -> str:
    return "—" if value is None else format(value, spec)


@pytest.mark.bench
async def test_ledger_benchmark(settings: Settings, server: RunningServer, tmp_path: Path) -> None:
    today = clock.now().date()
    rt = build_runtime(settings, settings.database_url or "")
    await rt.start()
    try:
        loaded = await load(rt, today)
        # The bulk totals are exactly what the service would have written: one month of the
        # measured user, and all of a light user.
        sampled = await check_totals_like_apply_changes(rt, loaded.user_id, today - dt.timedelta(days=60),
                                                         today - dt.timedelta(days=30))
        if loaded.other_ids:
            sampled += await check_totals_like_apply_changes(rt, loaded.other_ids[-1], today - dt.timedelta(days=800), today,
                                                             whole_ledger=True)
        await check_balances(rt, [loaded.user_id, loaded.other_ids[-1]] if loaded.other_ids else [loaded.user_id])

        api, base = start_server(settings, tmp_path / "data", tmp_path / "api.log")
        rows: list[Row] = []
        page_wrk = None
        try:
            token = await sign_in(rt, loaded.email)
            headers = {"authorization": f"Bearer {token}"}
            limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
            async with httpx.AsyncClient(base_url=base, headers=headers, timeout=120, limits=limits) as client:
                schema = (await client.post("/graphql", json={"query": "{ __schema { queryType { fields { name } } } }"})).json()
                available = {f["name"] for f in schema["data"]["__schema"]["queryType"]["fields"]}
                numbers = itertools.count()
                for op in operations(today):
                    if op.field not in available:
                        rows.append(Row(op.name, note="not available yet"))
                        continue
                    async with KeepAliveClient(base, token) as plain:  # uvicorn drops a connection idle for 5 s
                        await sequential(plain, op, numbers, WARMUP)
                        samples = await sequential(plain, op, numbers, ROUNDS)
                    await sequential(client, op, numbers, WARMUP)
                    with_httpx = await sequential(client, op, numbers, ROUNDS)
                    rps = await concurrent(client, op, numbers, SECONDS)
                    statements, checkouts = await count_statements(server, token, op, numbers)
                    rows.append(Row(op.name, len(samples), percentile(samples, 50), percentile(samples, 95),
                                    percentile(with_httpx, 95), rps, statements, checkouts))
                    if op.field == "transactions":
                        page_wrk = wrk(f"{base}/graphql", token, op.body(0), max(SECONDS, 2))
            peak = peak_rss_mib(api.popen.pid)
        finally:
            api.stop()
    finally:
        await rt.aclose()

    print(f"\n\nledger benchmark, {dt.date.today()}, {os.cpu_count()} cores: {TRANSACTIONS:,} transactions for the "
          f"measured user, {loaded.rows:,} across {USERS:,} users; loaded in {loaded.seconds:.1f} s "
          f"(daily totals checked against apply_changes on {sampled:,} transactions)")
    print(f"one uvicorn process (uvloop, httptools); p50/p95 of {ROUNDS} sequential requests after {WARMUP} warm-up "
          f"on one kept-alive connection (a bare HTTP/1.1 client; httpx p95: the same through httpx); "
          f"req/s with {CLIENTS} concurrent httpx clients for {SECONDS:g} s")
    print(f"{'operation':36} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'httpx p95':>10} {'req/s':>7} {'SQL/req':>8} {'conn/req':>8}")
    for row in rows:
        if row.note:
            print(f"{row.name:36} {row.note}")
            continue
        print(f"{row.name:36} {row.n:5d} {fmt(row.p50, '8.1f')} {fmt(row.p95, '8.1f')} {fmt(row.httpx_p95, '10.1f')} "
              f"{fmt(row.rps, '7.0f')} {fmt(row.statements, '8.1f')} {fmt(row.checkouts, '8.1f')}")
    print(f"transactions page with wrk -t2 -c{CLIENTS}: " + (f"{page_wrk:.0f} req/s" if page_wrk else "wrk not installed"))
    print(f"server peak RSS: {peak:.0f} MiB")
    assert any(row.p50 is not None for row in rows)

"""Investments benchmark: one investor with years of activities in many securities priced daily.

Not a timed test: it prints figures (see tests/bench/README.md). CI runs it small as part of
`uv run pytest`; the full run (10,000 activities over 10 years in 50 securities, ~130k prices) is

    BENCH_ACTIVITIES=10000 BENCH_SECURITIES=50 BENCH_YEARS=10 BENCH_ROUNDS=50 \
        uv run pytest tests/bench/test_investments_bench.py -s

(BENCH_DAY_VALUES=0: the persisted daily values are not used, as before a change's job has run.)

Loading: the user and their INVESTMENT account go through the services; the market securities,
their weekday closes, the DKK->USD rates and the activities (a monthly deposit, buys, sells that
never exceed what is held, dividends, fees, a split) are bulk SQL. One security in five is priced
in DKK, so every valuation converts through daily rates. The year-end checkpoints and the daily
values are built by the same functions the `investment_checkpoints` and `investment_day_values`
jobs run after writes.

Measuring: the in-process test server over real HTTP (httpx, sequential, after a warm-up):
`portfolio` for the last year with TWR, XIRR and holdings, `history(granularity: DAY)` over
the whole span, and `netWorth` over the last 12 months (12 month-end points, each counting the
INVESTMENT account at its portfolio value); nothing is cached, each request recomputes (the
wallet's cache is bumped before each `netWorth`, outside the timing). SQL statements per request from a
`before_cursor_execute` hook on the server's engine.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import statistics
import time
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import event, text

from finora_gql.accounts import service as accounts
from finora_gql.accounts.models import AccountType
from finora_gql.auth import service as auth
from finora_gql.core.db import atomic
from finora_gql.core.viewer import Viewer
from tests.server import RunningServer

ACTIVITIES = int(os.environ.get("BENCH_ACTIVITIES", "1000"))
SECURITIES = int(os.environ.get("BENCH_SECURITIES", "10"))
YEARS = int(os.environ.get("BENCH_YEARS", "2"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "15"))
WARMUP = 3
PASSWORD = "bench password 2026"
END = dt.date(2025, 12, 31)
FOREIGN = "DKK"  # no other test sets rates of it (rates are shared by everyone in the test database)

PRICES = """
INSERT INTO price (security_id, date, close, currency, source, created_at)
SELECT s.id, d::date,
       round((s.base * (1 + 0.0004 * (d::date - CAST(:start AS date)) / 1.0)
              * (1 + 0.03 * sin((d::date - CAST(:start AS date)) / (7.0 + s.k))))::numeric, 4),
       s.currency, 'BENCH', now()
FROM unnest(CAST(:ids AS uuid[]), CAST(:bases AS numeric[]), CAST(:ks AS int[]), CAST(:currencies AS text[]))
     AS s(id, base, k, currency)
CROSS JOIN generate_series(CAST(:start AS date), CAST(:end AS date), interval '1 day') AS d
WHERE extract(isodow FROM d) < 6
"""
RATES = """
INSERT INTO fx_rate (id, date, base, quote, rate, created_at)
SELECT gen_random_uuid(), d::date, 'DKK', 'USD', round(CAST(1.10 + 0.05 * sin(extract(doy FROM d) / 58.0) AS numeric), 6), now()
FROM generate_series(CAST(:start AS date), CAST(:end AS date), interval '1 day') AS d
WHERE extract(isodow FROM d) < 6
ON CONFLICT (base, quote, date) DO NOTHING
"""

PORTFOLIO = """query($from: Date!, $to: Date!) { portfolio(from: $from, to: $to) {
  currency value cash costBasis unrealizedGain realizedGain dividends interest fees taxes
  twr { cumulative annualized unavailableReason } xirr { rate unavailableReason }
  holdings { symbol quantity averageCost costBasis price priceDate priceSource stale value unrealizedGain weight } } }"""
NET_WORTH = """query($from: Date!, $to: Date!) { netWorth(from: $from, to: $to) {
  points { date value } missingRates { currency } } }"""
HISTORY = """query($from: Date!, $to: Date!) { portfolio(from: $from, to: $to) {
  history(granularity: DAY) { date value netInflow twrIndex } } }"""


def close_on(base: Decimal, k: int, start: dt.date, day: dt.date) -> Decimal:
    """Roughly the close the PRICES statement stores (for sizing trades only)."""
    import math

    days = (day - start).days
    return base * Decimal(1 + 0.0004 * days) * Decimal(1 + 0.03 * math.sin(days / (7.0 + k)))


async def load(server: RunningServer) -> tuple[uuid.UUID, str, dt.date]:
    rt = server.runtime
    start = END - dt.timedelta(days=365 * YEARS)
    email = f"invest-bench-{uuid.uuid4().hex[:8]}@example.com"
    async with rt.sessions() as session, atomic(session):
        user = await auth.register(session, rt, email=email, password=PASSWORD, name="Invest Bench")
    viewer = Viewer.acting_for(user.id)
    async with rt.sessions() as session, atomic(session):
        account = await accounts.create_account(session, viewer, name="Broker", type=AccountType.INVESTMENT,
                                                currency="USD", opening_balance=Decimal(0))
    run = uuid.uuid4().hex[:6].upper()
    ids = [uuid.uuid4() for _ in range(SECURITIES)]
    bases = [Decimal(20 + (k * 37) % 400) for k in range(SECURITIES)]
    currencies = [FOREIGN if k % 5 == 4 else "USD" for k in range(SECURITIES)]
    rng = random.Random(2026)
    rows = []
    held = [Decimal(0)] * SECURITIES
    months = YEARS * 12
    deposits = min(months, ACTIVITIES // 10)
    other = ACTIVITIES - deposits - 1
    seq = 0

    def add(kind: str, day: dt.date, security: int | None = None, quantity: Decimal = Decimal(0),
            amount: Decimal = Decimal(0), fee: Decimal = Decimal(0), split: tuple[int, int] | None = None) -> None:
        nonlocal seq
        seq += 1
        rows.append({
            "id": uuid.uuid4(), "user_id": user.id, "account_id": account.id,
            "security_id": ids[security] if security is not None else None, "kind": kind, "date": day,
            "quantity": quantity, "amount": amount, "fee": fee, "tax": Decimal(0),
            "split_from": Decimal(split[0]) if split else None, "split_to": Decimal(split[1]) if split else None,
            "created_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=seq),
        })

    for m in range(deposits):
        add("DEPOSIT", start + dt.timedelta(days=m * 365 * YEARS // deposits), amount=Decimal(5000))
    days = sorted(start + dt.timedelta(days=rng.randrange(365 * YEARS)) for _ in range(other))
    split_at = days[len(days) // 2]
    for n, day in enumerate(days):
        k = rng.randrange(SECURITIES)
        price = close_on(bases[k], k, start, day)
        fx = Decimal("1.1") if currencies[k] == FOREIGN else Decimal(1)
        roll = n % 10
        if roll < 6 or held[k] == 0:
            quantity = Decimal(rng.randrange(1, 20))
            held[k] += quantity
            add("BUY", day, k, quantity, (quantity * price * fx + 1).quantize(Decimal("0.01")), Decimal(1))
        elif roll < 8:
            quantity = (held[k] / 3).quantize(Decimal(1)) or held[k]
            held[k] -= quantity
            add("SELL", day, k, quantity, (quantity * price * fx - 1).quantize(Decimal("0.01")), Decimal(1))
        elif roll < 9:
            add("DIVIDEND", day, k, amount=(held[k] * price * fx / 100).quantize(Decimal("0.01")) or Decimal("0.01"))
        else:
            add("FEE", day, amount=Decimal("2.50"))
    held_one = next(k for k in range(SECURITIES) if held[k] > 0)
    add("SPLIT", split_at, held_one, split=(1, 2))  # placed mid-history: only valid if held then; checked below

    async with rt.sessions() as session, atomic(session):
        await session.exec(text(
            "INSERT INTO security (id, user_id, symbol, name, currency, asset_class, refresh_failures, created_at) "
            "SELECT id, NULL, sym, sym, cur, 'STOCK', 0, now() "
            "FROM unnest(CAST(:ids AS uuid[]), CAST(:syms AS text[]), CAST(:curs AS text[])) AS s(id, sym, cur)"
        ).bindparams(ids=ids, syms=[f"B{run}{k:02d}" for k in range(SECURITIES)], curs=currencies))
        await session.exec(text(PRICES).bindparams(ids=ids, bases=bases, ks=list(range(SECURITIES)),
                                                   currencies=currencies, start=start - dt.timedelta(days=7), end=END))
        await session.exec(text(RATES).bindparams(start=start - dt.timedelta(days=7), end=END))
        connection = await session.connection()
        await connection.execute(text(
            "INSERT INTO activity (id, user_id, account_id, security_id, kind, date, quantity, amount, fee, tax, "
            "split_from, split_to, created_at, updated_at) VALUES (:id, :user_id, :account_id, :security_id, :kind, "
            ":date, :quantity, :amount, :fee, :tax, :split_from, :split_to, :created_at, :created_at)"), rows)
    # The split is only valid when the security was held that day; if not, drop it.
    from finora_gql.investments import engine, service

    async with rt.sessions() as session, atomic(session):
        try:
            stored = await service.list_activities(session, viewer, limit=10 ** 7)
            engine.check([service.to_act(row, "USD") for row in stored])
        except engine.ActivityError as error:
            assert error.activity.kind is engine.Kind.SPLIT, error.message
            await session.exec(text("DELETE FROM activity WHERE id = :id").bindparams(id=error.activity.id))
    # The year-end checkpoints the job would build after writes (bulk SQL enqueues nothing).
    from finora_gql.investments import checkpoints

    async with rt.sessions() as session, atomic(session):
        written = await checkpoints.rebuild(session, user.id, account.id)
    # And the daily values the `investment_day_values` job would compute.
    from finora_gql.investments import day_values

    building = time.perf_counter()
    async with rt.sessions() as session, atomic(session):
        kept_days = await day_values.extend(session, user.id, account.id)
    building = time.perf_counter() - building
    async with rt.sessions() as session:
        counts = (await session.exec(text(
            "SELECT (SELECT count(*) FROM activity WHERE account_id = :a), "
            "(SELECT count(*) FROM price WHERE security_id = ANY(:ids))").bindparams(a=account.id, ids=ids))).one()
    print(f"\ninvestments benchmark: {counts[0]:,} activities over {YEARS} years in {SECURITIES} securities, "
          f"{counts[1]:,} prices, {written} year-end checkpoints, {kept_days:,} daily values (computed in {building:.2f} s)")
    return user.id, email, start


async def measure(server: RunningServer, token: str, query: str, variables: dict, fresh=None
                  ) -> tuple[float, float, float, dict, float]:
    """`fresh`: awaited before each request, untimed (to drop a cached answer)."""
    engine = server.runtime.engine.sync_engine
    statements = 0

    def on_execute(*_args) -> None:
        nonlocal statements
        statements += 1

    timings: list[float] = []
    cpu_times: list[float] = []
    async with server.client(headers={"authorization": f"Bearer {token}"}) as client:
        body = {}
        for n in range(WARMUP + ROUNDS):
            if fresh is not None:
                await fresh()
            if n == WARMUP:
                event.listen(engine, "before_cursor_execute", on_execute)
            started, cpu = time.perf_counter(), time.process_time()
            response = await client.post("/graphql", json={"query": query, "variables": variables})
            elapsed = (time.perf_counter() - started) * 1000
            cpu_ms = (time.process_time() - cpu) * 1000
            body = response.json()
            assert "errors" not in body, body
            if n >= WARMUP:
                timings.append(elapsed)
                cpu_times.append(cpu_ms)
        event.remove(engine, "before_cursor_execute", on_execute)
    if os.environ.get("BENCH_PROFILE"):
        await stages(server, variables, "history" in query)
    if os.environ.get("BENCH_CPROFILE"):  # where a request's CPU goes, server and client together
        import cProfile
        import pstats

        profile = cProfile.Profile()
        async with server.client(headers={"authorization": f"Bearer {token}"}) as client:
            profile.enable()
            for _ in range(3):
                await client.post("/graphql", json={"query": query, "variables": variables})
            profile.disable()
        pstats.Stats(profile).sort_stats("tottime").print_stats(25)
    timings.sort()
    p50 = statistics.median(timings)
    p95 = timings[min(len(timings) - 1, round(0.95 * (len(timings) - 1)))]
    if os.environ.get("BENCH_PROFILE"):
        print(f"    fastest request {timings[0]:.1f} ms")
    return p50, p95, statements / ROUNDS, body, statistics.median(cpu_times)


async def stages(server: RunningServer, variables: dict, history: bool) -> None:
    """BENCH_PROFILE=1: where one computation's time goes (loading, engine), best of 5."""
    from finora_gql.investments import engine, service, valuation

    start, end = dt.date.fromisoformat(variables["from"]), dt.date.fromisoformat(variables["to"])
    viewer = Viewer.acting_for(uuid.UUID(os.environ["BENCH_PROFILE_USER"]))
    best: dict[str, float] = {}
    async with server.runtime.sessions() as session:
        for _ in range(5):
            marks = [("begin", time.perf_counter())]
            chosen = await valuation.investment_accounts(session, viewer, None)
            currency_of = {a.id: a.currency for a in chosen}
            acts = await valuation._acts(session, viewer, currency_of, end)
            marks.append(("activities", time.perf_counter()))
            ids = sorted({a.security for a in acts if a.security is not None})
            found = await service.get_securities(session, viewer, ids)
            series = await valuation._price_series(session, ids, start - dt.timedelta(days=1), end)
            marks.append(("prices", time.perf_counter()))
            rates = await valuation._rate_series(session, {FOREIGN}, "USD", end)
            marks.append(("rates", time.perf_counter()))
            engine.evaluate(acts, currency="USD", start=start, end=end,
                            security_currency={k: found[k].currency for k in ids}, prices=series, rates=rates,
                            granularity="DAY" if history else None)
            marks.append(("engine", time.perf_counter()))
            for (_, before), (name, after) in zip(marks, marks[1:], strict=False):
                best[name] = min(best.get(name, 1e9), (after - before) * 1000)
    print("    stages, best of 5 (ms): " + ", ".join(f"{name} {ms:.1f}" for name, ms in best.items()))


@pytest.mark.bench
async def test_investments_benchmark(server: RunningServer, monkeypatch: pytest.MonkeyPatch) -> None:
    user_id, email, start = await load(server)
    if os.environ.get("BENCH_DAY_VALUES") == "0":  # as if the days were not kept: what a reader computes until they are
        from finora_gql.investments import day_values

        async def not_kept(*_args, **_kwargs) -> None:
            return None

        monkeypatch.setattr(day_values, "read", not_kept)
    os.environ["BENCH_PROFILE_USER"] = str(user_id)
    login = await server.gql("""mutation($input: LoginInput!) { login(input: $input) { accessToken } }""",
                             {"input": {"email": email, "password": PASSWORD}})
    token = login["data"]["login"]["accessToken"]
    year = {"from": (END - dt.timedelta(days=364)).isoformat(), "to": END.isoformat()}
    load_average = os.getloadavg()[0]
    p50, p95, sql, body, cpu = await measure(server, token, PORTFOLIO, year)
    figures = body["data"]["portfolio"]
    assert figures["twr"]["unavailableReason"] is None, figures["twr"]
    assert figures["xirr"]["rate"] is not None and len(figures["holdings"]) > 0
    print(f"  portfolio, 1 year, TWR + XIRR + {len(figures['holdings'])} holdings: p50 {p50:6.1f} ms  "
          f"p95 {p95:6.1f} ms  CPU p50 {cpu:6.1f} ms  SQL/request {sql:.0f}   (target p95 <= 50 ms)")
    span = {"from": start.isoformat(), "to": END.isoformat()}
    p50, p95, sql, body, cpu = await measure(server, token, HISTORY, span)
    points = body["data"]["portfolio"]["history"]
    assert len(points) == (END - start).days + 1 and points[-1]["twrIndex"] is not None
    print(f"  history by DAY, {YEARS} years ({len(points):,} points): p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  "
          f"CPU p50 {cpu:6.1f} ms  SQL/request {sql:.0f}   (target p95 <= 150 ms)")
    from finora_gql.wallet.events import user_version_key

    async def drop_cached() -> None:
        await server.runtime.cache.bump(user_version_key(user_id))

    p50, p95, sql, body, cpu = await measure(server, token, NET_WORTH, year, drop_cached)
    worth = body["data"]["netWorth"]
    assert len(worth["points"]) == 12 and not worth["missingRates"], worth
    print(f"  netWorth, 12 months ({len(worth['points'])} points): p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  "
          f"CPU p50 {cpu:6.1f} ms  SQL/request {sql:.0f} ({sql / len(worth['points']):.1f} per point)")
    print(f"  load average at the start {load_average:.1f}, after {os.getloadavg()[0]:.1f} (2 cores); CPU = this "
          "process (server and client) per request")

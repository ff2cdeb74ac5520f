"""Wallet analytics over the real API: exact, converted, cached per user, live."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy import event

from tests.auth.test_auth_flows import promote_to_admin
from tests.flows import signed_in_user
from tests.ledger.ledger_flows import CREATE_TRANSFER, category_ids, create_account, create_txn
from tests.server import RunningServer
from tests.ws import graphql_ws, listening

SUMMARY = """query($from: Date!, $to: Date!) { walletSummary(from: $from, to: $to) {
  currency totalBalance totalIncome totalExpenses net savingsRate complete
  topCategories { name amount } monthlyTrend { period income expenses net }
  missingRates { currency firstDay lastDay } } }"""
CASHFLOW = """query($from: Date!, $to: Date!, $g: Granularity!) { cashflow(from: $from, to: $to, granularity: $g) {
  buckets { period income expenses net } complete } }"""
NET_WORTH = """query($from: Date!, $to: Date!) { netWorth(from: $from, to: $to) { points { date value fromSnapshot } complete } }"""
SET_RATE = """mutation($input: FxRateInput!) { setFxRate(input: $input) { rate { rate } errors { code field } } }"""


# CZK: a currency no other test sets rates for (rates are global, and the demo seed sets EUR ones).
async def ledger(server: RunningServer) -> dict:
    user = await signed_in_user(server)
    token = user.access_token
    usd = await create_account(server, token, name="Checking", opening="1000.00")
    eur = await create_account(server, token, name="Euro", currency="CZK", opening="100.00")
    cats = await category_ids(server, token)
    for input in (
        {"accountId": usd["id"], "date": "2026-01-05", "amount": "3000.00", "categoryId": cats["Salary"]},
        {"accountId": usd["id"], "date": "2026-01-10", "amount": "-120.50", "categoryId": cats["Groceries"]},
        {"accountId": usd["id"], "date": "2026-01-12", "amount": "20.25", "categoryId": cats["Groceries"]},
        {"accountId": usd["id"], "date": "2026-02-03", "amount": "-800.00", "categoryId": cats["Rent & Mortgage"]},
        {"accountId": eur["id"], "date": "2026-02-10", "amount": "-50.00", "categoryId": cats["Restaurants"]},
    ):
        assert (await create_txn(server, token, **input))["errors"] == []
    moved = await server.gql(CREATE_TRANSFER, {"input": {"fromAccountId": usd["id"], "toAccountId": eur["id"],
                                                        "date": "2026-02-15", "amount": "110.00", "receivedAmount": "100.00"}},
                             token=token)
    assert moved["data"]["createTransfer"]["errors"] == []
    return {"user": user, "token": token}


async def test_summary_is_exact_and_says_what_it_could_not_convert(server: RunningServer) -> None:
    data = await ledger(server)
    token = data["token"]
    body = (await server.gql(SUMMARY, {"from": "2026-01-01", "to": "2026-02-28"}, token=token))["data"]["walletSummary"]
    # No CZK rate yet: CZK amounts are left out and listed, never converted at 1.
    assert body["complete"] is False
    assert body["missingRates"] == [{"currency": "CZK", "firstDay": "2026-02-10", "lastDay": "2026-02-28"}]
    assert (body["totalIncome"], body["totalExpenses"], body["net"]) == ("3020.25", "920.50", "2099.75")
    assert body["totalBalance"] == "2989.75"  # USD only: 1000 + 3000 - 120.50 + 20.25 - 800 - 110
    assert body["savingsRate"] == "69.52"
    assert body["monthlyTrend"] == [
        {"period": "2026-01-01", "income": "3020.25", "expenses": "120.50", "net": "2899.75"},
        {"period": "2026-02-01", "income": "0.00", "expenses": "800.00", "net": "-800.00"},
    ]

    admin = await signed_in_user(server)
    await promote_to_admin(server, admin.user_id)
    forbidden = await server.gql(SET_RATE, {"input": {"base": "CZK", "quote": "USD", "date": "2026-01-01", "rate": "1.1"}},
                                 token=token)
    assert forbidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    bad = await server.gql(SET_RATE, {"input": {"base": "CZK", "quote": "CZK", "date": "2026-01-01", "rate": "1"}},
                           token=admin.access_token)
    assert bad["data"]["setFxRate"]["errors"] == [{"code": "INVALID", "field": "quote"}]
    for date, rate in (("2026-01-01", "1.1"), ("2026-02-12", "1.2")):
        set_ = await server.gql(SET_RATE, {"input": {"base": "CZK", "quote": "USD", "date": date, "rate": rate}},
                                token=admin.access_token)
        assert set_["data"]["setFxRate"]["errors"] == []

    # The new rates reach the (cached) summary at once: 50 CZK on Feb 10 at 1.1.
    body = (await server.gql(SUMMARY, {"from": "2026-01-01", "to": "2026-02-28"}, token=token))["data"]["walletSummary"]
    assert body["complete"] is True
    assert body["totalExpenses"] == "975.50"
    assert body["totalBalance"] == "3169.75"  # + 150 CZK at 1.2
    assert [c["name"] for c in body["topCategories"]] == ["Rent & Mortgage", "Groceries", "Restaurants"]
    assert body["topCategories"][1]["amount"] == "120.50"


async def test_cashflow_buckets_cover_the_range(server: RunningServer) -> None:
    token = (await ledger(server))["token"]
    days = (await server.gql(CASHFLOW, {"from": "2026-01-01", "to": "2026-01-31", "g": "DAY"}, token=token))["data"]["cashflow"]
    assert len(days["buckets"]) == 31
    assert days["buckets"][9] == {"period": "2026-01-10", "income": "0.00", "expenses": "120.50", "net": "-120.50"}
    weeks = (await server.gql(CASHFLOW, {"from": "2026-01-01", "to": "2026-01-31", "g": "WEEK"}, token=token))["data"]["cashflow"]
    assert weeks["buckets"][0]["period"] == "2025-12-29"  # weeks start on Monday
    assert sum(float(b["income"]) for b in weeks["buckets"]) == 3020.25
    bad = await server.gql(CASHFLOW, {"from": "2026-02-01", "to": "2026-01-01", "g": "DAY"}, token=token)
    assert bad["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "to"}


async def test_net_worth_history(server: RunningServer) -> None:
    token = (await ledger(server))["token"]
    admin = await signed_in_user(server)
    await promote_to_admin(server, admin.user_id)
    for date, rate in (("2026-01-01", "1.1"), ("2026-02-12", "1.2")):  # the same rates as above: rates are global
        await server.gql(SET_RATE, {"input": {"base": "CZK", "quote": "USD", "date": date, "rate": rate}},
                         token=admin.access_token)
    body = (await server.gql(NET_WORTH, {"from": "2026-01-01", "to": "2026-02-28"}, token=token))["data"]["netWorth"]
    assert body["complete"] is True
    assert body["points"] == [
        {"date": "2026-01-31", "value": "4009.75", "fromSnapshot": False},  # 3899.75 USD + 100 CZK at 1.1
        {"date": "2026-02-28", "value": "3169.75", "fromSnapshot": False},  # 2989.75 USD + 150 CZK at 1.2
    ]
    recorded = await server.gql("mutation { recordNetWorthSnapshot { point { date value fromSnapshot } errors { code } } }",
                                token=token)
    point = recorded["data"]["recordNetWorthSnapshot"]["point"]
    assert point["fromSnapshot"] is True
    history = (await server.gql(NET_WORTH, {"from": "2026-01-01", "to": point["date"]}, token=token))["data"]["netWorth"]
    assert history["points"][-1] == point


@contextlib.contextmanager
def statements(server: RunningServer) -> Iterator[list[str]]:
    seen: list[str] = []
    engine = server.runtime.engine.sync_engine

    def record(conn, cursor, statement, *args):  # noqa: ANN001
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def test_cache_serves_repeats_and_is_dropped_for_exactly_one_user(server: RunningServer) -> None:
    ann, bob = await ledger(server), await ledger(server)
    window = {"from": "2026-01-01", "to": "2026-01-31"}
    first_ann = await server.gql(SUMMARY, window, token=ann["token"])
    await server.gql(SUMMARY, window, token=bob["token"])
    with statements(server) as seen:
        again = await server.gql(SUMMARY, window, token=ann["token"])
    assert again == first_ann
    assert seen == []  # the summary from the cache, the session confirmed a moment ago (core/session_cache.py)

    user = ann["user"]
    account = (await server.gql("{ accounts { id name } }", token=ann["token"]))["data"]["accounts"][0]
    await create_txn(server, ann["token"], accountId=account["id"], date="2026-01-20", amount="-1.00")
    with statements(server) as seen:
        changed = await server.gql(SUMMARY, window, token=ann["token"])
        bobs = await server.gql(SUMMARY, window, token=bob["token"])
    assert changed["data"]["walletSummary"]["totalExpenses"] == "121.50"
    assert len(seen) > 2  # ann recomputed ...
    with statements(server) as seen:
        await server.gql(SUMMARY, window, token=bob["token"])
    assert seen == []  # ... bob's stayed cached
    assert bobs["data"]["walletSummary"]["totalExpenses"] == "120.50"
    assert user.email


async def test_wallet_changed_streams_to_the_owner_only(server: RunningServer) -> None:
    ann, bob = await ledger(server), await ledger(server)
    async with graphql_ws(server.ws_url, {"authorization": f"Bearer {ann['token']}"}) as ws, \
            graphql_ws(server.ws_url, {"authorization": f"Bearer {bob['token']}"}) as other:
        assert (await ws.receive())["type"] == "connection_ack"
        assert (await other.receive())["type"] == "connection_ack"
        await ws.subscribe("subscription { walletChanged { at } }")
        await other.subscribe("subscription { walletChanged { at } }")
        await listening(server, ann["user"].user_id)
        await listening(server, bob["user"].user_id)
        account = (await server.gql("{ accounts { id } }", token=ann["token"]))["data"]["accounts"][0]
        await create_txn(server, ann["token"], accountId=account["id"], date="2026-03-01", amount="-2.00")
        assert (await ws.receive())["payload"]["data"]["walletChanged"]["at"]
        try:
            await other.receive(timeout=0.5)
            raise AssertionError("another user's change was delivered")
        except TimeoutError:
            pass


async def test_cache_on_redis_is_shared_and_versioned(database_url, data_dir, smtp_sink) -> None:
    import redis.asyncio as redis_asyncio

    from tests.conftest import make_settings
    from tests.server import running_server

    url = "redis://127.0.0.1:6379/14"
    client = redis_asyncio.Redis.from_url(url)
    await client.flushdb()
    async with running_server(make_settings(database_url, data_dir, smtp_sink, redis_url=url)) as server:
        data = await ledger(server)
        window = {"from": "2026-01-01", "to": "2026-01-31"}
        first = await server.gql(SUMMARY, window, token=data["token"])
        assert any(key.startswith(b"finora:cache:wallet:") for key in await client.keys("finora:cache:*"))
        with statements(server) as seen:
            assert await server.gql(SUMMARY, window, token=data["token"]) == first
        assert seen == []  # summary from Redis, session confirmed a moment ago
        account = (await server.gql("{ accounts { id } }", token=data["token"]))["data"]["accounts"][0]
        await create_txn(server, data["token"], accountId=account["id"], date="2026-01-21", amount="-3.00")
        changed = await server.gql(SUMMARY, window, token=data["token"])
        assert changed["data"]["walletSummary"]["totalExpenses"] == "123.50"
    await client.aclose()

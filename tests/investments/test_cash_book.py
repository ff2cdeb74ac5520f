"""One cash book per investment account, over real HTTP: for every workflow (opening balance,
ledger transfers in and out, DEPOSIT/WITHDRAWAL activities, trades, income, fees, taxes, ledger
edits and deletes) what netWorth and walletSummary.totalBalance count for the account equals
`portfolio(accountIds: [it])`'s value, and a transfer from checking into the brokerage leaves net
worth unchanged. Ledger writes on the account void its kept daily values at once."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.flows import node_uuid, signed_in_user
from tests.investments.invest_flows import investment_account, portfolio, recorded, set_price
from tests.investments.test_day_values import _assert_same, _kept
from tests.ledger.ledger_flows import (
    CREATE_TRANSFER,
    DELETE_TXN,
    UPDATE_ACCOUNT,
    UPDATE_TXN,
    create_account,
    create_txn,
)
from tests.server import RunningServer

D = Decimal
FIRST = "2023-01-01"
SUMMARY = """query($from: Date!, $to: Date!) { walletSummary(from: $from, to: $to) { totalBalance } }"""
NET_WORTH = """query($from: Date!, $to: Date!) { netWorth(from: $from, to: $to) { points { date value } } }"""


class Person:
    def __init__(self, server: RunningServer, token: str, brokerage: str, others: D) -> None:
        self.server, self.token, self.brokerage, self.others = server, token, brokerage, others

    async def counted(self, day: str) -> tuple[D, D, D, D]:
        """(portfolio value, portfolio cash, net worth, total balance) on `day`."""
        found = await portfolio(self.server, self.token, FIRST, day, ids=[self.brokerage])
        worth = await self.server.gql(NET_WORTH, {"from": FIRST, "to": day}, token=self.token)
        summary = await self.server.gql(SUMMARY, {"from": FIRST, "to": day}, token=self.token)
        point = worth["data"]["netWorth"]["points"][-1]
        assert point["date"] == day
        return (
            D(found["value"]),
            D(found["cash"]),
            D(point["value"]),
            D(summary["data"]["walletSummary"]["totalBalance"]),
        )

    async def check(self, day: str, value: str, cash: str) -> D:
        """The invariant on `day`: the account counts its portfolio value (the others their ledger balance)."""
        worth, in_cash, net_worth, total = await self.counted(day)
        assert (worth, in_cash) == (D(value), D(cash))
        assert net_worth == total == self.others + worth
        return net_worth

    async def transfer(self, source: str, target: str, amount: str, date: str) -> dict:
        body = await self.server.gql(
            CREATE_TRANSFER,
            {"input": {"fromAccountId": source, "toAccountId": target, "amount": amount, "date": date}},
            token=self.token,
        )
        payload = body["data"]["createTransfer"]
        assert payload["errors"] == [], payload
        return payload


async def test_ledger_and_activities_share_one_cash_book(server: RunningServer) -> None:
    ann = await signed_in_user(server)
    token = ann.access_token
    checking = (await create_account(server, token, name="Checking", opening="1000"))["id"]
    brokerage = (await create_account(server, token, name="Broker", type="INVESTMENT", opening="10000"))["id"]
    ann_ = Person(server, token, brokerage, D(1000))
    day = "2024-06-30"
    await ann_.check(day, "10000.00", "10000.00")  # the opening balance is cash

    # The case: opening 10,000 then BUY 5,000 counts 10,000, not 15,000.
    await recorded(server, token, brokerage, kind="BUY", date="2024-01-15", symbol="CBK", quantity="50", price="100")
    await set_price(server, token, "CBK", "2024-01-15", "100")
    await ann_.check(day, "10000.00", "5000.00")
    await set_price(server, token, "CBK", "2024-03-01", "110")
    before = await ann_.check(day, "10500.00", "5000.00")

    # A ledger transfer in (and one out) moves cash between the accounts: net worth unchanged.
    await ann_.transfer(checking, brokerage, "500", "2024-04-01")
    ann_.others -= 500
    assert await ann_.check(day, "11000.00", "5500.00") == before
    back = await ann_.transfer(brokerage, checking, "200", "2024-05-01")
    ann_.others += 200
    assert await ann_.check(day, "10800.00", "5300.00") == before
    flows = await portfolio(server, token, "2024-04-01", day, ids=[brokerage])
    assert D(flows["netInflow"]) == 300 and flows["twr"]["cumulative"] is not None

    # Income, fees, taxes and a sale move the same cash.
    await recorded(server, token, brokerage, kind="DIVIDEND", date="2024-05-15", symbol="CBK", amount="100", tax="15")
    await ann_.check(day, "10885.00", "5385.00")
    await recorded(server, token, brokerage, kind="FEE", date="2024-05-20", amount="10")
    await recorded(server, token, brokerage, kind="TAX", date="2024-05-21", amount="5")
    await recorded(server, token, brokerage, kind="SELL", date="2024-06-03", symbol="CBK", quantity="10", amount="1090")
    await ann_.check(day, "10860.00", "6460.00")  # 6460 cash + 40 x 110

    # An expense booked on the brokerage in the ledger is cash out; editing and deleting it too.
    spent = await create_txn(server, token, accountId=brokerage, date="2024-06-10", amount="-60", description="Card")
    assert spent["errors"] == [], spent
    await ann_.check(day, "10800.00", "6400.00")
    edited = await server.gql(UPDATE_TXN, {"input": {"id": spent["transaction"]["id"], "amount": "-70"}}, token=token)
    assert edited["data"]["updateTransaction"]["errors"] == []
    await ann_.check(day, "10790.00", "6390.00")
    deleted = await server.gql(DELETE_TXN, {"id": spent["transaction"]["id"]}, token=token)
    assert deleted["data"]["deleteTransaction"]["errors"] == []
    await ann_.check(day, "10860.00", "6460.00")

    # Earlier days agree too (before the transfers; before the first activity: the opening balance).
    # totalBalance counts today's ledger balances, so only net worth is asked for a past day.
    for earlier, value in (("2024-03-31", "10500.00"), ("2024-01-14", "10000.00")):
        worth, _, net_worth, _ = await ann_.counted(earlier)
        assert worth == D(value) and net_worth == 1000 + worth
    # The transfer back, deleted: its two legs go, the brokerage keeps the 200.
    before = await ann_.check(day, "10860.00", "6460.00")
    undone = await server.gql(DELETE_TXN, {"id": back["outflow"]["id"]}, token=token)
    assert undone["data"]["deleteTransaction"]["errors"] == []
    ann_.others = D(500)
    assert await ann_.check(day, "11060.00", "6660.00") == before

    # A new opening balance moves the cash from the start.
    changed = await server.gql(UPDATE_ACCOUNT, {"input": {"id": brokerage, "openingBalance": "9000"}}, token=token)
    assert changed["data"]["updateAccount"]["errors"] == []
    await ann_.check(day, "10060.00", "5660.00")


async def test_deposit_activities_are_the_cash_without_a_ledger_side(server: RunningServer) -> None:
    """DEPOSIT 10,000 + BUY 5,000 with no opening balance: net worth 10,000 (it counted 5,000)."""
    bea = await signed_in_user(server)
    token = bea.access_token
    brokerage = (await investment_account(server, token))["id"]
    bea_ = Person(server, token, brokerage, D(0))
    await recorded(server, token, brokerage, kind="DEPOSIT", date="2024-01-02", amount="10000")
    await recorded(server, token, brokerage, kind="BUY", date="2024-01-15", symbol="CBD", quantity="50", price="100")
    await set_price(server, token, "CBD", "2024-01-15", "100")
    await bea_.check("2024-06-30", "10000.00", "5000.00")
    await recorded(server, token, brokerage, kind="WITHDRAWAL", date="2024-02-01", amount="1000")
    await bea_.check("2024-06-30", "9000.00", "4000.00")
    # A purchase beyond the cash: an implicit deposit, counted once.
    await recorded(server, token, brokerage, kind="BUY", date="2024-03-01", symbol="CBD", quantity="50", price="100")
    await bea_.check("2024-06-30", "10000.00", "0.00")
    # Cash moved in through the ledger can be withdrawn by an activity.
    checking = (await create_account(server, token, name="Checking", opening="800"))["id"]
    await bea_.transfer(checking, brokerage, "800", "2024-04-01")
    await recorded(server, token, brokerage, kind="WITHDRAWAL", date="2024-04-02", amount="300")
    await bea_.check("2024-06-30", "10500.00", "500.00")


async def test_ledger_writes_void_the_kept_days(server: RunningServer, monkeypatch: pytest.MonkeyPatch) -> None:
    cy = await signed_in_user(server)
    token, user_id = cy.access_token, node_uuid(cy.user_id)
    checking = (await create_account(server, token, opening="5000"))["id"]
    brokerage = (await create_account(server, token, name="Broker", type="INVESTMENT", opening="1000"))["id"]
    ids = [node_uuid(brokerage)]
    # Kept from the first movement after the opening balance: before the range, so the range is kept.
    await recorded(server, token, brokerage, kind="BUY", date="2022-02-01", symbol="CBV", quantity="5", price="100")
    await set_price(server, token, "CBV", "2022-02-01", "100")
    await set_price(server, token, "CBV", "2024-02-01", "120")
    kept = await _assert_same(server, monkeypatch, user_id, ids)
    assert kept.result.value == 1100  # 500 cash + 5 x 120

    body = await server.gql(
        CREATE_TRANSFER,
        {"input": {"fromAccountId": checking, "toAccountId": brokerage, "amount": "250", "date": "2023-06-01"}},
        token=token,
    )
    assert body["data"]["createTransfer"]["errors"] == []
    assert not await _kept(server, user_id, ids)
    moved = await _assert_same(server, monkeypatch, user_id, ids)
    assert moved.result.value == 1350 and moved.result.net_inflow == 250

    changed = await server.gql(UPDATE_ACCOUNT, {"input": {"id": brokerage, "openingBalance": "2000"}}, token=token)
    assert changed["data"]["updateAccount"]["errors"] == []
    assert not await _kept(server, user_id, ids)
    assert (await _assert_same(server, monkeypatch, user_id, ids)).result.value == 2350

    # Rows booked while it was another type of account count once it is an INVESTMENT one again.
    for kind in ("CHECKING", "INVESTMENT"):
        if kind == "INVESTMENT":
            paid = await create_txn(
                server, token, accountId=brokerage, date="2023-07-01", amount="100", description="In"
            )
            assert paid["errors"] == []
        retyped = await server.gql(UPDATE_ACCOUNT, {"input": {"id": brokerage, "type": kind}}, token=token)
        assert retyped["data"]["updateAccount"]["errors"] == []
    assert not await _kept(server, user_id, ids)
    assert (await _assert_same(server, monkeypatch, user_id, ids)).result.value == 2450

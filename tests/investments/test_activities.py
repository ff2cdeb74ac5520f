"""Recording, changing and deleting investment activities over HTTP, and the portfolio they make."""

from __future__ import annotations

from decimal import Decimal

from tests.flows import signed_in_user
from tests.investments.invest_flows import (
    ACTIVITIES,
    DELETE,
    HISTORY,
    UPDATE,
    errors_of,
    investment_account,
    portfolio,
    record,
    recorded,
    set_price,
)
from tests.ledger.ledger_flows import create_account
from tests.server import RunningServer


async def test_record_edit_delete_and_the_portfolio_they_make(server: RunningServer) -> None:
    ann = await signed_in_user(server)
    token = ann.access_token
    account = (await investment_account(server, token))["id"]
    deposit = await recorded(server, token, account, kind="DEPOSIT", date="2024-01-02", amount="10000")
    buy = await recorded(server, token, account, kind="BUY", date="2024-01-02", symbol="acme", quantity="10",
                         price="100", fee="5")
    assert (buy["amount"], buy["fee"], buy["quantity"], buy["symbol"]) == ("1005.00", "5.00", "10", "ACME")
    assert buy["security"]["manual"] is True and buy["security"]["currency"] == "USD"
    for day, close in (("2024-01-02", "100"), ("2024-06-28", "120"), ("2024-12-31", "130")):
        assert (await set_price(server, token, "ACME", day, close))["errors"] == []
    sell = await recorded(server, token, account, kind="SELL", date="2024-06-28", symbol="ACME", quantity="4",
                          price="120", fee="2")
    assert sell["amount"] == "478.00"
    await recorded(server, token, account, kind="DIVIDEND", date="2024-09-30", symbol="ACME", amount="12", tax="3")

    figures = await portfolio(server, token, "2024-01-01", "2024-12-31")
    assert figures["currency"] == "USD" and figures["costMethod"] == "FIFO"
    # 6 ACME at 130 + cash 10000 - 1005 + 478 + 12 - 3
    assert figures["value"] == "10262.00" and figures["cash"] == "9482.00"
    assert figures["costBasis"] == "603.00"  # 1005 * 6/10
    assert figures["unrealizedGain"] == "177.00" and figures["realizedGain"] == "76.00"  # 478 - 402
    assert (figures["dividends"], figures["fees"], figures["taxes"]) == ("12.00", "7.00", "3.00")
    assert figures["netInflow"] == "10000.00" and figures["totalReturn"] == "262.00"
    assert figures["startValue"] == "0.00"
    (holding,) = figures["holdings"]
    assert (holding["symbol"], holding["quantity"], holding["price"], holding["priceDate"]) == ("ACME", "6", "130",
                                                                                                "2024-12-31")
    assert holding["priceSource"] == "MANUAL" and holding["weight"] == "1.0000000000"
    assert holding["lots"] == [{"date": "2024-01-02", "quantity": "6", "cost": "603.00", "unitCost": "100.5000000000"}]
    assert figures["twr"]["unavailableReason"] is None and figures["twr"]["daysWithoutInvestment"] == 1
    assert Decimal(figures["twr"]["cumulative"]) > 0 and Decimal(figures["xirr"]["rate"]) > 0
    weights = {s["key"]: s["weight"] for s in figures["allocation"]["byAssetClass"]}
    assert set(weights) == {"CASH", "OTHER"}
    average = await portfolio(server, token, "2024-01-01", "2024-12-31", method="AVERAGE")
    assert average["costMethod"] == "AVERAGE" and average["costBasis"] == "603.00" and average["holdings"][0]["lots"] == []

    monthly = (await server.gql(HISTORY, {"from": "2024-01-01", "to": "2024-12-31", "g": "MONTH"}, token=token)
               )["data"]["portfolio"]["history"]
    assert len(monthly) == 12 and monthly[0]["netInflow"] == "10000.00" and monthly[-1]["value"] == "10262.00"

    # Selling more than is held is an error on quantity; a split of nothing on symbol; overdrawing cash on amount.
    oversold = await record(server, token, account, kind="SELL", date="2024-07-01", symbol="ACME", quantity="7",
                            price="1")
    assert errors_of(oversold) == [("INVALID", "quantity")] and oversold["activity"] is None
    nothing = await record(server, token, account, kind="SPLIT", date="2024-07-01", symbol="OTHER", splitFrom="1",
                           splitTo="2")
    assert errors_of(nothing) == [("INVALID", "symbol")]
    overdrawn = await record(server, token, account, kind="WITHDRAWAL", date="2024-01-03", amount="9000")
    assert errors_of(overdrawn) == [("INVALID", "amount")]
    assert errors_of(await record(server, token, account, kind="BUY", date="2024-07-01", symbol="ACME",
                                  quantity="1")) == [("REQUIRED", "price")]
    assert errors_of(await record(server, token, account, kind="DEPOSIT", date="2024-07-01", amount="1.234")) == [
        ("INVALID", "amount")]
    assert errors_of(await record(server, token, account, kind="DEPOSIT", date="2999-07-01", amount="1")) == [
        ("INVALID", "date")]
    checking = (await create_account(server, token, name="Checking"))["id"]
    assert errors_of(await record(server, token, checking, kind="DEPOSIT", date="2024-07-01", amount="1")) == [
        ("INVALID", "accountId")]

    # A split doubles the units and halves the unit cost; the cost basis stays.
    await recorded(server, token, account, kind="SPLIT", date="2024-08-01", symbol="ACME", splitFrom="1", splitTo="2")
    split = await portfolio(server, token, "2024-01-01", "2024-12-31")
    assert split["holdings"][0]["quantity"] == "12" and split["costBasis"] == "603.00"
    await set_price(server, token, "ACME", "2024-12-31", "65")
    assert (await portfolio(server, token, "2024-01-01", "2024-12-31"))["value"] == "10262.00"

    # Editing the buy to fewer units than were sold later is refused; a fee change goes through.
    refused = (await server.gql(UPDATE, {"input": {"id": buy["id"], "quantity": "3"}}, token=token)
               )["data"]["updateInvestmentActivity"]
    assert refused["errors"][0]["code"] == "INVALID"
    changed = (await server.gql(UPDATE, {"input": {"id": buy["id"], "amount": "1010", "note": "fixed"}}, token=token)
               )["data"]["updateInvestmentActivity"]
    assert changed["errors"] == [] and changed["activity"]["amount"] == "1010.00"
    assert changed["activity"]["note"] == "fixed" and changed["activity"]["quantity"] == "10"

    # Deleting the buy would leave the sale without units: refused; deleting the deposit is fine.
    blocked = (await server.gql(DELETE, {"id": buy["id"]}, token=token))["data"]["deleteInvestmentActivity"]
    assert blocked["errors"][0]["code"] == "INVALID" and blocked["deletedIds"] == []
    deleted = (await server.gql(DELETE, {"id": deposit["id"]}, token=token))["data"]["deleteInvestmentActivity"]
    assert deleted == {"deletedIds": [deposit["id"]], "errors": []}
    listed = (await server.gql(ACTIVITIES, {"ids": [account]}, token=token))["data"]["investmentActivities"]
    assert [a["kind"] for a in listed] == ["BUY", "SELL", "SPLIT", "DIVIDEND"]


async def test_history_through_a_fragment(server: RunningServer) -> None:
    ann = await signed_in_user(server)
    account = (await investment_account(server, ann.access_token))["id"]
    await recorded(server, ann.access_token, account, kind="DEPOSIT", date="2024-01-02", amount="100")
    query = """query { portfolio(from: "2024-01-01", to: "2024-01-03") { ...P } }
      fragment P on Portfolio { ... on Portfolio { history(granularity: DAY) { date value } } }"""
    body = await server.gql(query, token=ann.access_token)
    assert [p["value"] for p in body["data"]["portfolio"]["history"]] == ["0.00", "100.00", "100.00"]


async def test_portfolio_changed_is_heard_after_an_activity(server: RunningServer) -> None:
    from tests.ws import graphql_ws, listening

    ann = await signed_in_user(server)
    account = (await investment_account(server, ann.access_token))["id"]
    async with graphql_ws(server.ws_url, {"authorization": f"Bearer {ann.access_token}"}) as ws:
        assert (await ws.receive())["type"] == "connection_ack"
        await ws.subscribe("subscription { portfolioChanged { at reason } }")
        await listening(server, ann.user_id)
        await recorded(server, ann.access_token, account, kind="DEPOSIT", date="2024-01-02", amount="10")
        assert (await ws.receive(timeout=10))["payload"]["data"]["portfolioChanged"]["reason"] == "ACTIVITY"

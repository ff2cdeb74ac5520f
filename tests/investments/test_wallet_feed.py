"""Investment accounts' market value counts in walletSummary.totalBalance and netWorth."""

from __future__ import annotations

from tests.flows import signed_in_user
from tests.investments.invest_flows import investment_account, recorded, set_price
from tests.ledger.ledger_flows import create_account
from tests.server import RunningServer

SUMMARY = """query($from: Date!, $to: Date!) { walletSummary(from: $from, to: $to) { totalBalance
  missingRates { currency } } }"""
NET_WORTH = """query($from: Date!, $to: Date!) { netWorth(from: $from, to: $to) { points { date value } complete } }"""


async def test_market_value_feeds_total_balance_and_net_worth(server: RunningServer) -> None:
    ann = await signed_in_user(server)
    token = ann.access_token
    await create_account(server, token, name="Checking", opening="1000")
    account = (await investment_account(server, token))["id"]
    summary = (await server.gql(SUMMARY, {"from": "2024-01-01", "to": "2024-03-31"}, token=token))["data"]
    assert summary["walletSummary"]["totalBalance"] == "1000.00"

    await recorded(server, token, account, kind="BUY", date="2024-01-15", symbol="FEEDCO", quantity="2", price="50")
    await set_price(server, token, "FEEDCO", "2024-01-15", "50")
    await set_price(server, token, "FEEDCO", "2024-02-29", "60")
    # The cache was bumped by the activity and the prices: 1000 + 2 x 60.
    summary = (await server.gql(SUMMARY, {"from": "2024-01-01", "to": "2024-03-31"}, token=token))["data"]
    assert summary["walletSummary"]["totalBalance"] == "1120.00"
    points = (await server.gql(NET_WORTH, {"from": "2024-01-01", "to": "2024-03-31"}, token=token)
              )["data"]["netWorth"]["points"]
    assert [(p["date"], p["value"]) for p in points] == [
        ("2024-01-31", "1100.00"), ("2024-02-29", "1120.00"), ("2024-03-31", "1120.00")]


MISSING = "missingPrices { symbol account { id } security { symbol manual } firstDay lastDay countedCost }"
PRICED = f"""query($from: Date!, $to: Date!) {{
  walletSummary(from: $from, to: $to) {{ totalBalance {MISSING} }}
  netWorth(from: $from, to: $to) {{ points {{ date value }} {MISSING} }} }}"""


async def test_a_holding_without_a_price_is_counted_at_cost_and_listed(server: RunningServer) -> None:
    ann = await signed_in_user(server)
    bob = await signed_in_user(server)
    account = (await investment_account(server, ann.access_token))["id"]
    # Bob holds his own unpriced security: it never shows in Ann's lists (nor hers in his).
    bobs = (await investment_account(server, bob.access_token))["id"]
    await recorded(server, bob.access_token, bobs, kind="DEPOSIT", date="2024-01-02", amount="100")
    await recorded(server, bob.access_token, bobs, kind="BUY", date="2024-01-10", symbol="BOBCO", quantity="1",
                   price="40")
    await recorded(server, ann.access_token, account, kind="DEPOSIT", date="2024-01-02", amount="500")
    await recorded(server, ann.access_token, account, kind="BUY", date="2024-01-10", symbol="MYFARM", quantity="4",
                   price="25", fee="1")
    span = {"from": "2024-01-01", "to": "2024-03-31"}
    data = (await server.gql(PRICED, span, token=ann.access_token))["data"]
    listed = {"symbol": "MYFARM", "account": {"id": account}, "security": {"symbol": "MYFARM", "manual": True},
              "firstDay": "2024-03-31", "lastDay": "2024-03-31", "countedCost": "101.00"}
    # Cash 399 plus the position at its cost (4 x 25 + 1 fee), and it says so.
    assert data["walletSummary"] == {"totalBalance": "500.00", "missingPrices": [listed]}
    assert [(p["date"], p["value"]) for p in data["netWorth"]["points"]] == [
        ("2024-01-31", "500.00"), ("2024-02-29", "500.00"), ("2024-03-31", "500.00")]
    assert data["netWorth"]["missingPrices"] == [{**listed, "firstDay": "2024-01-31"}]
    theirs = (await server.gql(PRICED, span, token=bob.access_token))["data"]
    assert [m["symbol"] for m in theirs["walletSummary"]["missingPrices"]] == ["BOBCO"]
    assert [m["account"]["id"] for m in theirs["netWorth"]["missingPrices"]] == [bobs]

    # A close from February on: the cached answers are stale (the price bumps the holder's wallet), the
    # total uses the close, and only January is still listed.
    await set_price(server, ann.access_token, "MYFARM", "2024-02-15", "30")
    data = (await server.gql(PRICED, span, token=ann.access_token))["data"]
    assert data["walletSummary"] == {"totalBalance": "519.00", "missingPrices": []}
    assert [(p["date"], p["value"]) for p in data["netWorth"]["points"]] == [
        ("2024-01-31", "500.00"), ("2024-02-29", "519.00"), ("2024-03-31", "519.00")]
    assert data["netWorth"]["missingPrices"] == [{**listed, "firstDay": "2024-01-31", "lastDay": "2024-01-31"}]
    theirs = (await server.gql(PRICED, span, token=bob.access_token))["data"]
    assert [m["symbol"] for m in theirs["walletSummary"]["missingPrices"]] == ["BOBCO"]
    # A snapshot is shown later without the reason: Bob's estimate at cost is not recorded as a fact.
    snapshot = await server.gql("mutation { recordNetWorthSnapshot { point { value } errors { code message } } }",
                                token=bob.access_token)
    assert snapshot["data"]["recordNetWorthSnapshot"] == {"point": None, "errors": [
        {"code": "INVALID", "message": "No price yet for BOBCO; set one with setPrice."}]}

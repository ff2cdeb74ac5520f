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

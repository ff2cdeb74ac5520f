"""GraphQL operations and helpers shared by the investments tests."""

from __future__ import annotations

from typing import Any

from tests.ledger.ledger_flows import create_account
from tests.server import RunningServer

ERRORS = "errors { code field message }"
ACTIVITY_FIELDS = ("id kind date symbol quantity price amount fee tax splitFrom splitTo note "
                   "account { id } security { id symbol manual currency }")
RECORD = f"""mutation($input: RecordInvestmentActivityInput!) {{ recordInvestmentActivity(input: $input) {{
  activity {{ {ACTIVITY_FIELDS} }} {ERRORS} }} }}"""
UPDATE = f"""mutation($input: UpdateInvestmentActivityInput!) {{ updateInvestmentActivity(input: $input) {{
  activity {{ {ACTIVITY_FIELDS} }} {ERRORS} }} }}"""
DELETE = f"mutation($id: ID!) {{ deleteInvestmentActivity(input: {{id: $id}}) {{ deletedIds {ERRORS} }} }}"
SET_COST_METHOD = f"mutation($method: CostMethod!) {{ setCostMethod(input: {{method: $method}}) {{ costMethod {ERRORS} }} }}"
SET_PRICE = f"""mutation($input: SetPriceInput!) {{ setPrice(input: $input) {{
  price {{ symbol date price currency source }} {ERRORS} }} }}"""
ACTIVITIES = f"query($ids: [ID!]) {{ investmentActivities(accountIds: $ids) {{ {ACTIVITY_FIELDS} }} }}"
NODE = "query($id: ID!) { node(id: $id) { id } }"
PORTFOLIO_FIELDS = """currency costMethod value startValue cash costBasis unrealizedGain realizedGain dividends interest
  fees taxes netInflow totalReturn
  twr { cumulative annualized unavailableReason days daysWithoutInvestment }
  xirr { rate unavailableReason }
  holdings { symbol quantity averageCost costBasis price priceDate priceSource stale value unrealizedGain weight
    lots { date quantity cost unitCost } }
  allocation { bySecurity { key value weight } byAssetClass { key value weight } byCurrency { key value weight } }
  missing { reason subject date }"""
PORTFOLIO = f"""query($from: Date!, $to: Date!, $ids: [ID!], $method: CostMethod) {{
  portfolio(from: $from, to: $to, accountIds: $ids, costMethod: $method) {{ {PORTFOLIO_FIELDS} }} }}"""
HISTORY = """query($from: Date!, $to: Date!, $g: Granularity!) {
  portfolio(from: $from, to: $to) { history(granularity: $g) { date value netInflow twrIndex } } }"""


async def investment_account(server: RunningServer, token: str, *, currency: str = "USD", name: str = "Broker"
                             ) -> dict[str, Any]:
    return await create_account(server, token, name=name, currency=currency, type="INVESTMENT")


async def record(server: RunningServer, token: str, account_id: str, **input: Any) -> dict[str, Any]:
    body = await server.gql(RECORD, {"input": {"accountId": account_id, **input}}, token=token)
    assert "errors" not in body, body
    return body["data"]["recordInvestmentActivity"]


async def recorded(server: RunningServer, token: str, account_id: str, **input: Any) -> dict[str, Any]:
    payload = await record(server, token, account_id, **input)
    assert payload["errors"] == [], payload
    return payload["activity"]


async def set_price(server: RunningServer, token: str, symbol: str, date: str, price: str,
                    currency: str | None = None) -> dict[str, Any]:
    body = await server.gql(SET_PRICE, {"input": {"symbol": symbol, "date": date, "price": price,
                                                  "currency": currency}}, token=token)
    assert "errors" not in body, body
    return body["data"]["setPrice"]


async def portfolio(server: RunningServer, token: str, start: str, end: str, **variables: Any) -> dict[str, Any]:
    body = await server.gql(PORTFOLIO, {"from": start, "to": end, **variables}, token=token)
    assert "errors" not in body, body
    return body["data"]["portfolio"]


def errors_of(payload: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(e["code"], e["field"]) for e in payload["errors"]]

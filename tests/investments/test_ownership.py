"""A second person gets NOT_FOUND (or null, or nothing) for every investment id of the first."""

from __future__ import annotations

from tests.flows import signed_in_user
from tests.investments.invest_flows import (
    ACTIVITIES,
    DELETE,
    NODE,
    PORTFOLIO,
    UPDATE,
    errors_of,
    investment_account,
    portfolio,
    record,
    recorded,
    set_price,
)
from tests.server import RunningServer

SECURITY = "query($s: String!) { security(symbol: $s) { id symbol } securityPrices(symbol: $s) { date price } }"


async def test_second_user_cannot_reach_first_users_investments(server: RunningServer) -> None:
    ann = await signed_in_user(server)
    bob = await signed_in_user(server)
    account = (await investment_account(server, ann.access_token))["id"]
    buy = await recorded(server, ann.access_token, account, kind="BUY", date="2024-03-01", symbol="ANNCO",
                         quantity="2", price="50")
    await set_price(server, ann.access_token, "ANNCO", "2024-03-01", "50")
    security_id = buy["security"]["id"]
    token = bob.access_token

    for node_id in (buy["id"], security_id, account):
        assert (await server.gql(NODE, {"id": node_id}, token=token))["data"]["node"] is None, node_id
    updated = (await server.gql(UPDATE, {"input": {"id": buy["id"], "note": "mine"}}, token=token)
               )["data"]["updateInvestmentActivity"]
    assert errors_of(updated) == [("NOT_FOUND", "id")] and updated["activity"] is None
    deleted = (await server.gql(DELETE, {"id": buy["id"]}, token=token))["data"]["deleteInvestmentActivity"]
    assert errors_of(deleted) == [("NOT_FOUND", "id")] and deleted["deletedIds"] == []
    assert errors_of(await record(server, token, account, kind="DEPOSIT", date="2024-03-01", amount="1")) == [
        ("NOT_FOUND", "accountId")]
    refused = await server.gql(PORTFOLIO, {"from": "2024-01-01", "to": "2024-12-31", "ids": [account]}, token=token)
    assert refused["data"] is None
    assert refused["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "accountIds"}
    assert (await server.gql(ACTIVITIES, {"ids": [account]}, token=token))["data"]["investmentActivities"] == []
    assert (await server.gql(ACTIVITIES, {}, token=token))["data"]["investmentActivities"] == []
    looked_up = (await server.gql(SECURITY, {"s": "ANNCO"}, token=token))["data"]
    assert looked_up == {"security": None, "securityPrices": []}
    own = await portfolio(server, token, "2024-01-01", "2024-12-31")
    assert own["holdings"] == [] and own["twr"]["unavailableReason"] == "NOTHING_INVESTED"

    # Bob pricing the same symbol makes his own security; Ann's price stays.
    assert (await set_price(server, token, "ANNCO", "2024-03-01", "999", "USD"))["errors"] == []
    ann_view = await portfolio(server, ann.access_token, "2024-01-01", "2024-12-31")
    assert ann_view["holdings"][0]["price"] == "50"
    # Nothing of Ann's changed.
    listed = (await server.gql(ACTIVITIES, {}, token=ann.access_token))["data"]["investmentActivities"]
    assert [(a["id"], a["note"]) for a in listed] == [(buy["id"], None)]

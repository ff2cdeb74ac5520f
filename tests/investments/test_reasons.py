"""Figures that cannot be computed are null with a reason, never 0: a missing price, a missing
exchange rate, nothing invested; an old price is flagged stale. Market prices are for administrators."""

from __future__ import annotations

from tests.auth.test_auth_flows import promote_to_admin
from tests.flows import signed_in_user
from tests.investments.invest_flows import (
    SET_COST_METHOD,
    SET_PRICE,
    errors_of,
    investment_account,
    portfolio,
    recorded,
    set_price,
)
from tests.server import RunningServer

SET_FX = """mutation($input: FxRateInput!) { setFxRate(input: $input) { errors { code field message } } }"""


async def test_missing_price_missing_rate_nothing_invested_and_stale(server: RunningServer) -> None:
    ann = await signed_in_user(server)
    token = ann.access_token
    empty = await portfolio(server, token, "2024-01-01", "2024-01-31")
    assert (empty["twr"]["cumulative"], empty["twr"]["unavailableReason"]) == (None, "NOTHING_INVESTED")
    assert (empty["xirr"]["rate"], empty["xirr"]["unavailableReason"]) == (None, "NOTHING_INVESTED")
    assert empty["value"] == "0.00" and empty["holdings"] == []

    account = (await investment_account(server, token))["id"]
    await recorded(server, token, account, kind="BUY", date="2024-01-10", symbol="NOPRICE", quantity="3", price="10")
    missing = await portfolio(server, token, "2024-01-01", "2024-01-31")
    assert missing["value"] is None and missing["unrealizedGain"] is None and missing["allocation"] is None
    assert missing["twr"] == {"cumulative": None, "annualized": None, "unavailableReason": "MISSING_PRICE",
                              "days": 31, "daysWithoutInvestment": 9}  # before the purchase
    assert missing["xirr"] == {"rate": None, "unavailableReason": "MISSING_PRICE"}
    assert missing["missing"] == [{"reason": "MISSING_PRICE", "subject": "NOPRICE", "date": "2024-01-10"}]
    holding = missing["holdings"][0]
    assert (holding["price"], holding["value"], holding["stale"], holding["costBasis"]) == (None, None, True, "30.00")

    # Priced once, three weeks before the end: a value, but stale (older than 5 days).
    await set_price(server, token, "NOPRICE", "2024-01-10", "12")
    stale = await portfolio(server, token, "2024-01-01", "2024-01-31")
    assert stale["value"] == "36.00" and stale["holdings"][0]["stale"] is True
    assert stale["twr"]["unavailableReason"] is None
    await set_price(server, token, "NOPRICE", "2024-01-30", "12")
    fresh = await portfolio(server, token, "2024-01-01", "2024-01-31")
    assert fresh["holdings"][0]["stale"] is False and fresh["holdings"][0]["priceDate"] == "2024-01-30"

    # An NZD account in a USD portfolio with no NZD rate: the value is null with MISSING_FX_RATE. (NZD: no
    # other test sets rates of it; rates are shared by every user of the test database.)
    euro = (await investment_account(server, token, currency="NZD", name="Kiwi broker"))["id"]
    await recorded(server, token, euro, kind="DEPOSIT", date="2024-01-15", amount="100")
    no_rate = await portfolio(server, token, "2024-01-01", "2024-01-31")
    assert no_rate["value"] is None and no_rate["twr"]["unavailableReason"] == "MISSING_FX_RATE"
    assert {"reason": "MISSING_FX_RATE", "subject": "NZD", "date": "2024-01-15"} in no_rate["missing"]
    admin = await signed_in_user(server)
    await promote_to_admin(server, admin.user_id)
    rate = await server.gql(SET_FX, {"input": {"base": "NZD", "quote": "USD", "date": "2024-01-01", "rate": "1.1"}},
                            token=admin.access_token)
    assert rate["data"]["setFxRate"]["errors"] == []
    converted = await portfolio(server, token, "2024-01-01", "2024-01-31")
    assert converted["value"] == "146.00" and converted["cash"] == "110.00"
    assert {s["key"]: s["value"] for s in converted["allocation"]["byCurrency"]} == {"NZD": "110.00", "USD": "36.00"}


async def test_market_prices_are_for_administrators(server: RunningServer) -> None:
    admin = await signed_in_user(server)
    await promote_to_admin(server, admin.user_id)
    created = await set_price(server, admin.access_token, "MKT1", "2024-02-01", "10.5", "USD")
    assert created["errors"] == [] and created["price"]["source"] == "ADMIN"
    person = await signed_in_user(server)
    refused = await set_price(server, person.access_token, "MKT1", "2024-02-02", "11")
    assert errors_of(refused) == [("FORBIDDEN", "symbol")]
    wrong_currency = await set_price(server, admin.access_token, "MKT1", "2024-02-02", "11", "EUR")
    assert errors_of(wrong_currency) == [("INVALID", "currency")]
    assert errors_of(await set_price(server, person.access_token, "NEW1", "2024-02-02", "11")) == [
        ("REQUIRED", "currency")]
    assert errors_of(await set_price(server, person.access_token, "NEW1", "2024-02-02", "-1", "USD")) == [
        ("INVALID", "price")]
    # A person buying the market symbol holds the market security.
    account = (await investment_account(server, person.access_token))["id"]
    buy = await recorded(server, person.access_token, account, kind="BUY", date="2024-02-01", symbol="MKT1",
                         quantity="1", amount="10.50")
    assert buy["security"]["manual"] is False
    figures = await portfolio(server, person.access_token, "2024-02-01", "2024-02-29")
    assert figures["holdings"][0]["priceSource"] == "ADMIN" and figures["value"] == "10.50"


async def test_currencies_are_currency_codes(server: RunningServer) -> None:
    """setPrice takes a CurrencyCode (trimmed, upper-cased, ISO 4217); an unknown code is a bad argument."""
    person = await signed_in_user(server)
    token = person.access_token
    created = await set_price(server, token, "OWN1", "2024-02-01", "3", " eur ")
    assert created["errors"] == [] and created["price"]["currency"] == "EUR"
    body = await server.gql(SET_PRICE, {"input": {"symbol": "OWN2", "date": "2024-02-01", "price": "3",
                                                  "currency": "XYZ"}}, token=token)
    assert body.get("data") is None
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    listed = await server.gql('query { security(symbol: "own1") { currency } securityPrices(symbol: "own1") { currency } }',
                              token=token)
    assert listed["data"] == {"security": {"currency": "EUR"}, "securityPrices": [{"currency": "EUR"}]}


async def test_set_cost_method_takes_one_input(server: RunningServer) -> None:
    person = await signed_in_user(server)
    token = person.access_token
    chosen = (await server.gql(SET_COST_METHOD, {"method": "AVERAGE"}, token=token))["data"]["setCostMethod"]
    assert chosen == {"costMethod": "AVERAGE", "errors": []}
    assert (await server.gql("query { costMethod }", token=token))["data"] == {"costMethod": "AVERAGE"}
    account = (await investment_account(server, token))["id"]
    await recorded(server, token, account, kind="DEPOSIT", date="2024-01-02", amount="100")
    assert (await portfolio(server, token, "2024-01-01", "2024-01-31"))["costMethod"] == "AVERAGE"

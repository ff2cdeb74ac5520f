"""Categorisation on write (rules first, then past choices) and recategorize with a preview."""

from __future__ import annotations

from tests.flows import signed_in_user
from tests.ledger.ledger_flows import ERRORS, UPDATE_TXN, category_ids, create_account, create_txn
from tests.server import RunningServer

CREATE_RULE = f"""mutation($input: CategoryRuleInput!) {{ createCategoryRule(input: $input) {{
  rule {{ id pattern field match priority }} {ERRORS} }} }}"""
RECATEGORIZE = f"""mutation($dry: Boolean!, $only: Boolean!) {{ recategorize(input: {{dryRun: $dry, onlyUncategorized: $only}}) {{
  applied count changes {{ transaction {{ id category {{ name }} }} fromCategory {{ id }} toCategory {{ name }} }} {ERRORS} }} }}"""


async def rule(server: RunningServer, token: str, **input) -> dict:
    payload = (await server.gql(CREATE_RULE, {"input": input}, token=token))["data"]["createCategoryRule"]
    return payload


async def test_rules_then_merchant_memory(server: RunningServer) -> None:
    user = await signed_in_user(server)
    token = user.access_token
    account = await create_account(server, token)
    cats = await category_ids(server, token)
    base = {"accountId": account["id"], "date": "2026-04-01", "amount": "-9.99"}

    assert (await rule(server, token, categoryId=cats["Subscriptions"], pattern="netflix"))["errors"] == []
    assert (await rule(server, token, categoryId=cats["Entertainment"], pattern="^NET", match="REGEX",
                       field="MERCHANT", priority=200))["errors"] == []
    netflix = await create_txn(server, token, **base, merchant="NETFLIX.COM")
    assert netflix["transaction"]["category"]["name"] == "Subscriptions"  # priority 100 beats 200
    netgear = await create_txn(server, token, **base, merchant="Netgear store")
    assert netgear["transaction"]["category"]["name"] == "Entertainment"

    # No rule matches: the category chosen last time for this merchant is reused.
    first = await create_txn(server, token, **base, merchant="Bakery Bob")
    assert first["transaction"]["category"] is None
    await server.gql(UPDATE_TXN, {"input": {"id": first["transaction"]["id"], "categoryId": cats["Groceries"]}}, token=token)
    again = await create_txn(server, token, **base, merchant="bakery bob")
    assert again["transaction"]["category"]["name"] == "Groceries"
    # An explicit category always wins.
    explicit = await create_txn(server, token, **base, merchant="NETFLIX.COM", categoryId=cats["Gifts & Donations"])
    assert explicit["transaction"]["category"]["name"] == "Gifts & Donations"


async def test_bad_rules_are_refused(server: RunningServer) -> None:
    user = await signed_in_user(server)
    cats = await category_ids(server, user.access_token)
    bad = await rule(server, user.access_token, categoryId=cats["Travel"], pattern="([", match="REGEX")
    assert (bad["errors"][0]["code"], bad["errors"][0]["field"]) == ("INVALID", "pattern")
    empty = await rule(server, user.access_token, categoryId=cats["Travel"], pattern="  ")
    assert (empty["errors"][0]["code"], empty["errors"][0]["field"]) == ("REQUIRED", "pattern")


async def test_recategorize_previews_then_applies(server: RunningServer) -> None:
    user = await signed_in_user(server)
    token = user.access_token
    account = await create_account(server, token)
    cats = await category_ids(server, token)
    base = {"accountId": account["id"], "date": "2026-04-01", "amount": "-30.00"}
    uber = [await create_txn(server, token, **base, merchant=f"UBER TRIP {i}") for i in range(3)]
    manual = await create_txn(server, token, **base, merchant="UBER EATS", categoryId=cats["Restaurants"])
    await rule(server, token, categoryId=cats["Transport"], pattern="uber")

    preview = (await server.gql(RECATEGORIZE, {"dry": True, "only": True}, token=token))["data"]["recategorize"]
    assert preview["applied"] is False and preview["count"] == 3
    assert {c["transaction"]["id"] for c in preview["changes"]} == {t["transaction"]["id"] for t in uber}
    # Links, not ids: the transaction as it is (not yet moved), where it comes from and goes to.
    assert {(c["transaction"]["category"], c["fromCategory"], c["toCategory"]["name"]) for c in preview["changes"]} == {
        (None, None, "Transport")}
    # Nothing was written by the preview.
    assert (await server.gql(RECATEGORIZE, {"dry": True, "only": True}, token=token))["data"]["recategorize"]["count"] == 3

    everything = (await server.gql(RECATEGORIZE, {"dry": True, "only": False}, token=token))["data"]["recategorize"]
    assert everything["count"] == 4  # the manual choice would be overridden too

    applied = (await server.gql(RECATEGORIZE, {"dry": False, "only": True}, token=token))["data"]["recategorize"]
    assert applied["applied"] is True and applied["count"] == 3
    assert {c["transaction"]["category"]["name"] for c in applied["changes"]} == {"Transport"}
    after = (await server.gql(RECATEGORIZE, {"dry": True, "only": True}, token=token))["data"]["recategorize"]
    assert after["count"] == 0
    node = await server.gql('query($id: ID!) { node(id: $id) { ... on Transaction { category { name } } } }',
                            {"id": manual["transaction"]["id"]}, token=token)
    assert node["data"]["node"]["category"]["name"] == "Restaurants"

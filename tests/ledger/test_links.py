"""Objects link to objects, not to ids — and following a link costs no query per row.

Transfer legs link to each other, categories to their parent, rules (now nodes) to their
category, wallet spending lines to their category. Each list below is read with a growing
number of rows: the statement count must not grow with it (the links go through the
request's dataloaders).
"""

from __future__ import annotations

from tests.flows import signed_in_user
from tests.ledger.ledger_flows import CREATE_TRANSFER, category_ids, create_account, create_txn
from tests.ledger.test_listing import counting_statements
from tests.server import RunningServer

LEGS = """{ transactions(first: 100) { edges { node { id amount isTransfer
  transferCounterpart { id amount account { name } transferCounterpart { id } } } } } }"""
CREATE_CATEGORY = """mutation($input: CreateCategoryInput!) { createCategory(input: $input) {
  category { id name parent { id name } } errors { code field } } }"""
CATEGORIES = "{ categories { id name parent { id name parent { id } } } }"
CREATE_RULE = """mutation($input: CategoryRuleInput!) { createCategoryRule(input: $input) {
  rule { id pattern category { id name } } errors { code field } } }"""
UPDATE_RULE = """mutation($input: UpdateCategoryRuleInput!) { updateCategoryRule(input: $input) {
  rule { id pattern field match priority category { name } } errors { code field } } }"""
RULES = "{ categoryRules { id pattern category { id name } } }"
SUMMARY = """{ walletSummary(from: "2026-01-01", to: "2026-12-31") {
  savingsRate topCategories { name amount category { id name parent { id } } } } }"""


async def _transfer(server: RunningServer, token: str, source: dict, target: dict, amount: str) -> dict:
    body = await server.gql(CREATE_TRANSFER, {"input": {"fromAccountId": source["id"], "toAccountId": target["id"],
                                                        "date": "2026-03-01", "amount": amount}}, token=token)
    payload = body["data"]["createTransfer"]
    assert payload["errors"] == [], payload
    return payload


async def test_transfer_legs_link_to_each_other_without_a_query_per_leg(server: RunningServer) -> None:
    user = await signed_in_user(server)
    token = user.access_token
    checking = await create_account(server, token, name="Checking", opening="1000")
    savings = await create_account(server, token, name="Savings")
    await create_txn(server, token, accountId=checking["id"], date="2026-03-01", amount="-5.00")

    counts = []
    for total in (1, 4):
        while len([e for e in (await server.gql(LEGS, token=token))["data"]["transactions"]["edges"]
                   if e["node"]["isTransfer"]]) < 2 * total:
            await _transfer(server, token, checking, savings, "10.00")
        with counting_statements(server) as statements:
            body = await server.gql(LEGS, token=token)
        counts.append(len(statements))
        nodes = [edge["node"] for edge in body["data"]["transactions"]["edges"]]
        for node in nodes:
            other = node["transferCounterpart"]
            if not node["isTransfer"]:
                assert other is None
                continue
            assert other["id"] != node["id"] and other["transferCounterpart"]["id"] == node["id"]
            assert other["amount"] == ("10.00" if node["amount"] == "-10.00" else "-10.00")
            assert other["account"]["name"] == ("Savings" if node["amount"] == "-10.00" else "Checking")
    assert counts[0] == counts[1], counts  # 4 transfers cost what 1 does


async def test_categories_link_to_their_parent_and_rules_are_nodes(server: RunningServer) -> None:
    user = await signed_in_user(server)
    token = user.access_token
    cats = await category_ids(server, token)
    counts = []
    for name in ("Fun", "Hobbies"):
        made = (await server.gql(CREATE_CATEGORY, {"input": {"name": name, "kind": "EXPENSE",
                                                             "parentId": cats["Groceries"]}}, token=token))
        assert made["data"]["createCategory"]["category"]["parent"] == {"id": cats["Groceries"], "name": "Groceries"}
        with counting_statements(server) as statements:
            listed = (await server.gql(CATEGORIES, token=token))["data"]["categories"]
        counts.append(len(statements))
        assert {c["name"]: (c["parent"] or {}).get("name") for c in listed}[name] == "Groceries"
    assert counts[0] == counts[1], counts

    rule = (await server.gql(CREATE_RULE, {"input": {"categoryId": cats["Transport"], "pattern": "uber"}},
                             token=token))["data"]["createCategoryRule"]["rule"]
    assert rule["category"] == {"id": cats["Transport"], "name": "Transport"}
    node = await server.gql("query($id: ID!) { node(id: $id) { id ... on CategoryRule { pattern category { name } } } }",
                            {"id": rule["id"]}, token=token)
    assert node["data"]["node"] == {"id": rule["id"], "pattern": "uber", "category": {"name": "Transport"}}

    # Updates are partial: only what is given changes.
    updated = (await server.gql(UPDATE_RULE, {"input": {"id": rule["id"], "priority": 5}}, token=token)
               )["data"]["updateCategoryRule"]
    assert updated["errors"] == [] and updated["rule"] == {
        "id": rule["id"], "pattern": "uber", "field": "ANY", "match": "CONTAINS", "priority": 5,
        "category": {"name": "Transport"}}
    updated = (await server.gql(UPDATE_RULE, {"input": {"id": rule["id"], "categoryId": cats["Travel"]}}, token=token)
               )["data"]["updateCategoryRule"]
    assert (updated["rule"]["priority"], updated["rule"]["category"]["name"]) == (5, "Travel")

    await server.gql(CREATE_RULE, {"input": {"categoryId": cats["Groceries"], "pattern": "market"}}, token=token)
    rules = (await server.gql(RULES, token=token))["data"]["categoryRules"]
    assert {r["pattern"]: r["category"]["name"] for r in rules} == {"uber": "Travel", "market": "Groceries"}


async def test_wallet_spending_links_to_its_category(server: RunningServer) -> None:
    user = await signed_in_user(server)
    token = user.access_token
    account = await create_account(server, token, opening="100")
    cats = await category_ids(server, token)
    await create_txn(server, token, accountId=account["id"], date="2026-02-01", amount="1000.00", categoryId=cats["Salary"])
    await create_txn(server, token, accountId=account["id"], date="2026-02-02", amount="-30.00", categoryId=cats["Groceries"])
    await create_txn(server, token, accountId=account["id"], date="2026-02-03", amount="-20.00")
    summary = (await server.gql(SUMMARY, token=token))["data"]["walletSummary"]
    assert summary["savingsRate"] == "95.00"  # a percentage, like percentUsed
    assert [(c["name"], c["amount"], c["category"] and c["category"]["id"]) for c in summary["topCategories"]] == [
        ("Groceries", "30.00", cats["Groceries"]), ("Uncategorized", "20.00", None)]

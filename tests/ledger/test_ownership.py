"""A second user gets NOT_FOUND (or null) for every id of the first: queries, node(id:) and mutations."""

from __future__ import annotations

from tests.flows import signed_in_user
from tests.ledger.ledger_flows import (
    CREATE_TRANSFER,
    CREATE_TXN,
    DELETE_TXN,
    ERRORS,
    UPDATE_TXN,
    category_ids,
    create_account,
    create_txn,
)
from tests.server import RunningServer


async def test_second_user_cannot_reach_first_users_ledger(server: RunningServer) -> None:
    ann = await signed_in_user(server)
    bob = await signed_in_user(server)
    ann_account = await create_account(server, ann.access_token, opening="100")
    ann_cats = await category_ids(server, ann.access_token)
    ann_txn = (await create_txn(server, ann.access_token, accountId=ann_account["id"], date="2026-01-01",
                                amount="-10.00", categoryId=ann_cats["Groceries"]))["transaction"]
    bob_account = await create_account(server, bob.access_token)
    bob_token = bob.access_token

    for node_id in (ann_account["id"], ann_txn["id"], ann_cats["Groceries"], ann.user_id):
        body = await server.gql("query($id: ID!) { node(id: $id) { id } }", {"id": node_id}, token=bob_token)
        assert body["data"]["node"] is None, node_id

    listed = await server.gql(
        "query($f: TransactionFilter) { transactions(first: 100, filter: $f) { totalCount } }",
        {"f": {"accountIds": [ann_account["id"]]}}, token=bob_token)
    assert listed["data"]["transactions"]["totalCount"] == 0

    attempts = [
        (CREATE_TXN, {"input": {"accountId": ann_account["id"], "date": "2026-01-02", "amount": "-1.00"}},
         "createTransaction", "accountId"),
        (CREATE_TXN, {"input": {"accountId": bob_account["id"], "date": "2026-01-02", "amount": "-1.00",
                                "categoryId": ann_cats["Groceries"]}}, "createTransaction", "categoryId"),
        (UPDATE_TXN, {"input": {"id": ann_txn["id"], "amount": "-99.00"}}, "updateTransaction", "id"),
        (DELETE_TXN, {"id": ann_txn["id"]}, "deleteTransaction", "id"),
        (CREATE_TRANSFER, {"input": {"fromAccountId": ann_account["id"], "toAccountId": bob_account["id"],
                                     "date": "2026-01-02", "amount": "50.00"}}, "createTransfer", "fromAccountId"),
        (f"mutation($id: ID!) {{ deleteAccount(input: {{id: $id}}) {{ deletedIds {ERRORS} }} }}", {"id": ann_account["id"]},
         "deleteAccount", "id"),
        (f"mutation($id: ID!) {{ updateAccount(input: {{id: $id, name: \"x\"}}) {{ {ERRORS} }} }}",
         {"id": ann_account["id"]}, "updateAccount", "id"),
        (f"mutation($id: ID!) {{ deleteCategory(input: {{id: $id}}) {{ {ERRORS} }} }}", {"id": ann_cats["Groceries"]},
         "deleteCategory", "id"),
    ]
    for query, variables, name, field in attempts:
        payload = (await server.gql(query, variables, token=bob_token))["data"][name]
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [("NOT_FOUND", field)], name

    # Ann's data is untouched.
    mine = await server.gql("{ accounts { currentBalance } transactions(first: 10) { totalCount } }",
                            token=ann.access_token)
    assert mine["data"]["accounts"] == [{"currentBalance": "90.00"}]
    assert mine["data"]["transactions"]["totalCount"] == 1


async def test_ids_of_the_wrong_type_are_not_found(server: RunningServer) -> None:
    user = await signed_in_user(server)
    account = await create_account(server, user.access_token)
    # A category id where an account id belongs.
    cats = await category_ids(server, user.access_token)
    payload = (await server.gql(CREATE_TXN, {"input": {"accountId": cats["Travel"], "date": "2026-01-02",
                                                      "amount": "-1.00"}}, token=user.access_token))
    assert payload["data"]["createTransaction"]["errors"][0]["code"] == "NOT_FOUND"
    assert account["id"]

"""Accounts, transactions and transfers over the real API: exact money, clear errors, nothing half-written."""

from __future__ import annotations

import uuid

from strawberry.relay import GlobalID

from tests.flows import signed_in_user
from tests.ledger.ledger_flows import (
    ACCOUNTS,
    CREATE_ACCOUNT,
    CREATE_TRANSFER,
    CREATE_TXNS,
    DELETE_TXN,
    UPDATE_TXN,
    category_ids,
    create_account,
    create_txn,
)
from tests.server import RunningServer

UPDATE_TXNS = """mutation($items: [UpdateTransactionInput!]!) { updateTransactions(input: {transactions: $items}) {
  transactions { id } errors { code field message } } }"""
DELETE_TXNS = "mutation($ids: [ID!]!) { deleteTransactions(input: {ids: $ids}) { deletedIds errors { code } } }"


async def balances(server: RunningServer, token: str) -> dict[str, str]:
    body = await server.gql(ACCOUNTS, token=token)
    return {a["name"]: a["currentBalance"] for a in body["data"]["accounts"]}


async def test_account_validation(server: RunningServer) -> None:
    user = await signed_in_user(server)
    cases = [
        ({"name": "", "type": "CASH", "currency": "USD"}, ("REQUIRED", "name")),
        ({"name": "X", "type": "CASH", "currency": "USD", "openingBalance": "1.001"}, ("INVALID", "openingBalance")),
        ({"name": "X", "type": "CASH", "currency": "JPY", "openingBalance": "1.5"}, ("INVALID", "openingBalance")),
    ]
    for input, expected in cases:
        payload = (await server.gql(CREATE_ACCOUNT, {"input": input}, token=user.access_token))["data"]["createAccount"]
        assert payload["account"] is None
        assert (payload["errors"][0]["code"], payload["errors"][0]["field"]) == expected
    # A currency is a CurrencyCode: anything but an ISO 4217 code is refused before the mutation runs.
    bad = await server.gql(CREATE_ACCOUNT, {"input": {"name": "X", "type": "CASH", "currency": "XXY"}}, token=user.access_token)
    assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT" and "ISO 4217" in bad["errors"][0]["message"]
    lower = await server.gql(CREATE_ACCOUNT, {"input": {"name": "Y", "type": "CASH", "currency": " eur "}}, token=user.access_token)
    assert lower["data"]["createAccount"]["account"]["currency"] == "EUR"
    accounts = (await server.gql(ACCOUNTS, token=user.access_token))["data"]["accounts"]
    assert [a["name"] for a in accounts] == ["Y"]


async def test_transactions_move_the_balance_exactly(server: RunningServer) -> None:
    user = await signed_in_user(server)
    token = user.access_token
    account = await create_account(server, token, opening="1000.10")
    cats = await category_ids(server, token)

    first = await create_txn(server, token, accountId=account["id"], date="2026-03-01", amount="-0.10",
                             merchant="  Corner   Shop ", categoryId=cats["Groceries"], tags=["Food", "food", " weekly "])
    assert first["errors"] == []
    txn = first["transaction"]
    assert txn["amount"] == "-0.10" and txn["currency"] == "USD"
    assert txn["merchant"] == "Corner Shop" and txn["tags"] == ["food", "weekly"]
    assert txn["category"]["name"] == "Groceries" and txn["account"]["currentBalance"] == "1000.00"

    second = await create_txn(server, token, accountId=account["id"], date="2026-03-02", amount="2500.55",
                              categoryId=cats["Salary"])
    assert second["transaction"]["account"]["currentBalance"] == "3500.55"

    updated = await server.gql(UPDATE_TXN, {"input": {"id": txn["id"], "amount": "-100.00"}}, token=token)
    assert updated["data"]["updateTransaction"]["transaction"]["account"]["currentBalance"] == "3400.65"

    deleted = await server.gql(DELETE_TXN, {"id": second["transaction"]["id"]}, token=token)
    assert deleted["data"]["deleteTransaction"]["deletedIds"] == [second["transaction"]["id"]]
    assert await balances(server, token) == {"Checking": "900.10"}


async def test_transaction_validation_writes_nothing(server: RunningServer) -> None:
    user = await signed_in_user(server)
    token = user.access_token
    account = await create_account(server, token)
    cases = [
        ({"amount": "1.234"}, ("INVALID", "amount")),
        ({"amount": "0"}, ("INVALID", "amount")),
        ({"amount": "1000000000000"}, ("INVALID", "amount")),  # NaN never gets here: tests/api/test_bad_input.py
        ({"date": "1850-01-01"}, ("INVALID", "date")),
        ({"merchant": "m" * 201}, ("INVALID", "merchant")),
        ({"tags": [f"t{i}" for i in range(21)]}, ("INVALID", "tags")),
        ({"accountId": "QWNjb3VudDowMDAwMDAwMC0wMDAwLTAwMDAtMDAwMC0wMDAwMDAwMDAwMDE="}, ("NOT_FOUND", "accountId")),
    ]
    for overrides, expected in cases:
        input = {"accountId": account["id"], "date": "2026-03-01", "amount": "-5.00", **overrides}
        payload = await create_txn(server, token, **input)
        assert payload["transaction"] is None, overrides
        assert (payload["errors"][0]["code"], payload["errors"][0]["field"]) == expected, overrides
    assert await balances(server, token) == {"Checking": "0.00"}


async def test_bulk_create_is_all_or_nothing(server: RunningServer) -> None:
    user = await signed_in_user(server)
    token = user.access_token
    account = await create_account(server, token)
    items = [{"accountId": account["id"], "date": "2026-01-05", "amount": f"-{i}.00"} for i in range(1, 6)]
    items[3]["amount"] = "-1.999"
    failed = (await server.gql(CREATE_TXNS, {"items": items}, token=token))["data"]["createTransactions"]
    assert failed["transactions"] == []
    assert [(e["code"], e["field"]) for e in failed["errors"]] == [("INVALID", "transactions.3.amount")]

    # Every problem of the input comes back at once, in input order, not only the first.
    broken = [dict(item) for item in items]
    broken[0].update(date="1800-01-01", tags=["x" * 41])
    broken[2]["categoryId"] = account["id"]  # an id of another type
    broken[4]["accountId"] = str(GlobalID("Category", str(uuid.uuid4())))
    many = (await server.gql(CREATE_TXNS, {"items": broken}, token=token))["data"]["createTransactions"]
    assert [(e["code"], e["field"]) for e in many["errors"]] == [  # ids first, while decoding them
        ("NOT_FOUND", "transactions.2.categoryId"), ("NOT_FOUND", "transactions.4.accountId"),
    ]
    del broken[2]["categoryId"]
    broken[4]["accountId"] = str(GlobalID("Account", str(uuid.uuid4())))
    many = (await server.gql(CREATE_TXNS, {"items": broken}, token=token))["data"]["createTransactions"]
    assert [(e["code"], e["field"]) for e in many["errors"]] == [
        ("INVALID", "transactions.0.date"), ("INVALID", "transactions.0.tags"), ("INVALID", "transactions.3.amount"),
        ("NOT_FOUND", "transactions.4.accountId"),
    ]
    done_rows = (await server.gql(CREATE_TXNS, {"items": items[:2]}, token=token))["data"]["createTransactions"]
    first_id, second_id = (row["id"] for row in done_rows["transactions"])
    changes = [{"id": first_id, "amount": "-1.001", "tags": ["y" * 41]}, {"id": second_id, "date": "2300-01-01"}]
    updated = (await server.gql(UPDATE_TXNS, {"items": changes}, token=token))["data"]["updateTransactions"]
    assert [(e["code"], e["field"]) for e in updated["errors"]] == [
        ("INVALID", "transactions.0.amount"), ("INVALID", "transactions.0.tags"), ("INVALID", "transactions.1.date")]
    await server.gql(DELETE_TXNS, {"ids": [first_id, second_id]}, token=token)
    bad_account = (await server.gql(CREATE_ACCOUNT, {"input": {"name": " ", "type": "CASH", "currency": "JPY",
                                                               "openingBalance": "1.5"}}, token=token))
    assert [(e["code"], e["field"]) for e in bad_account["data"]["createAccount"]["errors"]] == [
        ("REQUIRED", "name"), ("INVALID", "openingBalance")]
    assert await balances(server, token) == {"Checking": "0.00"}

    items[3]["amount"] = "-4.00"
    done = (await server.gql(CREATE_TXNS, {"items": items}, token=token))["data"]["createTransactions"]
    assert len(done["transactions"]) == 5
    assert await balances(server, token) == {"Checking": "-15.00"}

    too_many = [{"accountId": account["id"], "date": "2026-01-05", "amount": "-1.00"}] * 101
    refused = (await server.gql(CREATE_TXNS, {"items": too_many}, token=token))["data"]["createTransactions"]
    assert refused["errors"][0]["code"] == "INVALID"


async def test_external_ids_are_unique_per_account(server: RunningServer) -> None:
    user = await signed_in_user(server)
    account = await create_account(server, user.access_token)
    input = {"accountId": account["id"], "date": "2026-01-05", "amount": "-1.00", "externalId": "bank-1"}
    assert (await create_txn(server, user.access_token, **input))["errors"] == []
    again = await create_txn(server, user.access_token, **input)
    assert (again["errors"][0]["code"], again["errors"][0]["field"]) == ("ALREADY_EXISTS", "externalId")


async def test_transfers_move_money_between_own_accounts(server: RunningServer) -> None:
    user = await signed_in_user(server)
    token = user.access_token
    checking = await create_account(server, token, name="Checking", opening="500")
    savings = await create_account(server, token, name="Savings", type="SAVINGS")
    euro = await create_account(server, token, name="Euro", currency="EUR")

    moved = await server.gql(CREATE_TRANSFER, {"input": {
        "fromAccountId": checking["id"], "toAccountId": savings["id"], "date": "2026-02-01", "amount": "200.00"}},
        token=token)
    transfer = moved["data"]["createTransfer"]
    assert transfer["errors"] == []
    assert transfer["outflow"]["amount"] == "-200.00" and transfer["inflow"]["amount"] == "200.00"
    assert transfer["outflow"]["isTransfer"] is True

    missing = await server.gql(CREATE_TRANSFER, {"input": {
        "fromAccountId": checking["id"], "toAccountId": euro["id"], "date": "2026-02-01", "amount": "100.00"}},
        token=token)
    assert missing["data"]["createTransfer"]["errors"][0]["field"] == "receivedAmount"
    fx = await server.gql(CREATE_TRANSFER, {"input": {
        "fromAccountId": checking["id"], "toAccountId": euro["id"], "date": "2026-02-01", "amount": "100.00",
        "receivedAmount": "91.37"}}, token=token)
    assert fx["data"]["createTransfer"]["errors"] == []
    assert await balances(server, token) == {"Checking": "200.00", "Savings": "200.00", "Euro": "91.37"}

    # Deleting one leg deletes both.
    deleted = await server.gql(DELETE_TXN, {"id": transfer["inflow"]["id"]}, token=token)
    assert len(deleted["data"]["deleteTransaction"]["deletedIds"]) == 2
    assert await balances(server, token) == {"Checking": "400.00", "Savings": "0.00", "Euro": "91.37"}

    # A transfer's amount cannot be edited leg by leg.
    edit = await server.gql(UPDATE_TXN, {"input": {"id": fx["data"]["createTransfer"]["inflow"]["id"], "amount": "1.00"}},
                            token=token)
    assert edit["data"]["updateTransaction"]["errors"][0]["code"] == "INVALID"

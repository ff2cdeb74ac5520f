"""GraphQL helpers for ledger tests: accounts, categories, transactions through the real API."""

from __future__ import annotations

from typing import Any

from tests.server import RunningServer

ERRORS = "errors { code field message }"
TXN_FIELDS = "id date amount currency merchant description notes tags externalId isTransfer account { id name currentBalance } category { id name }"

CREATE_ACCOUNT = f"""mutation($input: CreateAccountInput!) {{ createAccount(input: $input) {{
  account {{ id name type currency openingBalance currentBalance archived }} {ERRORS} }} }}"""
CREATE_TXN = f"""mutation($input: CreateTransactionInput!) {{ createTransaction(input: $input) {{
  transaction {{ {TXN_FIELDS} }} {ERRORS} }} }}"""
CREATE_TXNS = f"""mutation($items: [CreateTransactionInput!]!) {{ createTransactions(input: {{transactions: $items}}) {{
  transactions {{ id amount category {{ name }} }} {ERRORS} }} }}"""
UPDATE_TXN = f"""mutation($input: UpdateTransactionInput!) {{ updateTransaction(input: $input) {{
  transaction {{ {TXN_FIELDS} }} {ERRORS} }} }}"""
UPDATE_ACCOUNT = f"""mutation($input: UpdateAccountInput!) {{ updateAccount(input: $input) {{
  account {{ id currentBalance }} {ERRORS} }} }}"""
DELETE_TXN = f"mutation($id: ID!) {{ deleteTransaction(input: {{id: $id}}) {{ deletedIds {ERRORS} }} }}"
CREATE_TRANSFER = f"""mutation($input: CreateTransferInput!) {{ createTransfer(input: $input) {{
  outflow {{ id amount isTransfer account {{ currentBalance }} }} inflow {{ id amount account {{ currentBalance }} }} {ERRORS} }} }}"""
CATEGORIES = "query($kind: CategoryKind) { categories(kind: $kind) { id name kind } }"
ACCOUNTS = "{ accounts(includeArchived: true) { id name currentBalance archived } }"


async def create_account(server: RunningServer, token: str, *, name: str = "Checking", currency: str = "USD",
                         opening: str = "0", type: str = "CHECKING") -> dict[str, Any]:
    body = await server.gql(CREATE_ACCOUNT, {"input": {"name": name, "type": type, "currency": currency,
                                                      "openingBalance": opening}}, token=token)
    payload = body["data"]["createAccount"]
    assert payload["errors"] == [], payload
    return payload["account"]


async def create_txn(server: RunningServer, token: str, **input: Any) -> dict[str, Any]:
    body = await server.gql(CREATE_TXN, {"input": input}, token=token)
    return body["data"]["createTransaction"]


async def category_ids(server: RunningServer, token: str) -> dict[str, str]:
    body = await server.gql(CATEGORIES, token=token)
    return {c["name"]: c["id"] for c in body["data"]["categories"]}

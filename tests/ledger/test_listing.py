"""Listing transactions: filters, orders, cursors both ways, totalCount, and the SQL it costs."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
from sqlalchemy import event

from tests.flows import signed_in_user
from tests.ledger.ledger_flows import CREATE_TXNS, category_ids, create_account
from tests.server import RunningServer

LIST = """query($first: Int, $after: String, $last: Int, $before: String, $filter: TransactionFilter, $order: TransactionOrder) {
  transactions(first: $first, after: $after, last: $last, before: $before, filter: $filter, orderBy: $order) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id date amount merchant tags account { name } category { name } } }
  } }"""


@pytest.fixture(scope="module")
async def ledger(server: RunningServer) -> dict:
    """One user with 30 transactions over two accounts, three categories and some tags."""
    user = await signed_in_user(server)
    token = user.access_token
    checking = await create_account(server, token, name="Checking")
    card = await create_account(server, token, name="Card", type="CREDIT_CARD")
    cats = await category_ids(server, token)
    items = []
    for i in range(30):
        items.append({
            "accountId": checking["id"] if i % 3 else card["id"],
            "date": f"2026-01-{i + 1:02d}",
            "amount": f"{'-' if i % 5 else ''}{i + 1}.25",
            "categoryId": cats["Salary"] if i % 5 == 0 else (cats["Groceries"] if i % 2 else cats["Restaurants"]),
            "merchant": "Starbucks Coffee" if i % 7 == 0 else f"Shop {i}",
            "description": "latte" if i % 7 == 0 else "",
            "tags": ["work"] if i % 4 == 0 else [],
        })
    created = (await server.gql(CREATE_TXNS, {"items": items}, token=token))["data"]["createTransactions"]
    assert created["errors"] == []
    return {"token": token, "checking": checking, "card": card, "cats": cats}


async def page(server: RunningServer, ledger: dict, **variables) -> dict:
    body = await server.gql(LIST, variables, token=ledger["token"])
    assert "errors" not in body, body
    return body["data"]["transactions"]


async def test_default_order_is_newest_first_with_total(server: RunningServer, ledger: dict) -> None:
    result = await page(server, ledger, first=5)
    assert result["totalCount"] == 30
    assert [e["node"]["date"] for e in result["edges"]] == [f"2026-01-{d}" for d in (30, 29, 28, 27, 26)]
    assert result["pageInfo"]["hasNextPage"] is True and result["pageInfo"]["hasPreviousPage"] is False


async def test_cursors_walk_forward_and_back_without_gaps(server: RunningServer, ledger: dict) -> None:
    seen: list[str] = []
    after = None
    while True:
        result = await page(server, ledger, first=7, after=after, order="AMOUNT_ASC")
        seen += [e["node"]["id"] for e in result["edges"]]
        if not result["pageInfo"]["hasNextPage"]:
            break
        after = result["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen)) == 30
    back = await page(server, ledger, last=7, before=result["edges"][0]["cursor"], order="AMOUNT_ASC")
    assert [e["node"]["id"] for e in back["edges"]] == seen[-len(result["edges"]) - 7 : -len(result["edges"])]
    assert back["pageInfo"]["hasNextPage"] is True


async def test_filters(server: RunningServer, ledger: dict) -> None:
    cats = ledger["cats"]
    cases = [
        ({"dateFrom": "2026-01-10", "dateTo": "2026-01-12"}, 3),
        ({"accountIds": [ledger["card"]["id"]]}, 10),
        ({"categoryIds": [cats["Salary"]]}, 6),
        ({"direction": "INCOME"}, 6),
        ({"direction": "EXPENSE"}, 24),
        ({"amountMin": "-5.25", "amountMax": "-2"}, 4),
        ({"tags": ["WORK"]}, 8),
        ({"search": "starb"}, 5),
        ({"search": "latte star"}, 5),
        ({"search": "nothing-like-this"}, 0),
        ({"categoryIds": [cats["Groceries"]], "dateFrom": "2026-01-20"}, 5),
    ]
    for spec, expected in cases:
        result = await page(server, ledger, first=100, filter=spec)
        assert result["totalCount"] == len(result["edges"]) == expected, spec


async def test_bad_arguments_are_named(server: RunningServer, ledger: dict) -> None:
    too_many = await server.gql(LIST, {"first": 101}, token=ledger["token"])
    assert too_many["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "first"}
    wrong_cursor = await server.gql(LIST, {"first": 5, "after": "bm90LWEtY3Vyc29y"}, token=ledger["token"])
    assert wrong_cursor["errors"][0]["extensions"]["field"] == "after"
    # A cursor from another order is refused, not misread.
    by_amount = await page(server, ledger, first=1, order="AMOUNT_ASC")
    mixed = await server.gql(LIST, {"first": 5, "after": by_amount["pageInfo"]["endCursor"]}, token=ledger["token"])
    assert mixed["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


@contextlib.contextmanager
def counting_statements(server: RunningServer) -> Iterator[list[str]]:
    statements: list[str] = []
    engine = server.runtime.engine.sync_engine

    def record(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


@pytest.mark.parametrize("size", [100, 10])
async def test_nested_page_costs_at_most_four_statements(server: RunningServer, ledger: dict, size: int) -> None:
    query = f"{{ transactions(first: {size}) {{ edges {{ node {{ account {{ name }} category {{ name }} }} }} }} }}"
    with counting_statements(server) as statements:
        body = await server.gql(query, token=ledger["token"])
    assert len(body["data"]["transactions"]["edges"]) == min(size, 30)
    assert all(e["node"]["account"]["name"] for e in body["data"]["transactions"]["edges"])
    assert len(statements) <= 4, statements
    assert sum("FROM transaction" in statement for statement in statements) == 1, statements  # the page itself is counted


async def test_nested_objects_are_loaded_when_selected_through_fragments_only(server: RunningServer, ledger: dict) -> None:
    query = """query { transactions(first: 3) { ...Page } }
      fragment Page on TransactionConnection { edges { node { ... on Transaction { account { name } } ...Labels } } }
      fragment Labels on Transaction { category { name } }"""
    with counting_statements(server) as statements:
        body = await server.gql(query, token=ledger["token"])
    nodes = [edge["node"] for edge in body["data"]["transactions"]["edges"]]
    assert all(node["account"]["name"] and node["category"]["name"] for node in nodes), body
    assert len(statements) == 3, statements  # the page, its accounts, its categories

    with counting_statements(server) as statements:
        body = await server.gql("{ transactions(first: 3) { edges { node { amount } } } }", token=ledger["token"])
    assert len(body["data"]["transactions"]["edges"]) == 3
    assert len(statements) == 1, statements  # nothing nested asked for, nothing nested loaded

"""Budgets over HTTP: create, read, update, delete, copy; validation with code and field, nothing half-written."""

from __future__ import annotations

from finora_gql.budgets.models import Budget
from tests.budgets.budget_flows import (
    BUDGETS,
    COPY_BUDGETS,
    CREATE_BUDGET,
    DELETE_BUDGET,
    NODE,
    UPDATE_BUDGET,
    count_rows,
    create_budget,
    errors_of,
    mutate,
    query,
)
from tests.flows import signed_in_user
from tests.ledger.ledger_flows import category_ids, create_account
from tests.server import RunningServer


async def test_create_read_update_delete(server: RunningServer) -> None:
    user = await signed_in_user(server)
    token = user.access_token
    cats = await category_ids(server, token)

    budget = await create_budget(server, token, month="2031-03-17", categoryId=cats["Groceries"], limit="500",
                                 rollover=True)
    assert budget["month"] == "2031-03-01"  # any day names its month
    assert budget["limit"] == "500.00"
    assert budget["rollover"] is True
    assert budget["category"] == {"id": cats["Groceries"], "name": "Groceries"}
    await create_budget(server, token, month="2031-03-01", categoryId=cats["Fuel"], limit="80.5")

    listed = (await query(server, token, BUDGETS, {"month": "2031-03-31"}))["budgets"]
    assert [(b["category"]["name"], b["limit"]) for b in listed] == [("Fuel", "80.50"), ("Groceries", "500.00")]
    assert (await query(server, token, BUDGETS, {"month": "2031-04-01"}))["budgets"] == []
    node = (await query(server, token, NODE, {"id": budget["id"]}))["node"]
    assert node == {"__typename": "Budget", "id": budget["id"]}

    updated = await mutate(server, token, UPDATE_BUDGET, {"input": {"id": budget["id"], "limit": "650.25",
                                                                     "rollover": False}}, "updateBudget")
    assert updated["errors"] == []
    assert (updated["budget"]["limit"], updated["budget"]["rollover"]) == ("650.25", False)
    moved = await mutate(server, token, UPDATE_BUDGET, {"input": {"id": budget["id"], "month": "2031-05-09",
                                                                   "categoryId": cats["Travel"]}}, "updateBudget")
    assert moved["errors"] == []
    assert (moved["budget"]["month"], moved["budget"]["category"]["name"]) == ("2031-05-01", "Travel")

    deleted = await mutate(server, token, DELETE_BUDGET, {"id": budget["id"]}, "deleteBudget")
    assert deleted == {"deletedIds": [budget["id"]], "errors": []}
    again = await mutate(server, token, DELETE_BUDGET, {"id": budget["id"]}, "deleteBudget")
    assert errors_of(again) == [("NOT_FOUND", "id")]
    assert (await query(server, token, NODE, {"id": budget["id"]}))["node"] is None


async def test_create_validation_writes_nothing(server: RunningServer) -> None:
    user = await signed_in_user(server)
    token = user.access_token
    cats = await category_ids(server, token)
    account = await create_account(server, token)
    await create_budget(server, token, month="2031-03-01", categoryId=cats["Groceries"], limit="100")

    cases = [
        ({"categoryId": cats["Restaurants"], "limit": "0"}, ("INVALID", "limit")),
        ({"categoryId": cats["Restaurants"], "limit": "-5"}, ("INVALID", "limit")),
        ({"categoryId": cats["Restaurants"], "limit": "1.001"}, ("INVALID", "limit")),  # USD has 2 decimals
        ({"categoryId": cats["Restaurants"], "limit": "10000000000000"}, ("INVALID", "limit")),
        ({"categoryId": cats["Salary"], "limit": "10"}, ("INVALID", "categoryId")),  # an INCOME category
        ({"categoryId": cats["Transfers"], "limit": "10"}, ("INVALID", "categoryId")),
        ({"categoryId": account["id"], "limit": "10"}, ("NOT_FOUND", "categoryId")),  # an id of another type
        ({"categoryId": cats["Groceries"], "limit": "10"}, ("ALREADY_EXISTS", "categoryId")),
        ({"categoryId": cats["Restaurants"], "limit": "10", "month": "2300-01-01"}, ("INVALID", "month")),
    ]
    for fields, expected in cases:
        payload = await mutate(server, token, CREATE_BUDGET, {"input": {"month": "2031-03-05", **fields}}, "createBudget")
        assert payload["budget"] is None
        assert errors_of(payload) == [expected], (fields, payload)
    several = await mutate(server, token, CREATE_BUDGET, {"input": {"month": "2300-01-01", "categoryId": cats["Salary"],
                                                                 "limit": "-5"}}, "createBudget")
    assert errors_of(several) == [("INVALID", "month"), ("INVALID", "categoryId"), ("INVALID", "limit")]  # all at once
    assert await count_rows(server, Budget, user.user_id) == 1
    bad_month = await server.gql(BUDGETS, {"month": "2300-01-01"}, token=token)
    assert bad_month["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "month"}


async def test_update_conflicts_and_validation_leave_the_budget_as_it_was(server: RunningServer) -> None:
    user = await signed_in_user(server)
    token = user.access_token
    cats = await category_ids(server, token)
    march = await create_budget(server, token, month="2031-03-01", categoryId=cats["Groceries"], limit="100")
    await create_budget(server, token, month="2031-04-01", categoryId=cats["Groceries"], limit="110")
    await create_budget(server, token, month="2031-03-01", categoryId=cats["Health"], limit="120")

    cases = [
        ({"month": "2031-04-20"}, ("ALREADY_EXISTS", "month")),
        ({"categoryId": cats["Health"]}, ("ALREADY_EXISTS", "categoryId")),
        ({"categoryId": cats["Freelance"]}, ("INVALID", "categoryId")),
        ({"limit": "0", "rollover": True}, ("INVALID", "limit")),
        ({"limit": "5", "month": "1800-01-01"}, ("INVALID", "month")),
    ]
    for fields, expected in cases:
        payload = await mutate(server, token, UPDATE_BUDGET, {"input": {"id": march["id"], **fields}}, "updateBudget")
        assert errors_of(payload) == [expected], (fields, payload)
    listed = (await query(server, token, BUDGETS, {"month": "2031-03-01"}))["budgets"]
    assert {b["id"]: (b["limit"], b["rollover"], b["updatedAt"]) for b in listed}[march["id"]] == (
        "100.00", False, march["updatedAt"])


async def test_copy_budgets_into_next_month_skips_existing(server: RunningServer) -> None:
    user = await signed_in_user(server)
    token = user.access_token
    cats = await category_ids(server, token)
    for name, limit, rollover in (("Groceries", "400", True), ("Rent & Mortgage", "1200", False), ("Fuel", "60", True)):
        await create_budget(server, token, month="2031-06-01", categoryId=cats[name], limit=limit, rollover=rollover)
    await create_budget(server, token, month="2031-07-01", categoryId=cats["Fuel"], limit="75")

    copied = await mutate(server, token, COPY_BUDGETS, {"from": "2031-06-15", "to": "2031-07-31"}, "copyBudgets")
    assert copied["errors"] == []
    assert copied["skipped"] == 1
    assert [(b["month"], b["category"]["name"], b["limit"], b["rollover"]) for b in copied["budgets"]] == [
        ("2031-07-01", "Groceries", "400.00", True), ("2031-07-01", "Rent & Mortgage", "1200.00", False)]
    july = (await query(server, token, BUDGETS, {"month": "2031-07-01"}))["budgets"]
    assert [(b["category"]["name"], b["limit"]) for b in july] == [
        ("Fuel", "75.00"), ("Groceries", "400.00"), ("Rent & Mortgage", "1200.00")]

    # Copying again finds everything there already; an empty month copies nothing.
    again = await mutate(server, token, COPY_BUDGETS, {"from": "2031-06-01", "to": "2031-07-01"}, "copyBudgets")
    assert (again["budgets"], again["skipped"], again["errors"]) == ([], 3, [])
    empty = await mutate(server, token, COPY_BUDGETS, {"from": "2030-01-01", "to": "2031-07-01"}, "copyBudgets")
    assert (empty["budgets"], empty["skipped"], empty["errors"]) == ([], 0, [])
    same = await mutate(server, token, COPY_BUDGETS, {"from": "2031-06-01", "to": "2031-06-30"}, "copyBudgets")
    assert errors_of(same) == [("INVALID", "toMonth")]
    assert await count_rows(server, Budget, user.user_id) == 6

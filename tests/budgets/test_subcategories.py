"""Budgets cover their category's subcategories (to any depth); totals count each category once;
a category cannot become its own ancestor."""

from __future__ import annotations

from tests.budgets.budget_flows import BUDGET_STATUS, SIMULATE, create_budget, errors_of, mutate, query
from tests.flows import signed_in_user
from tests.ledger.ledger_flows import category_ids, create_account, create_txn
from tests.server import RunningServer

CATEGORY = "category { id name parent { id name parent { id } } } errors { code field message }"
CREATE_CATEGORY = f"mutation($input: CreateCategoryInput!) {{ createCategory(input: $input) {{ {CATEGORY} }} }}"
UPDATE_CATEGORY = f"mutation($input: UpdateCategoryInput!) {{ updateCategory(input: $input) {{ {CATEGORY} }} }}"


async def test_a_budget_covers_its_subcategories_and_totals_count_each_once(server: RunningServer) -> None:
    user = await signed_in_user(server)
    token = user.access_token
    cats = await category_ids(server, token)
    food = (await mutate(server, token, CREATE_CATEGORY, {"input": {"name": "Food", "kind": "EXPENSE"}},
                         "createCategory"))["category"]["id"]
    for name in ("Groceries", "Restaurants"):
        moved = await mutate(server, token, UPDATE_CATEGORY, {"input": {"id": cats[name], "parentId": food}}, "updateCategory")
        assert moved["errors"] == [], moved
    snacks_category = (await mutate(server, token, CREATE_CATEGORY, {"input": {
        "name": "Snacks", "kind": "EXPENSE", "parentId": cats["Groceries"]}}, "createCategory"))["category"]
    snacks = snacks_category["id"]
    # Links, not ids: a subcategory's parent is the category itself, and its parent in turn.
    assert snacks_category["parent"] == {"id": cats["Groceries"], "name": "Groceries", "parent": {"id": food}}

    # Food <- Groceries <- Snacks: making Food a child of Snacks would close a loop two levels down.
    looped = await mutate(server, token, UPDATE_CATEGORY, {"input": {"id": food, "parentId": snacks}}, "updateCategory")
    assert errors_of(looped) == [("INVALID", "parentId")]

    account = await create_account(server, token, opening="1000")
    for category, amount in ((food, "-5.00"), (cats["Groceries"], "-100.00"), (cats["Restaurants"], "-40.00"),
                             (snacks, "-10.00"), (cats["Rent & Mortgage"], "-700.00")):
        made = await create_txn(server, token, accountId=account["id"], date="2031-09-10", amount=amount, categoryId=category)
        assert made["errors"] == [], made
    for category, limit in ((food, "300"), (cats["Groceries"], "120"), (cats["Rent & Mortgage"], "800")):
        await create_budget(server, token, month="2031-09-01", categoryId=category, limit=limit)

    status = (await query(server, token, BUDGET_STATUS, {"month": "2031-09-01"}))["budgetStatus"]
    lines = {line["category"]["name"]: (line["spent"], line["remaining"]) for line in status["lines"]}
    assert lines == {"Food": ("155.00", "145.00"),  # 5 + Groceries 100 + Snacks 10 + Restaurants 40
                     "Groceries": ("110.00", "10.00"),  # 100 + Snacks 10
                     "Rent & Mortgage": ("700.00", "100.00")}
    # Groceries is inside Food's line already: the totals are Food's and Rent's.
    assert (status["totalLimit"], status["totalSpent"], status["totalRemaining"]) == ("1100.00", "855.00", "245.00")

    simulated = (await query(server, token, SIMULATE, {"input": {"categoryId": food, "month": "2031-12-01",
                                                                   "newLimit": "100"}}))["simulateBudget"]["simulation"]
    assert simulated["averageSpending"] == "51.67"  # 155 over the 3 months before December

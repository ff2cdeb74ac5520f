"""A second user gets NOT_FOUND (or null, or nothing) for every budget and goal id of the first."""

from __future__ import annotations

from tests.budgets.budget_flows import (
    ADD_CONTRIBUTION,
    BUDGET_STATUS,
    BUDGETS,
    COPY_BUDGETS,
    CREATE_BUDGET,
    CREATE_GOAL,
    DELETE_BUDGET,
    DELETE_CONTRIBUTION,
    DELETE_GOAL,
    GOAL,
    GOALS,
    NODE,
    SIMULATE,
    UPDATE_BUDGET,
    UPDATE_GOAL,
    create_budget,
    errors_of,
    mutate,
    query,
    row_counts,
)
from tests.flows import signed_in_user
from tests.ledger.ledger_flows import category_ids, create_account
from tests.server import RunningServer


async def test_second_user_cannot_reach_first_users_plans(server: RunningServer) -> None:
    ann = await signed_in_user(server)
    bob = await signed_in_user(server)
    ann_cats = await category_ids(server, ann.access_token)
    bob_cats = await category_ids(server, bob.access_token)
    ann_account = await create_account(server, ann.access_token, name="Ann savings")
    budget = await create_budget(server, ann.access_token, month="2031-03-01", categoryId=ann_cats["Groceries"],
                                 limit="100")
    goal = (await mutate(server, ann.access_token, CREATE_GOAL, {"input": {
        "name": "Ann's", "targetAmount": "500", "accountId": ann_account["id"]}}, "createGoal"))["goal"]
    contribution = (await mutate(server, ann.access_token, ADD_CONTRIBUTION, {"input": {
        "goalId": goal["id"], "amount": "50"}}, "addGoalContribution"))["contribution"]
    bob_goal = (await mutate(server, bob.access_token, CREATE_GOAL, {"input": {"name": "Bob's", "targetAmount": "9"}},
                             "createGoal"))["goal"]
    token = bob.access_token
    before = await row_counts(server)

    for node_id in (budget["id"], goal["id"], contribution["id"]):
        assert (await query(server, token, NODE, {"id": node_id}))["node"] is None, node_id
    assert (await query(server, token, GOAL, {"id": goal["id"]}))["goal"] is None
    assert [g["id"] for g in (await query(server, token, GOALS))["goals"]] == [bob_goal["id"]]
    assert (await query(server, token, BUDGETS, {"month": "2031-03-01"}))["budgets"] == []
    assert (await query(server, token, BUDGET_STATUS, {"month": "2031-03-01"}))["budgetStatus"]["lines"] == []

    for variables, field in (({"budgetId": budget["id"], "newLimit": "10"}, "budgetId"),
                             ({"categoryId": ann_cats["Groceries"], "newLimit": "10"}, "categoryId")):
        payload = (await query(server, token, SIMULATE, {"input": variables}))["simulateBudget"]
        assert (errors_of(payload), payload["simulation"]) == ([("NOT_FOUND", field)], None)

    attempts = [
        (CREATE_BUDGET, {"input": {"month": "2031-03-01", "categoryId": ann_cats["Restaurants"], "limit": "1"}},
         "createBudget", "categoryId"),
        (UPDATE_BUDGET, {"input": {"id": budget["id"], "limit": "1"}}, "updateBudget", "id"),
        (DELETE_BUDGET, {"id": budget["id"]}, "deleteBudget", "id"),
        (CREATE_GOAL, {"input": {"name": "x", "targetAmount": "1", "accountId": ann_account["id"]}}, "createGoal",
         "accountId"),
        (UPDATE_GOAL, {"input": {"id": goal["id"], "name": "mine"}}, "updateGoal", "id"),
        (UPDATE_GOAL, {"input": {"id": bob_goal["id"], "accountId": ann_account["id"]}}, "updateGoal", "accountId"),
        (DELETE_GOAL, {"id": goal["id"]}, "deleteGoal", "id"),
        (ADD_CONTRIBUTION, {"input": {"goalId": goal["id"], "amount": "5"}}, "addGoalContribution", "goalId"),
        (DELETE_CONTRIBUTION, {"id": contribution["id"]}, "deleteGoalContribution", "id"),
    ]
    for text, variables, name, field in attempts:
        payload = await mutate(server, token, text, variables, name)
        assert errors_of(payload) == [("NOT_FOUND", field)], name

    # Copying "Ann's month" copies Bob's own (none); Bob's budget of his own category works as usual.
    copied = await mutate(server, token, COPY_BUDGETS, {"from": "2031-03-01", "to": "2031-04-01"}, "copyBudgets")
    assert (copied["budgets"], copied["skipped"], copied["errors"]) == ([], 0, [])
    assert await row_counts(server) == before
    mine = await create_budget(server, token, month="2031-03-01", categoryId=bob_cats["Groceries"], limit="7")
    assert mine["category"]["id"] == bob_cats["Groceries"]

    # Ann's plans are untouched.
    assert [(b["id"], b["limit"]) for b in (await query(server, ann.access_token, BUDGETS, {"month": "2031-03-01"}))[
        "budgets"]] == [(budget["id"], "100.00")]
    ann_goal = (await query(server, ann.access_token, GOAL, {"id": goal["id"]}))["goal"]
    assert (ann_goal["name"], [c["id"] for c in ann_goal["contributions"]]) == ("Ann's", [contribution["id"]])

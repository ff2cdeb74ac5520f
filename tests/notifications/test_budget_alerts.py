"""Crossing 80% and then 100% of a month's budget notifies once each, in the app and by email."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal

from finora_gql.budgets import service as budgets
from finora_gql.core.db import atomic
from finora_gql.core.viewer import Viewer
from tests.flows import node_uuid, signed_in_user
from tests.ledger.ledger_flows import category_ids, create_account, create_txn
from tests.server import RunningServer
from tests.smtp_sink import SmtpSink

ALERTS = "{ notifications(first: 10) { edges { node { kind title body data } } } }"


async def alerts(server: RunningServer, token: str) -> list[dict]:
    edges = (await server.gql(ALERTS, token=token))["data"]["notifications"]["edges"]
    return [e["node"] for e in edges if e["node"]["kind"] == "BUDGET_THRESHOLD"]


async def wait_alerts(server: RunningServer, token: str, expected: int) -> list[dict]:
    """The check runs as a background job after the write commits."""
    for _ in range(100):
        if len(found := await alerts(server, token)) >= expected:
            return found
        await asyncio.sleep(0.05)
    return found


async def test_thresholds_fire_once_each(server: RunningServer, smtp_sink: SmtpSink) -> None:
    user = await signed_in_user(server)
    token = user.access_token
    account = await create_account(server, token)
    groceries = (await category_ids(server, token))["Groceries"]
    viewer = Viewer.acting_for(node_uuid(user.user_id))
    async with server.runtime.sessions() as session, atomic(session):
        await budgets.create_budget(session, viewer, month=dt.date(2026, 5, 1), category_id=node_uuid(groceries),
                                    limit=Decimal("100.00"), rollover=False)
    spend = {"accountId": account["id"], "date": "2026-05-10", "categoryId": groceries}

    await create_txn(server, token, **spend, amount="-50.00")
    await asyncio.sleep(0.3)
    assert await alerts(server, token) == []
    await create_txn(server, token, **spend, amount="-35.00")  # 85%
    first = await wait_alerts(server, token, 1)
    assert [a["data"]["threshold"] for a in first] == [80]
    assert first[0]["body"].startswith("You have spent $85.00 of $100.00 ("), first[0]["body"]  # for people
    budget_id = (await server.gql('query { budgets(month: "2026-05-01") { id } }', token=token))["data"]["budgets"][0]["id"]
    assert first[0]["data"]["budgetId"] == budget_id  # a global id, not the raw UUID
    await create_txn(server, token, **spend, amount="-1.00")  # still past 80%: no second 80% alert
    await create_txn(server, token, **spend, amount="-20.00")  # 106%
    both = await wait_alerts(server, token, 2)
    assert sorted(a["data"]["threshold"] for a in both) == [80, 100]
    await asyncio.sleep(0.3)
    assert len(await alerts(server, token)) == 2
    await smtp_sink.wait_for(lambda m: m["To"] == user.email and "exceeded" in m["Subject"])


async def test_reaching_a_goal_notifies_once(server: RunningServer, smtp_sink: SmtpSink) -> None:
    from tests.budgets.budget_flows import ADD_CONTRIBUTION, CREATE_GOAL

    user = await signed_in_user(server)
    token = user.access_token
    goal = (await server.gql(CREATE_GOAL, {"input": {"name": "Bike", "targetAmount": "500.00"}}, token=token))
    goal_id = goal["data"]["createGoal"]["goal"]["id"]
    results = []
    for amount in ("300.00", "250.00", "10.00"):
        body = await server.gql(ADD_CONTRIBUTION, {"input": {"goalId": goal_id, "amount": amount}}, token=token)
        results.append(body["data"]["addGoalContribution"]["goalReached"])
    assert results == [False, True, False]
    edges = (await server.gql(ALERTS, token=token))["data"]["notifications"]["edges"]
    reached = [e["node"] for e in edges if e["node"]["kind"] == "GOAL_REACHED"]
    assert len(reached) == 1 and reached[0]["title"] == "Goal reached: Bike"
    # data names the goal by its global id, ready for node(id:): no re-encoding in the client.
    assert reached[0]["data"]["goalId"] == goal_id
    node = await server.gql("query($id: ID!) { node(id: $id) { ... on Goal { name } } }", {"id": goal_id}, token=token)
    assert node["data"]["node"] == {"name": "Bike"}
    await smtp_sink.wait_for(lambda m: m["To"] == user.email and "Goal reached" in m["Subject"])

"""Goals over HTTP: CRUD and validation, progress, the contribution rate and projection, achievedAt."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

from strawberry.relay import GlobalID

from finora_gql.budgets.models import Goal, GoalContribution
from finora_gql.core import clock
from tests.budgets.budget_flows import (
    ADD_CONTRIBUTION,
    CREATE_GOAL,
    DELETE_CONTRIBUTION,
    DELETE_GOAL,
    GOAL,
    GOALS,
    NODE,
    UPDATE_GOAL,
    count_rows,
    errors_of,
    mutate,
    on_today,
    query,
)
from tests.flows import signed_in_user
from tests.ledger.ledger_flows import UPDATE_ACCOUNT, UPDATE_TXN, create_account, create_txn
from tests.ledger.test_listing import counting_statements
from tests.server import RunningServer


async def contribute(server: RunningServer, token: str, goal_id: str, amount: str, day: str | None = None,
                     note: str | None = None) -> dict:
    payload = await mutate(server, token, ADD_CONTRIBUTION,
                           {"input": {"goalId": goal_id, "amount": amount, "date": day, "note": note}},
                           "addGoalContribution")
    assert payload["errors"] == [], payload
    assert payload["contribution"]["goal"]["id"] == goal_id  # a link to the goal, not its id
    return payload


async def test_goal_progress_projection_and_achieved_at(server: RunningServer) -> None:
    with on_today():
        user = await signed_in_user(server)
        token = user.access_token
        created = await mutate(server, token, CREATE_GOAL, {"input": {
            "name": "  New   car ", "targetAmount": "1200", "targetDate": "2031-12-31"}}, "createGoal")
        assert created["errors"] == []
        goal = created["goal"]
        assert {k: goal[k] for k in ("name", "targetAmount", "currency", "progress", "remaining", "percentComplete",
                                     "reached", "achievedAt", "monthlyContributionRate", "projectedCompletionDate",
                                     "onTrack", "account", "contributions")} == {
            "name": "New car", "targetAmount": "1200.00", "currency": "USD", "progress": "0.00",
            "remaining": "1200.00", "percentComplete": "0.00", "reached": False, "achievedAt": None,
            "monthlyContributionRate": None, "projectedCompletionDate": None, "onTrack": False, "account": None,
            "contributions": [],
        }

        # History: the 3 months up to today are (2031-02-15, 2031-05-15]; January's 150 is older.
        await contribute(server, token, goal["id"], "150", "2031-01-20")
        await contribute(server, token, goal["id"], "300", "2031-03-10")
        last = await contribute(server, token, goal["id"], "150", note="  May  ")  # dated today
        assert last["contribution"]["date"] == "2031-05-15"
        assert last["contribution"]["note"] == "May"
        assert last["goalReached"] is False
        goal = last["goal"]
        # 600 of 1200; 450 in 3 months = 150 a month; 600 left = 4 months -> 2031-09-15, before the target date.
        assert (goal["progress"], goal["remaining"], goal["percentComplete"]) == ("600.00", "600.00", "50.00")
        assert (goal["monthlyContributionRate"], goal["projectedCompletionDate"], goal["onTrack"]) == (
            "150.00", "2031-09-15", True)
        assert [c["date"] for c in goal["contributions"]] == ["2031-05-15", "2031-03-10", "2031-01-20"]

        withdrawal = await contribute(server, token, goal["id"], "-100.00", "2031-04-01")
        goal = withdrawal["goal"]
        # 500; 350 / 3 = 116.67 a month; 700 / 116.67 = 5.9998 -> 6 months.
        assert (goal["progress"], goal["monthlyContributionRate"], goal["projectedCompletionDate"]) == (
            "500.00", "116.67", "2031-11-15")

        bad = [
            ({"amount": "0"}, ("INVALID", "amount")),
            ({"amount": "-500.01"}, ("INVALID", "amount")),  # more than was put in
            ({"amount": "1.234"}, ("INVALID", "amount")),
            ({"amount": "10", "date": "2031-05-16"}, ("INVALID", "date")),  # the future
            ({"amount": "10", "note": "x" * 201}, ("INVALID", "note")),
        ]
        for fields, expected in bad:
            payload = await mutate(server, token, ADD_CONTRIBUTION, {"input": {"goalId": goal["id"], **fields}},
                                   "addGoalContribution")
            assert (errors_of(payload), payload["contribution"], payload["goalReached"]) == ([expected], None, False)
        assert await count_rows(server, GoalContribution, user.user_id) == 4

        reaching = await contribute(server, token, goal["id"], "700", "2031-05-14")
        goal = reaching["goal"]
        assert reaching["goalReached"] is True
        assert (goal["progress"], goal["percentComplete"], goal["reached"], goal["onTrack"]) == (
            "1200.00", "100.00", True, True)
        assert goal["projectedCompletionDate"] is None
        achieved_at = dt.datetime.fromisoformat(goal["achievedAt"])
        assert abs(achieved_at - clock.now()) < dt.timedelta(minutes=1)
        beyond = await contribute(server, token, goal["id"], "10")
        assert beyond["goalReached"] is False  # reached before, not by this one
        assert (beyond["goal"]["achievedAt"], beyond["goal"]["percentComplete"]) == (goal["achievedAt"], "100.83")
        assert (await query(server, token, GOALS, {"all": False}))["goals"] == []

        # Taking the 700 back out (deleting it) puts the goal below its target again.
        big = next(c for c in beyond["goal"]["contributions"] if c["amount"] == "700.00")
        undone = await mutate(server, token, DELETE_CONTRIBUTION, {"id": big["id"]}, "deleteGoalContribution")
        assert undone["errors"] == [] and undone["deletedIds"] == [big["id"]]
        assert (undone["goal"]["progress"], undone["goal"]["reached"], undone["goal"]["achievedAt"]) == (
            "510.00", False, None)
        assert [g["id"] for g in (await query(server, token, GOALS, {"all": False}))["goals"]] == [goal["id"]]

        fetched = (await query(server, token, GOAL, {"id": goal["id"]}))["goal"]
        assert fetched == undone["goal"]
        assert (await query(server, token, NODE, {"id": goal["id"]}))["node"] == {"__typename": "Goal", "id": goal["id"]}
        contribution = (await query(server, token, NODE, {"id": big["id"]}))["node"]
        assert contribution is None  # deleted
        kept = fetched["contributions"][0]["id"]
        assert (await query(server, token, NODE, {"id": kept}))["node"] == {"__typename": "GoalContribution", "id": kept}
        # Each contribution links back to its goal through the goal loader: one batch for all of them,
        # so two more contributions cost no more statements.
        linked_query = "{ goals { id contributions { id goal { id name progress } } } }"
        counts = []
        for extra in ("1.00", "2.00"):
            with counting_statements(server) as statements:
                linked = (await server.gql(linked_query, token=token))["data"]["goals"]
            counts.append(len(statements))
            backs = [c["goal"] for g in linked for c in g["contributions"]]
            assert len(backs) >= 2 and all(b["id"] == goal["id"] and b["name"] == "New car" for b in backs)
            await contribute(server, token, goal["id"], extra)
            await contribute(server, token, goal["id"], extra)
        assert counts[0] == counts[1], counts


async def test_withdrawals_never_take_a_goal_below_zero(server: RunningServer) -> None:
    with on_today():
        user = await signed_in_user(server)
        token = user.access_token
        goal = (await mutate(server, token, CREATE_GOAL, {"input": {"name": "Trip", "targetAmount": "100"}},
                             "createGoal"))["goal"]
        deposit = (await contribute(server, token, goal["id"], "50"))["contribution"]
        await contribute(server, token, goal["id"], "-50")
        refused = await mutate(server, token, DELETE_CONTRIBUTION, {"id": deposit["id"]}, "deleteGoalContribution")
        assert (errors_of(refused), refused["deletedIds"], refused["goal"]) == ([("INVALID", "id")], [], None)
        assert await count_rows(server, GoalContribution, user.user_id) == 2
        # No target date: onTrack is null; the rate is 0 -> no projection.
        listed = (await query(server, token, GOALS))["goals"]
        assert [(g["progress"], g["monthlyContributionRate"], g["projectedCompletionDate"], g["onTrack"])
                for g in listed] == [("0.00", "0.00", None, None)]


async def test_goal_validation_writes_nothing(server: RunningServer) -> None:
    with on_today():
        user = await signed_in_user(server)
        token = user.access_token
        euros = await create_account(server, token, name="Euros", currency="EUR")
        archived = await create_account(server, token, name="Old", currency="USD")
        await server.gql("""mutation($id: ID!) { updateAccount(input: {id: $id, archived: true}) {
            errors { code } } }""", {"id": archived["id"]}, token=token)
        base = {"name": "Fund", "targetAmount": "1000"}
        cases = [
            ({"name": "   "}, ("REQUIRED", "name")),
            ({"name": "x" * 101}, ("INVALID", "name")),
            ({"targetAmount": "0"}, ("INVALID", "targetAmount")),
            ({"targetAmount": "-1"}, ("INVALID", "targetAmount")),
            ({"targetAmount": "10.5", "currency": "JPY"}, ("INVALID", "targetAmount")),  # JPY has no decimals
            ({"targetDate": "2031-05-14"}, ("INVALID", "targetDate")),  # yesterday
            ({"accountId": archived["id"]}, ("INVALID", "accountId")),
            ({"accountId": euros["id"], "currency": "USD"}, ("INVALID", "accountId")),
            ({"accountId": str(GlobalID("Account", str(uuid.uuid4())))}, ("NOT_FOUND", "accountId")),
        ]
        for fields, expected in cases:
            payload = await mutate(server, token, CREATE_GOAL, {"input": {**base, **fields}}, "createGoal")
            assert (errors_of(payload), payload["goal"]) == ([expected], None), fields
        # Every problem at once, not only the first.
        several = await mutate(server, token, CREATE_GOAL, {"input": {"name": " ", "targetAmount": "0",
                                                                      "targetDate": "2031-05-14"}}, "createGoal")
        assert errors_of(several) == [("REQUIRED", "name"), ("INVALID", "targetAmount"), ("INVALID", "targetDate")]
        bad_currency = await server.gql(CREATE_GOAL, {"input": {**base, "currency": "ZZZ"}}, token=token)
        assert bad_currency["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"  # not a CurrencyCode
        assert await count_rows(server, Goal, user.user_id) == 0

        # A target date of today is fine; the currency follows a linked account when not given.
        linked = await mutate(server, token, CREATE_GOAL, {"input": {**base, "accountId": euros["id"],
                                                                     "targetDate": "2031-05-15"}}, "createGoal")
        assert linked["errors"] == []
        assert (linked["goal"]["currency"], linked["goal"]["account"]["id"]) == ("EUR", euros["id"])
        goal_id = linked["goal"]["id"]
        update_cases = [
            ({"targetAmount": "0"}, ("INVALID", "targetAmount")),
            ({"targetDate": "2031-01-01"}, ("INVALID", "targetDate")),
            ({"accountId": archived["id"]}, ("INVALID", "accountId")),  # archived (and USD)
            ({"name": ""}, ("REQUIRED", "name")),
        ]
        for fields, expected in update_cases:
            payload = await mutate(server, token, UPDATE_GOAL, {"input": {"id": goal_id, **fields}}, "updateGoal")
            assert errors_of(payload) == [expected], fields
        assert (await query(server, token, GOAL, {"id": goal_id}))["goal"] == linked["goal"]

        changed = await mutate(server, token, UPDATE_GOAL, {"input": {"id": goal_id, "name": "Holiday",
                                                                       "clearTargetDate": True, "clearAccount": True,
                                                                       "targetAmount": "800"}}, "updateGoal")
        assert changed["errors"] == []
        assert {k: changed["goal"][k] for k in ("name", "targetAmount", "targetDate", "account", "onTrack")} == {
            "name": "Holiday", "targetAmount": "800.00", "targetDate": None, "account": None, "onTrack": None}

        deleted = await mutate(server, token, DELETE_GOAL, {"id": goal_id}, "deleteGoal")
        assert deleted == {"deletedIds": [goal_id], "errors": []}
        again = await mutate(server, token, DELETE_GOAL, {"id": goal_id}, "deleteGoal")
        assert errors_of(again) == [("NOT_FOUND", "id")]
        assert (await query(server, token, GOAL, {"id": goal_id}))["goal"] is None


async def test_linked_goal_progress_is_the_account_balance(server: RunningServer) -> None:
    with on_today():
        user = await signed_in_user(server)
        token = user.access_token
        savings = await create_account(server, token, name="Savings", currency="USD", opening="2000",
                                       type="SAVINGS")
        goal = (await mutate(server, token, CREATE_GOAL, {"input": {
            "name": "House", "targetAmount": "5000", "accountId": savings["id"], "targetDate": "2033-01-01"}},
            "createGoal"))["goal"]
        # The balance is the progress; without contributions there is no rate and no projection.
        assert (goal["progress"], goal["percentComplete"], goal["monthlyContributionRate"],
                goal["projectedCompletionDate"], goal["onTrack"]) == ("2000.00", "40.00", None, None, False)
        # Contributions give the rate (they do not add to the balance): 300 / 3 = 100 a month, 30 months.
        goal = (await contribute(server, token, goal["id"], "300"))["goal"]
        assert (goal["progress"], goal["monthlyContributionRate"], goal["projectedCompletionDate"], goal["onTrack"]) == (
            "2000.00", "100.00", "2033-11-15", False)

        deposit = (await create_txn(server, token, accountId=savings["id"], date="2031-05-15", amount="2999.99"))
        assert deposit["errors"] == []
        goal = (await query(server, token, GOAL, {"id": goal["id"]}))["goal"]
        assert (goal["progress"], goal["remaining"], goal["projectedCompletionDate"]) == ("4999.99", "0.01", "2031-06-15")
        assert goal["achievedAt"] is None
        await server.gql(UPDATE_TXN, {"input": {"id": deposit["transaction"]["id"], "amount": "3000.00"}}, token=token)
        goal = (await query(server, token, GOAL, {"id": goal["id"]}))["goal"]
        assert (goal["reached"], goal["onTrack"]) == (True, True)
        # The balance moving is enough: a job after the write marks the goal and tells its owner, once.
        goal = await goal_when(server, token, goal["id"], lambda g: g["achievedAt"] is not None)
        reached = await notifications_of(server, token, "GOAL_REACHED")
        assert [n["title"] for n in reached] == ["Goal reached: House"]

        # Back below the target (the opening balance lowered): unmarked, and not told again.
        await mutate(server, token, UPDATE_ACCOUNT, {"input": {"id": savings["id"], "openingBalance": "1999.99"}},
                     "updateAccount")
        goal = await goal_when(server, token, goal["id"], lambda g: g["achievedAt"] is None)
        assert (goal["progress"], goal["reached"]) == ("4999.99", False)
        await server.gql(UPDATE_TXN, {"input": {"id": deposit["transaction"]["id"], "amount": "3000.01"}}, token=token)
        goal = await goal_when(server, token, goal["id"], lambda g: g["achievedAt"] is not None)
        assert len(await notifications_of(server, token, "GOAL_REACHED")) == 1


async def goal_when(server: RunningServer, token: str, goal_id: str, condition) -> dict:
    """The goal once `condition` holds: linked goals are settled by a job after the write commits."""
    for _ in range(100):
        goal = (await query(server, token, GOAL, {"id": goal_id}))["goal"]
        if condition(goal):
            return goal
        await asyncio.sleep(0.05)
    raise AssertionError(f"goal never got there: {goal}")


async def notifications_of(server: RunningServer, token: str, kind: str) -> list[dict]:
    edges = (await server.gql("{ notifications(first: 50) { edges { node { kind title } } } }", token=token))
    return [e["node"] for e in edges["data"]["notifications"]["edges"] if e["node"]["kind"] == kind]


async def test_an_import_that_fills_a_linked_account_reaches_its_goal(server: RunningServer) -> None:
    from tests.imports.import_flows import run_import

    user = await signed_in_user(server)
    token = user.access_token
    savings = await create_account(server, token, name="Savings", currency="USD", opening="100", type="SAVINGS")
    goal = (await mutate(server, token, CREATE_GOAL, {"input": {
        "name": "Bike", "targetAmount": "400", "accountId": savings["id"]}}, "createGoal"))["goal"]
    done = await run_import(server, token, accountId=savings["id"], csv="date,amount,description\n"
                            "2026-03-01,150.00,Salary share\n2026-04-01,150.00,Salary share\n", preset="FINORA")
    assert (done["status"], done["progress"]["inserted"]) == ("COMPLETED", 2), done
    goal = await goal_when(server, token, goal["id"], lambda g: g["achievedAt"] is not None)
    assert (goal["progress"], goal["reached"]) == ("400.00", True)
    assert [n["title"] for n in await notifications_of(server, token, "GOAL_REACHED")] == ["Goal reached: Bike"]

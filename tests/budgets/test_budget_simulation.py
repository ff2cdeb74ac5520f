"""simulateBudget: the seed's numbers, a cut that speeds up goals, input validation, and that it writes nothing."""

from __future__ import annotations

import datetime as dt

from tests.budgets.budget_flows import (
    ADD_CONTRIBUTION,
    CREATE_GOAL,
    SIMULATE,
    create_budget,
    errors_of,
    mutate,
    on_today,
    query,
    row_counts,
    set_rate,
)
from tests.flows import signed_in_user
from tests.ledger.ledger_flows import category_ids, create_account, create_txn
from tests.server import RunningServer

# Today is 2031-05-15: the current month is May; its 3 full months of history are February to April.


async def simulate(server: RunningServer, token: str, **input) -> dict:
    return (await query(server, token, SIMULATE, {"input": input}))["simulateBudget"]


async def goal(server: RunningServer, token: str, **input) -> dict:
    payload = await mutate(server, token, CREATE_GOAL, {"input": input}, "createGoal")
    assert payload["errors"] == [], payload
    return payload["goal"]


async def contribute(server: RunningServer, token: str, goal_id: str, amount: str, day: str) -> None:
    payload = await mutate(server, token, ADD_CONTRIBUTION, {"input": {"goalId": goal_id, "amount": amount, "date": day}},
                           "addGoalContribution")
    assert payload["errors"] == [], payload


async def test_simulations_of_a_budget(server: RunningServer) -> None:
    # Goal currencies of this test only (exchange rates are global): MNT has a rate into USD, MVR none.
    await set_rate(server, base="MNT", quote="USD", day=dt.date(2031, 1, 1), rate="0.0003")
    with on_today():
        user = await signed_in_user(server)
        token = user.access_token
        cats = await category_ids(server, token)
        account = await create_account(server, token, opening="100000")
        for day, amount in (("2031-01-31", "-9999.00"),  # before the history
                            ("2031-02-02", "-5000.00"), ("2031-02-20", "-400.00"),
                            ("2031-03-11", "-5400.00"),
                            ("2031-04-04", "-5600.00"), ("2031-04-30", "200.00"),  # a refund
                            ("2031-05-02", "-1000.00")):  # the simulated month itself
            assert (await create_txn(server, token, accountId=account["id"], date=day, amount=amount,
                                     categoryId=cats["Rent & Mortgage"]))["errors"] == []
        budget = await create_budget(server, token, month="2031-05-01", categoryId=cats["Rent & Mortgage"], limit="5000")

        savings = await goal(server, token, name="Car", targetAmount="6000")
        await contribute(server, token, savings["id"], "900", "2031-04-01")  # 300 a month
        await goal(server, token, name="Steppe", targetAmount="10000000", currency="MNT")
        await goal(server, token, name="Atoll", targetAmount="1000", currency="MVR")
        done = await goal(server, token, name="Done", targetAmount="100")
        await contribute(server, token, done["id"], "100", "2031-05-01")  # reached: not projected
        before = await row_counts(server)

        # The seed's example: 5000 + 10% = 5500; spending averages 5400 -> 100 to spare; it costs 400 a month
        # against the current limit (which holds spending at 5000).
        seed = await simulate(server, token, budgetId=budget["id"], adjustmentPercent="10")
        assert seed["errors"] == []
        result = seed["simulation"]
        assert {k: result[k] for k in ("month", "currency", "budget", "originalLimit", "adjustedLimit",
                                       "averageSpending", "originalProjectedSpending", "projectedSpending", "surplus",
                                       "freedPerMonth", "missingRates")} == {
            "month": "2031-05-01", "currency": "USD", "budget": {"id": budget["id"]}, "originalLimit": "5000.00",
            "adjustedLimit": "5500.00", "averageSpending": "5400.00", "originalProjectedSpending": "5000.00",
            "projectedSpending": "5400.00", "surplus": "100.00", "freedPerMonth": "-400.00", "missingRates": [],
        }
        assert result["category"] == {"name": "Rent & Mortgage"}
        car = next(g for g in result["goals"] if g["goal"]["id"] == savings["id"])
        # -400 over 3 open goals = -133.33; 300 - 133.33 = 166.67 a month; 5100 left -> 31 months.
        assert (car["currentMonthlyRate"], car["currentProjectedDate"], car["extraPerMonth"],
                car["scenarioMonthlyRate"], car["scenarioProjectedDate"]) == (
            "300.00", "2032-10-15", "-133.33", "166.67", "2033-12-15")

        # A cut to 3500 frees 1500 a month: 500 for each of the three goals not yet reached.
        cut = (await simulate(server, token, categoryId=cats["Rent & Mortgage"], newLimit="3500"))["simulation"]
        assert (cut["originalLimit"], cut["adjustedLimit"], cut["projectedSpending"], cut["surplus"],
                cut["freedPerMonth"]) == ("5000.00", "3500.00", "3500.00", "0.00", "1500.00")
        projections = {g["goal"]["name"]: g for g in cut["goals"]}
        assert list(projections) == ["Car", "Steppe", "Atoll"]  # "Done" is reached
        strip = lambda g: {k: v for k, v in g.items() if k != "goal"}  # noqa: E731
        # Car: 300 + 500 = 800 a month; 5100 / 800 = 6.4 -> 7 months.
        assert strip(projections["Car"]) == {
            "currentMonthlyRate": "300.00", "currentProjectedDate": "2032-10-15", "extraPerMonth": "500.00",
            "scenarioMonthlyRate": "800.00", "scenarioProjectedDate": "2031-12-15"}
        # Steppe: 500 USD at 0.0003 USD per MNT = 1666666.67 MNT a month, from nothing: 6 months.
        assert strip(projections["Steppe"]) == {
            "currentMonthlyRate": None, "currentProjectedDate": None, "extraPerMonth": "1666666.67",
            "scenarioMonthlyRate": "1666666.67", "scenarioProjectedDate": "2031-11-15"}
        # Atoll: no MVR rate, so its share cannot be converted.
        assert strip(projections["Atoll"]) == {
            "currentMonthlyRate": None, "currentProjectedDate": None, "extraPerMonth": None,
            "scenarioMonthlyRate": None, "scenarioProjectedDate": None}

        # A category without a budget in the month: no original limit; the habit is the original projection.
        other = (await simulate(server, token, categoryId=cats["Rent & Mortgage"], newLimit="6000",
                                month="2031-06-09"))["simulation"]
        # June's history is March to May: (5400 + 5400 + 1000) / 3 = 3933.33.
        assert (other["month"], other["budget"], other["originalLimit"], other["averageSpending"],
                other["originalProjectedSpending"], other["projectedSpending"], other["surplus"],
                other["freedPerMonth"]) == (
            "2031-06-01", None, None, "3933.33", "3933.33", "3933.33", "2066.67", "0.00")

        assert await row_counts(server) == before  # nothing written, nothing touched


async def test_simulation_input_errors(server: RunningServer) -> None:
    with on_today():
        user = await signed_in_user(server)
        token = user.access_token
        cats = await category_ids(server, token)
        budget = await create_budget(server, token, month="2031-05-01", categoryId=cats["Groceries"], limit="300")
        cases = [
            ({"adjustmentPercent": "5"}, ("REQUIRED", "budgetId")),
            ({"budgetId": budget["id"], "categoryId": cats["Groceries"], "newLimit": "5"}, ("INVALID", "categoryId")),
            ({"budgetId": budget["id"]}, ("REQUIRED", "adjustmentPercent")),
            ({"budgetId": budget["id"], "adjustmentPercent": "5", "newLimit": "5"}, ("INVALID", "newLimit")),
            ({"budgetId": budget["id"], "adjustmentPercent": "-100"}, ("INVALID", "adjustmentPercent")),
            ({"budgetId": budget["id"], "adjustmentPercent": "-99.999"}, ("INVALID", "adjustmentPercent")),  # 0.00
            ({"budgetId": budget["id"], "newLimit": "0"}, ("INVALID", "newLimit")),
            ({"budgetId": budget["id"], "newLimit": "1.005"}, ("INVALID", "newLimit")),
            ({"budgetId": budget["id"], "newLimit": "10", "month": "2031-06-01"}, ("INVALID", "month")),
            ({"budgetId": cats["Groceries"], "newLimit": "10"}, ("NOT_FOUND", "budgetId")),  # wrong id type
            ({"categoryId": cats["Salary"], "newLimit": "10"}, ("INVALID", "categoryId")),
            ({"categoryId": cats["Travel"], "adjustmentPercent": "10"}, ("INVALID", "adjustmentPercent")),  # no budget
        ]
        for fields, expected in cases:
            payload = await simulate(server, token, **fields)
            assert (errors_of(payload), payload["simulation"]) == ([expected], None), fields
        fine = await simulate(server, token, budgetId=budget["id"], adjustmentPercent="-12.5", month="2031-05-31")
        assert (fine["errors"], fine["simulation"]["adjustedLimit"]) == ([], "262.50")

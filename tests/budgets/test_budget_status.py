"""budgetStatus numbers for a case computed by hand: rollover both ways, a refund, a transfer,
foreign currency with and without an exchange rate, an income and an unbudgeted category."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from tests.budgets.budget_flows import (
    BUDGET_STATUS,
    categorised_transfer,
    create_budget,
    query,
    set_base_currency,
    set_rate,
)
from tests.flows import signed_in_user
from tests.ledger.ledger_flows import CREATE_TRANSFER, category_ids, create_account, create_txn
from tests.server import RunningServer

# Currencies of this test only (exchange rates are global): base MUR, SCR with a rate, MVR without one.
BASE, RATED, UNRATED = "MUR", "SCR", "MVR"


async def test_budget_status_hand_computed(server: RunningServer) -> None:
    user = await signed_in_user(server)
    token = user.access_token
    await set_base_currency(server, token, BASE)
    cats = await category_ids(server, token)
    main = await create_account(server, token, name="Main", currency=BASE, opening="5000")
    spare = await create_account(server, token, name="Spare", currency=BASE)
    rated = await create_account(server, token, name="Seychelles", currency=RATED, opening="500")
    unrated = await create_account(server, token, name="Maldives", currency=UNRATED, opening="500")
    await set_rate(server, base=RATED, quote=BASE, day=dt.date(2031, 2, 1), rate="3.3333")

    async def spend(account: dict, day: str, amount: str, category: str) -> None:
        payload = await create_txn(server, token, accountId=account["id"], date=day, amount=amount,
                                   categoryId=cats[category])
        assert payload["errors"] == [], payload

    # February: Groceries 400 limit, 150 spent -> leaves 250. Restaurants 100 limit, 130 spent -> -30.
    for category, limit in (("Groceries", "400"), ("Restaurants", "100"), ("Utilities", "200")):
        await create_budget(server, token, month="2031-02-01", categoryId=cats[category], limit=limit)
    await spend(main, "2031-02-03", "-150.00", "Groceries")
    await spend(main, "2031-02-28", "-130.00", "Restaurants")
    await spend(main, "2031-01-31", "-999.00", "Groceries")  # another month
    # March budgets: rollover on for Groceries (+250), Restaurants (-30) and Transport (no February budget: 0);
    # off for Utilities (February's 200 left does not carry).
    for category, limit, rollover in (("Groceries", "500", True), ("Restaurants", "100", True),
                                      ("Utilities", "200", False), ("Transport", "50", True)):
        await create_budget(server, token, month="2031-03-01", categoryId=cats[category], limit=limit, rollover=rollover)
    await spend(main, "2031-03-02", "-120.50", "Groceries")
    await spend(main, "2031-03-09", "20.50", "Groceries")  # a refund
    await spend(rated, "2031-03-05", "-10.01", "Groceries")  # 10.01 SCR * 3.3333 = 33.366333 MUR
    await spend(unrated, "2031-03-10", "-50.00", "Groceries")  # no MVR rate: left out, reported
    await spend(main, "2031-03-15", "-45.00", "Restaurants")
    await spend(main, "2031-03-31", "-60.00", "Transport")
    await spend(main, "2031-03-20", "-75.00", "Shopping")  # no budget
    await spend(main, "2031-03-01", "3000.00", "Salary")  # income
    await spend(main, "2031-04-01", "-40.00", "Groceries")  # next month
    transfer = await server.gql(CREATE_TRANSFER, {"input": {"fromAccountId": main["id"], "toAccountId": spare["id"],
                                                           "date": "2031-03-04", "amount": "300.00"}}, token=token)
    assert transfer["data"]["createTransfer"]["errors"] == []
    await categorised_transfer(server, user.user_id, from_account=main["id"], to_account=spare["id"], currency=BASE,
                               category=cats["Groceries"], day=dt.date(2031, 3, 6), amount=Decimal("999.00"))

    status = (await query(server, token, BUDGET_STATUS, {"month": "2031-03-21"}))["budgetStatus"]
    lines = {line["category"]["name"]: line for line in status["lines"]}
    assert [line["category"]["name"] for line in status["lines"]] == ["Groceries", "Restaurants", "Transport", "Utilities"]
    strip = lambda line: {k: v for k, v in line.items() if k not in ("budget", "category")}  # noqa: E731
    # 120.50 - 20.50 + 33.366333 = 133.366333 -> 133.37; 750 available; 133.37 / 750 = 17.7826..%
    assert strip(lines["Groceries"]) == {"limit": "500.00", "rolledOver": "250.00", "available": "750.00",
                                        "spent": "133.37", "remaining": "616.63", "percentUsed": "17.78"}
    assert strip(lines["Restaurants"]) == {"limit": "100.00", "rolledOver": "-30.00", "available": "70.00",
                                          "spent": "45.00", "remaining": "25.00", "percentUsed": "64.29"}
    assert strip(lines["Transport"]) == {"limit": "50.00", "rolledOver": "0.00", "available": "50.00",
                                        "spent": "60.00", "remaining": "-10.00", "percentUsed": "120.00"}
    assert strip(lines["Utilities"]) == {"limit": "200.00", "rolledOver": "0.00", "available": "200.00",
                                        "spent": "0.00", "remaining": "200.00", "percentUsed": "0.00"}
    assert {k: status[k] for k in ("month", "currency", "totalLimit", "totalRolledOver", "totalSpent",
                                   "totalRemaining", "missingRates")} == {
        "month": "2031-03-01", "currency": BASE, "totalLimit": "850.00", "totalRolledOver": "220.00",
        "totalSpent": "238.37", "totalRemaining": "831.63",
        "missingRates": [{"currency": UNRATED, "firstDay": "2031-03-10", "lastDay": "2031-03-10"}],
    }

    # Once an MVR rate exists, the 50 MVR count: 133.366333 + 25 = 158.366333 -> 158.37.
    await set_rate(server, base=UNRATED, quote=BASE, day=dt.date(2031, 3, 1), rate="0.5")
    status = (await query(server, token, BUDGET_STATUS, {"month": "2031-03-01"}))["budgetStatus"]
    groceries = next(line for line in status["lines"] if line["category"]["name"] == "Groceries")
    assert (groceries["spent"], groceries["remaining"], groceries["percentUsed"]) == ("158.37", "591.63", "21.12")
    assert (status["totalSpent"], status["missingRates"]) == ("263.37", [])

    # An overspent previous month with nothing left: percent is null when nothing is available.
    await create_budget(server, token, month="2031-02-01", categoryId=cats["Health"], limit="10")
    await spend(main, "2031-02-10", "-60.00", "Health")
    await create_budget(server, token, month="2031-03-01", categoryId=cats["Health"], limit="40", rollover=True)
    status = (await query(server, token, BUDGET_STATUS, {"month": "2031-03-01"}))["budgetStatus"]
    health = next(line for line in status["lines"] if line["category"]["name"] == "Health")
    assert strip(health) == {"limit": "40.00", "rolledOver": "-50.00", "available": "-10.00", "spent": "0.00",
                             "remaining": "-10.00", "percentUsed": None}


async def test_budget_status_of_a_month_without_budgets(server: RunningServer) -> None:
    user = await signed_in_user(server)
    status = (await query(server, user.access_token, BUDGET_STATUS, {"month": "2031-08-08"}))["budgetStatus"]
    assert status == {"month": "2031-08-01", "currency": "USD", "totalLimit": "0.00", "totalRolledOver": "0.00",
                      "totalSpent": "0.00", "totalRemaining": "0.00", "missingRates": [], "lines": []}

"""Changing the base currency: budget limits convert at the rate in force at their month's end
(or the change is refused and nothing moves), and summaries are recomputed in the new currency."""

from __future__ import annotations

import datetime as dt

from tests.budgets.budget_flows import (
    BUDGETS,
    UPDATE_PROFILE,
    create_budget,
    errors_of,
    mutate,
    query,
    set_base_currency,
    set_rate,
)
from tests.flows import signed_in_user
from tests.ledger.ledger_flows import category_ids, create_account, create_txn
from tests.server import RunningServer

# Currencies of this test only (exchange rates are global).
OLD, NEW = "ISK", "HUF"
SUMMARY = "query($from: Date!, $to: Date!) { walletSummary(from: $from, to: $to) { currency totalExpenses } }"


async def test_a_new_base_currency_converts_budget_limits_and_summaries(server: RunningServer) -> None:
    user = await signed_in_user(server)
    token = user.access_token
    await set_base_currency(server, token, OLD)
    groceries = (await category_ids(server, token))["Groceries"]
    account = await create_account(server, token, currency=OLD, opening="10000")
    assert (await create_txn(server, token, accountId=account["id"], date="2031-05-02", amount="-1500",
                             categoryId=groceries))["errors"] == []
    await create_budget(server, token, month="2031-05-01", categoryId=groceries, limit="45000")
    await create_budget(server, token, month="2022-03-01", categoryId=groceries, limit="1000")  # past
    await create_budget(server, token, month="2019-06-01", categoryId=groceries, limit="1000")  # before any rate
    period = {"from": "2031-05-01", "to": "2031-05-31"}
    assert (await query(server, token, SUMMARY, period))["walletSummary"] == {"currency": OLD, "totalExpenses": "1500"}

    # No ISK -> HUF rate yet: refused, and neither the profile nor the budget changed.
    refused = await mutate(server, token, UPDATE_PROFILE, {"input": {"baseCurrency": NEW}}, "updateProfile")
    assert errors_of(refused) == [("INVALID", "baseCurrency")] and refused["user"] is None
    budgets = (await query(server, token, BUDGETS, {"month": "2031-05-01"}))["budgets"]
    assert [b["limit"] for b in budgets] == ["45000"]

    await set_rate(server, base=OLD, quote=NEW, day=dt.date(2020, 1, 1), rate="2.8")
    await set_rate(server, base=OLD, quote=NEW, day=dt.date(2025, 1, 1), rate="2.7315")
    await set_base_currency(server, token, NEW)
    budgets = (await query(server, token, BUDGETS, {"month": "2031-05-01"}))["budgets"]
    assert [b["limit"] for b in budgets] == ["122917.50"]  # 45000 * 2.7315, today's rate (not 2.8), in forints
    past = (await query(server, token, BUDGETS, {"month": "2022-03-01"}))["budgets"]
    assert [b["limit"] for b in past] == ["2800.00"]  # the rate in force in March 2022
    earliest = (await query(server, token, BUDGETS, {"month": "2019-06-01"}))["budgets"]
    assert [b["limit"] for b in earliest] == ["2800.00"]  # before the first rate: that first rate
    # The summary cached in krónur is not served any more: it is computed in forints.
    assert (await query(server, token, SUMMARY, period))["walletSummary"] == {"currency": NEW, "totalExpenses": "4097.25"}

"""Property: for any transactions around a month, budgetStatus equals an independent Decimal computation."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import ROUND_HALF_EVEN, Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from finora_gql.accounts import service as accounts
from finora_gql.accounts.models import AccountType
from finora_gql.budgets import service as budgets
from finora_gql.core.db import atomic
from finora_gql.core.viewer import Viewer
from finora_gql.transactions import service as ledger
from finora_gql.transactions.models import Category, CategoryKind, Transaction
from finora_gql.wallet import totals
from tests.budgets.budget_flows import BUDGET_STATUS, query, set_rate
from tests.flows import node_uuid, signed_in_user
from tests.server import RunningServer

MONTH = dt.date(2030, 6, 1)
PREVIOUS = dt.date(2030, 5, 1)
FOREIGN = "BTN"  # this test's own pair: 1 BTN = 0.0123 USD
RATE = Decimal("0.0123")
CENT = Decimal("0.01")

amounts = st.decimals(min_value=Decimal("-2000"), max_value=Decimal("2000"), places=2).filter(lambda d: d != 0)
limits = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("3000"), places=2)
# Days from 2030-04-20 to 2030-07-10: the previous month, the month, and a little either side.
days = st.integers(min_value=0, max_value=81).map(lambda n: dt.date(2030, 4, 20) + dt.timedelta(days=n))
transaction = st.fixed_dictionaries({
    "day": days,
    "amount": amounts,
    "category": st.integers(0, 4),  # 0-2 budgeted, 3 another expense category, 4 uncategorised
    "foreign": st.booleans(),
    "transfer": st.integers(0, 5).map(lambda n: n == 0),  # now and then a (categorised) transfer leg
})
budget = st.fixed_dictionaries({
    "limit": limits,
    "rollover": st.booleans(),
    "previous_limit": st.none() | limits,
})


def q(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_EVEN)


def expected_lines(plans: list[dict], rows: list[dict]) -> list[dict]:
    def spent(category: int, first: dt.date) -> Decimal:
        total = Decimal(0)
        for row in rows:
            if row["category"] == category and not row["transfer"] and (row["day"].year, row["day"].month) == (
                first.year, first.month
            ):
                total -= row["amount"] * (RATE if row["foreign"] else 1)
        return total

    lines = []
    for index, plan in enumerate(plans):
        rolled = Decimal(0)
        if plan["rollover"] and plan["previous_limit"] is not None:
            rolled = plan["previous_limit"] - q(spent(index, PREVIOUS))
        used = q(spent(index, MONTH))
        available = plan["limit"] + rolled
        percent = None if available <= 0 else q(used * 100 / available)
        lines.append({
            "limit": plan["limit"], "rolledOver": rolled, "spent": used, "remaining": available - used,
            "percentUsed": percent,
        })
    return lines


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plans=st.lists(budget, min_size=3, max_size=3), rows=st.lists(transaction, max_size=25))
async def test_budget_status_equals_an_independent_computation(
    server: RunningServer, plans: list[dict], rows: list[dict]
) -> None:
    await set_rate(server, base=FOREIGN, quote="USD", day=dt.date(2030, 1, 1), rate=str(RATE))
    user = await signed_in_user(server)
    viewer = Viewer(user_id=node_uuid(user.user_id), session_id=uuid.uuid4())
    rt = server.runtime
    async with rt.sessions() as session, atomic(session):
        home = await accounts.create_account(session, viewer, name="Home", type=AccountType.CHECKING, currency="USD")
        away = await accounts.create_account(session, viewer, name="Away", type=AccountType.CHECKING, currency=FOREIGN)
        picked = list((await session.exec(
            select(Category.id).where(Category.user_id == viewer.user_id, Category.kind == CategoryKind.EXPENSE)
            .order_by(Category.name).limit(4))).all())
        for index, plan in enumerate(plans):
            await budgets.create_budget(session, viewer, month=MONTH, category_id=picked[index], limit=plan["limit"],
                                        rollover=plan["rollover"])
            if plan["previous_limit"] is not None:
                await budgets.create_budget(session, viewer, month=PREVIOUS, category_id=picked[index],
                                            limit=plan["previous_limit"])
        drafts, legs = [], []
        for row in rows:
            account = away if row["foreign"] else home
            category = picked[row["category"]] if row["category"] < 4 else None
            if row["transfer"]:
                legs.append(Transaction(user_id=viewer.user_id, account_id=account.id, date=row["day"],
                                        amount=row["amount"], currency=account.currency, category_id=category,
                                        transfer_id=uuid.uuid4()))
            else:
                # Without a category the user's rules could pick one; "zz" matches none.
                drafts.append(ledger.Draft(account_id=account.id, date=row["day"], amount=row["amount"],
                                           category_id=category, merchant=None, description="zz"))
        if drafts:
            made = await ledger.create_transactions(session, rt, viewer, drafts)
            assert all(m.category_id == d.category_id for m, d in zip(made, drafts, strict=True))
        if legs:
            session.add_all(legs)
            await session.flush()
            await totals.apply_changes(session, added=legs)

    status = (await query(server, user.access_token, BUDGET_STATUS, {"month": "2030-06-15"}))["budgetStatus"]
    expected = expected_lines(plans, rows)
    actual = {
        node_uuid(line["category"]["id"]): {
            "limit": Decimal(line["limit"]), "rolledOver": Decimal(line["rolledOver"]), "spent": Decimal(line["spent"]),
            "remaining": Decimal(line["remaining"]),
            "percentUsed": None if line["percentUsed"] is None else Decimal(line["percentUsed"]),
        }
        for line in status["lines"]
    }
    assert actual == {picked[index]: line for index, line in enumerate(expected)}
    for line in status["lines"]:  # shown at the currency's scale
        assert all(len(line[key].split(".")[1]) == 2 for key in ("limit", "rolledOver", "spent", "remaining")), line
    assert Decimal(status["totalSpent"]) == sum((line["spent"] for line in expected), Decimal(0))
    assert Decimal(status["totalRemaining"]) == sum((line["remaining"] for line in expected), Decimal(0))
    assert status["missingRates"] == []

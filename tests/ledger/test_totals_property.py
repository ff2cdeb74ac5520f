"""Property: after any sequence of ledger writes, daily totals and balances equal the raw rows."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from finora_gql.accounts import service as accounts
from finora_gql.accounts.models import Account, AccountType
from finora_gql.core.db import atomic
from finora_gql.core.errors import ServiceError
from finora_gql.core.viewer import Viewer
from finora_gql.transactions import categories, rules
from finora_gql.transactions import service as ledger
from finora_gql.transactions.models import Category, CategoryKind, Transaction
from finora_gql.users import service as users
from finora_gql.wallet.models import UNCATEGORIZED, DailyTotal, MonthlyTotal
from tests.server import RunningServer, unique_email

amounts = st.decimals(min_value=Decimal("-999.99"), max_value=Decimal("999.99"), places=2).filter(lambda d: d != 0)
days = st.integers(min_value=0, max_value=40).map(lambda n: dt.date(2026, 1, 1) + dt.timedelta(days=n))
operation = st.one_of(
    st.tuples(st.just("create"), st.integers(0, 2), days, amounts, st.integers(0, 4), st.booleans()),
    st.tuples(st.just("update"), st.integers(0, 50), days, amounts, st.integers(0, 4), st.booleans()),
    st.tuples(st.just("delete"), st.integers(0, 50)),
    st.tuples(st.just("transfer"), st.integers(0, 2), st.integers(0, 2), days, amounts.map(abs)),
    st.tuples(st.just("drop_category"), st.integers(0, 4)),
    st.tuples(st.just("recategorize"), st.integers(0, 4)),
)


async def new_viewer(server: RunningServer) -> Viewer:
    async with server.runtime.sessions() as session, atomic(session):
        user = await users.create_user(session, email=unique_email("prop"), name="Prop")
        await categories.create_defaults(session, user.id)
    return Viewer(user_id=user.id, session_id=uuid.uuid4())


async def apply(server: RunningServer, viewer: Viewer, op: tuple, state: dict) -> None:
    rt = server.runtime
    async with rt.sessions() as session:
        try:
            async with atomic(session):
                kind = op[0]
                if kind == "create":
                    _, account, day, amount, category, with_category = op
                    await ledger.create_transaction(
                        session, rt, viewer, account_id=state["accounts"][account], date=day, amount=amount,
                        category_id=state["categories"][category] if with_category else None, merchant=f"m{category}",
                    )
                elif kind == "update" and state_ids(state):
                    _, pick, day, amount, category, with_category = op
                    target = state_ids(state)[pick % len(state_ids(state))]
                    await ledger.update_transactions(session, rt, viewer, [(target, ledger.Changes(
                        date=day, amount=amount, category_id=state["categories"][category] if with_category else None,
                        clear_category=not with_category))])
                elif kind == "delete" and state_ids(state):
                    await ledger.delete_transactions(session, rt, viewer, [state_ids(state)[op[1] % len(state_ids(state))]])
                elif kind == "transfer":
                    _, source, target, day, amount = op
                    await ledger.create_transfer(session, rt, viewer, from_account_id=state["accounts"][source],
                                                 to_account_id=state["accounts"][target], date=day, amount=amount,
                                                 received_amount=amount if source != target else None)
                elif kind == "drop_category":
                    category = state["categories"][op[1]]
                    if category in state["live_categories"]:
                        await ledger.delete_category(session, rt, viewer, category)
                        state["live_categories"].discard(category)
                elif kind == "recategorize":
                    category = state["categories"][op[1]]
                    if category in state["live_categories"]:
                        await rules.create_rule(session, viewer, category_id=category, pattern=f"m{(op[1] + 1) % 5}")
                        await ledger.recategorize(session, rt, viewer, dry_run=False, only_uncategorized=False)
        except ServiceError:
            pass  # refused writes must leave no trace; the check below proves it
    async with rt.sessions() as session:
        state["ids"] = list((await session.exec(select(Transaction.id).where(Transaction.user_id == viewer.user_id)
                                                .order_by(Transaction.created_at, Transaction.id))).all())


def state_ids(state: dict) -> list[uuid.UUID]:
    return state["ids"]


async def check(server: RunningServer, viewer: Viewer) -> None:
    async with server.runtime.sessions() as session:
        rows = (await session.exec(select(Transaction).where(Transaction.user_id == viewer.user_id))).all()
        kept = (await session.exec(select(DailyTotal).where(DailyTotal.user_id == viewer.user_id))).all()
        months = (await session.exec(select(MonthlyTotal).where(MonthlyTotal.user_id == viewer.user_id))).all()
        account_rows = (await session.exec(select(Account).where(Account.user_id == viewer.user_id))).all()
    expected: dict[tuple, list] = defaultdict(lambda: [Decimal(0), Decimal(0), 0])
    for row in rows:
        entry = expected[(row.date, row.currency, row.category_id or UNCATEGORIZED, row.transfer_id is not None)]
        entry[0 if row.amount > 0 else 1] += row.amount
        entry[2] += 1
    actual = {
        (t.day, t.currency, t.category_key, t.is_transfer): [t.inflow, t.outflow, t.count]
        for t in kept if t.count or t.inflow or t.outflow
    }
    assert actual == dict(expected)
    by_month: dict[tuple, list] = defaultdict(lambda: [Decimal(0), Decimal(0), 0])
    for (day, *rest), (inflow, outflow, count) in expected.items():
        entry = by_month[(day.replace(day=1), *rest)]
        entry[0] += inflow
        entry[1] += outflow
        entry[2] += count
    assert {
        (t.month, t.currency, t.category_key, t.is_transfer): [t.inflow, t.outflow, t.count]
        for t in months if t.count or t.inflow or t.outflow
    } == dict(by_month)
    for account in account_rows:
        total = sum((r.amount for r in rows if r.account_id == account.id), Decimal(0))
        assert account.current_balance == account.opening_balance + total


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=st.lists(operation, min_size=1, max_size=12))
async def test_totals_and_balances_always_equal_the_rows(server: RunningServer, operations: list[tuple]) -> None:
    viewer = await new_viewer(server)
    async with server.runtime.sessions() as session, atomic(session):
        made = [
            await accounts.create_account(session, viewer, name=f"A{i}", type=AccountType.CHECKING, currency="USD",
                                          opening_balance=Decimal(i * 100))
            for i in range(3)
        ]
        picked = (await session.exec(
            select(Category.id).where(Category.user_id == viewer.user_id, Category.kind == CategoryKind.EXPENSE)
            .order_by(Category.name).limit(5))).all()
    state = {"accounts": [a.id for a in made], "categories": list(picked), "live_categories": set(picked), "ids": []}
    for op in operations:
        await apply(server, viewer, op, state)
    await check(server, viewer)

"""The demo generator writes a consistent ledger through the services, once, the same way every time.

It runs against the test database with the runtime and services (as `finora-gql seed --demo`
does, minus the CLI), at three months instead of twenty-four.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from dramatiq.brokers.stub import StubBroker
from dramatiq.errors import QueueJoinTimeout
from sqlalchemy import text

from finora_gql.config import Settings
from finora_gql.core import clock
from finora_gql.core.money import round_money
from finora_gql.core.runtime import Runtime, build_runtime
from finora_gql.core.viewer import Viewer
from finora_gql.demo import ACCOUNTS, BUDGETS, DEMO_EMAIL, create_demo, plan_demo
from finora_gql.users import service as users
from finora_gql.wallet import service as wallet
from finora_gql.wallet import totals

MONTHS = 3


def test_plan_is_two_believable_years() -> None:
    today = dt.date(2026, 11, 28)
    plan = plan_demo(today)
    assert plan == plan_demo(today)  # seeded: the same every time
    assert 4500 <= plan.transaction_count <= 5500
    assert plan.start == dt.date(2024, 11, 1) and max(e.date for e in plan.entries) <= today
    assert plan.fx_rates[0][0] == plan.start  # every EUR day has a rate
    # Card payments go from checking to the card; money never runs out.
    assert {(t.source, t.target) for t in plan.transfers} >= {("checking", "card"), ("checking", "savings")}
    running = {key: opening for key, (_, _, _, opening) in ACCOUNTS.items()}
    moves = [(e.date, 1, e.account, e.amount) for e in plan.entries]
    moves += [(t.date, 0, t.target, t.received or t.amount) for t in plan.transfers]
    moves += [(t.date, 1, t.source, -t.amount) for t in plan.transfers]
    for _, _, account, amount in sorted(moves, key=lambda m: (m[0], m[1])):
        running[account] += amount
        if account != "card":
            assert running[account] >= 0, account
    assert running == plan.balances()


def _drain() -> None:
    from workers.actors import broker

    if isinstance(broker, StubBroker):
        with contextlib.suppress(QueueJoinTimeout):
            broker.join("default", timeout=60_000, fail_fast=False)


@pytest.fixture
async def rt(settings: Settings) -> AsyncIterator[Runtime]:
    from workers.inprocess import in_process_workers

    runtime = build_runtime(settings, settings.database_url)
    await runtime.start()
    with in_process_workers(settings):
        try:
            yield runtime
        finally:
            await runtime.aclose()


async def _seed(rt: Runtime, today: dt.date, *, reset: bool) -> bool:
    return await create_demo(rt.sessions, rt, months=MONTHS, reset=reset, today=today,
                             settle=lambda: asyncio.to_thread(_drain))


async def _rows(rt: Runtime, sql: str, **params: object) -> list[tuple]:
    async with rt.sessions() as session:
        return [tuple(row) for row in (await session.exec(text(sql).bindparams(**params))).all()]


async def _state(rt: Runtime, user_id) -> dict[str, list[tuple]]:
    """Everything of the demo user's, without generated ids, in a stable order."""
    queries = {
        "accounts": "SELECT name, type, currency, opening_balance, current_balance FROM account WHERE user_id = :u ORDER BY name",
        "transactions": "SELECT a.name, t.date, t.amount, t.currency, c.name, t.merchant, t.description, t.transfer_id IS NOT NULL "
                        "FROM transaction t JOIN account a ON a.id = t.account_id LEFT JOIN category c ON c.id = t.category_id "
                        "WHERE t.user_id = :u ORDER BY 1, 2, 3, 5, 6, 7",
        "daily_totals": "SELECT d.day, d.currency, coalesce(c.name, ''), d.is_transfer, d.inflow, d.outflow, d.count "
                        "FROM daily_total d LEFT JOIN category c ON c.id = d.category_key WHERE d.user_id = :u "
                        "AND d.count <> 0 ORDER BY 1, 2, 3, 4",
        "budgets": "SELECT b.month, c.name, b.limit_amount, b.rollover FROM budget b JOIN category c ON c.id = b.category_id "
                   "WHERE b.user_id = :u ORDER BY 1, 2",
        "goals": "SELECT g.name, g.target_amount, g.target_date, a.name, g.achieved_at IS NOT NULL, "
                 "(SELECT coalesce(sum(amount), 0) FROM goal_contribution WHERE goal_id = g.id) "
                 "FROM goal g LEFT JOIN account a ON a.id = g.account_id WHERE g.user_id = :u ORDER BY 1",
        "user": "SELECT email, base_currency, email_verified_at IS NOT NULL FROM \"user\" WHERE id = :u",
        "activities": "SELECT a.date, a.kind, s.symbol, a.quantity, a.price, a.amount, a.fee, a.tax FROM activity a "
                      "LEFT JOIN security s ON s.id = a.security_id WHERE a.user_id = :u ORDER BY 1, 2, 3",
        "prices": "SELECT s.symbol, count(*), min(p.date), max(p.date), sum(p.close) FROM price p "
                  "JOIN security s ON s.id = p.security_id WHERE s.user_id = :u GROUP BY 1 ORDER BY 1",
    }
    return {name: await _rows(rt, sql, u=user_id) for name, sql in queries.items()}


async def test_demo_is_consistent_deterministic_and_idempotent(rt: Runtime) -> None:
    today = clock.now().date()
    assert await _seed(rt, today, reset=True)
    async with rt.sessions() as session:
        user = await users.get_user_by_email(session, DEMO_EMAIL)
    state = await _state(rt, user.id)
    assert state["user"] == [(DEMO_EMAIL, "USD", True)]
    assert len(state["accounts"]) == 5 and len(state["transactions"]) > 500
    assert len(state["activities"]) > 5 and [row[0] for row in state["prices"]] == ["AAPL", "BND", "VWRL"]
    assert len(state["budgets"]) == (MONTHS + 1) * len(BUDGETS)
    assert [goal[0] for goal in state["goals"]] == ["Emergency fund", "Japan trip", "New laptop"]

    # Balances: opening + the sum of the account's transactions, for every account.
    balances = await _rows(rt, """
        SELECT a.name, a.current_balance, a.opening_balance + coalesce(sum(t.amount), 0)
        FROM account a LEFT JOIN transaction t ON t.account_id = a.id WHERE a.user_id = :u GROUP BY a.id""", u=user.id)
    assert len(balances) == 5 and all(current == expected for _, current, expected in balances), balances

    # The daily totals hold exactly what the transactions say.
    assert await _rows(rt, """
        SELECT date, currency, coalesce(category_id, '00000000-0000-0000-0000-000000000000'), transfer_id IS NOT NULL,
               sum(greatest(amount, 0)), sum(least(amount, 0)), count(*)
        FROM transaction WHERE user_id = :u GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4""", u=user.id) == await _rows(rt, """
        SELECT day, currency, category_key, is_transfer, inflow, outflow, count
        FROM daily_total WHERE user_id = :u AND count <> 0 ORDER BY 1, 2, 3, 4""", u=user.id)

    # Every account the demo touches is the demo user's: transactions, goals, and nobody else's rows.
    assert await _rows(rt, """
        SELECT count(*) FROM transaction t JOIN account a ON a.id = t.account_id
        WHERE (t.user_id = :u) <> (a.user_id = :u)""", u=user.id) == [(0,)]
    assert await _rows(rt, """
        SELECT count(*) FROM goal g JOIN account a ON a.id = g.account_id WHERE g.user_id = :u AND a.user_id <> :u""",
        u=user.id) == [(0,)]
    assert await _rows(rt, """
        SELECT count(*) FROM transaction t JOIN category c ON c.id = t.category_id WHERE t.user_id = :u AND c.user_id <> :u""",
        u=user.id) == [(0,)]

    # Transfers (card payments, savings) move balances but are not income: walletSummary's income is
    # the non-transfer inflows only, euros converted at the rate of their day.
    start = min(row[1] for row in state["transactions"])
    inflows = await _rows(rt, "SELECT date, currency, amount, transfer_id IS NOT NULL FROM transaction "
                              "WHERE user_id = :u AND amount > 0", u=user.id)
    assert any(is_transfer for *_, is_transfer in inflows) and any(currency == "EUR" for _, currency, *_ in inflows)
    expected = Decimal(0)
    async with rt.sessions() as session:
        for day, currency, amount, is_transfer in inflows:
            if not is_transfer:
                expected += amount * (await totals.rates_on(session, [currency], target="USD", day=day))[currency]
        summary = await wallet.wallet_summary(session, rt, Viewer.acting_for(user.id), start=start, end=today)
    assert summary.total_income == round_money(expected, "USD")
    assert summary.total_income < round_money(expected + sum(a for _, c, a, t in inflows if t and c == "USD"), "USD")
    assert summary.missing_rates == []

    # Again without reset: nothing changes.
    assert not await _seed(rt, today, reset=False)
    assert await _state(rt, user.id) == state

    # With reset: a new user, the very same data.
    assert await _seed(rt, today, reset=True)
    async with rt.sessions() as session:
        again = await users.get_user_by_email(session, DEMO_EMAIL)
    assert again.id != user.id
    assert await _state(rt, again.id) == state
    assert await _rows(rt, "SELECT count(*) FROM daily_total WHERE user_id = :u", u=user.id) == [(0,)]

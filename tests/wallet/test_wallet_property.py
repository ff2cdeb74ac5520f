"""Property: walletSummary and cashflow equal an independent Decimal computation over the rows."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from decimal import ROUND_HALF_EVEN, Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from finora_gql.accounts import service as accounts
from finora_gql.accounts.models import AccountType
from finora_gql.core.db import atomic
from finora_gql.core.viewer import Viewer
from finora_gql.transactions import categories
from finora_gql.transactions import service as ledger
from finora_gql.transactions.models import Category, CategoryKind
from finora_gql.users import service as users
from finora_gql.wallet import service as wallet
from finora_gql.wallet.models import FxRate
from finora_gql.wallet.totals import Bucket
from tests.server import RunningServer, unique_email

START = dt.date(2031, 1, 1)  # a year of its own, so other tests' global FX rates don't interfere
CURRENCIES = ("USD", "GBP", "CHF")
row = st.tuples(
    st.integers(0, 2),  # account (USD, GBP, CHF)
    st.integers(0, 89),  # day offset
    st.decimals(min_value=Decimal("-500"), max_value=Decimal("500"), places=2).filter(lambda d: d != 0),
    st.integers(0, 3),  # category
)
rate_days = st.dictionaries(st.sampled_from(("GBP", "CHF")), st.lists(st.integers(0, 89), max_size=3), max_size=2)


def cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(row, max_size=25), rates=rate_days, window=st.tuples(st.integers(0, 89), st.integers(0, 89)))
async def test_summary_and_cashflow_match_an_independent_computation(
    server: RunningServer, rows: list, rates: dict, window: tuple[int, int]
) -> None:
    rt = server.runtime
    start, end = START + dt.timedelta(days=min(window)), START + dt.timedelta(days=max(window))
    # A private quote currency per example keeps rates of other examples out: convert into "USD"
    # only through pairs this example writes, with rates unique to it.
    async with rt.sessions() as session, atomic(session):
        user = await users.create_user(session, email=unique_email("prop"), name="Prop")
        await categories.create_defaults(session, user.id)
    viewer = Viewer.acting_for(user.id)
    quote_rates: dict[str, dict[dt.date, Decimal]] = defaultdict(dict)
    async with rt.sessions() as session, atomic(session):
        made = [await accounts.create_account(session, viewer, name=c, type=AccountType.CHECKING, currency=c)
                for c in CURRENCIES]
        picked = (await session.exec(select(Category.id).where(Category.user_id == user.id,
                                                               Category.kind == CategoryKind.EXPENSE).limit(4))).all()
        await session.exec(FxRate.__table__.delete().where(FxRate.__table__.c.date >= START))
        for currency, days in rates.items():
            for offset in days:
                day = START + dt.timedelta(days=offset)
                rate = Decimal("1.2345") + Decimal(offset) / 1000
                await wallet.set_fx_rate(session, rt, dataclasses.replace(viewer, is_admin=True), base=currency, quote="USD", date=day, rate=rate)
                quote_rates[currency][day] = rate
        for account, offset, amount, category in rows:
            await ledger.create_transaction(session, rt, viewer, account_id=made[account].id,
                                            date=START + dt.timedelta(days=offset), amount=amount,
                                            category_id=picked[category])
    async with rt.sessions() as session:
        summary = await wallet.wallet_summary(session, rt, viewer, start=start, end=end)
        flows = await wallet.cashflow(session, rt, viewer, start=start, end=end, granularity=Bucket.WEEK)

    def rate(currency: str, day: dt.date) -> Decimal | None:
        if currency == "USD":
            return Decimal(1)
        known = [d for d in quote_rates[currency] if d <= day]
        return quote_rates[currency][max(known)] if known else None

    income = expenses = Decimal(0)
    weekly: dict[dt.date, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    monthly: dict[dt.date, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    spent: dict = defaultdict(Decimal)  # per category: money out only (a refund is income)
    missing: set[str] = set()
    for account, offset, amount, category in rows:
        day = START + dt.timedelta(days=offset)
        if not start <= day <= end:
            continue
        r = rate(CURRENCIES[account], day)
        if r is None:
            missing.add(CURRENCIES[account])
            continue
        week, month = day - dt.timedelta(days=day.weekday()), day.replace(day=1)
        if amount > 0:
            income += amount * r
            weekly[week][0] += amount * r
            monthly[month][0] += amount * r
        else:
            expenses -= amount * r
            weekly[week][1] -= amount * r
            monthly[month][1] -= amount * r
            spent[picked[category]] -= amount * r
    assert (summary.total_income, summary.total_expenses) == (cents(income), cents(expenses))
    assert summary.net == cents(income) - cents(expenses)
    assert [(f.period, f.income, f.expenses) for f in summary.monthly_trend] == [
        (month, cents(i), cents(e)) for month, (i, e) in sorted(monthly.items())
    ]
    assert {(c.category_id, c.amount) for c in summary.top_categories} == {(c, cents(a)) for c, a in spent.items()}
    assert {m.currency for m in summary.missing_rates if m.first_day <= end} >= missing
    assert {m.currency for m in flows.missing_rates} == missing
    for bucket in flows.buckets:
        expected = weekly.get(bucket.period, [Decimal(0), Decimal(0)])
        assert (bucket.income, bucket.expenses) == (cents(expected[0]), cents(expected[1]))

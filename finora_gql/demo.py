"""Demo data: a person with two years of believable finances, written through the services.

Deterministic (seeded), so screenshots and docs stay stable. Balances, daily totals and
budgets come out exactly as if the person had typed everything in.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterator
from decimal import Decimal

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from finora_gql.accounts import service as accounts
from finora_gql.accounts.models import AccountType
from finora_gql.auth import service as auth
from finora_gql.budgets import service as budgets
from finora_gql.core import clock
from finora_gql.core.db import atomic
from finora_gql.core.runtime import Runtime
from finora_gql.core.viewer import Viewer
from finora_gql.transactions import service as ledger
from finora_gql.transactions.models import Category
from finora_gql.users import service as users
from finora_gql.wallet import service as wallet

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "finora sample 2026"
CHUNK = 100

GROCERS = ("Whole Foods", "Trader Joe's", "Safeway", "Costco")
RESTAURANTS = ("Chipotle", "Blue Bottle Coffee", "Sushi Zen", "Pizza Napoli", "Thai Basil")
SUBSCRIPTIONS = (("Netflix", "15.49"), ("Spotify", "10.99"), ("iCloud", "2.99"), ("Gym Plus", "39.00"))
SHOPS = ("Amazon", "Target", "IKEA", "REI", "Apple Store")


def _money(value: float) -> Decimal:
    return Decimal(str(round(value, 2)))


def _months(start: dt.date, end: dt.date) -> Iterator[dt.date]:
    current = start.replace(day=1)
    while current <= end:
        yield current
        current = (current.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


async def create_demo(
    session_factory: Callable[[], AsyncSession], rt: Runtime, *, months: int = 24, reset: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> bool:
    """Create the demo user; False (and no change) when it exists and `reset` is off."""
    async with session_factory() as session:
        existing = await users.get_user_by_email(session, DEMO_EMAIL)
        if existing is not None:
            if not reset:
                return False
            async with atomic(session):
                await session.delete(existing)
    rng = random.Random(2026)
    today = clock.now().date()
    start = (today.replace(day=1) - dt.timedelta(days=months * 31)).replace(day=1)

    async with session_factory() as session, atomic(session):
        user = await auth.register(session, rt, email=DEMO_EMAIL, password=DEMO_PASSWORD, name="Dana Demo")
        await users.mark_email_verified(session, user)
    viewer = Viewer.acting_for(user.id)
    async with session_factory() as session, atomic(session):
        checking = await accounts.create_account(session, viewer, name="Everyday Checking", type=AccountType.CHECKING,
                                                 currency="USD", opening_balance=Decimal("2400.00"))
        savings = await accounts.create_account(session, viewer, name="High-Yield Savings", type=AccountType.SAVINGS,
                                                currency="USD", opening_balance=Decimal("8000.00"))
        card = await accounts.create_account(session, viewer, name="Travel Card", type=AccountType.CREDIT_CARD,
                                             currency="USD")
        euro = await accounts.create_account(session, viewer, name="Euro Account", type=AccountType.CHECKING,
                                             currency="EUR", opening_balance=Decimal("500.00"))
        category = {c.name: c.id for c in (await session.exec(select(Category).where(col(Category.user_id) == user.id))).all()}
        for month in _months(start, today):
            await wallet.set_fx_rate(session, rt, base="EUR", quote="USD", date=month,
                                     rate=Decimal("1.08") + Decimal(rng.randint(-40, 40)) / 1000)

    drafts: list[ledger.Draft] = []
    transfers: list[tuple] = []

    def spend(day: dt.date, account, amount: float, name: str, merchant: str, description: str = "") -> None:
        if day <= today:
            drafts.append(ledger.Draft(account_id=account.id, date=day, amount=_money(amount), category_id=category[name],
                                       merchant=merchant, description=description or merchant))

    for month in _months(start, today):
        for payday in (1, 15):
            spend(month.replace(day=payday), checking, 3900.00, "Salary", "Acme Corp", "Payroll")
        spend(month.replace(day=2), checking, -1850.00, "Rent & Mortgage", "Maple Street Apartments", "Rent")
        spend(month.replace(day=6), checking, -rng.uniform(60, 140), "Utilities", "City Power & Light")
        spend(month.replace(day=9), checking, -rng.uniform(45, 70), "Utilities", "Comcast Internet")
        for name, price in SUBSCRIPTIONS:
            spend(month.replace(day=12), card, -float(price), "Subscriptions", name)
        for day in range(1, 29):
            spend(month.replace(day=day), card, -rng.uniform(8, 140), "Groceries", rng.choice(GROCERS))
            spend(month.replace(day=day), card, -rng.uniform(3.5, 7.5), "Restaurants", "Blue Bottle Coffee", "Coffee")
            if month.replace(day=day).weekday() < 5:
                for trip in ("Commute in", "Commute out"):
                    spend(month.replace(day=day), checking, -2.75, "Transport", "Metro Transit", trip)
                spend(month.replace(day=day), card, -rng.uniform(9, 16), "Restaurants", "Sweetgreen", "Lunch")
        for _ in range(rng.randint(12, 20)):
            spend(month.replace(day=rng.randint(1, 28)), card, -rng.uniform(9, 85), "Restaurants", rng.choice(RESTAURANTS))
        for _ in range(rng.randint(6, 12)):
            spend(month.replace(day=rng.randint(1, 28)), card, -rng.uniform(15, 260), "Shopping", rng.choice(SHOPS))
        for _ in range(rng.randint(3, 5)):
            spend(month.replace(day=rng.randint(1, 28)), card, -rng.uniform(35, 70), "Fuel", "Shell")
        if rng.random() < 0.25:
            spend(month.replace(day=rng.randint(1, 28)), card, rng.uniform(15, 90), "Refunds", rng.choice(SHOPS), "Return")
        if month.month in (7, 12):
            spend(month.replace(day=20), euro, -rng.uniform(300, 900), "Travel", "Hotel Lisboa")
            spend(month.replace(day=21), euro, -rng.uniform(40, 160), "Restaurants", "Tasca do Chico")
        if month.replace(day=25) <= today:
            transfers.append((checking, card, month.replace(day=25), Decimal("4650.00"), None))
            transfers.append((checking, savings, month.replace(day=16), Decimal("500.00"), None))
        if month.month == 6 and month.replace(day=10) <= today:
            transfers.append((checking, euro, month.replace(day=10), Decimal("1500.00"), Decimal("1380.00")))

    total = len(drafts) + len(transfers)
    done = 0
    for offset in range(0, len(drafts), CHUNK):
        async with session_factory() as session, atomic(session):
            await ledger.create_transactions(session, rt, viewer, drafts[offset : offset + CHUNK], field_prefix="demo.")
        done += len(drafts[offset : offset + CHUNK])
        if progress:
            progress(done, total)
    async with session_factory() as session, atomic(session):
        for source, target, day, amount, received in transfers:
            await ledger.create_transfer(session, rt, viewer, from_account_id=source.id, to_account_id=target.id,
                                         date=day, amount=amount, received_amount=received,
                                         description="Card payment" if target is card else "Saving")
    if progress:
        progress(total, total)

    async with session_factory() as session, atomic(session):
        this_month = today.replace(day=1)
        for month in (budgets.add_months(this_month, -1), this_month):
            for name, limit in (("Groceries", "2100"), ("Restaurants", "1100"), ("Shopping", "1100"), ("Transport", "130")):
                await budgets.create_budget(session, viewer, month=month, category_id=category[name],
                                            limit=Decimal(limit), rollover=name == "Groceries")
        await budgets.create_goal(session, viewer, name="Emergency fund", target_amount=Decimal("20000"),
                                  account_id=savings.id)
        trip = await budgets.create_goal(session, viewer, name="Japan trip", target_amount=Decimal("6000"),
                                         target_date=today.replace(year=today.year + 1))
        for back in range(6, 0, -1):
            await budgets.add_contribution(session, rt, viewer, goal_id=trip.goal.id, amount=Decimal("400"),
                                           date=budgets.add_months(this_month, -back))
    return True

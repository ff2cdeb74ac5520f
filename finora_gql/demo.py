"""Demo data: a person with two years of believable finances, written through the services.

`plan_demo` decides everything (deterministically, from a seeded random generator and the date);
`create_demo` writes the plan through the same services the API uses, so balances, daily totals,
budgets and goals come out exactly as if the person had typed everything in.

The address is demo@example.com rather than something under `.local`: the email validator
(rightly) refuses special-use domains such as `.local` and `.test`, at sign-up and at sign-in.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal

from sqlmodel.ext.asyncio.session import AsyncSession

from finora_gql.accounts import service as accounts
from finora_gql.accounts.models import AccountType
from finora_gql.auth import service as auth
from finora_gql.budgets import alerts
from finora_gql.budgets import service as budgets
from finora_gql.core import clock
from finora_gql.core.calendar import add_months
from finora_gql.core.db import atomic
from finora_gql.core.owned import SystemActor
from finora_gql.core.runtime import Runtime
from finora_gql.core.viewer import Viewer
from finora_gql.investments import service as investments
from finora_gql.investments.engine import Kind
from finora_gql.transactions import categories
from finora_gql.transactions import service as ledger
from finora_gql.users import service as users
from finora_gql.wallet import service as wallet

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "finora sample 2026"
DEMO_NAME = "Dana Rivera"
# Sets the shared EUR->USD history the demo needs (audited under this name, as any rate change).
DEMO_SEED = SystemActor("demo seed")
SEED = 2026
CHUNK = 100  # create_transactions takes at most 100 at once; one atomic session per chunk

CENT = Decimal("0.01")
SAVING = Decimal("900.00")  # a month, checking -> savings, on the 16th

# key: (name, type, currency, opening balance)
ACCOUNTS: dict[str, tuple[str, AccountType, str, Decimal]] = {
    "checking": ("Everyday Checking", AccountType.CHECKING, "USD", Decimal("3200.00")),
    "savings": ("High-Yield Savings", AccountType.SAVINGS, "USD", Decimal("9500.00")),
    "card": ("Travel Rewards Card", AccountType.CREDIT_CARD, "USD", Decimal("0.00")),
    "euro": ("Euro Account", AccountType.CHECKING, "EUR", Decimal("650.00")),
}

GROCERS = ("Whole Foods Market", "Trader Joe's", "Safeway", "Costco", "Farmers Market")
COFFEE = ("Blue Bottle Coffee", "Starbucks", "Philz Coffee")
LUNCH = ("Sweetgreen", "Chipotle", "Pret A Manger", "Banh Mi Saigon")
RESTAURANTS = ("Sushi Zen", "Pizza Napoli", "Thai Basil", "La Taqueria", "The Grill House", "Ramen Nagi")
BARS = ("The Local Tap", "Wine Bar 22")
SHOPS = ("Target", "IKEA", "REI", "Apple Store", "Uniqlo", "Home Depot")
CONVENIENCE = ("CVS Pharmacy", "Walgreens", "7-Eleven")
RIDES = ("Uber", "Lyft")
ENTERTAINMENT = ("AMC Theatres", "Steam", "Ticketmaster", "Bowling Alley")
HEALTH = ("CVS Pharmacy", "Dr. Patel Family Practice", "Bright Smile Dental")
# merchant, category, price, account: stable merchants, the same amount every month
SUBSCRIPTIONS = (
    ("Netflix", "Subscriptions", "15.49", "card"),
    ("Spotify", "Subscriptions", "11.99", "card"),
    ("iCloud+", "Subscriptions", "2.99", "card"),
    ("New York Times", "Subscriptions", "17.00", "card"),
    ("Gym Plus", "Health", "39.00", "checking"),
)
EURO_TRIPS = (("Lisbon", "Hotel Lisboa Chiado", "Tasca do Chico"), ("Barcelona", "Hotel Casa Fuster", "Cervecería Catalana"),
              ("Rome", "Hotel Raphael", "Trattoria da Enzo"), ("Paris", "Hôtel des Grands Boulevards", "Le Comptoir"))

# The brokerage account: bought at the start, topped up monthly, paid dividends. Its securities are
# the person's own (manual, priced by them) so the demo never touches the shared market data.
BROKERAGE = ("Brokerage", AccountType.INVESTMENT, "USD")
# symbol: (first close, weekly drift, dividend per unit, months paying it, day of month)
SECURITIES = {
    "VWRL": (Decimal("108.40"), 0.0022, Decimal("0.55"), (3, 6, 9, 12), 27),
    "AAPL": (Decimal("189.20"), 0.0030, Decimal("0.25"), (2, 5, 8, 11), 14),
    "BND": (Decimal("72.10"), 0.0003, Decimal("0.21"), tuple(range(1, 13)), 3),
}
OPENING_BUY = {"VWRL": Decimal(70), "AAPL": Decimal(20), "BND": Decimal(40)}
BROKER_FEE = Decimal("4.95")
DIVIDEND_TAX = Decimal("0.15")

# category: monthly limit in USD (Groceries rolls over: what's left of one month adds to the next)
BUDGETS = {"Groceries": "1300", "Restaurants": "1050", "Shopping": "1150", "Transport": "450",
           "Entertainment": "175", "Utilities": "250"}


# --- the plan -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    account: str
    date: dt.date
    amount: Decimal
    category: str
    merchant: str
    description: str


@dataclass(frozen=True)
class Transfer:
    source: str
    target: str
    date: dt.date
    amount: Decimal
    received: Decimal | None
    description: str


@dataclass(frozen=True)
class GoalPlan:
    name: str
    target: Decimal
    target_date: dt.date | None
    account: str | None
    contributions: list[tuple[dt.date, Decimal]]


@dataclass(frozen=True)
class Trade:
    """One investment activity, as recordInvestmentActivity takes it."""

    date: dt.date
    kind: Kind
    symbol: str | None = None
    quantity: Decimal | None = None
    price: Decimal | None = None
    amount: Decimal | None = None
    fee: Decimal | None = None
    tax: Decimal | None = None


@dataclass
class Plan:
    start: dt.date
    today: dt.date
    fx_rates: list[tuple[dt.date, Decimal]] = field(default_factory=list)  # 1 EUR = rate USD from date on
    entries: list[Entry] = field(default_factory=list)
    transfers: list[Transfer] = field(default_factory=list)
    budgets: list[tuple[dt.date, str, Decimal, bool]] = field(default_factory=list)
    goals: list[GoalPlan] = field(default_factory=list)
    trades: list[Trade] = field(default_factory=list)
    closes: dict[str, list[tuple[dt.date, Decimal]]] = field(default_factory=dict)  # weekday closes

    @property
    def transaction_count(self) -> int:
        return len(self.entries) + 2 * len(self.transfers)

    def balances(self) -> dict[str, Decimal]:
        """Each account's balance once the plan is written (opening + every entry and transfer leg)."""
        result = {key: opening for key, (_, _, _, opening) in ACCOUNTS.items()}
        for entry in self.entries:
            result[entry.account] += entry.amount
        for transfer in self.transfers:
            result[transfer.source] -= transfer.amount
            result[transfer.target] += transfer.received if transfer.received is not None else transfer.amount
        return result


def _money(value: float | Decimal) -> Decimal:
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_EVEN)


def _months(start: dt.date, end: dt.date) -> Iterator[dt.date]:
    current = start.replace(day=1)
    while current <= end:
        yield current
        current = add_months(current, 1)


def _workday_before(day: dt.date) -> dt.date:
    """Payday on a weekend moves to the Friday before."""
    while day.weekday() >= 5:
        day -= dt.timedelta(days=1)
    return day


def _rate_on(rates: list[tuple[dt.date, Decimal]], day: dt.date) -> Decimal:
    return next(rate for date, rate in reversed(rates) if date <= day)


def plan_demo(today: dt.date, *, months: int = 24, seed: int = SEED) -> Plan:
    """Everything the demo person did from the first day of the month `months` ago up to `today`."""
    rng = random.Random(seed)
    start = add_months(today.replace(day=1), -months)
    plan = Plan(start=start, today=today)

    # EUR->USD: a weekly rate (Mondays, and the first day), a gentle random walk around 1.08.
    rate = Decimal("1.0850")
    day = start
    while day <= today:
        plan.fx_rates.append((day, rate))
        rate = min(max(rate + Decimal(rng.randint(-90, 90)) / 10000, Decimal("1.0200")), Decimal("1.1600"))
        day += dt.timedelta(days=7 - day.weekday())

    card_spend: dict[dt.date, Decimal] = defaultdict(Decimal)  # per statement month
    balance = {key: opening for key, (_, _, _, opening) in ACCOUNTS.items()}  # roughly, as the plan goes

    def add(account: str, day: dt.date, amount: float | Decimal, category: str, merchant: str, description: str = "") -> None:
        if start <= day <= today:
            value = _money(amount)
            plan.entries.append(Entry(account, day, value, category, merchant, description or merchant))
            balance[account] += value
            if account == "card":
                card_spend[day.replace(day=1)] += value

    def transfer(source: str, target: str, day: dt.date, amount: Decimal, description: str,
                 received: Decimal | None = None) -> None:
        if start <= day <= today and amount > 0:
            plan.transfers.append(Transfer(source, target, day, amount, received, description))
            balance[source] -= amount
            balance[target] += received if received is not None else amount

    trip_months = {add_months(start, offset) for offset in range(months + 1) if offset % 12 in (5, 10)}
    trips = iter(EURO_TRIPS * (months // 12 + 2))
    for index, month in enumerate(_months(start, today)):
        days = [month + dt.timedelta(days=n) for n in range((add_months(month, 1) - month).days)]
        year = index // 12
        salary = Decimal("4000.00") * (Decimal("1.04") ** year)  # a raise every year
        rent = Decimal("2150.00") * (Decimal("1.03") ** year)  # lease renewal
        for payday in (1, 15):
            add("checking", _workday_before(month.replace(day=payday)), salary, "Salary", "Acme Corp", "Payroll")
        add("checking", month.replace(day=1), -rent, "Rent & Mortgage", "Maple Street Apartments", "Rent")
        add("checking", month.replace(day=6), -rng.uniform(55, 150), "Utilities", "City Power & Light", "Electricity")
        add("checking", month.replace(day=9), -65.00, "Utilities", "Comcast", "Internet")
        add("card", month.replace(day=11), -45.00, "Utilities", "Mint Mobile", "Phone plan")
        if month.month % 2 == 0:
            add("checking", month.replace(day=18), -rng.uniform(38, 85), "Utilities", "City Water", "Water & sewer")
        add("checking", month.replace(day=3), -128.40, "Insurance", "Geico", "Car insurance")
        for merchant, category, price, account in SUBSCRIPTIONS:
            add(account, month.replace(day=12), -Decimal(price), category, merchant, "Subscription")
        for day in days:
            workday = day.weekday() < 5
            if rng.random() < 0.72:
                add("card", day, -rng.uniform(10, 80) * (2.2 if day.weekday() == 5 else 1), "Groceries",
                    rng.choice(GROCERS), "Groceries")
            if rng.random() < (0.85 if workday else 0.5):
                add("card", day, -rng.uniform(3.5, 7.5), "Restaurants", rng.choice(COFFEE), "Coffee")
            if rng.random() < 0.3:
                add("card", day, -rng.uniform(4, 16), "Groceries", "Tartine Bakery", "Bakery")
            if workday:
                for leg in ("in", "out"):
                    if rng.random() < 0.9:
                        add("checking", day, -2.90, "Transport", "Metro Transit", f"Commute {leg}")
                if rng.random() < 0.6:
                    add("card", day, -rng.uniform(10, 18), "Restaurants", rng.choice(LUNCH), "Lunch")
            elif rng.random() < 0.5:
                add("checking", day, -2.90, "Transport", "Metro Transit", "Metro")
            if rng.random() < 0.4 and day.weekday() >= 4:
                add("card", day, -rng.uniform(28, 140), "Restaurants", rng.choice(RESTAURANTS), "Dinner")
            if rng.random() < 0.4:
                add("card", day, -rng.uniform(3, 25), "Shopping", rng.choice(CONVENIENCE))
        for _ in range(rng.randint(4, 8)):
            add("card", rng.choice(days), -rng.uniform(18, 60), "Restaurants", rng.choice(BARS), "Drinks")
        for _ in range(rng.randint(6, 12)):
            add("card", rng.choice(days), -rng.uniform(9, 38), "Transport", rng.choice(RIDES), "Ride")
        for _ in range(rng.randint(5, 10)):
            add("card", rng.choice(days), -rng.uniform(12, 180), "Shopping", rng.choice(SHOPS))
        for _ in range(rng.randint(6, 12)):
            add("card", rng.choice(days), -rng.uniform(8, 75), "Shopping", "Amazon", "Online order")
        for _ in range(rng.randint(2, 4)):
            add("card", rng.choice(days), -rng.uniform(38, 68), "Fuel", "Shell", "Fuel")
        for _ in range(rng.randint(3, 7)):
            add("card", rng.choice(days), -rng.uniform(6, 22), "Transport", "SpotHero Parking", "Parking")
        for _ in range(rng.randint(2, 5)):
            add("card", rng.choice(days), -rng.uniform(12, 95), "Entertainment", rng.choice(ENTERTAINMENT))
        for _ in range(rng.randint(0, 3)):
            add("card", rng.choice(days), -rng.uniform(15, 180), "Health", rng.choice(HEALTH))
        if rng.random() < 0.35:  # a return: money back in the same category, from the same shop
            add("card", rng.choice(days), rng.uniform(15, 120), "Shopping", rng.choice(SHOPS), "Return")
        if month.month == 12:
            for _ in range(5):
                add("card", rng.choice(days[:24]), -rng.uniform(30, 160), "Gifts & Donations", rng.choice(SHOPS), "Holiday gift")
        if month.month == 3:
            add("card", month.replace(day=2), -95.00, "Fees & Charges", "Travel Rewards Card", "Annual fee")
        if month.month == 4:
            add("checking", month.replace(day=rng.randint(10, 25)), rng.uniform(400, 1400), "Refunds", "IRS", "Tax refund")
        if index % 2 == 1:  # a client in Europe pays into the euro account
            add("euro", month.replace(day=20), rng.uniform(450, 900), "Freelance", "Studio Kestrel GmbH", "Design work")
        if month in trip_months:
            city, hotel, restaurant = next(trips)
            if balance["euro"] < Decimal("1800"):  # top up the euro account before going
                day = month.replace(day=10)
                usd = Decimal("1500.00")
                transfer("checking", "euro", day, usd, "Euros for the trip", received=_money(usd / _rate_on(plan.fx_rates, day)))
            add("card", month.replace(day=2), -rng.uniform(620, 980), "Travel", "United Airlines", f"Flights to {city}")
            for offset in range(5):
                day = month.replace(day=14 + offset)
                if offset == 0:
                    add("euro", day, -rng.uniform(520, 980), "Travel", hotel, f"{city} hotel")
                add("euro", day, -rng.uniform(25, 85), "Restaurants", restaurant if offset % 2 else f"Café {city}",
                    f"{city} dinner" if offset % 2 else f"{city} breakfast")
                add("euro", day, -rng.uniform(4, 30), "Transport", f"{city} Metro", f"{city} transport")
            if rng.random() < 0.5:  # a refunded museum booking
                add("euro", month.replace(day=21), rng.uniform(20, 45), "Refunds", f"{city} Museum", "Cancelled booking")
        elif rng.random() < 0.15:  # a weekend away in the US
            add("card", month.replace(day=22), -rng.uniform(180, 420), "Travel", "Airbnb", "Weekend away")

        # Money moves: pay last month's card statement, save, earn interest, convert euros once a year.
        statement = -card_spend.get(add_months(month, -1), Decimal(0))
        transfer("checking", "card", month.replace(day=25), _money(statement), "Card payment")
        saving = SAVING + (Decimal("500.00") if month.month in (3, 9) else Decimal(0))
        transfer("checking", "savings", _workday_before(month.replace(day=16)), saving, "Monthly saving")
        interest = _money(balance["savings"] * Decimal("0.04") / 12)
        add("savings", add_months(month, 1) - dt.timedelta(days=1), interest, "Interest & Dividends",
            "High-Yield Savings", "Interest")
        if index % 12 == 8 and balance["euro"] > Decimal("3500"):
            eur = Decimal("2000.00")
            day = month.replace(day=5)
            if day <= today:
                transfer("euro", "savings", day, eur, "Euros to savings", received=_money(eur * _rate_on(plan.fx_rates, day)))

    plan.entries.sort(key=lambda e: e.date)
    plan.transfers.sort(key=lambda t: t.date)

    this_month = today.replace(day=1)
    for month in _months(start, today):
        for name, limit in BUDGETS.items():
            plan.budgets.append((month, name, Decimal(limit), name == "Groceries"))

    monthly = [add_months(this_month, -back).replace(day=16) for back in range(months, -1, -1)]
    plan.goals = [
        GoalPlan("Emergency fund", Decimal("45000"), add_months(this_month, 18), "savings",
                 [(t.date, t.amount) for t in plan.transfers if t.target == "savings" and t.source == "checking"]),
        GoalPlan("Japan trip", Decimal("6000"), add_months(this_month, 11).replace(day=1), None,
                 [(day, Decimal("350")) for day in monthly[-10:] if start <= day <= today]),
        GoalPlan("New laptop", Decimal("2200"), None, None,
                 [(day, Decimal("300")) for day in monthly[-16:-8] if start <= day <= today]),
    ]
    _plan_investments(plan, seed)
    return plan


def _plan_investments(plan: Plan, seed: int) -> None:
    """Weekday closes (a random walk of its own, so the ledger plan above stays as it was), an
    opening purchase, a monthly top-up into VWRL, dividends (15% withheld) and, in longer plans,
    a partial sale of AAPL four months ago."""
    rng = random.Random(seed + 1)
    first = plan.start.replace(day=5)
    while first.weekday() >= 5:
        first += dt.timedelta(days=1)
    if first > plan.today:
        return
    for symbol, (price, drift, *_rest) in SECURITIES.items():
        closes, day, value = [], first, price
        while day <= plan.today:
            if day.weekday() < 5:
                closes.append((day, value))
                value = max(_money(value * Decimal(str(1 + rng.gauss(drift / 5, 0.012)))), CENT)
            day += dt.timedelta(days=1)
        plan.closes[symbol] = closes

    def close(symbol: str, day: dt.date) -> Decimal:
        return next(price for date, price in reversed(plan.closes[symbol]) if date <= day)

    held: dict[str, Decimal] = defaultdict(Decimal)

    def trade(t: Trade) -> None:
        plan.trades.append(t)
        if t.kind is Kind.BUY:
            held[t.symbol] += t.quantity
        elif t.kind is Kind.SELL:
            held[t.symbol] -= t.quantity

    trade(Trade(first, Kind.DEPOSIT, amount=Decimal("15000.00")))
    for symbol, quantity in OPENING_BUY.items():
        trade(Trade(first, Kind.BUY, symbol, quantity, close(symbol, first), fee=BROKER_FEE))
    sale_month = add_months(plan.today.replace(day=1), -4) if (plan.today - first).days > 200 else None
    for month in _months(add_months(first.replace(day=1), 1), plan.today):
        events: list[tuple[dt.date, int, str]] = []
        for symbol, (*_head, months, payday) in SECURITIES.items():
            if month.month in months:
                events.append((_workday_before(month.replace(day=payday)), 1, symbol))
        events.append((_workday_before(month.replace(day=20)), 2, "top-up"))
        if month == sale_month:
            events.append((_workday_before(month.replace(day=10)), 3, "sale"))
        for day, _, what in sorted(events):
            if day > plan.today or day < first:
                continue
            if what == "top-up":
                trade(Trade(day, Kind.DEPOSIT, amount=Decimal("500.00")))
                price = close("VWRL", day)
                trade(Trade(day, Kind.BUY, "VWRL", Decimal(int((Decimal(500) - BROKER_FEE) / price)), price, fee=BROKER_FEE))
            elif what == "sale":
                trade(Trade(day, Kind.SELL, "AAPL", Decimal(8), close("AAPL", day), fee=BROKER_FEE))
            elif held[what]:
                gross = _money(held[what] * SECURITIES[what][2])
                trade(Trade(day, Kind.DIVIDEND, what, amount=gross, tax=_money(gross * DIVIDEND_TAX)))


# --- writing it ---------------------------------------------------------------------------------

Progress = Callable[[int, int, str], None]


async def delete_demo(session_factory: Callable[[], AsyncSession]) -> bool:
    """Delete the demo user and everything of theirs; False when there is none."""
    async with session_factory() as session, atomic(session):
        user = await users.get_user_by_email(session, DEMO_EMAIL)
        if user is None:
            return False
        await session.delete(user)  # everything of theirs goes with it (ON DELETE CASCADE)
    return True


async def create_demo(
    session_factory: Callable[[], AsyncSession],
    rt: Runtime,
    *,
    months: int = 24,
    reset: bool = False,
    today: dt.date | None = None,
    progress: Progress | None = None,
    settle: Callable[[], Awaitable[None]] | None = None,
) -> bool:
    """Create the demo user with `months` months of history; False (and no change) when it
    exists and `reset` is off.

    `settle` runs after the ledger is written and before budgets exist: callers with an
    in-process job queue wait there for the budget-alert jobs the ledger writes queued, so that
    the seeded history does not raise an alert for every past month.
    """
    async with session_factory() as session:
        if await users.get_user_by_email(session, DEMO_EMAIL) is not None and not reset:
            return False
    if reset:
        await delete_demo(session_factory)

    today = today or clock.now().date()
    plan = plan_demo(today, months=months)
    steps = 4 + len(plan.fx_rates) + plan.transaction_count + len(plan.budgets) + len(plan.goals) + len(plan.trades)
    done = 0

    def step(count: int, label: str) -> None:
        nonlocal done
        done += count
        if progress:
            progress(done, steps, label)

    step(0, "Creating the demo user")
    async with session_factory() as session, atomic(session):
        user = await auth.register(session, rt, email=DEMO_EMAIL, password=DEMO_PASSWORD, name=DEMO_NAME)
        await users.mark_email_verified(session, user)
        await users.update_profile(session, user, base_currency="USD", timezone="UTC")
    viewer = Viewer.acting_for(user.id)
    step(1, "Opening accounts")
    async with session_factory() as session, atomic(session):
        opened = {}
        for key, (name, type_, currency, opening) in ACCOUNTS.items():
            opened[key] = (await accounts.create_account(session, viewer, name=name, type=type_, currency=currency,
                                                         opening_balance=opening)).id
        category = {c.name: c.id for c in await categories.list_categories(session, viewer)}
    step(2, "Exchange rates EUR→USD")
    async with session_factory() as session, atomic(session):
        # Exchange rates are shared by everyone: never overwrite one that is already there.
        known = {rate.date for rate in await wallet.list_fx_rates(session, base="EUR", quote="USD", limit=100_000)}
        for day, rate in plan.fx_rates:
            if day not in known:
                await wallet.set_fx_rate(session, rt, DEMO_SEED, base="EUR", quote="USD", date=day, rate=rate)
    step(len(plan.fx_rates), "Writing transactions")

    drafts = [ledger.Draft(account_id=opened[e.account], date=e.date, amount=e.amount, category_id=category[e.category],
                           merchant=e.merchant, description=e.description) for e in plan.entries]
    for offset in range(0, len(drafts), CHUNK):
        chunk = drafts[offset : offset + CHUNK]
        async with session_factory() as session, atomic(session):
            await ledger.create_transactions(session, rt, viewer, chunk, field_prefix="demo.")
        step(len(chunk), "Writing transactions")
    for offset in range(0, len(plan.transfers), CHUNK // 2):
        chunk = plan.transfers[offset : offset + CHUNK // 2]
        async with session_factory() as session, atomic(session):
            for t in chunk:
                await ledger.create_transfer(session, rt, viewer, from_account_id=opened[t.source],
                                             to_account_id=opened[t.target], date=t.date, amount=t.amount,
                                             received_amount=t.received, description=t.description)
        step(2 * len(chunk), "Writing transfers")

    if settle is not None:
        await settle()
    async with session_factory() as session, atomic(session):
        for month, name, limit, rollover in plan.budgets:
            await budgets.create_budget(session, viewer, month=month, category_id=category[name], limit=limit,
                                        rollover=rollover)
    step(len(plan.budgets), "Goals")
    for goal in plan.goals:
        async with session_factory() as session, atomic(session):
            created = await budgets.create_goal(session, viewer, name=goal.name, target_amount=goal.target,
                                                target_date=goal.target_date,
                                                account_id=opened[goal.account] if goal.account else None)
            for day, amount in goal.contributions:
                await budgets.add_contribution(session, rt, viewer, goal_id=created.goal.id, amount=amount, date=day)
        step(1, "Goals")
    step(0, "Investments")
    await _write_investments(session_factory, rt, viewer, plan)
    step(len(plan.trades) + 1, "Investments")
    # This month's budget alerts, as the job after a ledger write would send them.
    async with session_factory() as session:
        await alerts.check_thresholds(session, rt, user.id, [today.replace(day=1)])
    step(0, "Done")
    return True


async def _write_investments(session_factory: Callable[[], AsyncSession], rt: Runtime, viewer: Viewer,
                             plan: Plan) -> None:
    """The brokerage account, its activities and the closes of its (the person's own) securities.
    The account opens empty: its cash comes in by the DEPOSIT activities (the person keeps no bank
    side of them in the ledger), and netWorth counts the account at its portfolio value."""
    if not plan.trades:
        return
    name, type_, currency = BROKERAGE
    async with session_factory() as session, atomic(session):
        account = await accounts.create_account(session, viewer, name=name, type=type_, currency=currency)
        for t in plan.trades:
            await investments.record_activity(session, rt, viewer, account_id=account.id, data=investments.ActivityInput(
                kind=t.kind, date=t.date, symbol=t.symbol, quantity=t.quantity, price=t.price, amount=t.amount,
                fee=t.fee, tax=t.tax))
        for symbol, closes in plan.closes.items():
            security = await investments.find_security(session, viewer, symbol)
            assert security is not None  # created by its first activity
            await investments.store_prices(session, rt, security, closes, source="MANUAL")

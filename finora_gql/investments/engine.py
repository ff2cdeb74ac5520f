"""The portfolio engine: pure functions over activities, prices and exchange rates.

No database, no strawberry: the service loads rows, turns them into the plain values below and
asks `evaluate(...)`. Everything money is `Decimal`, computed in a 40-digit context and never
rounded inside the engine; rounding to a currency's minor unit happens once, at the API edge.
Quantities are exact too: a split multiplies them by `to/from`, exact whenever the ratio
divides the quantity (a 3:1 reverse split of 10 shares gives 3.333... to 40 significant digits).

Definitions (Portfolio Performance's, see its manual "Performance" chapter):

- Activities are in their account's currency; a security's price in the security's currency.
  Both are converted into the reporting currency with the rate in force on the day (for cost
  basis: on the day of the purchase, so gains include the currency effect).
- Cost basis, both kept for every position: FIFO lots (a sale consumes the oldest lots first;
  a partly sold lot keeps cost * remaining/quantity) and moving average (a sale removes
  cost * sold/held). A purchase's cost is its total amount, fees and taxes included; a sale's
  proceeds are its total amount, fees and taxes deducted. Realized gain = proceeds - cost removed.
- Splits multiply every earlier lot's quantity by to/from; cost (and so cost basis) is unchanged.
- Cash per account: deposits, sales, dividends and interest (net of their fee and tax) in;
  withdrawals, purchases, fees and taxes out. Cash never goes below zero: a purchase (or fee, or
  tax) beyond the cash held brings the difference in as an implicit deposit, so a portfolio
  recorded without deposits still has returns; withdrawing more than the cash held is an error.
- `fee` and `tax` of a BUY or SELL are the parts of its amount that went to fees and taxes; of a
  DIVIDEND or INTEREST they are deducted from the gross amount. Reported fees and taxes add them
  all up with FEE and TAX activities (informational: the gains already include them).
- Daily value V_d = cash + sum(quantity * last close on or before d), in the reporting currency.
  A held security without any price on or before d, or a currency without a rate, makes V_d
  unknown (a reason, never 0).
- External flows: deposits (implicit ones included) and transfers in are inflows, withdrawals and
  transfers out outflows; a transfer is valued at market (at its recorded cost without a price).
  A day's flows are netted: a net inflow In_d counts from the start of the day, a net outflow
  Out_d at its end (so a deposit and an equal withdrawal on one day change nothing).
- TWR: r_d = (V_d + Out_d) / (V_{d-1} + In_d) - 1, a day whose denominator is not positive counts 0
  and is reported; cumulative = prod(1 + r_d) - 1, annualized = (1 + c)^(365/days) - 1 with days the
  number of days in [from, to].
- XIRR (actual/365): the rate r with sum(CF_i * (1 + r)^(-t_i/365)) = 0, where the value at the end
  of the day before `from` is paid in (negative), inflows are paid in, outflows paid out and the
  value at `to` paid out (positive). Solved in floating point on x = ln(1 + r) with a bracketed
  bisection (the bracket nearest 0% wins when there are several roots); no sign change -> no root.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Context, Decimal, localcontext
from enum import Enum
from typing import Hashable

CONTEXT = Context(prec=40)
ZERO = Decimal(0)
ONE = Decimal(1)


class Kind(str, Enum):
    BUY = "BUY"
    SELL = "SELL"
    DIVIDEND = "DIVIDEND"
    INTEREST = "INTEREST"
    FEE = "FEE"
    TAX = "TAX"
    SPLIT = "SPLIT"
    DEPOSIT = "DEPOSIT"
    WITHDRAWAL = "WITHDRAWAL"
    TRANSFER_IN = "TRANSFER_IN"
    TRANSFER_OUT = "TRANSFER_OUT"


# Kinds that need a security, and kinds that move a quantity of one.
WITH_SECURITY = {Kind.BUY, Kind.SELL, Kind.SPLIT, Kind.TRANSFER_IN, Kind.TRANSFER_OUT}
WITH_QUANTITY = {Kind.BUY, Kind.SELL, Kind.TRANSFER_IN, Kind.TRANSFER_OUT}
# Same-day order: money and securities arrive first, leave last.
_PHASE = {Kind.DEPOSIT: 0, Kind.TRANSFER_IN: 0, Kind.WITHDRAWAL: 2, Kind.TRANSFER_OUT: 2}


class CostMethod(str, Enum):
    FIFO = "FIFO"
    AVERAGE = "AVERAGE"


class Reason(str, Enum):
    MISSING_PRICE = "MISSING_PRICE"
    MISSING_FX_RATE = "MISSING_FX_RATE"
    NOTHING_INVESTED = "NOTHING_INVESTED"
    NO_SOLUTION = "NO_SOLUTION"


@dataclasses.dataclass(frozen=True)
class Act:
    """One activity as the engine sees it. `amount` is the total in the account's currency, always
    >= 0: paid for a BUY (fees and taxes included), received for a SELL (net of them), the gross
    dividend or interest (fee and tax are then deducted from it), the fee or tax itself, the money
    deposited or withdrawn, the cost basis of securities transferred in or out."""

    id: Hashable
    date: dt.date
    kind: Kind
    account: Hashable
    currency: str
    security: Hashable | None = None
    quantity: Decimal = ZERO
    amount: Decimal = ZERO
    fee: Decimal = ZERO
    tax: Decimal = ZERO
    split_from: Decimal = ONE
    split_to: Decimal = ONE
    seq: int = 0


class ActivityError(Exception):
    """An activity that cannot happen given the ones before it (selling more than is held, a split
    of nothing). `field` names the input field at fault."""

    def __init__(self, activity: Act, field: str, message: str) -> None:
        super().__init__(message)
        self.activity = activity
        self.field = field
        self.message = message


@dataclasses.dataclass(frozen=True)
class Series:
    """Values effective from their date until the next one (prices: closes; rates: into the reporting
    currency). `dates` ascending."""

    dates: list[dt.date]
    values: list[Decimal]
    sources: list[str] | None = None

    @classmethod
    def of(cls, points: Iterable[tuple[dt.date, Decimal]]) -> Series:
        ordered = sorted(points)
        return cls([d for d, _ in ordered], [v for _, v in ordered])

    def index(self, day: dt.date) -> int:
        """Index of the point in force on `day`, -1 when none."""
        return bisect.bisect_right(self.dates, day) - 1

    def at(self, day: dt.date) -> Decimal | None:
        i = self.index(day)
        return self.values[i] if i >= 0 else None


class _Cursor:
    """Walks a series forward day by day (the daily valuation's lookups are O(1))."""

    __slots__ = ("series", "i", "n")

    def __init__(self, series: Series | None, day: dt.date) -> None:
        self.series = series
        self.n = len(series.dates) if series else 0
        self.i = series.index(day) if series else -1

    def at(self, day: dt.date) -> Decimal | None:
        series = self.series
        if series is None:
            return None
        i, dates, n = self.i, series.dates, self.n
        while i + 1 < n and dates[i + 1] <= day:
            i += 1
        self.i = i
        return series.values[i] if i >= 0 else None


@dataclasses.dataclass
class Lot:
    account: Hashable
    date: dt.date
    quantity: Decimal
    cost: Decimal  # in the reporting currency


@dataclasses.dataclass
class Position:
    """One security in one account."""

    account: Hashable
    security: Hashable
    quantity: Decimal = ZERO
    lots: list[Lot] = dataclasses.field(default_factory=list)  # FIFO
    average_cost: Decimal = ZERO  # moving average: the position's total cost
    realized_fifo: Decimal = ZERO
    realized_average: Decimal = ZERO

    @property
    def fifo_cost(self) -> Decimal:
        with localcontext(CONTEXT):
            return sum((lot.cost for lot in self.lots), ZERO)

    def cost(self, method: CostMethod) -> Decimal:
        return self.fifo_cost if method is CostMethod.FIFO else self.average_cost


@dataclasses.dataclass(frozen=True)
class Missing:
    reason: Reason
    subject: str  # the security key or the currency
    day: dt.date


@dataclasses.dataclass(frozen=True)
class Holding:
    security: Hashable
    quantity: Decimal
    cost_basis: Decimal
    average_cost: Decimal | None  # per unit
    lots: list[Lot]
    price: Decimal | None  # in the security's currency
    price_date: dt.date | None
    price_source: str | None
    value: Decimal | None  # in the reporting currency
    unrealized_gain: Decimal | None
    weight: Decimal | None  # of the holdings' value


@dataclasses.dataclass(frozen=True)
class Twr:
    cumulative: Decimal | None
    annualized: Decimal | None
    reason: Reason | None
    days: int
    days_without_investment: int


@dataclasses.dataclass(frozen=True)
class Xirr:
    rate: Decimal | None
    reason: Reason | None


@dataclasses.dataclass(frozen=True)
class Point:
    date: dt.date
    value: Decimal | None
    net_inflow: Decimal  # in the reporting currency, over the point's period
    twr_index: Decimal | None  # prod(1 + r) since the start, 1 before the first day


@dataclasses.dataclass(frozen=True)
class Result:
    currency: str
    start: dt.date
    end: dt.date
    value: Decimal | None
    start_value: Decimal | None
    cash: Decimal | None
    cash_by_currency: dict[str, Decimal]  # in the reporting currency, by the cash's own currency
    cost_basis: Decimal
    unrealized_gain: Decimal | None
    realized_gain: Decimal
    dividends: Decimal
    interest: Decimal
    fees: Decimal
    taxes: Decimal
    net_inflow: Decimal
    total_return: Decimal | None  # value - start value - net inflow (income, fees and taxes in it)
    twr: Twr
    xirr: Xirr
    holdings: list[Holding]
    history: list[Point]
    missing: list[Missing]


def order(activities: Iterable[Act]) -> list[Act]:
    return sorted(activities, key=lambda a: (a.date, _PHASE.get(a.kind, 1), a.seq))


class Book:
    """Positions and cash as activities are applied in order. `apply` returns the day's external
    flow the activity causes (inflow, outflow) in the reporting currency, or raises ActivityError;
    `rate(currency, day)` gives the rate into the reporting currency (None: missing)."""

    def __init__(self, rate) -> None:
        self.positions: dict[tuple[Hashable, Hashable], Position] = {}
        self.cash: dict[tuple[Hashable, str], Decimal] = defaultdict(Decimal)
        self.rate = rate
        self.missing: list[Missing] = []
        self.realized_by: dict[CostMethod, Decimal] = {CostMethod.FIFO: ZERO, CostMethod.AVERAGE: ZERO}
        self.income = {"dividends": ZERO, "interest": ZERO, "fees": ZERO, "taxes": ZERO}

    def held(self, security: Hashable) -> Decimal:
        return sum((p.quantity for (_, s), p in self.positions.items() if s == security), ZERO)

    def _convert(self, amount: Decimal, currency: str, day: dt.date) -> Decimal | None:
        if not amount:
            return ZERO
        rate = self.rate(currency, day)
        if rate is None:
            self.missing.append(Missing(Reason.MISSING_FX_RATE, currency, day))
            return None
        return amount * rate

    def apply(self, act: Act, *, counted: bool, market_price) -> tuple[Decimal, Decimal, bool]:
        """Apply one activity; returns (inflow, outflow, known) in the reporting currency.
        `counted`: inside the reported range (realized gains, income, fees and taxes add up)."""
        with localcontext(CONTEXT):
            return self._apply(act, counted, market_price)

    def _position(self, act: Act) -> Position:
        key = (act.account, act.security)
        position = self.positions.get(key)
        if position is None:
            position = self.positions[key] = Position(act.account, act.security)
        return position

    def _apply(self, act: Act, counted: bool, market_price) -> tuple[Decimal, Decimal, bool]:
        cash_key = (act.account, act.currency)
        inflow = outflow = ZERO
        known = True
        kind = act.kind
        if counted:
            fee = self._convert(act.fee, act.currency, act.date)
            tax = self._convert(act.tax, act.currency, act.date)
            if fee is None or tax is None:
                known = False
            else:
                self.income["fees"] += fee
                self.income["taxes"] += tax
        if kind is Kind.BUY or kind is Kind.TRANSFER_IN:
            cost = self._convert(act.amount, act.currency, act.date)
            if cost is None:
                return ZERO, ZERO, False
            position = self._position(act)
            position.quantity += act.quantity
            position.lots.append(Lot(act.account, act.date, act.quantity, cost))
            position.average_cost += cost
            if kind is Kind.BUY:
                self.cash[cash_key] -= act.amount
            else:
                value = market_price(act.security, act.date)
                inflow = act.quantity * value if value is not None else cost
        elif kind is Kind.SELL or kind is Kind.TRANSFER_OUT:
            position = self.positions.get((act.account, act.security))
            held = position.quantity if position else ZERO
            if act.quantity > held:
                raise ActivityError(act, "quantity", f"Only {held.normalize():f} held on {act.date.isoformat()}; "
                                    f"cannot {'sell' if kind is Kind.SELL else 'transfer'} {act.quantity.normalize():f}.")
            assert position is not None
            fifo_cost = self._take_fifo(position, act.quantity)
            average_cost = position.average_cost * act.quantity / held
            position.average_cost = ZERO if act.quantity == held else position.average_cost - average_cost
            position.quantity = held - act.quantity
            if kind is Kind.SELL:
                self.cash[cash_key] += act.amount
                proceeds = self._convert(act.amount, act.currency, act.date)
                if proceeds is None:
                    return ZERO, ZERO, False
                position.realized_fifo += proceeds - fifo_cost
                position.realized_average += proceeds - average_cost
                if counted:
                    self.realized_by[CostMethod.FIFO] += proceeds - fifo_cost
                    self.realized_by[CostMethod.AVERAGE] += proceeds - average_cost
            else:
                value = market_price(act.security, act.date)
                if value is not None:
                    outflow = act.quantity * value
                else:
                    outflow = self._convert(act.amount, act.currency, act.date) or ZERO
        elif kind is Kind.SPLIT:
            touched = [p for (a, s), p in self.positions.items() if s == act.security and a == act.account and p.quantity]
            if not touched:
                raise ActivityError(act, "symbol", f"Nothing of this security is held on {act.date.isoformat()} to split.")
            ratio_to, ratio_from = act.split_to, act.split_from
            for position in touched:
                position.quantity = position.quantity * ratio_to / ratio_from
                for lot in position.lots:
                    lot.quantity = lot.quantity * ratio_to / ratio_from
        elif kind is Kind.DIVIDEND or kind is Kind.INTEREST:
            self.cash[cash_key] += act.amount - act.fee - act.tax
            if counted:
                gross = self._convert(act.amount, act.currency, act.date)
                if gross is None:
                    known = False
                else:
                    self.income["dividends" if kind is Kind.DIVIDEND else "interest"] += gross
        elif kind is Kind.FEE or kind is Kind.TAX:
            self.cash[cash_key] -= act.amount
            if counted:
                paid = self._convert(act.amount, act.currency, act.date)
                if paid is None:
                    known = False
                else:
                    self.income["fees" if kind is Kind.FEE else "taxes"] += paid
        elif kind is Kind.DEPOSIT:
            self.cash[cash_key] += act.amount
            converted = self._convert(act.amount, act.currency, act.date)
            if converted is None:
                return ZERO, ZERO, False
            inflow = converted
        elif kind is Kind.WITHDRAWAL:
            if act.amount > self.cash[cash_key]:
                raise ActivityError(act, "amount", f"Only {self.cash[cash_key].normalize():f} {act.currency} of cash is "
                                    f"in the account on {act.date.isoformat()}.")
            self.cash[cash_key] -= act.amount
            converted = self._convert(act.amount, act.currency, act.date)
            if converted is None:
                return ZERO, ZERO, False
            outflow = converted
        if self.cash[cash_key] < 0:  # an implicit deposit: cash never goes below zero
            shortfall = -self.cash[cash_key]
            self.cash[cash_key] = ZERO
            converted = self._convert(shortfall, act.currency, act.date)
            if converted is None:
                return inflow, outflow, False
            inflow += converted
        return inflow, outflow, known

    @staticmethod
    def _take_fifo(position: Position, quantity: Decimal) -> Decimal:
        taken, left = ZERO, quantity
        lots = position.lots
        while left and lots:
            lot = lots[0]
            if lot.quantity <= left:
                taken += lot.cost
                left -= lot.quantity
                lots.pop(0)
            else:
                part = lot.cost * left / lot.quantity
                taken += part
                lot.cost -= part
                lot.quantity -= left
                left = ZERO
        return taken


def check(activities: Sequence[Act]) -> None:
    """Raise ActivityError for the first activity that cannot happen (no prices needed)."""
    book = Book(lambda currency, day: ONE)
    for act in order(activities):
        book.apply(act, counted=False, market_price=lambda security, day: None)


def evaluate(
    activities: Sequence[Act],
    *,
    currency: str,
    start: dt.date,
    end: dt.date,
    security_currency: dict[Hashable, str],
    prices: dict[Hashable, Series],
    rates: dict[str, Series],
    method: CostMethod = CostMethod.FIFO,
    granularity: str | None = None,
) -> Result:
    """Everything the portfolio query reports over [start, end]. `rates[c]` gives 1 c in `currency`
    (the reporting currency needs none). `granularity`: DAY, WEEK, MONTH or None (no history)."""
    with localcontext(CONTEXT):
        return _evaluate(activities, currency, start, end, security_currency, prices, rates, method, granularity)


def _evaluate(activities, currency, start, end, security_currency, prices, rates, method, granularity) -> Result:
    rate_cursors: dict[str, _Cursor] = {}

    def rate(code: str, day: dt.date) -> Decimal | None:
        if code == currency:
            return ONE
        series = rates.get(code)
        return series.at(day) if series else None

    def market_price(security: Hashable, day: dt.date) -> Decimal | None:
        series = prices.get(security)
        close = series.at(day) if series else None
        fx = rate(security_currency[security], day)
        return None if close is None or fx is None else close * fx

    ordered = order(activities)
    book = Book(rate)
    day_before = start - dt.timedelta(days=1)
    i, n = 0, len(ordered)
    while i < n and ordered[i].date < start:
        book.apply(ordered[i], counted=False, market_price=market_price)
        i += 1
    book.missing.clear()  # rates missing before the range only matter through the start value

    price_cursors: dict[Hashable, _Cursor] = {s: _Cursor(series, day_before) for s, series in prices.items()}
    missing: list[Missing] = []
    missing_seen: set[tuple[Reason, str]] = set()

    def note(reason: Reason, subject: str, day: dt.date) -> None:
        if (reason, subject) not in missing_seen:
            missing_seen.add((reason, subject))
            missing.append(Missing(reason, subject, day))

    def fx_at(code: str, day: dt.date) -> Decimal | None:
        if code == currency:
            return ONE
        cursor = rate_cursors.get(code)
        if cursor is None:
            cursor = rate_cursors[code] = _Cursor(rates.get(code), day)
        return cursor.at(day)

    def valuation(day: dt.date) -> Decimal | None:
        total = ZERO
        known = True
        for (_, code), amount in book.cash.items():
            if amount:
                fx = fx_at(code, day)
                if fx is None:
                    note(Reason.MISSING_FX_RATE, code, day)
                    known = False
                else:
                    total += amount * fx
        quantities: dict[Hashable, Decimal] = defaultdict(Decimal)
        for (_, security), position in book.positions.items():
            if position.quantity:
                quantities[security] += position.quantity
        for security, quantity in quantities.items():
            cursor = price_cursors.get(security)
            close = cursor.at(day) if cursor else None
            if close is None:
                note(Reason.MISSING_PRICE, str(security), day)
                known = False
                continue
            fx = fx_at(security_currency[security], day)
            if fx is None:
                note(Reason.MISSING_FX_RATE, security_currency[security], day)
                known = False
                continue
            total += quantity * close * fx
        return total if known else None

    start_value = valuation(day_before)
    previous = start_value
    growth = ONE
    twr_known = start_value is not None
    days = (end - start).days + 1
    idle = 0
    flows: list[tuple[int, float]] = []  # (days from day_before, cash flow from the investor's side)
    if start_value:
        flows.append((0, -float(start_value)))
    net_inflow = ZERO
    history: list[Point] = []
    period_inflow = ZERO
    day = start
    while day <= end:
        inflow = outflow = ZERO
        while i < n and ordered[i].date == day:
            act = ordered[i]
            flow_in, flow_out, known = book.apply(act, counted=True, market_price=market_price)
            if not known:
                twr_known = False
            inflow += flow_in
            outflow += flow_out
            i += 1
        for item in book.missing:
            note(item.reason, item.subject, item.day)
        book.missing.clear()
        value = valuation(day)
        # A day's flows are netted: a net inflow counts from the start of the day, a net outflow at its end.
        if inflow >= outflow:
            inflow, outflow = inflow - outflow, ZERO
        else:
            inflow, outflow = ZERO, outflow - inflow
        if value is None:
            twr_known = False
        elif twr_known and previous is not None:
            denominator = previous + inflow
            if denominator > 0:
                growth *= (value + outflow) / denominator
            else:
                idle += 1
        if inflow or outflow:
            offset = (day - day_before).days
            if inflow:
                flows.append((offset, -float(inflow)))
            if outflow:
                flows.append((offset, float(outflow)))
        net_inflow += inflow - outflow
        period_inflow += inflow - outflow
        previous = value
        if granularity is not None and (day == end or _period_ends(day, granularity)):
            history.append(Point(day, value, period_inflow, growth if twr_known else None))
            period_inflow = ZERO
        day += dt.timedelta(days=1)

    end_value = previous
    if end_value:
        flows.append(((end - day_before).days, float(end_value)))

    if not twr_known:
        reason = missing[0].reason if missing else Reason.MISSING_PRICE
        twr = Twr(None, None, reason, days, idle)
    elif idle == days:
        twr = Twr(None, None, Reason.NOTHING_INVESTED, days, idle)
    else:
        cumulative = growth - ONE
        twr = Twr(cumulative, annualize(cumulative, days), None, days, idle)

    if end_value is None or start_value is None or missing:
        reason = missing[0].reason if missing else Reason.MISSING_PRICE
        xirr = Xirr(None, reason)
    else:
        xirr = solve_xirr(flows)

    holdings, cost_basis, unrealized = _holdings(book, method, end, prices, security_currency, fx_at, end_value is not None)
    cash = None
    cash_by_currency: dict[str, Decimal] = defaultdict(Decimal)
    if end_value is not None:
        for (_, code), amount in book.cash.items():
            if amount:
                cash_by_currency[code] += amount * (fx_at(code, end) or ZERO)
        cash = sum(cash_by_currency.values(), ZERO)
    return Result(
        currency=currency, start=start, end=end, value=end_value, start_value=start_value, cash=cash,
        cash_by_currency=dict(cash_by_currency),
        cost_basis=cost_basis, unrealized_gain=unrealized, realized_gain=book.realized_by[method],
        dividends=book.income["dividends"], interest=book.income["interest"], fees=book.income["fees"],
        taxes=book.income["taxes"], net_inflow=net_inflow,
        total_return=(end_value - start_value - net_inflow) if end_value is not None and start_value is not None else None,
        twr=twr, xirr=xirr, holdings=holdings, history=history, missing=missing,
    )


def _period_ends(day: dt.date, granularity: str) -> bool:
    if granularity == "DAY":
        return True
    following = day + dt.timedelta(days=1)
    if granularity == "WEEK":
        return following.weekday() == 0
    if granularity == "MONTH":
        return following.day == 1
    if granularity == "YEAR":
        return following.month == 1 and following.day == 1
    raise ValueError(granularity)


def _holdings(book: Book, method: CostMethod, end: dt.date, prices, security_currency, fx_at, valued: bool):
    grouped: dict[Hashable, list[Position]] = defaultdict(list)
    for (_, security), position in book.positions.items():
        if position.quantity:
            grouped[security].append(position)
    holdings: list[Holding] = []
    cost_basis = ZERO
    unrealized: Decimal | None = ZERO
    for security, positions in grouped.items():
        quantity = sum((p.quantity for p in positions), ZERO)
        cost = sum((p.cost(method) for p in positions), ZERO)
        cost_basis += cost
        series = prices.get(security)
        at = series.index(end) if series else -1
        close = series.values[at] if at >= 0 else None
        fx = fx_at(security_currency[security], end)
        value = quantity * close * fx if close is not None and fx is not None else None
        gain = value - cost if value is not None else None
        if gain is None:
            unrealized = None
        elif unrealized is not None:
            unrealized += gain
        holdings.append(Holding(
            security=security, quantity=quantity, cost_basis=cost, average_cost=cost / quantity,
            lots=[lot for p in positions for lot in p.lots] if method is CostMethod.FIFO else [],
            price=close, price_date=series.dates[at] if at >= 0 else None,
            price_source=series.sources[at] if at >= 0 and series.sources else None,
            value=value, unrealized_gain=gain, weight=None,
        ))
    total = sum((h.value for h in holdings if h.value is not None), ZERO)
    if all(h.value is not None for h in holdings) and total > 0:
        holdings = [dataclasses.replace(h, weight=h.value / total) for h in holdings]  # type: ignore[operator]
    return holdings, cost_basis, unrealized


def annualize(cumulative: Decimal, days: int) -> Decimal:
    """(1 + c)^(365/days) - 1; a total loss stays -1."""
    with localcontext(CONTEXT):
        base = ONE + cumulative
        if base <= 0:
            return -ONE
        return base ** (Decimal(365) / Decimal(days)) - ONE


# --- XIRR ------------------------------------------------------------------------------------------


def _npv_sign(flows: Sequence[tuple[int, float]], x: float) -> float:
    """sum(CF * exp(-x t/365)) scaled by exp(-max exponent): its sign without overflow."""
    exponents = [-x * t / 365.0 for t, _ in flows]
    top = max(exponents)
    return math.fsum(cf * math.exp(e - top) for (_, cf), e in zip(flows, exponents, strict=True))


def solve_xirr(flows: Sequence[tuple[int, float]]) -> Xirr:
    """`flows`: (days from the first, amount; negative = paid in). The rate as a Decimal with 12
    decimals, or the reason there is none."""
    flows = [(t, cf) for t, cf in flows if cf]
    if not any(cf < 0 for _, cf in flows):
        return Xirr(None, Reason.NOTHING_INVESTED)
    if not any(cf > 0 for _, cf in flows):
        return Xirr(Decimal(-1), None)  # everything paid in was lost
    first = min(t for t, _ in flows)
    flows = [(t - first, cf) for t, cf in flows]
    if all(t == 0 for t, _ in flows):
        return Xirr(None, Reason.NO_SOLUTION)
    # x = ln(1 + r) on a grid outward from 0, geometric steps: r from -1 + 1e-800 to 1e300.
    grid = [0.0]
    step = 0.05
    while step <= 2000:
        grid.append(-step)
        if step <= 690:
            grid.append(step)
        step *= 1.15
    grid = sorted(grid)
    values = [_npv_sign(flows, x) for x in grid]
    brackets = []
    for k in range(len(grid) - 1):
        a, b = values[k], values[k + 1]
        if a == 0:
            brackets.append((abs(grid[k]), grid[k], grid[k]))
        elif a * b < 0:
            brackets.append((min(abs(grid[k]), abs(grid[k + 1])), grid[k], grid[k + 1]))
    if values[-1] == 0:
        brackets.append((abs(grid[-1]), grid[-1], grid[-1]))
    if not brackets:
        return Xirr(None, Reason.NO_SOLUTION)
    _, low, high = min(brackets)
    f_low = _npv_sign(flows, low)
    for _ in range(200):
        if high - low <= 1e-15 * max(1.0, abs(low)):
            break
        mid = (low + high) / 2
        f_mid = _npv_sign(flows, mid)
        if f_mid == 0:
            low = high = mid
            break
        if (f_mid < 0) == (f_low < 0):
            low, f_low = mid, f_mid
        else:
            high = mid
    x = (low + high) / 2
    return Xirr(Decimal(repr(math.expm1(x))).quantize(Decimal("1e-12")), None)

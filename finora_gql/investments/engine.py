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
- A TRANSFER_IN's lot is dated `lot_date` when it has one (a lot moved between two of a person's
  accounts keeps its first acquisition day; see transfers.py), else the activity's date; its
  `carried_average`, when it has one, is what it adds to the moving average instead of its cost.
- Cash per account, one book: deposits, sales, dividends and interest (net of their fee and tax)
  in; withdrawals, purchases, fees and taxes out. The account's ledger movements (its opening
  balance, transfers in and out, any income or expense booked on it; see ledger_cash.py) are
  deposits and withdrawals too, marked `ledger`. An activity never takes cash below zero (or
  below where the ledger left it): a purchase (or fee, or tax) beyond the cash held brings the
  difference in as an implicit deposit, so a portfolio recorded without deposits still has
  returns. The ledger may leave cash negative (an overdrawn account), and withdrawing more than
  the cash held is an error of the activity (`check`), never of the ledger.
- `fee` and `tax` of a BUY or SELL are the parts of its amount that went to fees and taxes; of a
  DIVIDEND or INTEREST they are deducted from the gross amount. Reported fees and taxes add them
  all up with FEE and TAX activities (informational: the gains already include them).
- Daily value V_d = cash + sum(quantity * last close on or before d), in the reporting currency.
  A held security without any price on or before d, or a currency without a rate, makes V_d
  unknown (a reason, never 0).
- External flows: deposits (implicit ones and the ledger's included) and transfers in are inflows,
  withdrawals (the ledger's included) and transfers out outflows; a transfer is valued at market (at its recorded cost without a price).
  A day's flows are netted: a net inflow In_d counts from the start of the day, a net outflow
  Out_d at its end (so a deposit and an equal withdrawal on one day change nothing).
- TWR: r_d = (V_d + Out_d) / (V_{d-1} + In_d) - 1, a day whose denominator is not positive counts 0
  and is reported; cumulative = prod(1 + r_d) - 1, annualized = (1 + c)^(365/days) - 1 with days the
  number of days in [from, to].
- XIRR (actual/365): the rate r with sum(CF_i * (1 + r)^(-t_i/365)) = 0, where the value at the end
  of the day before `from` is paid in (negative), inflows are paid in, outflows paid out and the
  value at `to` paid out (positive). Solved in floating point on x = ln(1 + r): a sign change is
  searched outward from 0 (the bracket nearest 0% wins when there are several roots), then
  narrowed by the Illinois method (bracketed regula falsi); no sign change -> no root.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import functools
import math
import operator
from collections import defaultdict, deque
from collections.abc import Hashable, Iterable, Sequence
from decimal import Context, Decimal, localcontext
from enum import Enum
from itertools import chain, repeat
from typing import NamedTuple

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


class Act(NamedTuple):
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
    lot_date: dt.date | None = None  # TRANSFER_IN of a lot moved between accounts: the day it was first acquired
    carried_average: Decimal | None = None  # and its share of the source's moving-average cost
    ledger: bool = False  # a DEPOSIT or WITHDRAWAL that is a ledger movement, not an activity


class ActivityError(Exception):
    """An activity that cannot happen given the ones before it (selling more than is held, a split
    of nothing). `field` names the input field at fault."""

    def __init__(self, activity: Act, field: str, message: str) -> None:
        super().__init__(message)
        self.activity = activity
        self.field = field
        self.message = message


class Series:
    """Values effective from their date until the next one (prices: closes; rates: into the reporting
    currency), ascending. Given as dates, or (for bulk loads) as day offsets from an `origin` date,
    which spares building a date per point."""

    __slots__ = ("_dates", "values", "sources", "origin", "offsets")

    def __init__(self, dates: list[dt.date] | None, values: list[Decimal], sources: list[str | None] | None = None, *,
                 origin: dt.date | None = None, offsets: list[int] | None = None) -> None:
        self._dates = dates
        self.values = values
        self.sources = sources
        self.origin = origin
        self.offsets = offsets

    @property
    def dates(self) -> list[dt.date]:
        if self._dates is None:
            origin = self.origin
            assert origin is not None and self.offsets is not None
            self._dates = [origin + dt.timedelta(days=o) for o in self.offsets]
        return self._dates

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Series) and (self.dates, self.values) == (other.dates, other.values)

    def __repr__(self) -> str:
        return f"Series({len(self.values)} points)"

    @classmethod
    def of(cls, points: Iterable[tuple[dt.date, Decimal]]) -> Series:
        ordered = sorted(points)
        return cls([d for d, _ in ordered], [v for _, v in ordered])

    def offsets_from(self, first: dt.date) -> list[int]:
        """Each point's day as a number of days after `first` (negative before it)."""
        if self.offsets is not None and self.origin is not None:
            shift = (self.origin - first).days
            return self.offsets if shift == 0 else [o + shift for o in self.offsets]
        return [(d - first).days for d in self.dates]

    def index(self, day: dt.date) -> int:
        """Index of the point in force on `day`, -1 when none."""
        if self._dates is None and self.offsets is not None and self.origin is not None:
            return bisect.bisect_right(self.offsets, (day - self.origin).days) - 1
        return bisect.bisect_right(self.dates, day) - 1

    def date_at(self, i: int) -> dt.date:
        if self._dates is None and self.offsets is not None and self.origin is not None:
            return self.origin + dt.timedelta(days=self.offsets[i])
        return self.dates[i]

    def at(self, day: dt.date) -> Decimal | None:
        i = self.index(day)
        return self.values[i] if i >= 0 else None


@dataclasses.dataclass(slots=True)
class Lot:
    account: Hashable
    date: dt.date
    quantity: Decimal
    cost: Decimal  # in the reporting currency


@dataclasses.dataclass(slots=True)
class Position:
    """One security in one account."""

    account: Hashable
    security: Hashable
    quantity: Decimal = ZERO
    lots: deque[Lot] = dataclasses.field(default_factory=deque)  # FIFO
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
    cost_basis: Decimal | None
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
    cost_basis: Decimal | None  # None when a cost or proceeds had no exchange rate
    unrealized_gain: Decimal | None
    realized_gain: Decimal | None
    dividends: Decimal
    interest: Decimal
    fees: Decimal
    taxes: Decimal
    net_inflow: Decimal
    total_return: Decimal | None  # value - start value - net inflow (income, fees and taxes in it)
    twr: Twr
    xirr_flows: list[tuple[int, float]]  # (day, cash flow), for `xirr`
    xirr_unavailable: Reason | None
    holdings: list[Holding]
    history: list[Point]
    missing: list[Missing]
    # Per day index (0: the day before `start`): the value (None: unknown), the net external flow
    # (inflow positive), and whether that day's flows could be converted (day_values.py keeps these).
    values: list[Decimal | None] = dataclasses.field(default_factory=list)
    net_flows: dict[int, Decimal] = dataclasses.field(default_factory=dict)
    unknown_flow_days: set[int] = dataclasses.field(default_factory=set)
    missing_days: set[int] = dataclasses.field(default_factory=set)  # every day something was missing

    @functools.cached_property
    def xirr(self) -> Xirr:
        """Solved when first asked for (a few ms to tens of ms with thousands of flows)."""
        if self.xirr_unavailable is not None:
            return Xirr(None, self.xirr_unavailable)
        return solve_xirr(self.xirr_flows)


def order(activities: Iterable[Act]) -> list[Act]:
    return sorted(activities, key=lambda a: (a.date, _PHASE.get(a.kind, 1), a.seq))


class Book:
    """Positions and cash as activities are applied in order. `apply` returns the day's external
    flow the activity causes (inflow, outflow) in the reporting currency, or raises ActivityError;
    `rate(currency, day)` gives the rate into the reporting currency (None: missing)."""

    def __init__(self, rate, home: str | None = None, *, strict: bool = False) -> None:
        self.home = home  # the reporting currency: amounts in it need no rate
        self.strict = strict  # a WITHDRAWAL activity beyond the cash held is an error (`check`)
        self.positions: dict[tuple[Hashable, Hashable], Position] = {}
        self.cash: dict[tuple[Hashable, str], Decimal] = defaultdict(Decimal)
        self.quantity: dict[Hashable, Decimal] = defaultdict(Decimal)  # per security, all accounts
        self.cash_in: dict[str, Decimal] = defaultdict(Decimal)  # per currency, all accounts
        self.rate = rate
        self.missing: list[Missing] = []
        # A cost or proceeds without a rate: kept unconverted so quantities stay right, but every
        # cost-based figure (cost basis, gains) is then unknown. Never cleared.
        self.cost_missing: list[Missing] = []
        self.realized_by: dict[CostMethod, Decimal] = {CostMethod.FIFO: ZERO, CostMethod.AVERAGE: ZERO}
        self.income = {"dividends": ZERO, "interest": ZERO, "fees": ZERO, "taxes": ZERO}

    def held(self, security: Hashable) -> Decimal:
        return self.quantity.get(security, ZERO)

    def export(self) -> dict:
        """The positions and cash as plain JSON values (a checkpoint); securities and accounts by str()."""
        return {
            "positions": [
                [str(account), str(security), str(p.quantity), str(p.average_cost),
                 [[lot.date.isoformat(), str(lot.quantity), str(lot.cost)] for lot in p.lots]]
                for (account, security), p in self.positions.items() if p.quantity
            ],
            "cash": [[str(account), code, str(amount)] for (account, code), amount in self.cash.items() if amount],
        }

    def restore(self, state: dict, key) -> None:
        """Add a checkpoint's positions and cash; `key(text)` turns an exported id back into the key."""
        for account, security, quantity, average_cost, lots in state["positions"]:
            account_key, security_key = key(account), key(security)
            position = Position(account_key, security_key, Decimal(quantity), deque(
                Lot(account_key, dt.date.fromisoformat(day), Decimal(q), Decimal(cost)) for day, q, cost in lots
            ), Decimal(average_cost))
            self.positions[(account_key, security_key)] = position
            self.quantity[security_key] += position.quantity
        for account, code, amount in state["cash"]:
            self.cash[(key(account), code)] += Decimal(amount)
            self.cash_in[code] += Decimal(amount)

    def _convert(self, amount: Decimal, currency: str, day: dt.date) -> Decimal | None:
        if currency == self.home or not amount:
            return amount
        rate = self.rate(currency, day)
        if rate is None:
            self.missing.append(Missing(Reason.MISSING_FX_RATE, currency, day))
            return None
        return amount * rate

    def apply(self, act: Act, *, counted: bool, market_price) -> tuple[Decimal, Decimal, bool]:
        """Apply one activity; returns (inflow, outflow, known) in the reporting currency.
        `counted`: inside the reported range (realized gains, income, fees and taxes add up)."""
        with localcontext(CONTEXT):
            return self.apply_in_context(act, counted, market_price)

    def _position(self, act: Act) -> Position:
        key = (act.account, act.security)
        position = self.positions.get(key)
        if position is None:
            position = self.positions[key] = Position(act.account, act.security)
        return position

    def _move_cash(self, key: tuple[Hashable, str], delta: Decimal) -> None:
        self.cash[key] += delta
        self.cash_in[key[1]] += delta

    def apply_in_context(self, act: Act, counted: bool, market_price) -> tuple[Decimal, Decimal, bool]:
        """`apply` for callers already inside CONTEXT (the evaluation loop)."""
        cash_key = (act.account, act.currency)
        floor = min(self.cash[cash_key], ZERO)  # what an activity may not take cash below
        inflow = outflow = ZERO
        known = True
        kind = act.kind
        if counted and (act.fee or act.tax):
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
                self.cost_missing.append(self.missing[-1])
                cost = act.amount
            position = self._position(act)
            position.quantity += act.quantity
            self.quantity[act.security] += act.quantity
            position.lots.append(Lot(act.account, act.lot_date or act.date, act.quantity, cost))
            position.average_cost += cost if act.carried_average is None else self._carried(act)
            if kind is Kind.BUY:
                self._move_cash(cash_key, -act.amount)
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
            self.quantity[act.security] -= act.quantity
            if kind is Kind.SELL:
                self._move_cash(cash_key, act.amount)
                proceeds = self._convert(act.amount, act.currency, act.date)
                if proceeds is None:
                    self.cost_missing.append(self.missing[-1])
                    proceeds = act.amount
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
            position = self.positions.get((act.account, act.security))
            if position is None or not position.quantity:
                raise ActivityError(act, "symbol", f"Nothing of this security is held on {act.date.isoformat()} to split.")
            ratio_to, ratio_from = act.split_to, act.split_from
            before = position.quantity
            position.quantity = position.quantity * ratio_to / ratio_from
            self.quantity[act.security] += position.quantity - before
            for lot in position.lots:
                lot.quantity = lot.quantity * ratio_to / ratio_from
        elif kind is Kind.DIVIDEND or kind is Kind.INTEREST:
            self._move_cash(cash_key, act.amount - act.fee - act.tax)
            if counted:
                gross = self._convert(act.amount, act.currency, act.date)
                if gross is None:
                    known = False
                else:
                    self.income["dividends" if kind is Kind.DIVIDEND else "interest"] += gross
        elif kind is Kind.FEE or kind is Kind.TAX:
            self._move_cash(cash_key, -act.amount)
            if counted:
                paid = self._convert(act.amount, act.currency, act.date)
                if paid is None:
                    known = False
                else:
                    self.income["fees" if kind is Kind.FEE else "taxes"] += paid
        elif kind is Kind.DEPOSIT:
            self._move_cash(cash_key, act.amount)
            converted = self._convert(act.amount, act.currency, act.date)
            if converted is None:
                return ZERO, ZERO, False
            inflow = converted
        elif kind is Kind.WITHDRAWAL:
            if self.strict and not act.ledger and act.amount > self.cash[cash_key]:
                raise ActivityError(act, "amount", f"Only {self.cash[cash_key].normalize():f} {act.currency} of cash is "
                                    f"in the account on {act.date.isoformat()}.")
            self._move_cash(cash_key, -act.amount)
            converted = self._convert(act.amount, act.currency, act.date)
            if converted is None:
                return ZERO, ZERO, False
            outflow = converted
        if not act.ledger and self.cash[cash_key] < floor:  # an implicit deposit
            shortfall = floor - self.cash[cash_key]
            self._move_cash(cash_key, shortfall)
            converted = self._convert(shortfall, act.currency, act.date)
            if converted is None:
                return inflow, outflow, False
            inflow += converted
        return inflow, outflow, known

    def _carried(self, act: Act) -> Decimal:
        """A moved lot's share of the source's moving average, converted like its cost (unconverted
        when the rate is missing: the cost is then flagged missing already)."""
        assert act.carried_average is not None
        rate = ONE if act.currency == self.home else self.rate(act.currency, act.date)
        return act.carried_average * rate if rate is not None else act.carried_average

    @staticmethod
    def _take_fifo(position: Position, quantity: Decimal) -> Decimal:
        taken, left = ZERO, quantity
        lots = position.lots
        while left and lots:
            lot = lots[0]
            if lot.quantity <= left:
                taken += lot.cost
                left -= lot.quantity
                lots.popleft()
            else:
                part = lot.cost * left / lot.quantity
                taken += part
                lot.cost -= part
                lot.quantity -= left
                left = ZERO
        return taken


def check(activities: Sequence[Act]) -> None:
    """Raise ActivityError for the first activity that cannot happen (no prices needed)."""
    book = Book(lambda currency, day: ONE, strict=True)
    with localcontext(CONTEXT):
        for act in order(activities):
            book.apply_in_context(act, False, _no_price)


def _no_price(security: Hashable, day: dt.date) -> None:
    return None


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
    checkpoints: Sequence[tuple[dict, object]] = (),
    daily: Daily | None = None,
) -> Result:
    """Everything the portfolio query reports over [start, end]. `rates[c]` gives 1 c in `currency`
    (the reporting currency needs none). `granularity`: DAY, WEEK, MONTH or None (no history).
    `checkpoints`: (state, key) pairs of `Book.export` taken before `start`; `activities` are then
    only the later ones. `daily`: the days' values and flows already known (kept by day_values.py);
    the activities are then replayed only for positions, income and gains, and `prices` need only
    hold the closes in force at `end`."""
    with localcontext(CONTEXT):
        return _evaluate(activities, currency, start, end, security_currency, prices, rates, method, granularity,
                         checkpoints, daily)


@dataclasses.dataclass(frozen=True)
class Daily:
    """Every day's value and net external flow (inflow positive) from the day before `start`
    (index 0) to `end`, all known and summed over the accounts, in the reporting currency."""

    values: list[Decimal]
    net_flows: list[Decimal]


def _carried(series: Series | None, first: dt.date, count: int) -> tuple[list[Decimal], int]:
    """The series' value in force on each of `count` days from `first`, and the index of the first day
    that has one (`count` when none does; earlier days hold ZERO as a placeholder)."""
    if series is None or not series.values:
        return [ZERO] * count, count
    offsets = series.offsets_from(first)
    k = max(bisect.bisect_right(offsets, 0) - 1, 0)  # the point in force on the first day
    stop = bisect.bisect_left(offsets, count)
    points = series.values[k:stop]
    offsets = offsets[k:stop]
    if offsets and offsets[0] < 0:  # the point in force since before the first day
        offsets[0] = 0
    if not offsets:
        return [ZERO] * count, count
    begin = offsets[0]
    ends = offsets[1:]
    ends.append(count)
    values = [ZERO] * begin
    values += chain.from_iterable(map(repeat, points, map(operator.sub, ends, offsets)))
    return values, begin


def _evaluate(activities, currency, start, end, security_currency, prices, rates, method, granularity,
              checkpoints=(), daily: Daily | None = None) -> Result:
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
    book = Book(rate, currency)
    for state, key in checkpoints:
        book.restore(state, key)
    first = start - dt.timedelta(days=1)  # index 0: the end of the day before the range
    count = (end - first).days + 1
    i, n = 0, len(ordered)
    apply = book.apply_in_context
    while i < n and ordered[i].date < start:
        apply(ordered[i], False, market_price)
        i += 1
    book.missing.clear()  # rates missing before the range only matter through the start value

    # Piecewise-constant quantities and cash over the day indices: (index, value) changes.
    quantity_changes: dict[Hashable, list[tuple[int, Decimal]]] = {s: [(0, q)] for s, q in book.quantity.items() if q}
    cash_changes: dict[str, list[tuple[int, Decimal]]] = {c: [(0, a)] for c, a in book.cash_in.items() if a}
    net_flows: dict[int, Decimal] = {}
    unknown_flow_days: set[int] = set()
    missing_found: list[tuple[int, Reason, str]] = []
    track = daily is None  # with the days' values given, the replay is only for positions, income and gains
    while i < n and ordered[i].date <= end:
        day = ordered[i].date
        index = (day - first).days
        inflow = outflow = ZERO
        securities: set[Hashable] = set()
        while i < n and ordered[i].date == day:
            act = ordered[i]
            flow_in, flow_out, known = apply(act, True, market_price)
            if not known:
                unknown_flow_days.add(index)
            inflow += flow_in
            outflow += flow_out
            if act.security is not None:
                securities.add(act.security)
            i += 1
        for item in book.missing:
            missing_found.append(((item.day - first).days, item.reason, item.subject))
        book.missing.clear()
        if not track:
            continue
        for security in securities:
            quantity_changes.setdefault(security, [(0, ZERO)]).append((index, book.quantity[security]))
        for code, amount in book.cash_in.items():
            changes = cash_changes.setdefault(code, [(0, ZERO)])
            if changes[-1][1] != amount:
                changes.append((index, amount))
        if inflow != outflow:
            net_flows[index] = inflow - outflow

    fx_cache: dict[str, tuple[list[Decimal], int]] = {}

    def fx_days(code: str) -> tuple[list[Decimal], int]:
        if code not in fx_cache:
            fx_cache[code] = ([ONE] * count, 0) if code == currency else _carried(rates.get(code), first, count)
        return fx_cache[code]

    if track:
        # Daily values: cash and each security's quantity times its close times its rate, summed per day.
        total: list[Decimal] = [ZERO] * count
        unknown = bytearray(count)

        def add(changes: list[tuple[int, Decimal]], factors: list[Decimal], known_from: int, subject: str, reason_of) -> None:
            """Add amount x factor over each segment; days before `known_from` have no factor: unknown."""
            for k, (a, amount) in enumerate(changes):
                b = changes[k + 1][0] if k + 1 < len(changes) else count
                if not amount or b <= a:
                    continue
                if a < known_from:
                    missing_found.append((a, reason_of(a), subject))
                    unknown[a:min(b, known_from)] = b"\x01" * (min(b, known_from) - a)
                total[a:b] = map(operator.add, total[a:b], map(amount.__mul__, factors[a:b]))

        for code, changes in cash_changes.items():
            factors, known_from = fx_days(code)
            add(changes, factors, known_from, code, lambda t: Reason.MISSING_FX_RATE)
        for security, changes in quantity_changes.items():
            closes, priced_from = _carried(prices.get(security), first, count)
            code = security_currency[security]
            if code == currency:
                factors, known_from = closes, priced_from
            else:
                fx, fx_from = fx_days(code)
                known_from = max(priced_from, fx_from)
                factors = [ZERO] * known_from + list(map(operator.mul, closes[known_from:], fx[known_from:]))

            def reason(t: int, priced_from=priced_from) -> Reason:
                return Reason.MISSING_PRICE if t < priced_from else Reason.MISSING_FX_RATE

            add(changes, factors, known_from, str(security), reason)

    missing_found.sort(key=lambda item: item[0])
    missing_days = {index for index, _, _ in missing_found}
    missing: list[Missing] = []
    seen: set[tuple[Reason, str]] = set()
    for index, reason_found, subject in missing_found:
        if (reason_found, subject) not in seen:
            seen.add((reason_found, subject))
            missing.append(Missing(reason_found, subject, first + dt.timedelta(days=index)))

    values: list[Decimal | None]
    if daily is None:
        values = [None if unknown[t] else total[t] for t in range(count)]
    else:
        values = list(daily.values)
        net_flows = {t: flow for t, flow in enumerate(daily.net_flows) if flow}
    # A day's flows are netted: a net inflow counts from the start of the day, a net outflow at its end.
    flows = {t: (flow, ZERO) if flow > 0 else (ZERO, -flow) for t, flow in net_flows.items()}
    flows_known = not unknown_flow_days
    start_value = values[0]
    growth = ONE
    twr_known = flows_known and start_value is not None
    idle = 0
    xirr_flows: list[tuple[int, float]] = [(0, -float(start_value))] if start_value else []
    net_inflow = ZERO
    history: list[Point] = []
    period_inflow = ZERO
    previous = start_value
    want_history = granularity is not None
    for t in range(1, count):
        value = values[t]
        inflow, outflow = flows.get(t, (ZERO, ZERO))
        if value is None:
            twr_known = False
        elif twr_known:
            denominator = previous + inflow  # type: ignore[operator]
            if denominator > 0:
                growth *= (value + outflow) / denominator
            else:
                idle += 1
        if inflow:
            xirr_flows.append((t, -float(inflow)))
            net_inflow += inflow
            period_inflow += inflow
        if outflow:
            xirr_flows.append((t, float(outflow)))
            net_inflow -= outflow
            period_inflow -= outflow
        previous = value
        if want_history:
            day = first + dt.timedelta(days=t)
            if t == count - 1 or _period_ends(day, granularity):
                history.append(Point(day, value, period_inflow, growth if twr_known else None))
                period_inflow = ZERO

    days = count - 1
    end_value = values[-1]
    if end_value:
        xirr_flows.append((days, float(end_value)))
    if not twr_known:
        twr = Twr(None, None, missing[0].reason if missing else Reason.MISSING_PRICE, days, idle)
    elif idle == days:
        twr = Twr(None, None, Reason.NOTHING_INVESTED, days, idle)
    else:
        cumulative = growth - ONE
        twr = Twr(cumulative, annualize(cumulative, days), None, days, idle)
    xirr_unavailable = None
    if end_value is None or start_value is None or missing:
        xirr_unavailable = missing[0].reason if missing else Reason.MISSING_PRICE

    def fx_at(code: str, day: dt.date) -> Decimal | None:
        factors, known_from = fx_days(code)
        return factors[-1] if known_from < count else None

    holdings, cost_basis, unrealized = _holdings(book, method, end, prices, security_currency, fx_at, end_value is not None)
    realized: Decimal | None = book.realized_by[method]
    if book.cost_missing:
        for item in book.cost_missing:
            if (item.reason, item.subject) not in seen:
                seen.add((item.reason, item.subject))
                missing.append(item)
        missing.sort(key=lambda item: item.day)
        holdings = [dataclasses.replace(h, cost_basis=None, average_cost=None, unrealized_gain=None, lots=[])
                    for h in holdings]
        cost_basis = unrealized = realized = None
    cash = None
    cash_by_currency: dict[str, Decimal] = defaultdict(Decimal)
    if end_value is not None:
        for code, amount in book.cash_in.items():
            if amount:
                cash_by_currency[code] += amount * (fx_at(code, end) or ZERO)
        cash = sum(cash_by_currency.values(), ZERO)
    return Result(
        currency=currency, start=start, end=end, value=end_value, start_value=start_value, cash=cash,
        cash_by_currency=dict(cash_by_currency),
        cost_basis=cost_basis, unrealized_gain=unrealized, realized_gain=realized,
        dividends=book.income["dividends"], interest=book.income["interest"], fees=book.income["fees"],
        taxes=book.income["taxes"], net_inflow=net_inflow,
        total_return=(end_value - start_value - net_inflow) if end_value is not None and start_value is not None else None,
        twr=twr, xirr_flows=xirr_flows, xirr_unavailable=xirr_unavailable, holdings=holdings, history=history,
        missing=missing, values=values, net_flows=net_flows, unknown_flow_days=unknown_flow_days,
        missing_days=missing_days,
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


@dataclasses.dataclass(frozen=True)
class Held:
    """A security held on a day: its positions (by account) and the close in force that day, as the
    series and its index (-1: no close on or before the day, MISSING_PRICE)."""

    positions: dict[Hashable, Position]
    series: Series | None
    at: int

    @property
    def close(self) -> Decimal | None:
        return self.series.values[self.at] if self.series is not None and self.at >= 0 else None


def held_on(book: Book, prices: dict[Hashable, Series], day: dt.date) -> dict[Hashable, Held]:
    """Every security `book` holds, with its close on `day`. The portfolio's holdings and what the
    wallet counts for investment accounts both price positions through this (one answer to "which
    security has no close")."""
    grouped: dict[Hashable, dict[Hashable, Position]] = defaultdict(dict)
    for (account, security), position in book.positions.items():
        if position.quantity:
            grouped[security][account] = position
    held = {}
    for security, positions in grouped.items():
        series = prices.get(security)
        held[security] = Held(positions, series, series.index(day) if series else -1)
    return held


def _holdings(book: Book, method: CostMethod, end: dt.date, prices, security_currency, fx_at, valued: bool):
    holdings: list[Holding] = []
    cost_basis = ZERO
    unrealized: Decimal | None = ZERO
    for security, held in held_on(book, prices, end).items():
        positions = list(held.positions.values())
        quantity = sum((p.quantity for p in positions), ZERO)
        cost = sum((p.cost(method) for p in positions), ZERO)
        cost_basis += cost
        series, at, close = held.series, held.at, held.close
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
            price=close, price_date=series.date_at(at) if at >= 0 else None,
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
    # x = ln(1 + r), searched outward from 0 on a geometric grid (r from -1 + 1e-800 to 1e300); the
    # first sign change found is the bracket nearest 0% (the root reported when there are several).
    def f(x: float) -> float:
        return _npv_sign(flows, x)

    f0 = f(0.0)
    if f0 == 0:
        return Xirr(Decimal(0), None)
    bracket = None
    previous = {1: (0.0, f0), -1: (0.0, f0)}
    step = 0.05
    while step <= 2000 and bracket is None:
        for side in (1, -1):
            if side == 1 and step > 690:
                continue
            x = side * step
            fx = f(x)
            last_x, last_f = previous[side]
            if fx == 0:
                return Xirr(Decimal(repr(math.expm1(x))).quantize(Decimal("1e-12")), None)
            if (fx < 0) != (last_f < 0):
                bracket = (min(x, last_x), max(x, last_x))
                break
            previous[side] = (x, fx)
        step *= 1.15
    if bracket is None:
        return Xirr(None, Reason.NO_SOLUTION)
    a, b = bracket
    fa, fb = f(a), f(b)
    # Illinois (regula falsi halving the value at the end that stays): superlinear, always bracketed.
    for _ in range(300):
        c = b - fb * (b - a) / (fb - fa)
        fc = f(c)
        if fc == 0:
            a = b = c
            break
        if (fc < 0) != (fb < 0):
            a, fa = b, fb
        else:
            fa /= 2
        b, fb = c, fc
        if abs(b - a) <= 1e-15 * max(1.0, abs(b)):
            break
    low, high = a, b
    x = (low + high) / 2
    return Xirr(Decimal(repr(math.expm1(x))).quantize(Decimal("1e-12")), None)

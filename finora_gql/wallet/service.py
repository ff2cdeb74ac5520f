"""Wallet analytics: summary, cashflow and net worth in the viewer's base currency.

Answers come from the daily totals (never the raw transactions) and are cached per user.
The cache key carries the user's version and the global rates version; a ledger write bumps
the first (`wallet_changed`), a new exchange rate the second. Nothing is ever pattern-deleted.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Iterable
from decimal import ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from finora_gql.accounts import service as accounts
from finora_gql.admin import audit
from finora_gql.core import calendar, clock
from finora_gql.core.db import after_commit
from finora_gql.core.errors import Collector, ErrorCode, ServiceError
from finora_gql.core.money import round_money
from finora_gql.core.owned import Actor, Owned, SystemActor
from finora_gql.core.runtime import Runtime
from finora_gql.core.validation import clean_currency
from finora_gql.core.viewer import Viewer, require_admin
from finora_gql.transactions import categories
from finora_gql.users import service as users
from finora_gql.wallet import totals
from finora_gql.wallet.events import user_version_key, wallet_changed
from finora_gql.wallet.models import FxRate, NetWorthSnapshot
from finora_gql.wallet.totals import Bucket, MissingRate

if TYPE_CHECKING:
    from finora_gql.investments.valuation import Beyond

CACHE_TTL = 600
RATES_VERSION = "wallet:rates"
MAX_RANGE_DAYS = 366 * 10
TOP_CATEGORIES = 5
net_worth_snapshots = Owned(NetWorthSnapshot, "net worth snapshot")


# --- results ---------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class CategoryAmount:
    category_id: uuid.UUID | None
    name: str
    amount: Decimal


@dataclasses.dataclass(frozen=True)
class Flow:
    period: dt.date
    income: Decimal
    expenses: Decimal
    net: Decimal


@dataclasses.dataclass(frozen=True)
class MissingPrice:
    """A held security with no close on or before some of the days asked for: counted at its cost
    (`counted_cost`, on `last_day`, in the base currency) so the total still includes it."""

    security_id: uuid.UUID
    symbol: str
    account_id: uuid.UUID
    first_day: dt.date
    last_day: dt.date
    counted_cost: Decimal


@dataclasses.dataclass(frozen=True)
class Summary:
    currency: str
    total_balance: Decimal
    total_income: Decimal
    total_expenses: Decimal
    net: Decimal
    savings_rate: Decimal | None
    top_categories: list[CategoryAmount]
    monthly_trend: list[Flow]
    missing_rates: list[MissingRate]
    missing_prices: list[MissingPrice]


@dataclasses.dataclass(frozen=True)
class Cashflow:
    currency: str
    buckets: list[Flow]
    missing_rates: list[MissingRate]


@dataclasses.dataclass(frozen=True)
class NetWorthPoint:
    date: dt.date
    value: Decimal
    from_snapshot: bool


@dataclasses.dataclass(frozen=True)
class NetWorth:
    currency: str
    points: list[NetWorthPoint]
    missing_rates: list[MissingRate]
    missing_prices: list[MissingPrice]


# --- caching -------------------------------------------------------------------------------------


def _encode(value: Any) -> Any:
    """Tag what JSON would lose; UUIDs (asyncpg's own class included) come back via _rebuild."""
    if isinstance(value, Decimal):
        return {"$d": str(value)}
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dt.date):
        return {"$t": value.isoformat()}
    raise TypeError(type(value))


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(item) for item in value]
    if isinstance(value, dict):
        if "$d" in value:
            return Decimal(value["$d"])
        if "$t" in value:
            return dt.date.fromisoformat(value["$t"])
        return {key: _decode(item) for key, item in value.items()}
    return value


def _rebuild(kind: type, data: dict[str, Any]) -> Any:
    """Turn cached plain data back into the result dataclasses."""
    nested = {
        "monthly_trend": Flow, "buckets": Flow, "points": NetWorthPoint, "missing_rates": MissingRate,
        "missing_prices": lambda security_id, account_id, **rest: MissingPrice(
            security_id=uuid.UUID(security_id), account_id=uuid.UUID(account_id), **rest),
    }
    values = {
        key: [nested[key](**item) for item in value] if key in nested else value for key, value in data.items()
    }
    if "top_categories" in values:
        values["top_categories"] = [_rebuild(CategoryAmount, item) for item in values["top_categories"]]
    if kind is CategoryAmount and values["category_id"] is not None:
        values["category_id"] = uuid.UUID(values["category_id"])
    return kind(**values)


async def _cached(rt: Runtime, viewer: Viewer, operation: str, kind: type, compute) -> Any:
    versions = f"v{await rt.cache.version(user_version_key(viewer.user_id))}.r{await rt.cache.version(RATES_VERSION)}"
    key = f"wallet:{viewer.user_id}:{versions}:{operation}"
    if (hit := await rt.cache.get(key)) is not None:
        return _rebuild(kind, _decode(orjson.loads(hit)))
    result = await compute()
    payload = orjson.dumps(dataclasses.asdict(result), default=_encode, option=orjson.OPT_PASSTHROUGH_DATETIME)
    await rt.cache.set(key, payload, CACHE_TTL)
    return result


# --- queries -------------------------------------------------------------------------------------


def _check_range(start: dt.date, end: dt.date) -> None:
    if end < start:
        raise ServiceError(ErrorCode.INVALID, "`to` must not be before `from`.", "to")
    if (end - start).days > MAX_RANGE_DAYS:
        raise ServiceError(ErrorCode.INVALID, "Ask for at most ten years at once.", "from")


async def _base_currency(session: AsyncSession, viewer: Viewer) -> str:
    user = await users.get_user(session, viewer.user_id)
    if user is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "This account no longer exists.")
    return user.base_currency


def _flows(rows: list[totals.Total], currency: str) -> dict[dt.date | None, tuple[Decimal, Decimal]]:
    grouped: dict[dt.date | None, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for row in rows:
        if row.is_transfer:
            continue
        grouped[row.bucket][0] += row.inflow
        grouped[row.bucket][1] -= row.outflow
    return {key: (round_money(a, currency), round_money(b, currency)) for key, (a, b) in grouped.items()}


async def wallet_summary(session: AsyncSession, rt: Runtime, viewer: Viewer, *, start: dt.date, end: dt.date) -> Summary:
    _check_range(start, end)

    async def compute() -> Summary:
        currency = await _base_currency(session, viewer)
        grouped, missing = await totals.converted_totals(
            session, viewer, start=start, end=end, currency=currency, bucket=Bucket.MONTH, by_category=True,
            separately=True,
        )
        monthly = [row for row in grouped if row.bucket is not None]
        income = sum((r.inflow for r in monthly if not r.is_transfer), Decimal(0))
        expenses = -sum((r.outflow for r in monthly if not r.is_transfer), Decimal(0))
        income, expenses = round_money(income, currency), round_money(expenses, currency)
        net = income - expenses
        by_category: dict[uuid.UUID | None, Decimal] = defaultdict(Decimal)
        for row in grouped:
            if row.bucket is None and not row.is_transfer:
                by_category[row.category_id] -= row.outflow
        top = sorted(((c, a) for c, a in by_category.items() if a > 0), key=lambda item: (-item[1], str(item[0])))
        top = top[:TOP_CATEGORIES]
        names = await categories.get_categories(session, viewer, [c for c, _ in top if c is not None])
        trend = _flows(monthly, currency)
        [beyond] = await _investments_beyond_ledger(session, viewer, [end], ledger_through=dt.date.max)
        balances = _plus(await accounts.balances_by_currency(session, viewer), beyond.amounts)
        balance, balance_missing = await _convert(session, balances, currency, end)
        return Summary(
            currency=currency,
            total_balance=balance,
            total_income=income,
            total_expenses=expenses,
            net=net,
            # A percentage, like budgets' percentUsed: net / income * 100 to 2 places (banker's rounding).
            savings_rate=(net * 100 / income).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN) + 0 if income else None,
            top_categories=[
                CategoryAmount(c, names[c].name if c in names else "Uncategorized", round_money(a, currency))
                for c, a in top
            ],
            monthly_trend=[
                Flow(month, i, e, i - e) for month, (i, e) in sorted(trend.items(), key=lambda item: item[0])
            ],
            missing_rates=totals.merge_missing(missing, balance_missing),
            missing_prices=_missing_prices([beyond], currency),
        )

    return await _cached(rt, viewer, f"summary:{start}:{end}", Summary, compute)


def _periods(start: dt.date, end: dt.date, bucket: Bucket) -> list[dt.date]:
    if bucket is Bucket.DAY:
        first = start
    elif bucket is Bucket.WEEK:
        first = start - dt.timedelta(days=start.weekday())
    else:
        first = calendar.month_start(start)
    periods, current = [], first
    while current <= end:
        periods.append(current)
        if bucket is Bucket.DAY:
            current += dt.timedelta(days=1)
        elif bucket is Bucket.WEEK:
            current += dt.timedelta(days=7)
        else:
            current = calendar.next_month(current)
    return periods


async def cashflow(
    session: AsyncSession, rt: Runtime, viewer: Viewer, *, start: dt.date, end: dt.date, granularity: Bucket
) -> Cashflow:
    """Income, expenses and net for every period in the range, empty periods included."""
    _check_range(start, end)

    async def compute() -> Cashflow:
        currency = await _base_currency(session, viewer)
        rows, missing = await totals.converted_totals(
            session, viewer, start=start, end=end, currency=currency, bucket=granularity
        )
        flows = _flows(rows, currency)
        zero = (round_money(Decimal(0), currency),) * 2
        buckets = [Flow(p, *flows.get(p, zero), flows.get(p, zero)[0] - flows.get(p, zero)[1])
                   for p in _periods(start, end, granularity)]
        return Cashflow(currency=currency, buckets=buckets, missing_rates=missing)

    return await _cached(rt, viewer, f"cashflow:{start}:{end}:{granularity.value}", Cashflow, compute)


async def _convert(
    session: AsyncSession, amounts: dict[str, Decimal], currency: str, day: dt.date
) -> tuple[Decimal, list[MissingRate]]:
    return _converted(amounts, await totals.rates_on(session, amounts, target=currency, day=day), currency, day)


def _converted(
    amounts: dict[str, Decimal], rates: dict[str, Decimal | None], currency: str, day: dt.date
) -> tuple[Decimal, list[MissingRate]]:
    total, missing = Decimal(0), []
    for code, amount in amounts.items():
        rate = rates.get(code)
        if rate is None:
            if amount:
                missing.append(MissingRate(code, day, day))
            continue
        total += amount * rate
    return round_money(total, currency), missing


async def net_worth(session: AsyncSession, rt: Runtime, viewer: Viewer, *, start: dt.date, end: dt.date) -> NetWorth:
    """One point per month end in the range and at `to`; snapshots win where they exist."""
    _check_range(start, end)

    async def compute() -> NetWorth:
        currency = await _base_currency(session, viewer)
        snapshots = {
            row.date: row
            for row in (
                await session.exec(
                    net_worth_snapshots.readable(viewer).where(
                        col(NetWorthSnapshot.date) >= start,
                        col(NetWorthSnapshot.date) <= end,
                        col(NetWorthSnapshot.currency) == currency,
                    )
                )
            ).all()
        }
        days = sorted({p - dt.timedelta(days=1) for p in _periods(start, end, Bucket.MONTH)[1:]} | {end} | set(snapshots))
        days = [d for d in days if start <= d <= end]
        derived, unpriced = await _derived(session, viewer, currency, [day for day in days if day not in snapshots])
        points, missing = [], []
        for day in days:
            if day in snapshots:
                points.append(NetWorthPoint(day, round_money(snapshots[day].value, currency), True))
                continue
            value, lacking = derived[day]
            missing += lacking
            points.append(NetWorthPoint(day, value, False))
        return NetWorth(currency=currency, points=points, missing_rates=totals.merge_missing(missing),
                        missing_prices=_missing_prices(unpriced, currency))

    return await _cached(rt, viewer, f"networth:{start}:{end}", NetWorth, compute)


async def _derived(
    session: AsyncSession, viewer: Viewer, currency: str, days: list[dt.date]
) -> tuple[dict[dt.date, tuple[Decimal, list[MissingRate]]], list[Beyond]]:
    """Net worth on each of `days` (ascending) from the opening balances, the ledger's flows through
    the day and the investments, and the investments' holdings without a price. Each part is read
    once for all the days (a statement per part, not per day)."""
    opening = await accounts.opening_balances_by_currency(session, viewer)
    flows = await totals.net_flows_by_currency(session, viewer, days)
    beyond = await _investments_beyond_ledger(session, viewer, days)
    amounts = [_plus(opening, flow, more.amounts) for flow, more in zip(flows, beyond, strict=True)]
    rates = await totals.rates_on_days(session, {code for group in amounts for code in group}, target=currency, days=days)
    return {
        day: _converted(group, rates_then, currency, day)
        for day, group, rates_then in zip(days, amounts, rates, strict=True)
    }, beyond


async def _investments_beyond_ledger(
    session: AsyncSession, viewer: Viewer, days: list[dt.date], *, ledger_through: dt.date | None = None
) -> list[Beyond]:
    """For each day (ascending), by currency: what investment accounts are worth that day (their portfolio
    value: one cash book of ledger movements and activities, plus positions at market; a position without
    a close at its cost, listed as unpriced) minus their ledger balance through `ledger_through` (None: the
    day), which the caller counts with every account's: so each counts its portfolio value."""
    from finora_gql.investments import valuation as investments  # investments imports this module

    return await investments.values_beyond_ledger(session, viewer, days, ledger_through=ledger_through)


def _missing_prices(found: Iterable[Beyond], currency: str) -> list[MissingPrice]:
    """One entry per (account, security) without a close on some of the days, over all of them; its
    counted cost is the one of the last such day."""
    merged: dict[tuple[uuid.UUID, uuid.UUID], MissingPrice] = {}
    for beyond in found:
        for item in beyond.unpriced:
            key = (item.account_id, item.security.id)
            seen = merged.get(key)
            merged[key] = MissingPrice(
                item.security.id, item.security.symbol, item.account_id,
                item.day if seen is None else min(seen.first_day, item.day),
                item.day if seen is None else max(seen.last_day, item.day),
                round_money(item.cost, currency) if seen is None or item.day >= seen.last_day else seen.counted_cost,
            )
    return sorted(merged.values(), key=lambda m: (m.symbol, str(m.account_id)))


def _plus(*amounts: dict[str, Decimal]) -> dict[str, Decimal]:
    total: dict[str, Decimal] = defaultdict(Decimal)
    for group in amounts:
        for code, amount in group.items():
            total[code] += amount
    return dict(total)


async def record_net_worth_snapshot(session: AsyncSession, rt: Runtime, viewer: Viewer) -> NetWorthPoint:
    """Store today's net worth (used by a daily job; also available to the viewer)."""
    currency = await _base_currency(session, viewer)
    today = clock.now().date()
    derived, [beyond] = await _derived(session, viewer, currency, [today])
    value, missing = derived[today]
    if missing:
        codes = ", ".join(m.currency for m in missing)
        raise ServiceError(ErrorCode.INVALID, f"No exchange rate to {currency} for {codes} yet.", None)
    if beyond.unpriced:
        # A snapshot is shown later without the reason: an estimate at cost is not recorded as a fact.
        symbols = ", ".join(sorted({item.security.symbol for item in beyond.unpriced}))
        raise ServiceError(ErrorCode.INVALID, f"No price yet for {symbols}; set one with setPrice.", None)
    await session.exec(
        insert(NetWorthSnapshot)
        .values(id=uuid.uuid4(), user_id=viewer.user_id, date=today, value=value, currency=currency,
                created_at=clock.now())
        .on_conflict_do_update(constraint="uq_net_worth_snapshot_user_date", set_={"value": value, "currency": currency})
    )
    wallet_changed(session, rt, viewer.user_id)
    return NetWorthPoint(today, value, True)


# --- exchange rates ------------------------------------------------------------------------------


async def set_fx_rate(
    session: AsyncSession, rt: Runtime, actor: Actor, *, base: str, quote: str, date: dt.date, rate: Decimal
) -> FxRate:
    """Store 1 `base` = `rate` `quote` from `date` on. Rates are shared market data: administrators
    (or a named system actor: the demo seed, a price feed) only, and each change is audited (with
    the rate it replaced) in the same transaction."""
    if not isinstance(actor, SystemActor):
        require_admin(actor)
    errors = Collector()
    base, quote = errors.check(clean_currency, base, field="base"), errors.check(clean_currency, quote, field="quote")
    if base is not None and base == quote:
        errors.add(ServiceError(ErrorCode.INVALID, "Base and quote must differ.", "quote"))
    if not rate.is_finite() or rate <= 0 or rate != rate.quantize(Decimal("1e-10")) or rate >= Decimal("1e13"):
        errors.add(ServiceError(ErrorCode.INVALID, "Rate must be positive with at most 10 decimal places.", "rate"))
    errors.raise_any()
    previous = (await session.exec(
        select(FxRate.rate).where(col(FxRate.base) == base, col(FxRate.quote) == quote, col(FxRate.date) == date)
    )).first()
    await session.exec(
        insert(FxRate)
        .values(id=uuid.uuid4(), base=base, quote=quote, date=date, rate=rate, created_at=clock.now())
        .on_conflict_do_update(constraint="uq_fx_rate_pair_date", set_={"rate": rate})
    )
    from finora_gql.investments import day_values  # investments imports this module

    await day_values.rate_changed(session, quote, date)
    audit.record(session, actor, "fx_rate.set", None, {
        "base": base, "quote": quote, "date": date.isoformat(), "rate": str(rate),
        "previous": str(previous) if previous is not None else None,
    })
    after_commit(session, lambda: rt.cache.bump(RATES_VERSION))
    return FxRate(base=base, quote=quote, date=date, rate=rate)


async def list_fx_rates(session: AsyncSession, *, base: str, quote: str, limit: int = 100) -> list[FxRate]:
    rows = await session.exec(
        select(FxRate).where(col(FxRate.base) == base.upper(), col(FxRate.quote) == quote.upper())
        .order_by(col(FxRate.date).desc()).limit(limit)
    )
    return list(rows.all())

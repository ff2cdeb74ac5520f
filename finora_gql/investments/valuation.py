"""The portfolio figures: loading a viewer's activities (with their accounts' ledger movements,
ledger_cash.py), closes and rates, and asking the engine; and what the wallet counts for them.

Reads only (the activities' rules live in service.py). The hot loads are compiled reads that
decode cheaply (numbers as text, days as offsets); a range after the first year starts from the
accounts' year-end checkpoints when they are usable (checkpoints.py), and the days' values and
flows come from the persisted daily values when every day of the range is kept (day_values.py):
then only the closes in force at `to` are loaded and no day is valued here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal, localcontext

import sqlalchemy as sa
from sqlalchemy import bindparam, text
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from finora_gql.accounts import service as accounts
from finora_gql.accounts.models import Account, AccountType
from finora_gql.core import clock
from finora_gql.core.db import CompiledRead, any_of, array_of, fetch
from finora_gql.core.errors import ErrorCode, ServiceError
from finora_gql.core.jobs import enqueue_async
from finora_gql.core.runtime import Runtime
from finora_gql.core.viewer import Viewer
from finora_gql.investments import checkpoints, day_values, engine, ledger_cash
from finora_gql.investments.engine import Act, CostMethod, Kind, Series
from finora_gql.investments.models import Activity, Security
from finora_gql.investments.service import EARLIEST, activities, cost_method, get_securities
from finora_gql.users import service as users

MAX_RANGE_DAYS = 366 * 10


@dataclasses.dataclass(frozen=True)
class Portfolio:
    result: engine.Result
    method: CostMethod
    securities: dict[uuid.UUID, Security]
    stale_before: dt.date  # a holding priced before this day is stale
    account_ids: list[uuid.UUID]


def _check_range(start: dt.date, end: dt.date) -> None:
    if end < start:
        raise ServiceError(ErrorCode.INVALID, "`to` must not be before `from`.", "to")
    if (end - start).days > MAX_RANGE_DAYS:
        raise ServiceError(ErrorCode.INVALID, "Ask for at most ten years at once.", "from")
    if start <= EARLIEST:
        raise ServiceError(ErrorCode.INVALID, "`from` must be after 1900-01-01.", "from")


async def investment_accounts(session: AsyncSession, viewer: Viewer, account_ids: Sequence[uuid.UUID] | None
                              ) -> list[Account]:
    if account_ids:
        found = []
        for account_id in dict.fromkeys(account_ids):
            account = await accounts.get_account(session, viewer, account_id, field="accountIds")
            if account.type is not AccountType.INVESTMENT:
                raise ServiceError(ErrorCode.INVALID, "Only INVESTMENT accounts have a portfolio.", "accountIds")
            found.append(account)
        return found
    rows = await session.exec(accounts.readable(viewer).where(col(Account.type) == AccountType.INVESTMENT))
    return list(rows.all())


def _activity_read() -> CompiledRead:
    """The viewer's activities in the accounts bound as `accounts`, through the day bound as `last`."""
    table = Activity.__table__  # type: ignore[attr-defined]
    return CompiledRead(
        # Numbers as text (Decimal(str) is cheaper than asyncpg's numeric decoding), the creation time as
        # microseconds (the order of a day's activities).
        sa_select(table.c.id, table.c.date, table.c.kind, table.c.account_id, table.c.security_id,
                  *(sa.cast(column, sa.Text) for column in (table.c.quantity, table.c.amount, table.c.fee, table.c.tax,
                                                             table.c.split_from, table.c.split_to)),
                  sa.cast(sa.func.extract("epoch", table.c.created_at) * 1_000_000, sa.BigInteger), table.c.lot_date,
                  sa.cast(table.c.carried_average, sa.Text))
        .where(activities.owned_by(bindparam("user_id")),
               any_of(table.c.account_id, bindparam("accounts", type_=array_of(table.c.account_id.type))),
               table.c.date > bindparam("after", type_=sa.Date), table.c.date <= bindparam("last", type_=sa.Date))
    )


_ACTIVITIES = _activity_read()
# Per security: the last close before `first` (one index probe each), then every close through `last`,
# as one row per security: the days as offsets from `first` (int arrays decode in C) and the closes as
# the text of a numeric array (Decimal(str) is several times cheaper than decoding numerics one by one).
_PRICES = CompiledRead(text("""
    SELECT s.id, before.date, before.close, before.source, within.offsets, within.closes, within.source
      FROM unnest(CAST(:ids AS uuid[])) AS s(id)
      LEFT JOIN LATERAL (SELECT date, close, source FROM price
                          WHERE security_id = s.id AND date < :first ORDER BY date DESC LIMIT 1) AS before ON true
      LEFT JOIN LATERAL (SELECT array_agg(date - CAST(:first AS date) ORDER BY date) AS offsets,
                                array_agg(close ORDER BY date)::text AS closes,
                                (SELECT source FROM price AS p WHERE p.security_id = s.id AND p.date <= :last
                                  ORDER BY p.date DESC LIMIT 1) AS source
                           FROM price WHERE security_id = s.id AND date BETWEEN :first AND :last) AS within ON true
""").bindparams(sa.bindparam("ids", type_=ARRAY(sa.Uuid())), sa.bindparam("first", type_=sa.Date),
                sa.bindparam("last", type_=sa.Date)))
_RATES = CompiledRead(text(
    "SELECT base, array_agg(date ORDER BY date), array_agg(rate ORDER BY date) FROM fx_rate "
    "WHERE base = ANY(CAST(:bases AS varchar[])) AND quote = :quote AND date <= :last GROUP BY base"
).bindparams(sa.bindparam("bases", type_=ARRAY(sa.String())), sa.bindparam("quote", type_=sa.String()),
             sa.bindparam("last", type_=sa.Date)))
_KINDS = {kind.value: kind for kind in Kind}
ONE = Decimal(1)


async def _acts(session: AsyncSession, viewer: Viewer, currency_of: dict[uuid.UUID, str], last: dt.date, *,
                after: dt.date = dt.date(1, 1, 1)) -> list[Act]:
    """The activities of the accounts in (after, last], and their ledger movements (ledger_cash.py)."""
    return await ledger_cash.ledger_acts(session, viewer, currency_of, last, after=after) + await _activity_acts(
        session, viewer, currency_of, last, after=after)


async def _activity_acts(session: AsyncSession, viewer: Viewer, currency_of: dict[uuid.UUID, str], last: dt.date, *,
                         after: dt.date) -> list[Act]:
    rows = await fetch(session, _ACTIVITIES, {"user_id": viewer.user_id, "accounts": list(currency_of), "last": last,
                                              "after": after})
    kinds, number = _KINDS, Decimal
    return [
        Act(r[0], r[1], kinds[r[2]], r[3], currency_of[r[3]], r[4], number(r[5]), number(r[6]), number(r[7]),
            number(r[8]), number(r[9]) if r[9] is not None else ONE, number(r[10]) if r[10] is not None else ONE, r[11],
            r[12], number(r[13]) if r[13] is not None else None)
        for r in rows
    ]


async def _price_series(session: AsyncSession, ids: list[uuid.UUID], first: dt.date, last: dt.date
                        ) -> dict[uuid.UUID, Series]:
    if not ids:
        return {}
    series = {}
    for security_id, day, close, source, offsets, closes, last_source in await fetch(
            session, _PRICES, {"ids": ids, "first": first, "last": last}):
        points = list(offsets or ())
        values = list(map(Decimal, closes[1:-1].split(","))) if closes else []
        if day is not None:
            points.insert(0, (day - first).days)
            values.insert(0, close)
        if not points:
            continue
        # Only the last point's source is shown (a holding's price at `to`).
        sources: list[str | None] = [None] * len(points)
        sources[-1] = last_source if offsets else source
        series[security_id] = Series(None, values, sources, origin=first, offsets=points)
    return series


async def _rate_series(session: AsyncSession, currencies: set[str], target: str, last: dt.date) -> dict[str, Series]:
    wanted = sorted(currencies - {target})
    if not wanted:
        return {}
    rows = await fetch(session, _RATES, {"bases": wanted, "quote": target, "last": last})
    return {base: Series(list(dates), list(rates)) for base, dates, rates in rows}


async def portfolio(session: AsyncSession, rt: Runtime, viewer: Viewer, *, account_ids: Sequence[uuid.UUID] | None,
                    start: dt.date, end: dt.date, method: CostMethod | None, history: bool = False,
                    positions: bool = True) -> Portfolio:
    """The viewer's investment accounts (or the ones named) over [start, end], in their base currency.
    `positions=False`: only the figures of the days are wanted (value, flows, returns, history); with
    every day kept, the activities are then not replayed and cash, cost, income, gains and holdings
    are left empty."""
    _check_range(start, end)
    user = await users.get_user(session, viewer.user_id)
    if user is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "This account no longer exists.")
    currency = user.base_currency
    method = method or await cost_method(session, viewer)
    chosen = await investment_accounts(session, viewer, account_ids)
    currency_of = {account.id: account.currency for account in chosen}
    states: list[dict] | None = []
    acts: list[Act] = []
    daily = None
    if chosen:
        daily = await day_values.read(session, viewer, list(currency_of), currency, start, end)
        if daily is None and end <= clock.now().date():  # days not kept (yet): value them here, have them kept
            await _ask_once(rt, day_values.JOB, viewer, currency_of, 60)
    if chosen and (daily is None or positions):
        day = checkpoints.checkpoint_day(start)
        states = await checkpoints.usable(session, viewer, currency_of, currency, day)
        if states is None:  # a checkpoint is missing or outdated: replay everything (and have them rebuilt)
            await _ask_once(rt, checkpoints.JOB, viewer, currency_of, 600)
            acts = await _acts(session, viewer, currency_of, end)
        else:
            acts = await _acts(session, viewer, currency_of, end, after=day)
    held_before = {uuid.UUID(p[1]) for state in states or () for p in state["positions"]}
    security_ids = sorted({a.security for a in acts if a.security is not None} | held_before)
    found = await get_securities(session, viewer, security_ids)
    # With the days kept, only the closes in force at `end` (the holdings' prices) are needed.
    first_close = end + dt.timedelta(days=1) if daily is not None else start - dt.timedelta(days=1)
    prices = await _price_series(session, security_ids, first_close, end)
    codes = set(currency_of.values()) | {s.currency for s in found.values()}
    rates = await _rate_series(session, codes, currency, end)
    result = engine.evaluate(
        acts, currency=currency, start=start, end=end,
        security_currency={key: found[key].currency for key in security_ids},
        prices=prices, rates=rates, method=method, granularity="DAY" if history else None,
        checkpoints=[(state, uuid.UUID) for state in states or ()], daily=daily,
    )
    stale_days = rt.settings.price_stale_after_days
    stale_before = min(end, clock.now().date()) - dt.timedelta(days=stale_days)
    return Portfolio(result=result, method=method, securities=found, stale_before=stale_before,
                     account_ids=list(currency_of))


async def _ask_once(rt: Runtime, job: str, viewer: Viewer, account_ids, seconds: int) -> None:
    """Enqueue `job` for each account, at most once per account in `seconds`."""
    for account_id in account_ids:
        asked = f"investments:{job}-asked:{account_id}"
        if await rt.cache.get(asked) is None:
            await rt.cache.set(asked, b"1", seconds)
            await enqueue_async(job, str(viewer.user_id), str(account_id))


@dataclasses.dataclass(frozen=True)
class Beyond:
    """What `values_beyond_ledger` found for one day: the amounts by currency, and the positions
    without a close on or before the day (counted at their cost instead)."""

    amounts: dict[str, Decimal]
    unpriced: list[Unpriced]


@dataclasses.dataclass(frozen=True)
class Unpriced:
    """A position with no close on or before `day` (the portfolio's MISSING_PRICE): counted at its
    FIFO cost, in the base currency, so a total still includes it (and says so)."""

    account_id: uuid.UUID
    security: Security
    day: dt.date
    cost: Decimal


async def values_beyond_ledger(session: AsyncSession, viewer: Viewer, days: Sequence[dt.date], *,
                               ledger_through: dt.date | None = None) -> list[Beyond]:
    """For each of `days` (ascending): what the viewer's investment accounts are worth that day
    beyond their ledger balance at the end of `ledger_through` (None: of the day itself), the part the
    wallet already counts, by currency: the wallet counts every account's ledger balance, and with
    this an investment account counts exactly its portfolio value (its one cash book,
    ledger_cash.py, plus its positions at the last close on or before the day). A position without
    any close counts at its cost, and is listed: never silently 0, never silently cost.

    Everything is loaded once for all the days (netWorth asks for every month end) and the book is
    replayed once, from the year-end checkpoint before the first day when there is one."""
    empty = [Beyond({}, []) for _ in days]
    chosen = await investment_accounts(session, viewer, None)
    user = await users.get_user(session, viewer.user_id) if chosen and days else None
    if user is None:
        return empty
    base = user.base_currency
    currency_of = {account.id: account.currency for account in chosen}
    last = days[-1]
    start = checkpoints.checkpoint_day(days[0])
    states = await checkpoints.usable(session, viewer, currency_of, base, start)
    after = start if states is not None else dt.date(1, 1, 1)
    # Every ledger movement once: the replay takes those after `after`, the ledger balances all of them.
    ledger = await ledger_cash.ledger_acts(session, viewer, currency_of, max(last, ledger_through or last))
    acts = engine.order([a for a in ledger if after < a.date <= last]
                        + await _activity_acts(session, viewer, currency_of, last, after=after))
    if not acts and not states:
        return empty
    rates = await _rate_series(session, set(currency_of.values()), base, last)

    def rate(code: str, when: dt.date) -> Decimal | None:
        series = rates.get(code)
        return ONE if code == base else (series.at(when) if series else None)

    book = engine.Book(rate, base)
    with localcontext(engine.CONTEXT):
        for state in states or ():
            book.restore(state, uuid.UUID)
    security_ids = sorted({s for _, s in book.positions} | {a.security for a in acts if a.security is not None})
    found = await get_securities(session, viewer, security_ids)
    prices = await _price_series(session, security_ids, days[0], last)
    # Both walks go forward only: the days ascend, and so does each one's ledger end.
    ledger.sort(key=lambda act: act.date)
    ledger_balance: dict[str, Decimal] = defaultdict(Decimal)
    results, applied, balanced = [], 0, 0
    for day in days:
        with localcontext(engine.CONTEXT):
            while applied < len(acts) and acts[applied].date <= day:
                book.apply_in_context(acts[applied], False, lambda s, d: None)
                applied += 1
        while balanced < len(ledger) and ledger[balanced].date <= (ledger_through or day):
            act = ledger[balanced]
            ledger_balance[act.currency] += act.amount if act.kind is Kind.DEPOSIT else -act.amount
            balanced += 1
        values: dict[str, Decimal] = defaultdict(Decimal)
        for (_, code), amount in book.cash.items():
            values[code] += amount
        for code, amount in ledger_balance.items():
            values[code] -= amount
        unpriced = []
        for security, held in engine.held_on(book, prices, day).items():
            if held.close is not None:
                values[found[security].currency] += sum(p.quantity for p in held.positions.values()) * held.close
                continue
            for account, position in held.positions.items():
                values[base] += position.fifo_cost
                unpriced.append(Unpriced(account, found[security], day, position.fifo_cost))
        results.append(Beyond({code: amount for code, amount in values.items() if amount}, unpriced))
    return results

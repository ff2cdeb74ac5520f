"""Daily totals: kept in step with every transaction write, read by every summary.

Writers call `apply_changes` in the same database transaction as the rows they add or remove,
so the totals can never disagree with the transactions. Readers get amounts converted to one
currency at the rate in force on each day (the latest `FxRate` on or before it); a day whose
currency has no rate yet is reported in `missing`, never converted at 1.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Any, Protocol

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlmodel.ext.asyncio.session import AsyncSession

from finora_gql.core import calendar
from finora_gql.core.db import CompiledRead, fetch
from finora_gql.core.owned import owner_id, user_sql
from finora_gql.core.viewer import Viewer
from finora_gql.wallet.models import UNCATEGORIZED, DailyTotal, MonthlyTotal


class LedgerRow(Protocol):
    """What the totals need of a transaction (the Transaction model satisfies it)."""

    user_id: uuid.UUID
    date: dt.date
    currency: str
    category_id: uuid.UUID | None
    transfer_id: uuid.UUID | None
    amount: Decimal


_Key = tuple[uuid.UUID, dt.date, str, uuid.UUID, bool]


def _key(row: LedgerRow) -> _Key:
    return (row.user_id, row.date, row.currency, row.category_id or UNCATEGORIZED, row.transfer_id is not None)


async def apply_changes(
    session: AsyncSession, *, added: Iterable[LedgerRow] = (), removed: Iterable[LedgerRow] = ()
) -> None:
    """Add `added` to the totals and take `removed` out (an update is both)."""
    deltas: dict[_Key, list] = defaultdict(lambda: [Decimal(0), Decimal(0), 0])
    for sign, rows in ((1, added), (-1, removed)):
        for row in rows:
            delta = deltas[_key(row)]
            amount = Decimal(row.amount)
            delta[0 if amount > 0 else 1] += sign * amount
            delta[2] += sign
    if not deltas:
        return
    monthly: dict[_Key, list] = defaultdict(lambda: [Decimal(0), Decimal(0), 0])
    for (user_id, day, currency, category_key, is_transfer), (inflow, outflow, count) in deltas.items():
        month = monthly[(user_id, day.replace(day=1), currency, category_key, is_transfer)]
        month[0] += inflow
        month[1] += outflow
        month[2] += count
    await _upsert(session, DailyTotal.__table__, "day", deltas)
    await _upsert(session, MonthlyTotal.__table__, "month", monthly)


async def _upsert(session: AsyncSession, table: Any, period: str, deltas: dict[_Key, list]) -> None:
    # A stable order keeps concurrent writers from deadlocking on each other's rows.
    values = [
        {
            "user_id": key[0], period: key[1], "currency": key[2], "category_key": key[3], "is_transfer": key[4],
            "inflow": inflow, "outflow": outflow, "count": count,
        }
        for key, (inflow, outflow, count) in sorted(deltas.items(), key=lambda item: tuple(map(str, item[0])))
    ]
    statement = insert(table).values(values)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.user_id, table.c[period], table.c.currency, table.c.category_key, table.c.is_transfer],
        set_={
            "inflow": table.c.inflow + statement.excluded.inflow,
            "outflow": table.c.outflow + statement.excluded.outflow,
            "count": table.c.count + statement.excluded.count,
        },
    )
    await session.exec(statement)


class Bucket(str, Enum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


@dataclass(frozen=True)
class Total:
    """Converted flows of one (bucket, category, transfer-or-not) group. Unrounded."""

    bucket: dt.date | None
    category_id: uuid.UUID | None
    is_transfer: bool
    inflow: Decimal
    outflow: Decimal  # negative or zero
    count: int


@dataclass(frozen=True)
class MissingRate:
    currency: str
    first_day: dt.date
    last_day: dt.date


def merge_missing(*groups: Iterable[MissingRate]) -> list[MissingRate]:
    """One range per currency (spanning all of its ranges in `groups`), by currency code."""
    merged: dict[str, MissingRate] = {}
    for group in groups:
        for item in group:
            seen = merged.get(item.currency)
            merged[item.currency] = item if seen is None else MissingRate(
                item.currency, min(seen.first_day, item.first_day), max(seen.last_day, item.last_day)
            )
    return [merged[code] for code in sorted(merged)]


# Days in :target need no conversion and are summed straight from the totals (most of a
# ledger): whole months from the monthly totals, the days before and after them from the daily
# ones. Days in other currencies are converted one by one, before grouping, at the rate in force
# that day: in one sorted pass, each day takes the latest rate at or before it (rates sort
# before the day's rows, `kind` 0), so a month spanning a rate change converts each day at its
# own rate. (A lookup per day cost ~16 µs each: most of a year's summary.)
_CONVERTED = """
WITH foreign_days AS (
  SELECT day, currency, category_key, is_transfer, inflow, outflow, count FROM daily_total
  WHERE {owned} AND day BETWEEN :start AND :end AND currency <> :target
), points AS (
  SELECT currency, day, 1 AS kind, NULL::numeric AS rate, category_key, is_transfer, inflow, outflow, count
  FROM foreign_days
  UNION ALL
  SELECT base, date, 0, rate, NULL, NULL, NULL, NULL, NULL FROM fx_rate
  WHERE quote = :target AND date <= :end AND base IN (SELECT DISTINCT currency FROM foreign_days)
), since_rate AS (
  SELECT *, count(rate) OVER (PARTITION BY currency ORDER BY day, kind) AS rates_so_far FROM points
), converted AS (
  SELECT day, currency, kind, category_key, is_transfer, inflow, outflow, count,
         first_value(rate) OVER (PARTITION BY currency, rates_so_far ORDER BY day, kind) AS rate
  FROM since_rate
)
SELECT bucket, category, is_transfer, sum(inflow), sum(outflow), sum(count)::int, NULL AS currency, NULL::date, NULL::date
FROM (
  SELECT {bucket} AS bucket, {category} AS category, is_transfer, inflow, outflow, count FROM ({in_target}) AS in_target
  UNION ALL
  SELECT {bucket}, {category}, is_transfer, inflow * rate, outflow * rate, count
  FROM converted WHERE kind = 1 AND rate IS NOT NULL
) AS flows
GROUP BY {grouping}
UNION ALL
SELECT NULL, NULL, false, 0, 0, 0, currency, min(day), max(day)
FROM converted WHERE kind = 1 AND rate IS NULL GROUP BY currency
"""
_DAYS_IN_TARGET = """
SELECT day, category_key, is_transfer, inflow, outflow, count FROM daily_total
WHERE {owned} AND currency = :target AND day BETWEEN :start AND :end"""
# A month's row stands for its first day: right wherever rows are grouped by month or not at all.
_MONTHS_IN_TARGET = """
SELECT month AS day, category_key, is_transfer, inflow, outflow, count FROM monthly_total
WHERE {owned} AND currency = :target AND month >= :months_from AND month < :months_until
UNION ALL
SELECT day, category_key, is_transfer, inflow, outflow, count FROM daily_total
WHERE {owned} AND currency = :target AND day >= :start AND day < :months_from
UNION ALL
SELECT day, category_key, is_transfer, inflow, outflow, count FROM daily_total
WHERE {owned} AND currency = :target AND day >= :months_until AND day <= :end"""


@functools.lru_cache(maxsize=64)
def _converted_read(bucket: Bucket | None, by_category: bool, separately: bool, whole_months: bool) -> CompiledRead:
    # On a timestamp without time zone: the calendar's week and month, whatever the session's zone.
    bucket_sql = f"date_trunc('{bucket.value}', day::timestamp)::date" if bucket else "NULL::date"
    category_sql = "category_key" if by_category else "NULL::uuid"
    grouping = "GROUPING SETS ((bucket, is_transfer), (category, is_transfer))" if separately else "1, 2, 3"
    in_target = _MONTHS_IN_TARGET if whole_months else _DAYS_IN_TARGET
    # Every daily and monthly total read is kept to the person bound as :user_id.
    in_target = in_target.replace("{owned}", user_sql())
    return CompiledRead(text(_CONVERTED.format(bucket=bucket_sql, category=category_sql, grouping=grouping,
                                               in_target=in_target, owned=user_sql())))


async def converted_totals(
    session: AsyncSession,
    viewer: Viewer,
    *,
    start: dt.date,
    end: dt.date,
    currency: str,
    bucket: Bucket | None = None,
    by_category: bool = False,
    separately: bool = False,
) -> tuple[list[Total], list[MissingRate]]:
    """Flows between `start` and `end` (inclusive) in `currency`, grouped as asked.

    `separately` (with both a bucket and by_category): grouped by bucket and, apart, by category,
    instead of by the pair. Each Total then has a bucket (and no category) or no bucket (and its
    category): a summary's trend and top categories from a few dozen rows instead of hundreds.
    """
    params: dict[str, object] = {"user_id": owner_id(viewer), "start": start, "end": end, "target": currency}
    months = calendar.whole_months(start, end) if bucket in (None, Bucket.MONTH) else None
    if months is not None:
        params["months_from"], params["months_until"] = months
    read = _converted_read(bucket, by_category, separately and bucket is not None and by_category, months is not None)
    rows = await fetch(session, read, params)
    totals: list[Total] = []
    missing: list[MissingRate] = []
    for bucket_day, category, is_transfer, inflow, outflow, count, missing_currency, first, last in rows:
        if missing_currency is not None:
            missing.append(MissingRate(missing_currency, first, last))
        else:
            totals.append(Total(bucket_day, None if category == UNCATEGORIZED else category, is_transfer,
                                inflow, outflow, count))
    return totals, sorted(missing, key=lambda m: m.currency)


async def net_flows_by_currency(
    session: AsyncSession, viewer: Viewer, days: list[dt.date]
) -> list[dict[str, Decimal]]:
    """For each of `days` (ascending): every flow up to and including it, transfers included, per
    original currency. One statement for all of them: each day total is summed into the first of
    `days` on or after it, and the sums are carried forward here."""
    if not days:
        return []
    result = await session.exec(
        text(
            "SELECT p.point, currency, sum(inflow + outflow) FROM daily_total "
            "CROSS JOIN LATERAL (SELECT min(d) AS point FROM unnest(CAST(:days AS date[])) AS d "
            "WHERE d >= daily_total.day) AS p "
            f"WHERE {user_sql()} AND day <= :last GROUP BY p.point, currency"
        ).bindparams(user_id=owner_id(viewer), days=days, last=days[-1])
    )
    by_point: dict[dt.date, dict[str, Decimal]] = defaultdict(dict)
    for point, currency, total in result.all():
        by_point[point][currency] = Decimal(total)
    running: dict[str, Decimal] = defaultdict(Decimal)
    found = []
    for day in days:
        for currency, total in by_point.get(day, {}).items():
            running[currency] += total
        found.append(dict(running))
    return found


async def rate_history(session: AsyncSession, base: str, quote: str, *, through: dt.date) -> list[tuple[dt.date, Decimal]]:
    """Every rate of the pair effective on or before `through`, oldest first."""
    result = await session.exec(
        text("SELECT date, rate FROM fx_rate WHERE base = :base AND quote = :quote AND date <= :through ORDER BY date")
        .bindparams(base=base, quote=quote, through=through)
    )
    return [(day, Decimal(rate)) for day, rate in result.all()]


async def rates_on(session: AsyncSession, currencies: Iterable[str], *, target: str, day: dt.date) -> dict[str, Decimal | None]:
    """The rate of each currency into `target` in force on `day` (None when there is none)."""
    return (await rates_on_days(session, currencies, target=target, days=[day]))[0]


async def rates_on_days(
    session: AsyncSession, currencies: Iterable[str], *, target: str, days: list[dt.date]
) -> list[dict[str, Decimal | None]]:
    """For each of `days`: the rate of each currency into `target` in force that day (None when there
    is none). One statement for all the days (netWorth converts every month end)."""
    wanted = sorted({c for c in currencies if c != target})
    if not wanted or not days:
        return [{target: Decimal(1)} | dict.fromkeys(wanted) for _ in days]
    result = await session.exec(
        text(
            "SELECT base, array_agg(date ORDER BY date), array_agg(rate ORDER BY date) FROM fx_rate "
            "WHERE base = ANY(:wanted) AND quote = :target AND date <= :last GROUP BY base"
        ).bindparams(wanted=wanted, target=target, last=max(days))
    )
    series = {base: (dates, rates) for base, dates, rates in result.all()}
    found = []
    for day in days:
        rates: dict[str, Decimal | None] = {target: Decimal(1)}
        for currency in wanted:
            dates, values = series.get(currency, ((), ()))
            at = bisect.bisect_right(dates, day) - 1
            rates[currency] = Decimal(values[at]) if at >= 0 else None
        found.append(rates)
    return found


"""Persisted daily values: per account and day, its value and net external flow in the owner's base
currency (models.DayRange, models.DayValue), so a portfolio or its history reads them instead of
valuing every held security on every day of the range.

Kept correct by invalidation in the writer's transaction, under the account's row lock (the lock
every activity write, ledger write on the account and the rebuild take, so a rebuild never
interleaves with a change):
- an activity written, edited or deleted: the account's days from its date on;
- a ledger row of the account written, edited or deleted (ledger_cash.py): from its date on; its
  opening balance changed (or the account made an INVESTMENT one): every day;
- a close stored: the days from its date on of every account with activities in the security;
- an exchange rate set: the days from its date on of every range kept in its quote currency.
`extend` (the `investment_day_values` job, asked by a reader that found the days missing)
computes the missing days with the same engine that answers from scratch. A reader uses the
days only when every chosen account has all of them, known, in its currency; otherwise it
computes from scratch (same result) and asks for the job.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from decimal import Decimal, localcontext

import sqlalchemy as sa
from sqlalchemy import delete, text, update
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from finora_gql.accounts.models import Account
from finora_gql.core import clock
from finora_gql.core.db import CompiledRead, fetch
from finora_gql.core.jobs import enqueue_after_commit
from finora_gql.core.owned import SYSTEM, Owned, user_sql
from finora_gql.core.viewer import Viewer
from finora_gql.investments import engine
from finora_gql.investments.models import Activity, DayRange, DayValue

ranges = Owned(DayRange, "daily value range")
days = Owned(DayValue, "daily value")
JOB = "investment_day_values"
_CHUNK = 4000  # rows per INSERT (6 parameters each, under the protocol's 32,767)
# Rates belong to no account, so no account lock orders a rate change against a range being built:
# `extend` holds this advisory lock shared (before its account lock) and a rate change holds it alone
# before it looks for the ranges to void, so a range is never kept from a rate replaced meanwhile.
_RATES_LOCK = 0x46696E6F7261  # any fixed bigint; "Finora"

# Per account of the person: its range and, for the days in [first, last], whether all are known
# and their values and flows as the text of numeric arrays (decoded with Decimal(str)).
_READ = CompiledRead(
    text(f"""
    SELECT r.account_id, r.currency, r.first, r.through, d.count, d.unknown, d.vals, d.flows
      FROM investment_day_range AS r
      LEFT JOIN LATERAL (SELECT count(*) AS count, count(*) FILTER (WHERE v.reason IS NOT NULL) AS unknown,
                                array_agg(v.value ORDER BY v.date)::text AS vals,
                                array_agg(v.net_flow ORDER BY v.date)::text AS flows
                           FROM investment_day_value AS v
                          WHERE v.user_id = r.user_id AND v.account_id = r.account_id AND v.date BETWEEN :first AND :last) AS d ON true
     WHERE {user_sql("r.user_id")} AND r.account_id = ANY(CAST(:accounts AS uuid[]))
""").bindparams(
        sa.bindparam("accounts", type_=ARRAY(sa.Uuid())),
        sa.bindparam("first", type_=sa.Date),
        sa.bindparam("last", type_=sa.Date),
    )
)


def _numbers(array_text: str | None) -> list[Decimal]:
    return list(map(Decimal, array_text[1:-1].split(","))) if array_text else []


async def read(
    session: AsyncSession, viewer: Viewer, account_ids: Sequence[uuid.UUID], currency: str, start: dt.date, end: dt.date
) -> engine.Daily | None:
    """The accounts' summed days from the day before `start` to `end`, or None unless every one is kept."""
    first = start - dt.timedelta(days=1)
    count = (end - first).days + 1
    rows = await fetch(
        session, _READ, {"user_id": viewer.user_id, "accounts": list(account_ids), "first": first, "last": end}
    )
    if len(rows) != len(set(account_ids)):
        return None
    values = [Decimal(0)] * count
    flows = [Decimal(0)] * count
    for _, code, since, through, kept, unknown, vals, net in rows:
        if code != currency or through < end or unknown:
            return None
        if since is None or since > end:
            continue
        offset = max((since - first).days, 0)
        if kept != count - offset:
            return None
        with localcontext(engine.CONTEXT):  # the engine's 40 digits, not the default 28
            values[offset:] = map(Decimal.__add__, values[offset:], _numbers(vals))
            flows[offset:] = map(Decimal.__add__, flows[offset:], _numbers(net))
    return engine.Daily(values, flows)


async def lock(session: AsyncSession, viewer: Viewer, account_ids: Sequence[uuid.UUID]) -> None:
    from finora_gql.accounts import service as accounts

    await session.exec(
        accounts.accounts.where_visible(
            select(col(Account.id)).where(col(Account.id).in_(sorted(account_ids))).order_by(col(Account.id)), viewer
        ).with_for_update()
    )


async def _invalidate(session: AsyncSession, viewer: Viewer, account_ids: Sequence[uuid.UUID], day: dt.date) -> None:
    """Forget the viewer's accounts' days from `day` on (the whole range when it starts on or after `day`)."""
    chosen = list(account_ids)
    await session.exec(
        delete(DayValue).where(  # type: ignore[call-overload]
            days.owned_by(viewer.user_id), col(DayValue.account_id).in_(chosen), col(DayValue.date) >= day
        )
    )
    await session.exec(
        delete(DayRange).where(  # type: ignore[call-overload]
            ranges.owned_by(viewer.user_id),
            col(DayRange.account_id).in_(chosen),
            sa.or_(col(DayRange.first).is_(None), col(DayRange.first) >= day),
        )
    )
    await session.exec(
        update(DayRange)
        .where(  # type: ignore[call-overload]
            ranges.owned_by(viewer.user_id), col(DayRange.account_id).in_(chosen), col(DayRange.through) >= day
        )
        .values(through=day - dt.timedelta(days=1), updated_at=clock.now())
    )


async def _invalidate_owners(session: AsyncSession, pairs: Sequence[tuple[uuid.UUID, uuid.UUID]], day: dt.date) -> None:
    """(owner, account) pairs found across owners: each owner's accounts locked, then their days forgotten."""
    by_owner: dict[uuid.UUID, list[uuid.UUID]] = {}
    for user_id, account_id in pairs:
        by_owner.setdefault(user_id, []).append(account_id)
    for user_id in sorted(by_owner):
        viewer = Viewer.acting_for(user_id)
        await lock(session, viewer, by_owner[user_id])
        await _invalidate(session, viewer, by_owner[user_id], day)


async def changed(session: AsyncSession, viewer: Viewer, account_id: uuid.UUID, day: dt.date) -> None:
    """An activity of the account on `day` changed (the caller holds the account's lock): the days
    from it on are computed again after the commit."""
    await _invalidate(session, viewer, [account_id], day)
    enqueue_after_commit(session, JOB, str(viewer.user_id), str(account_id))


async def price_changed(session: AsyncSession, security_id: uuid.UUID, day: dt.date) -> None:
    """A close of the security from `day` on was stored: every account with activities in it (any owner)."""
    from finora_gql.investments.service import activities

    pairs = (
        await session.exec(
            activities.where_visible(
                select(col(Activity.user_id), col(Activity.account_id))
                .distinct()
                .where(col(Activity.security_id) == security_id),
                SYSTEM,
            )
        )
    ).all()
    await _invalidate_owners(session, pairs, day)


async def rate_changed(session: AsyncSession, quote: str, day: dt.date) -> None:
    """A rate into `quote` from `day` on was set: every range kept in `quote` (any owner)."""
    await session.exec(text("SELECT pg_advisory_xact_lock(:key)").bindparams(key=_RATES_LOCK))
    pairs = (
        await session.exec(
            ranges.where_visible(
                select(col(DayRange.user_id), col(DayRange.account_id)).where(col(DayRange.currency) == quote), SYSTEM
            )
        )
    ).all()
    await _invalidate_owners(session, pairs, day)


async def extend(session: AsyncSession, user_id: uuid.UUID, account_id: uuid.UUID) -> int:
    """Compute the account's days missing through today, in the owner's base currency; returns how
    many were written. Runs in the caller's transaction."""
    from finora_gql.investments import ledger_cash, valuation
    from finora_gql.investments.service import get_securities, job_account

    await session.exec(text("SELECT pg_advisory_xact_lock_shared(:key)").bindparams(key=_RATES_LOCK))
    found = await job_account(session, user_id, account_id)
    if found is None:
        return 0
    viewer, account, currency = found
    today = clock.now().date()
    kept = (await session.exec(ranges.readable(viewer).where(col(DayRange.account_id) == account.id))).first()
    if kept is not None and kept.through >= today and kept.currency == currency:
        return 0
    if kept is not None and (kept.currency != currency or kept.first is None):
        await _invalidate(session, viewer, [account.id], dt.date(1, 1, 1))
        kept = None
    currency_of = {account.id: account.currency}
    acts = await valuation._acts(session, viewer, currency_of, today)
    rows = []
    # An opening balance makes the account worth something from OPENING_DAY on; its days are kept
    # from the first later movement (a reader asking for earlier ones finds them missing).
    moving = min((a.date for a in acts if a.date > ledger_cash.OPENING_DAY), default=None)
    first = ledger_cash.OPENING_DAY if any(a.date == ledger_cash.OPENING_DAY for a in acts) else moving
    if first is not None:
        start = kept.through + dt.timedelta(days=1) if kept is not None else (moving or today)
        await session.exec(
            delete(DayValue).where(  # type: ignore[call-overload]
                days.owned_by(user_id), col(DayValue.account_id) == account.id, col(DayValue.date) >= start
            )
        )
        security_ids = sorted({a.security for a in acts if a.security is not None})
        found = await get_securities(session, viewer, security_ids)
        prices = await valuation._price_series(session, security_ids, start - dt.timedelta(days=1), today)
        rates = await valuation._rate_series(
            session, {account.currency} | {s.currency for s in found.values()}, currency, today
        )
        result = engine.evaluate(
            acts,
            currency=currency,
            start=start,
            end=today,
            security_currency={key: found[key].currency for key in security_ids},
            prices=prices,
            rates=rates,
        )
        reason = result.missing[0].reason.value if result.missing else engine.Reason.MISSING_PRICE.value
        for t in range(1, len(result.values)):
            value = result.values[t]
            rows.append(
                {
                    "account_id": account.id,
                    "user_id": user_id,
                    "date": start + dt.timedelta(days=t - 1),
                    "value": value,
                    "net_flow": result.net_flows.get(t, Decimal(0)),
                    # Any day something was missing (a cost included): readers then compute from scratch.
                    "reason": reason
                    if value is None or t in result.unknown_flow_days or t in result.missing_days
                    else None,
                }
            )
        for k in range(0, len(rows), _CHUNK):
            await session.exec(insert(DayValue).values(rows[k : k + _CHUNK]))
    header = {
        "account_id": account.id,
        "user_id": user_id,
        "currency": currency,
        "first": first,
        "through": today,
        "updated_at": clock.now(),
    }
    statement = insert(DayRange).values(header)
    await session.exec(
        statement.on_conflict_do_update(
            index_elements=["user_id", "account_id"],
            set_={"currency": currency, "first": first, "through": today, "updated_at": header["updated_at"]},
        )
    )
    return len(rows)

"""Year-end checkpoints of an account's positions and cash (see models.Checkpoint).

A portfolio over the last year of a ten-year history would otherwise fetch and replay every
activity and ledger movement (ledger_cash.py); with the checkpoint of the Dec 31 before the range
it replays one year. Activity and ledger writes delete
the checkpoints from the changed day on (same transaction) and enqueue `investment_checkpoints`,
which rebuilds every year end of the account under the account's row lock (the lock every
activity write takes), so a rebuild never sees half a change. Reads use a checkpoint only when
every chosen account has one at that date (or nothing before it, opening balance included) in the reporting currency with
the same exchange rates; otherwise they replay everything, with the same result.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from decimal import Decimal, localcontext

import orjson
import sqlalchemy as sa
from sqlalchemy import bindparam, delete, text
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from finora_gql.core import clock
from finora_gql.core.db import CompiledRead, fetch
from finora_gql.core.jobs import enqueue_after_commit
from finora_gql.core.owned import Owned
from finora_gql.core.viewer import Viewer
from finora_gql.investments import engine
from finora_gql.investments.models import Activity, Checkpoint

checkpoints = Owned(Checkpoint, "checkpoint", owner="user_id")
JOB = "investment_checkpoints"

_RATES_VERSION = CompiledRead(text(
    "SELECT count(*)::text || ':' || coalesce(sum(rate), 0)::text || ':' || coalesce(max(date)::text, '') "
    "FROM fx_rate WHERE base = ANY(CAST(:bases AS varchar[])) AND quote = :quote"
).bindparams(bindparam("bases", type_=ARRAY(sa.String())), bindparam("quote", type_=sa.String())))


def _read() -> CompiledRead:
    table = Checkpoint.__table__  # type: ignore[attr-defined]
    return CompiledRead(
        sa.select(table.c.account_id, table.c.state, table.c.rates_version).where(
            checkpoints.owned_by(bindparam("user_id")),
            table.c.account_id == sa.any_(bindparam("accounts", type_=ARRAY(sa.Uuid()))),
            table.c.date == bindparam("day", type_=sa.Date), table.c.currency == bindparam("currency", type_=sa.String()),
        )
    )


def _earlier() -> CompiledRead:
    table = Activity.__table__  # type: ignore[attr-defined]
    from finora_gql.investments.service import activities

    return CompiledRead(
        sa.select(table.c.account_id).distinct().where(
            activities.owned_by(bindparam("user_id")),
            table.c.account_id == sa.any_(bindparam("accounts", type_=ARRAY(sa.Uuid()))),
            table.c.date <= bindparam("day", type_=sa.Date),
        )
    )


_CHECKPOINTS = _read()
_EARLIER: CompiledRead | None = None


def checkpoint_day(start: dt.date) -> dt.date:
    """The year end a range starting on `start` can start from."""
    return dt.date(start.year - 1, 12, 31)


async def rates_version(session: AsyncSession, codes: Sequence[str], currency: str) -> str | None:
    wanted = sorted(set(codes) - {currency})
    if not wanted:
        return None
    return (await fetch(session, _RATES_VERSION, {"bases": wanted, "quote": currency}))[0][0]


async def usable(session: AsyncSession, viewer: Viewer, currency_of: dict[uuid.UUID, str], currency: str,
                 day: dt.date) -> list[dict] | None:
    """The checkpoints of every account at `day`, or None when any account needs one it lacks."""
    global _EARLIER
    rows = await fetch(session, _CHECKPOINTS, {"user_id": viewer.user_id, "accounts": list(currency_of), "day": day,
                                               "currency": currency})
    found = {row[0]: row for row in rows}
    versions: dict[str, str | None] = {}
    for account_id, row in found.items():
        code = currency_of[account_id]
        if code not in versions:
            versions[code] = await rates_version(session, [code], currency)
        if row[2] != versions[code]:
            return None
    lacking = [a for a in currency_of if a not in found]
    if lacking:
        _EARLIER = _EARLIER or _earlier()
        needing = await fetch(session, _EARLIER, {"user_id": viewer.user_id, "accounts": lacking, "day": day})
        if needing:
            return None
        from finora_gql.investments import ledger_cash  # it voids checkpoints through this module

        if await ledger_cash.ledger_acts(session, viewer, {a: currency_of[a] for a in lacking}, day):
            return None  # cash from the ledger before `day`, and no checkpoint holding it
    return [orjson.loads(row[1]) if isinstance(row[1], str | bytes) else row[1] for row in found.values()]


async def changed(session: AsyncSession, viewer: Viewer, account_id: uuid.UUID, day: dt.date) -> None:
    """An activity of the account on `day` changed: checkpoints from it on are void; rebuild later."""
    await session.exec(delete(Checkpoint).where(checkpoints.owned_by(viewer.user_id),  # type: ignore[arg-type]
                                                col(Checkpoint.account_id) == account_id, col(Checkpoint.date) >= day))
    enqueue_after_commit(session, JOB, str(viewer.user_id), str(account_id))


async def rebuild(session: AsyncSession, user_id: uuid.UUID, account_id: uuid.UUID) -> int:
    """Every year end of the account from its first activity to last year, in the owner's base
    currency. Runs in the caller's transaction; returns how many checkpoints were written."""
    from finora_gql.investments import ledger_cash, valuation
    from finora_gql.investments.service import job_account

    found = await job_account(session, user_id, account_id)
    if found is None:
        return 0
    viewer, account, currency = found
    today = clock.now().date()
    acts = await valuation._acts(session, viewer, {account.id: account.currency}, checkpoint_day(today))
    await session.exec(delete(Checkpoint).where(checkpoints.owned_by(user_id),  # type: ignore[arg-type]
                                                col(Checkpoint.account_id) == account.id))
    if not acts:
        return 0
    rates = await valuation._rate_series(session, {account.currency}, currency, today)
    version = await rates_version(session, [account.currency], currency)

    def rate(code: str, day: dt.date) -> Decimal | None:
        if code == currency:
            return Decimal(1)
        series = rates.get(code)
        return series.at(day) if series else None

    book = engine.Book(rate)
    ordered = engine.order(acts)
    rows = []
    # From the first movement after the opening balance's (the year ends before it hold only that).
    first = next((a.date for a in ordered if a.date > ledger_cash.OPENING_DAY), checkpoint_day(today))
    year_end = dt.date(first.year, 12, 31)
    i = 0
    with localcontext(engine.CONTEXT):
        while year_end < today:
            while i < len(ordered) and ordered[i].date <= year_end:
                book.apply_in_context(ordered[i], False, lambda s, d: None)
                i += 1
            if book.missing:  # a cost that cannot be converted: no checkpoints from here on
                break
            rows.append({"account_id": account.id, "date": year_end, "currency": currency, "user_id": user_id,
                         "rates_version": version, "state": book.export(), "created_at": clock.now()})
            year_end = dt.date(year_end.year + 1, 12, 31)
    if rows:
        await session.exec(insert(Checkpoint).values(rows))
    return len(rows)

"""An INVESTMENT account's ledger movements as its external cash flows: one cash book per account.

The account's opening balance, the transfers into and out of it and any income or expense booked
on it in the ledger are cash that came in or went out. The engine sees them as DEPOSIT and
WITHDRAWAL acts marked `ledger` (so TWR and XIRR count them as flows), and the activities' trades,
income, fees and taxes move cash on top of them. The portfolio's cash and value, its daily values
and checkpoints, and what `netWorth` and `walletSummary` count for the account all come from that
one book (valuation.py).

- The opening balance is cash held from before anything else: a movement on OPENING_DAY, the day
  before any range a portfolio may ask for (which starts after it), so it is never a flow inside one.
- Each other day with rows on the account is one movement: their sum (a deposit when positive, a
  withdrawal when negative).

A ledger write on an INVESTMENT account voids its checkpoints and daily values from the earliest
day it touched, in the writer's transaction (`moved`), as activity writes do.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from sqlmodel.ext.asyncio.session import AsyncSession

from finora_gql.accounts import service as accounts
from finora_gql.accounts.models import AccountType
from finora_gql.core.runtime import Runtime
from finora_gql.core.viewer import Viewer
from finora_gql.investments import checkpoints, day_values
from finora_gql.investments.engine import Act, Kind

OPENING_DAY = dt.date(1900, 1, 1)


def _movement(account_id: uuid.UUID, currency: str, day: dt.date, amount: Decimal) -> Act:
    kind = Kind.DEPOSIT if amount > 0 else Kind.WITHDRAWAL
    return Act(("ledger", account_id, day), day, kind, account_id, currency, amount=abs(amount), ledger=True)


async def ledger_acts(
    session: AsyncSession,
    viewer: Viewer,
    currency_of: dict[uuid.UUID, str],
    last: dt.date,
    *,
    after: dt.date = dt.date(1, 1, 1),
) -> list[Act]:
    """The accounts' ledger movements in (after, last], as the engine's acts."""
    from finora_gql.transactions import ledger  # the ledger's writers call `moved` below

    acts = []
    if after < OPENING_DAY <= last:
        for account in (await accounts.get_accounts(session, viewer, list(currency_of))).values():
            if account.opening_balance:
                acts.append(_movement(account.id, account.currency, OPENING_DAY, account.opening_balance))
    for account_id, day, amount in await ledger.daily_net(
        session, viewer, list(currency_of), after=after, through=last
    ):
        acts.append(_movement(account_id, currency_of[account_id], day, amount))
    return acts


async def moved(session: AsyncSession, rt: Runtime, viewer: Viewer, earliest: dict[uuid.UUID, dt.date]) -> None:
    """Ledger rows of these accounts changed from these days on (the opening balance: OPENING_DAY):
    the INVESTMENT ones' kept figures from then on are void and rebuilt after the commit."""
    from finora_gql.investments.service import portfolio_changed  # service reads this module

    found = await accounts.get_accounts(session, viewer, list(earliest))
    chosen = sorted(account_id for account_id, row in found.items() if row.type is AccountType.INVESTMENT)
    if not chosen:
        return
    await day_values.lock(session, viewer, chosen)
    for account_id in chosen:
        await checkpoints.changed(session, viewer, account_id, earliest[account_id])
        await day_values.changed(session, viewer, account_id, earliest[account_id])
    portfolio_changed(session, rt, viewer.user_id, "LEDGER")

"""Accounts of the viewer. Every read goes through `accounts` (the ownership kit), the one place
ownership is decided."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from finora_gql.accounts.models import Account, AccountType
from finora_gql.core.db import fetch
from finora_gql.core.errors import Collector
from finora_gql.core.jobs import enqueue_after_commit
from finora_gql.core.models import touched
from finora_gql.core.money import clean_amount
from finora_gql.core.owned import Actor, Owned
from finora_gql.core.runtime import Runtime
from finora_gql.core.validation import clean_currency, clean_text
from finora_gql.core.viewer import Viewer
from finora_gql.wallet.events import wallet_changed

accounts = Owned(Account, "account")


def readable(viewer: Viewer) -> SelectOfScalar[Account]:
    return accounts.readable(viewer)


class AccountRow(NamedTuple):
    """An account's columns as a plain tuple, for reads that only look at it."""

    id: uuid.UUID
    user_id: uuid.UUID
    type: AccountType
    name: str
    currency: str
    opening_balance: Decimal
    current_balance: Decimal
    archived: bool
    created_at: datetime
    updated_at: datetime


_BY_IDS = accounts.compiled_by_ids(AccountRow._fields)


async def list_accounts(session: AsyncSession, viewer: Viewer, *, include_archived: bool = False) -> Sequence[Account]:
    statement = readable(viewer)
    if not include_archived:
        statement = statement.where(col(Account.archived).is_(False))
    return (await session.exec(statement.order_by(col(Account.created_at), col(Account.id)))).all()


async def get_accounts(session: AsyncSession, viewer: Viewer, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, AccountRow]:
    """The viewer's accounts among `ids` (for the request's loader: a compiled read, no ORM)."""
    rows = await fetch(session, _BY_IDS, {"user_id": viewer.user_id, "ids": list(ids)})
    return {row[0]: AccountRow(row[0], row[1], AccountType(row[2]), *row[3:]) for row in rows}


async def get_account(session: AsyncSession, viewer: Viewer, account_id: uuid.UUID, *, field: str = "accountId",
                      for_update: bool = False) -> Account:
    return await accounts.get(session, viewer, account_id, field=field, for_update=for_update)


async def create_account(
    session: AsyncSession,
    viewer: Viewer,
    *,
    name: str,
    type: AccountType,
    currency: str,
    opening_balance: Decimal = Decimal(0),
) -> Account:
    errors = Collector()  # every problem of the input, not only the first
    clean_name = errors.check(clean_text, name, field="name", max_length=100)
    currency = errors.check(clean_currency, currency)
    opening = errors.check(clean_amount, opening_balance, currency=currency, field="openingBalance") if currency else None
    errors.raise_any()
    account = Account(
        user_id=viewer.user_id,
        name=clean_name,
        type=type,
        currency=currency,
        opening_balance=opening,
        current_balance=opening,
    )
    session.add(account)
    await session.flush()
    return account


async def update_account(
    session: AsyncSession,
    rt: Runtime,
    viewer: Viewer,
    account_id: uuid.UUID,
    *,
    name: str | None = None,
    type: AccountType | None = None,
    opening_balance: Decimal | None = None,
    archived: bool | None = None,
) -> Account:
    account = await get_account(session, viewer, account_id, field="id", for_update=True)
    errors = Collector()  # every problem of the input, not only the first
    clean_name = errors.check(clean_text, name, field="name", max_length=100) if name is not None else None
    opening = (
        errors.check(clean_amount, opening_balance, currency=account.currency, field="openingBalance")
        if opening_balance is not None else None
    )
    errors.raise_any()
    cash_moved = False  # an investment account's cash book, from its opening balance on
    if clean_name is not None:
        account.name = clean_name
    if type is not None:
        cash_moved = type is not account.type
        account.type = type
    if opening is not None:
        if opening != account.opening_balance:
            account.current_balance += opening - account.opening_balance
            account.opening_balance = opening
            cash_moved = True
            balances_moved(session, viewer, [account.id])
            wallet_changed(session, rt, viewer.user_id)  # balances and net worth moved
    if archived is not None:
        account.archived = archived
    touched(account)
    session.add(account)
    if cash_moved:
        from finora_gql.investments import ledger_cash  # investments imports this module

        await session.flush()
        await ledger_cash.moved(session, rt, viewer, {account.id: ledger_cash.OPENING_DAY})
    return account


async def delete_account(session: AsyncSession, rt: Runtime, viewer: Viewer, account_id: uuid.UUID) -> Account:
    """Delete an account and its transactions; a transfer's other leg goes with it. Its rows
    leave the balances and daily totals first (through the ledger, in this transaction), so
    nothing is left counting money that no longer exists."""
    # The ledger writes move account balances (it imports this module): imported when called.
    from finora_gql.transactions import ledger

    account = await get_account(session, viewer, account_id, field="id", for_update=True)
    await ledger.remove_account_transactions(session, rt, viewer, account.id)
    await session.delete(account)
    return account


async def add_to_balances(session: AsyncSession, viewer: Viewer, deltas: dict[uuid.UUID, Decimal]) -> None:
    """Move current balances by `deltas`, in the caller's transaction (ledger writers only);
    after commit, the goals linked to the moved accounts are settled."""
    moved = sorted((account_id for account_id, delta in deltas.items() if delta), key=str)
    for account_id in moved:
        await session.exec(
            accounts.where_visible(update(Account), viewer).where(col(Account.id) == account_id)
            .values(current_balance=Account.current_balance + deltas[account_id])
        )
    balances_moved(session, viewer, moved)


def balances_moved(session: AsyncSession, viewer: Viewer, account_ids: Sequence[uuid.UUID]) -> None:
    """After commit, a job settles the goals linked to these accounts (reached, or no longer)."""
    if account_ids:
        ids = sorted(str(account_id) for account_id in account_ids)
        enqueue_after_commit(session, "linked_goals", str(viewer.user_id), ids)


async def opening_balances_by_currency(session: AsyncSession, actor: Actor) -> dict[str, Decimal]:
    """The sum of the opening balances of `actor`'s accounts, per currency."""
    return await _sum_by_currency(session, actor, Account.opening_balance)


async def balances_by_currency(session: AsyncSession, actor: Actor) -> dict[str, Decimal]:
    """The sum of the current balances of `actor`'s accounts, per currency."""
    return await _sum_by_currency(session, actor, Account.current_balance)


async def _sum_by_currency(session: AsyncSession, actor: Actor, column: object) -> dict[str, Decimal]:
    statement = accounts.where_visible(select(Account.currency, func.sum(column)), actor)
    result = await session.exec(statement.group_by(col(Account.currency)))
    return {currency: Decimal(total) for currency, total in result.all()}

"""Transactions: writes that keep balances and daily totals exact, and filtered, paged reads.

Every write goes through `_record`, which moves account balances and the daily totals by the
same rows in the same database transaction, then tells the wallet its summaries changed.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from types import SimpleNamespace
from typing import NamedTuple

from sqlalchemy import and_, bindparam, delete, func, or_, tuple_, update
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.orm import defer
from sqlalchemy.sql.elements import BindParameter, ColumnElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from finora_gql.accounts import service as accounts
from finora_gql.accounts.models import Account
from finora_gql.core import clock
from finora_gql.core.db import CompiledRead, any_of, array_of, fetch
from finora_gql.core.errors import ErrorCode, ServiceError
from finora_gql.core.jobs import enqueue_after_commit
from finora_gql.gamification import events as gamification
from finora_gql.core.models import touched
from finora_gql.core.money import clean_amount
from finora_gql.core.pagination import Page, PageRequest, encode_cursor, window
from finora_gql.core.runtime import Runtime
from finora_gql.core.validation import clean_text
from finora_gql.core.viewer import Viewer
from finora_gql.transactions import categories, rules
from finora_gql.transactions.models import Category, CategoryKind, Transaction
from finora_gql.wallet import totals
from finora_gql.wallet.service import wallet_changed

MAX_BULK = 100
MAX_TAGS = 20
EARLIEST = dt.date(1900, 1, 1)
LATEST = dt.date(2200, 1, 1)


def readable(viewer: Viewer) -> SelectOfScalar[Transaction]:
    # The search vector is for the database's eyes only; don't ship it with every row.
    return select(Transaction).where(owned_by(viewer.user_id)).options(defer(Transaction.search))


def owned_by(user_id: uuid.UUID | BindParameter[uuid.UUID]) -> ColumnElement[bool]:
    """The ownership rule of every read of transactions (a bind parameter for compiled reads)."""
    return col(Transaction.user_id) == user_id


# --- input cleaning ------------------------------------------------------------------------


@dataclass(frozen=True)
class Draft:
    """A transaction as a client described it, before validation."""

    account_id: uuid.UUID
    date: dt.date
    amount: Decimal
    category_id: uuid.UUID | None = None
    merchant: str | None = None
    description: str = ""
    notes: str | None = None
    tags: Sequence[str] = ()
    external_id: str | None = None


def _clean_tags(tags: Sequence[str], field: str) -> list[str]:
    cleaned: list[str] = []
    for tag in tags:
        value = " ".join(tag.split()).lower()
        if not value:
            continue
        if len(value) > 40:
            raise ServiceError(ErrorCode.INVALID, "Tags are at most 40 characters.", field)
        if value not in cleaned:
            cleaned.append(value)
    if len(cleaned) > MAX_TAGS:
        raise ServiceError(ErrorCode.INVALID, f"At most {MAX_TAGS} tags per transaction.", field)
    return cleaned


def _clean_date(value: dt.date, field: str) -> dt.date:
    if not EARLIEST <= value < LATEST:
        raise ServiceError(ErrorCode.INVALID, "The date must be between 1900 and 2199.", field)
    return value


def _optional_text(value: str | None, *, field: str, max_length: int) -> str | None:
    if value is None:
        return None
    return clean_text(value, field=field, max_length=max_length, required=False) or None


# --- writes -----------------------------------------------------------------------------------


async def _apply(
    session: AsyncSession, rt: Runtime, viewer: Viewer, *, added: Sequence[object] = (), removed: Sequence[object] = ()
) -> None:
    """Move balances and daily totals by the rows added and removed, in this transaction."""
    deltas: dict[uuid.UUID, Decimal] = defaultdict(Decimal)
    for row in added:
        deltas[row.account_id] += row.amount
    for row in removed:
        deltas[row.account_id] -= row.amount
    await accounts.add_to_balances(session, viewer, deltas)
    await totals.apply_changes(session, added=added, removed=removed)
    wallet_changed(session, rt, viewer.user_id)
    _check_budgets_later(session, viewer, [*added, *removed])


def _check_budgets_later(session: AsyncSession, viewer: Viewer, rows: Sequence[object]) -> None:
    """After commit, a job checks the budgets of the months these rows touched (80%/100% alerts)."""
    months = sorted({row.date.replace(day=1).isoformat() for row in rows if row.transfer_id is None})
    if months:
        enqueue_after_commit(session, "budget_alerts", str(viewer.user_id), months)


def _snapshot(row: Transaction) -> SimpleNamespace:
    """The ledger-relevant fields of a row as they are now (before an update changes them)."""
    return SimpleNamespace(
        user_id=row.user_id, account_id=row.account_id, date=row.date, currency=row.currency,
        category_id=row.category_id, transfer_id=row.transfer_id, amount=row.amount,
    )


async def create_transactions(
    session: AsyncSession, rt: Runtime, viewer: Viewer, drafts: Sequence[Draft], *, field_prefix: str = ""
) -> list[Transaction]:
    """Validate and insert up to MAX_BULK transactions, all or nothing.

    Errors name the field as `<prefix><index>.<field>` for bulk input (prefix "" for one).
    """
    if len(drafts) > MAX_BULK:
        raise ServiceError(ErrorCode.INVALID, f"At most {MAX_BULK} transactions at once.", field_prefix.rstrip(".") or None)
    bulk = len(drafts) > 1 or field_prefix != ""

    def at(index: int, name: str) -> str:
        return f"{field_prefix}{index}.{name}" if bulk else name

    account_map = await accounts.get_accounts(session, viewer, list({d.account_id for d in drafts}))
    category_map = await categories.get_categories(session, viewer, [d.category_id for d in drafts if d.category_id])
    matcher = await rules.matcher(session, viewer)
    rows: list[Transaction] = []
    for index, draft in enumerate(drafts):
        account = account_map.get(draft.account_id)
        if account is None:
            raise ServiceError(ErrorCode.NOT_FOUND, "No account of yours has this id.", at(index, "accountId"))
        if account.archived:
            raise ServiceError(ErrorCode.INVALID, "This account is archived; unarchive it first.", at(index, "accountId"))
        if draft.category_id is not None:
            category = category_map.get(draft.category_id)
            if category is None:
                raise ServiceError(ErrorCode.NOT_FOUND, "No category of yours has this id.", at(index, "categoryId"))
            if category.kind is CategoryKind.TRANSFER:
                raise ServiceError(ErrorCode.INVALID, "Record transfers with createTransfer.", at(index, "categoryId"))
        merchant = _optional_text(draft.merchant, field=at(index, "merchant"), max_length=200)
        description = clean_text(draft.description or "", field=at(index, "description"), max_length=500, required=False)
        rows.append(
            Transaction(
                user_id=viewer.user_id,
                account_id=account.id,
                date=_clean_date(draft.date, at(index, "date")),
                amount=clean_amount(draft.amount, currency=account.currency, field=at(index, "amount"), allow_zero=False),
                currency=account.currency,
                category_id=draft.category_id or matcher.category_for(merchant, description),
                merchant=merchant,
                description=description,
                notes=_optional_text(draft.notes, field=at(index, "notes"), max_length=2000),
                tags=_clean_tags(draft.tags, at(index, "tags")),
                external_id=_optional_text(draft.external_id, field=at(index, "externalId"), max_length=100),
            )
        )
    await _check_external_ids(session, rows, at)
    await _remember_merchant_categories(session, viewer, [row for row in rows if row.category_id is None])
    session.add_all(rows)
    await session.flush()
    await _apply(session, rt, viewer, added=rows)
    gamification.record(session, viewer, gamification.EventKind.TRANSACTION_CREATED, gamification.transactions_payload(rows))
    return rows


async def create_transaction(session: AsyncSession, rt: Runtime, viewer: Viewer, **fields: object) -> Transaction:
    return (await create_transactions(session, rt, viewer, [Draft(**fields)]))[0]


async def _check_external_ids(session: AsyncSession, rows: Sequence[Transaction], at) -> None:
    keyed = [(index, row) for index, row in enumerate(rows) if row.external_id]
    if not keyed:
        return
    seen: set[tuple[uuid.UUID, str]] = set()
    for index, row in keyed:
        key = (row.account_id, row.external_id)
        if key in seen:
            raise ServiceError(ErrorCode.ALREADY_EXISTS, "This external id appears twice.", at(index, "externalId"))
        seen.add(key)
    existing = set(
        (
            await session.exec(
                select(Transaction.account_id, Transaction.external_id).where(
                    tuple_(col(Transaction.account_id), col(Transaction.external_id)).in_(list(seen))
                )
            )
        ).all()
    )
    for index, row in keyed:
        if (row.account_id, row.external_id) in existing:
            raise ServiceError(
                ErrorCode.ALREADY_EXISTS, "A transaction with this external id exists in this account.", at(index, "externalId")
            )


async def _remember_merchant_categories(session: AsyncSession, viewer: Viewer, rows: Sequence[Transaction]) -> None:
    """Give uncategorised rows the category the viewer chose most recently for the same merchant."""
    chosen = await remembered_categories(session, viewer, {row.merchant for row in rows if row.merchant})
    for row in rows:
        if row.merchant:
            row.category_id = chosen.get(row.merchant.lower())


async def remembered_categories(session: AsyncSession, viewer: Viewer, merchants: Iterable[str]) -> dict[str, uuid.UUID]:
    """For each merchant (keyed lower-cased), the category the viewer chose most recently."""
    wanted = {merchant.lower() for merchant in merchants}
    if not wanted:
        return {}
    merchant = func.lower(col(Transaction.merchant), type_=col(Transaction.merchant).type)
    result = await session.exec(
        select(merchant, col(Transaction.category_id))
        .where(
            col(Transaction.user_id) == viewer.user_id,
            any_of(merchant, wanted),
            col(Transaction.category_id).is_not(None),
            col(Transaction.transfer_id).is_(None),
        )
        .ext(distinct_on(merchant))
        .order_by(merchant, col(Transaction.date).desc(), col(Transaction.created_at).desc())
    )
    return dict(result.all())


# --- imports ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImportedRow:
    """A row an import has read, cleaned and categorised, ready to store as it is."""

    date: dt.date
    amount: Decimal
    category_id: uuid.UUID | None
    merchant: str | None
    description: str
    external_id: str | None
    import_hash: str


COPY_CHUNK = 10_000
_COPY_COLUMNS = (
    "id", "user_id", "account_id", "date", "amount", "currency", "category_id", "merchant", "description",
    "tags", "external_id", "import_id", "import_hash", "created_at", "updated_at",
)


async def add_imported(
    session: AsyncSession, rt: Runtime, viewer: Viewer, *, account: Account, import_id: uuid.UUID,
    rows: Sequence[ImportedRow],
) -> None:
    """Store an import's rows with one COPY, moving the balance and daily totals in the same
    transaction. The unique (account, import_hash) index refuses a row stored before, so a
    concurrent second run of the same file fails here rather than doubling anything."""
    if not rows:
        return
    now = clock.now()
    connection = (await (await session.connection()).get_raw_connection()).driver_connection
    # In chunks, so the COPY tuples of a large file never all exist at once.
    for start in range(0, len(rows), COPY_CHUNK):
        await connection.copy_records_to_table("transaction", columns=_COPY_COLUMNS, records=[
            (uuid.uuid4(), viewer.user_id, account.id, row.date, row.amount, account.currency, row.category_id,
             row.merchant, row.description, [], row.external_id, import_id, row.import_hash, now, now)
            for row in rows[start:start + COPY_CHUNK]
        ])

    def ledger(selected: Iterable[ImportedRow]) -> Iterator[SimpleNamespace]:
        for row in selected:
            yield SimpleNamespace(user_id=viewer.user_id, account_id=account.id, date=row.date,
                                  currency=account.currency, category_id=row.category_id, transfer_id=None,
                                  amount=row.amount)

    await accounts.add_to_balances(session, viewer, {account.id: sum((row.amount for row in rows), Decimal(0))})
    await totals.apply_changes(session, added=ledger(rows))
    wallet_changed(session, rt, viewer.user_id)
    # History is not news: only rows of the current month can newly cross a budget threshold.
    this_month = clock.now().date().replace(day=1)
    _check_budgets_later(session, viewer, list(ledger(row for row in rows if row.date >= this_month)))


async def remove_imported(session: AsyncSession, rt: Runtime, viewer: Viewer, import_id: uuid.UUID) -> int:
    """Delete every row this import added (edited since or not); returns how many."""
    removed = (
        await session.exec(
            delete(Transaction)
            .where(col(Transaction.user_id) == viewer.user_id, col(Transaction.import_id) == import_id)
            .returning(
                col(Transaction.user_id), col(Transaction.account_id), col(Transaction.date),
                col(Transaction.currency), col(Transaction.category_id), col(Transaction.transfer_id),
                col(Transaction.amount),
            )
        )
    ).all()
    await _apply(session, rt, viewer, removed=removed)
    return len(removed)


async def get_transaction(
    session: AsyncSession, viewer: Viewer, transaction_id: uuid.UUID, *, field: str = "id", for_update: bool = False
) -> Transaction:
    statement = readable(viewer).where(col(Transaction.id) == transaction_id)
    if for_update:
        statement = statement.with_for_update()
    row = (await session.exec(statement)).first()
    if row is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "No transaction of yours has this id.", field)
    return row


async def get_transactions(session: AsyncSession, viewer: Viewer, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Transaction]:
    rows = (await session.exec(readable(viewer).where(any_of(col(Transaction.id), ids)))).all()
    return {row.id: row for row in rows}


@dataclass(frozen=True)
class Changes:
    """Fields to change on a transaction; None leaves a field as it is."""

    account_id: uuid.UUID | None = None
    date: dt.date | None = None
    amount: Decimal | None = None
    category_id: uuid.UUID | None = None
    clear_category: bool = False
    merchant: str | None = None
    description: str | None = None
    notes: str | None = None
    tags: Sequence[str] | None = None


async def update_transactions(
    session: AsyncSession, rt: Runtime, viewer: Viewer, changes: Sequence[tuple[uuid.UUID, Changes]],
    *, field_prefix: str = "",
) -> list[Transaction]:
    if len(changes) > MAX_BULK:
        raise ServiceError(ErrorCode.INVALID, f"At most {MAX_BULK} transactions at once.", field_prefix.rstrip(".") or None)
    bulk = len(changes) > 1 or field_prefix != ""

    def at(index: int, name: str) -> str:
        return f"{field_prefix}{index}.{name}" if bulk else name

    before: list[SimpleNamespace] = []
    rows: list[Transaction] = []
    for index, (transaction_id, change) in enumerate(changes):
        row = await get_transaction(session, viewer, transaction_id, field=at(index, "id"), for_update=True)
        before.append(_snapshot(row))
        if row.transfer_id is not None and (change.account_id or change.date or change.amount is not None
                                            or change.category_id or change.clear_category):
            raise ServiceError(
                ErrorCode.INVALID, "Change a transfer by deleting it and recording it again.", at(index, "id")
            )
        if change.account_id is not None and change.account_id != row.account_id:
            account = await accounts.get_account(session, viewer, change.account_id, field=at(index, "accountId"))
            if account.archived:
                raise ServiceError(ErrorCode.INVALID, "This account is archived.", at(index, "accountId"))
            if account.currency != row.currency and change.amount is None:
                raise ServiceError(
                    ErrorCode.INVALID, "Moving to an account in another currency needs the amount too.", at(index, "amount")
                )
            row.account_id, row.currency = account.id, account.currency
        if change.date is not None:
            row.date = _clean_date(change.date, at(index, "date"))
        if change.amount is not None:
            row.amount = clean_amount(change.amount, currency=row.currency, field=at(index, "amount"), allow_zero=False)
        if change.clear_category:
            row.category_id = None
        elif change.category_id is not None:
            category = await categories.get_category(session, viewer, change.category_id, field=at(index, "categoryId"))
            if category.kind is CategoryKind.TRANSFER:
                raise ServiceError(ErrorCode.INVALID, "Record transfers with createTransfer.", at(index, "categoryId"))
            row.category_id = category.id
        if change.merchant is not None:
            row.merchant = _optional_text(change.merchant, field=at(index, "merchant"), max_length=200)
        if change.description is not None:
            row.description = clean_text(change.description, field=at(index, "description"), max_length=500, required=False)
        if change.notes is not None:
            row.notes = _optional_text(change.notes, field=at(index, "notes"), max_length=2000)
        if change.tags is not None:
            row.tags = _clean_tags(change.tags, at(index, "tags"))
        touched(row)
        session.add(row)
        rows.append(row)
    await session.flush()
    await _apply(session, rt, viewer, added=rows, removed=before)
    return rows


async def delete_transactions(
    session: AsyncSession, rt: Runtime, viewer: Viewer, ids: Sequence[uuid.UUID], *, field_prefix: str = ""
) -> list[uuid.UUID]:
    """Delete transactions; deleting one leg of a transfer deletes both. Returns every id removed."""
    if len(ids) > MAX_BULK:
        raise ServiceError(ErrorCode.INVALID, f"At most {MAX_BULK} transactions at once.", field_prefix.rstrip(".") or None)
    return await _delete(session, rt, viewer, ids, field_prefix=field_prefix)


async def _delete(
    session: AsyncSession, rt: Runtime, viewer: Viewer, ids: Sequence[uuid.UUID], *, field_prefix: str = ""
) -> list[uuid.UUID]:
    found = await get_transactions(session, viewer, ids)
    for index, transaction_id in enumerate(ids):
        if transaction_id not in found:
            name = f"{field_prefix}{index}" if (len(ids) > 1 or field_prefix) else "id"
            raise ServiceError(ErrorCode.NOT_FOUND, "No transaction of yours has this id.", name)
    transfer_ids = {row.transfer_id for row in found.values() if row.transfer_id}
    if transfer_ids:
        legs = (await session.exec(readable(viewer).where(any_of(col(Transaction.transfer_id), transfer_ids)))).all()
        found.update({leg.id: leg for leg in legs})
    removed = list(found.values())
    await session.exec(delete(Transaction).where(any_of(col(Transaction.id), list(found))))
    await _apply(session, rt, viewer, removed=removed)
    gamification.record(session, viewer, gamification.EventKind.TRANSACTION_DELETED, {"ids": [str(i) for i in found]})
    return list(found)


async def create_transfer(
    session: AsyncSession, rt: Runtime, viewer: Viewer, *, from_account_id: uuid.UUID, to_account_id: uuid.UUID,
    date: dt.date, amount: Decimal, received_amount: Decimal | None = None, description: str = "",
    notes: str | None = None,
) -> tuple[Transaction, Transaction]:
    """Move money between two of the viewer's accounts: an outflow and an inflow, linked.

    Across currencies the client states what arrived (`received_amount`); we never invent a rate.
    """
    if from_account_id == to_account_id:
        raise ServiceError(ErrorCode.INVALID, "Choose two different accounts.", "toAccountId")
    source = await accounts.get_account(session, viewer, from_account_id, field="fromAccountId")
    target = await accounts.get_account(session, viewer, to_account_id, field="toAccountId")
    for account, name in ((source, "fromAccountId"), (target, "toAccountId")):
        if account.archived:
            raise ServiceError(ErrorCode.INVALID, "This account is archived.", name)
    sent = clean_amount(amount, currency=source.currency, field="amount", positive=True)
    if source.currency == target.currency:
        if received_amount is not None and received_amount != sent:
            raise ServiceError(ErrorCode.INVALID, "Same-currency transfers arrive in full.", "receivedAmount")
        received = sent
    elif received_amount is None:
        raise ServiceError(
            ErrorCode.REQUIRED, f"Say how many {target.currency} arrived for {sent} {source.currency}.", "receivedAmount"
        )
    else:
        received = clean_amount(received_amount, currency=target.currency, field="receivedAmount", positive=True)
    description = clean_text(description or f"Transfer {source.name} → {target.name}", field="description",
                             max_length=500, required=False)
    notes = _optional_text(notes, field="notes", max_length=2000)
    day = _clean_date(date, "date")
    link = uuid.uuid4()
    legs = (
        Transaction(user_id=viewer.user_id, account_id=source.id, date=day, amount=-sent, currency=source.currency,
                    description=description, notes=notes, transfer_id=link),
        Transaction(user_id=viewer.user_id, account_id=target.id, date=day, amount=received, currency=target.currency,
                    description=description, notes=notes, transfer_id=link),
    )
    session.add_all(legs)
    await session.flush()
    await _apply(session, rt, viewer, added=legs)
    return legs


async def delete_category(session: AsyncSession, rt: Runtime, viewer: Viewer, category_id: uuid.UUID) -> Category:
    """Delete a category; its transactions become uncategorised (and the totals follow)."""
    category = await categories.get_category(session, viewer, category_id, field="id")
    affected = (await session.exec(readable(viewer).where(col(Transaction.category_id) == category.id))).all()
    before = [_snapshot(row) for row in affected]
    after = [replace_category(snapshot, None) for snapshot in before]
    await session.delete(category)
    await session.flush()
    await totals.apply_changes(session, added=after, removed=before)
    wallet_changed(session, rt, viewer.user_id)
    _check_budgets_later(session, viewer, before)
    return category


def replace_category(snapshot: SimpleNamespace, category_id: uuid.UUID | None) -> SimpleNamespace:
    return SimpleNamespace(**{**vars(snapshot), "category_id": category_id})


async def delete_account(session: AsyncSession, rt: Runtime, viewer: Viewer, account_id: uuid.UUID):
    """Delete an account and its transactions; a transfer's other leg is deleted with it."""
    account = await accounts.get_account(session, viewer, account_id, field="id", for_update=True)
    ids = (await session.exec(select(Transaction.id).where(col(Transaction.account_id) == account.id))).all()
    for start in range(0, len(ids), 1000):
        await _delete(session, rt, viewer, ids[start : start + 1000])
    return await accounts.delete_account(session, viewer, account.id)


# --- recategorisation --------------------------------------------------------------------------


@dataclass(frozen=True)
class Recategorization:
    transaction_id: uuid.UUID
    from_category_id: uuid.UUID | None
    to_category_id: uuid.UUID


async def recategorize(
    session: AsyncSession, rt: Runtime, viewer: Viewer, *, dry_run: bool, only_uncategorized: bool = True
) -> list[Recategorization]:
    """Apply the viewer's rules to past transactions; with `dry_run`, only say what would change."""
    matcher = await rules.matcher(session, viewer)
    if not matcher.rules:
        return []
    statement = readable(viewer).where(col(Transaction.transfer_id).is_(None))
    if only_uncategorized:
        statement = statement.where(col(Transaction.category_id).is_(None))
    rows = (await session.exec(statement.order_by(col(Transaction.date).desc(), col(Transaction.id)))).all()
    changes: list[Recategorization] = []
    moved: dict[uuid.UUID, list[Transaction]] = defaultdict(list)
    for row in rows:
        target = matcher.category_for(row.merchant, row.description)
        if target is not None and target != row.category_id:
            changes.append(Recategorization(row.id, row.category_id, target))
            moved[target].append(row)
    if dry_run or not changes:
        return changes
    before = [_snapshot(row) for group in moved.values() for row in group]
    for target, group in moved.items():
        await session.exec(
            update(Transaction).where(any_of(col(Transaction.id), [row.id for row in group])).values(category_id=target)
        )
    after = [replace_category(_snapshot(row), target) for target, group in moved.items() for row in group]
    await totals.apply_changes(session, added=after, removed=before)
    wallet_changed(session, rt, viewer.user_id)
    _check_budgets_later(session, viewer, before)
    return changes


# --- reads ----------------------------------------------------------------------------------


class Direction(str, Enum):
    INCOME = "INCOME"
    EXPENSE = "EXPENSE"


class Order(str, Enum):
    DATE_DESC = "DATE_DESC"
    DATE_ASC = "DATE_ASC"
    AMOUNT_DESC = "AMOUNT_DESC"
    AMOUNT_ASC = "AMOUNT_ASC"


@dataclass(frozen=True)
class Filter:
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    account_ids: Sequence[uuid.UUID] | None = None
    category_ids: Sequence[uuid.UUID] | None = None
    uncategorized: bool = False
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    direction: Direction | None = None
    include_transfers: bool = True
    tags: Sequence[str] | None = None
    search: str | None = None


def _search_query(text: str) -> str | None:
    """Words of the search box as a prefix tsquery: 'star buc' finds 'Starbucks Coffee'."""
    words = ["".join(ch for ch in word if ch.isalnum()) for word in text.lower().split()]
    words = [word for word in words if word]
    return " & ".join(f"{word}:*" for word in words) or None


@dataclass(frozen=True)
class _FilterShape:
    """Which filters a `Filter` sets. All filters of one shape have the same SQL; only the values
    of its bind parameters differ."""

    values: tuple[str, ...]  # the names of the bound values, "user_id" first
    uncategorized: bool
    direction: Direction | None
    include_transfers: bool


def _bind(viewer: Viewer, spec: Filter) -> tuple[_FilterShape, dict[str, object]]:
    values: dict[str, object] = {"user_id": viewer.user_id}
    for name in ("date_from", "date_to", "amount_min", "amount_max"):
        if (value := getattr(spec, name)) is not None:
            values[name] = value
    for name in ("account_ids", "category_ids"):
        if (ids := getattr(spec, name)) is not None:
            values[name] = list(ids)
    if spec.tags:
        values["tags"] = [tag.lower() for tag in spec.tags]
    if spec.search and (query := _search_query(spec.search)):
        values["search"] = query
    return _FilterShape(tuple(values), spec.uncategorized, spec.direction, spec.include_transfers), values


def _conditions(shape: _FilterShape) -> list[ColumnElement[bool]]:
    """The filter's conditions (ownership aside), each value a bind parameter named as in `_bind`."""
    bound = set(shape.values)
    conditions = []
    if "date_from" in bound:
        conditions.append(col(Transaction.date) >= bindparam("date_from"))
    if "date_to" in bound:
        conditions.append(col(Transaction.date) <= bindparam("date_to"))
    if "account_ids" in bound:
        conditions.append(any_of(col(Transaction.account_id), bindparam("account_ids", type_=_ID_ARRAY)))
    if "category_ids" in bound or shape.uncategorized:
        options = []
        if "category_ids" in bound:
            options.append(any_of(col(Transaction.category_id), bindparam("category_ids", type_=_ID_ARRAY)))
        if shape.uncategorized:
            options.append(col(Transaction.category_id).is_(None))
        conditions.append(or_(*options))
    if "amount_min" in bound:
        conditions.append(col(Transaction.amount) >= bindparam("amount_min"))
    if "amount_max" in bound:
        conditions.append(col(Transaction.amount) <= bindparam("amount_max"))
    if shape.direction is Direction.INCOME:
        conditions.append(and_(col(Transaction.amount) > 0, col(Transaction.transfer_id).is_(None)))
    elif shape.direction is Direction.EXPENSE:
        conditions.append(and_(col(Transaction.amount) < 0, col(Transaction.transfer_id).is_(None)))
    if not shape.include_transfers:
        conditions.append(col(Transaction.transfer_id).is_(None))
    if "tags" in bound:
        conditions.append(col(Transaction.tags).overlap(bindparam("tags", type_=_TEXT_ARRAY)))
    if "search" in bound:
        conditions.append(col(Transaction.search).op("@@")(func.to_tsquery("simple", bindparam("search"))))
    return conditions


_ID_ARRAY = array_of(Transaction.__table__.c.id.type)
_TEXT_ARRAY = Transaction.__table__.c.tags.type


def filtered(viewer: Viewer, spec: Filter) -> SelectOfScalar[Transaction]:
    shape, values = _bind(viewer, spec)
    return readable(viewer).where(*_conditions(shape)).params(values)


_SORT = {
    Order.DATE_DESC: ("date", True),
    Order.DATE_ASC: ("date", False),
    Order.AMOUNT_DESC: ("amount", True),
    Order.AMOUNT_ASC: ("amount", False),
}


def cursor_of(row: Transaction | ListedTransaction, order: Order) -> str:
    column, _ = _SORT[order]
    return encode_cursor(f"transaction:{order.value}", getattr(row, column), row.id)


def cursor_kind(order: Order) -> str:
    return f"transaction:{order.value}"


class ListedTransaction(NamedTuple):
    """A transaction as lists show it: its columns as a plain tuple. An ORM instance per row
    (identity map, attribute instrumentation) was the biggest part of reading a page."""

    id: uuid.UUID
    account_id: uuid.UUID
    category_id: uuid.UUID | None
    date: dt.date
    amount: Decimal
    currency: str
    merchant: str | None
    description: str
    notes: str | None
    tags: list[str]
    external_id: str | None
    transfer_id: uuid.UUID | None
    created_at: dt.datetime
    updated_at: dt.datetime


_LISTED_COLUMNS = tuple(getattr(Transaction, name) for name in ListedTransaction._fields)


@functools.lru_cache(maxsize=512)
def _page_read(shape: _FilterShape, order: Order, walk_descending: bool, after: bool) -> CompiledRead:
    """A page's SQL, compiled once per filter shape, order and direction."""
    column_name, _ = _SORT[order]
    column = getattr(Transaction, column_name)
    statement = select(*_LISTED_COLUMNS).where(owned_by(bindparam("user_id")), *_conditions(shape))
    if after:
        key = tuple_(column, col(Transaction.id))
        bound = tuple_(bindparam("after_value", type_=column.type), bindparam("after_id", type_=col(Transaction.id).type))
        statement = statement.where(key < bound if walk_descending else key > bound)
    if walk_descending:
        statement = statement.order_by(column.desc(), col(Transaction.id).desc())
    else:
        statement = statement.order_by(column.asc(), col(Transaction.id).asc())
    return CompiledRead(statement.limit(bindparam("limit")))


async def list_transactions(
    session: AsyncSession, viewer: Viewer, *, spec: Filter, order: Order, page: PageRequest
) -> Page[ListedTransaction]:
    _, descending = _SORT[order]
    # Paging backward walks the same order in reverse.
    walk_descending = descending != page.backward
    shape, values = _bind(viewer, spec)
    if page.cursor is not None:
        values["after_value"], values["after_id"] = page.cursor
    values["limit"] = page.size + 1
    read = _page_read(shape, order, walk_descending, page.cursor is not None)
    return window([ListedTransaction._make(row) for row in await fetch(session, read, values)], page)


async def count_transactions(session: AsyncSession, viewer: Viewer, *, spec: Filter) -> int:
    statement = filtered(viewer, spec).with_only_columns(func.count()).order_by(None)
    return (await session.exec(statement)).one()

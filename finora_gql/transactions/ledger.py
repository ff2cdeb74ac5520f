"""Ledger writes: transactions, transfers and imported rows, each moving account balances and
the daily totals by the same rows in the same database transaction.

Every write goes through `_apply`, which moves the balances and totals, then tells the wallet
its summaries changed and queues the budget check of the months it touched. Listing lives in
`listing`, recategorisation (and category deletion) in `recategorization`.

Over 400 lines: every write path (bulk, transfer, COPY) shares `_apply` and the row snapshots.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from types import SimpleNamespace

from sqlalchemy import delete, func, tuple_
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.orm import defer
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from finora_gql.accounts import service as accounts
from finora_gql.accounts.models import Account
from finora_gql.core import clock
from finora_gql.core.db import any_of, copy_records
from finora_gql.core.errors import Collector, ErrorCode, ServiceError
from finora_gql.core.jobs import enqueue_after_commit
from finora_gql.core.models import touched
from finora_gql.core.money import clean_amount, format_money
from finora_gql.core.owned import Owned
from finora_gql.core.runtime import Runtime
from finora_gql.core.validation import clean_text
from finora_gql.core.viewer import Viewer
from finora_gql.gamification import events as gamification
from finora_gql.transactions import categories, rules
from finora_gql.transactions.cleaning import Changes, Draft, clean_date, clean_tags, optional_text
from finora_gql.transactions.models import CategoryKind, Transaction
from finora_gql.wallet import totals
from finora_gql.wallet.events import wallet_changed

MAX_BULK = 100
# The search vector is for the database's eyes only; don't ship it with every row.
transactions = Owned(Transaction, "transaction", options=(defer(Transaction.search),))


def readable(viewer: Viewer) -> SelectOfScalar[Transaction]:
    return transactions.readable(viewer)


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
    await _investment_cash_moved(session, rt, viewer, [*added, *removed])
    wallet_changed(session, rt, viewer.user_id)
    check_budgets_later(session, viewer, [*added, *removed])


async def _investment_cash_moved(session: AsyncSession, rt: Runtime, viewer: Viewer, rows: Iterable[object]) -> None:
    """Rows on an INVESTMENT account move its cash book: its kept portfolio figures go, in this transaction."""
    from finora_gql.investments import ledger_cash  # investments reads the ledger through this module

    earliest: dict[uuid.UUID, dt.date] = {}
    for row in rows:
        earliest[row.account_id] = min(row.date, earliest.get(row.account_id, row.date))
    await ledger_cash.moved(session, rt, viewer, earliest)


async def daily_net(
    session: AsyncSession, viewer: Viewer, account_ids: Sequence[uuid.UUID], *, after: dt.date, through: dt.date
) -> list[tuple[uuid.UUID, dt.date, Decimal]]:
    """Per account among `account_ids` and day in (after, through], the sum of its rows (transfer legs
    included), days without rows or summing to zero left out; by account, then day."""
    statement = transactions.where_visible(
        select(col(Transaction.account_id), col(Transaction.date), func.sum(col(Transaction.amount))), viewer
    ).where(any_of(col(Transaction.account_id), list(account_ids)), col(Transaction.date) > after,
            col(Transaction.date) <= through)
    rows = await session.exec(statement.group_by(col(Transaction.account_id), col(Transaction.date))
                              .order_by(col(Transaction.account_id), col(Transaction.date)))
    return [(account_id, day, Decimal(total)) for account_id, day, total in rows.all() if total]


def check_budgets_later(session: AsyncSession, viewer: Viewer, rows: Sequence[object]) -> None:
    """After commit, a job checks the budgets of the months these rows touched (80%/100% alerts)."""
    months = sorted({row.date.replace(day=1).isoformat() for row in rows if row.transfer_id is None})
    if months:
        enqueue_after_commit(session, "budget_alerts", str(viewer.user_id), months)


def snapshot(row: Transaction) -> SimpleNamespace:
    """The ledger-relevant fields of a row as they are now (before an update changes them)."""
    return SimpleNamespace(
        user_id=row.user_id, account_id=row.account_id, date=row.date, currency=row.currency,
        category_id=row.category_id, transfer_id=row.transfer_id, amount=row.amount,
    )


async def create_transactions(
    session: AsyncSession, rt: Runtime, viewer: Viewer, drafts: Sequence[Draft], *, field_prefix: str = ""
) -> list[Transaction]:
    """Validate and insert up to MAX_BULK transactions, all or nothing.

    Every problem of every draft is reported (not only the first), each naming its field as
    `<prefix><index>.<field>` for bulk input (prefix "" for one).
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
    errors = Collector()
    for index, draft in enumerate(drafts):
        found_before = len(errors.errors)
        account = account_map.get(draft.account_id)
        if account is None:
            errors.add(accounts.accounts.not_found(at(index, "accountId")))
        elif account.archived:
            errors.add(ServiceError(ErrorCode.INVALID, "This account is archived; unarchive it first.", at(index, "accountId")))
        if draft.category_id is not None:
            category = category_map.get(draft.category_id)
            if category is None:
                errors.add(categories.categories.not_found(at(index, "categoryId")))
            elif category.kind is CategoryKind.TRANSFER:
                errors.add(ServiceError(ErrorCode.INVALID, "Record transfers with createTransfer.", at(index, "categoryId")))
        merchant = errors.check(optional_text, draft.merchant, field=at(index, "merchant"), max_length=200)
        description = errors.check(
            clean_text, draft.description or "", field=at(index, "description"), max_length=500, required=False
        )
        date = errors.check(clean_date, draft.date, at(index, "date"))
        amount = None if account is None else errors.check(
            clean_amount, draft.amount, currency=account.currency, field=at(index, "amount"), allow_zero=False
        )
        notes = errors.check(optional_text, draft.notes, field=at(index, "notes"), max_length=2000)
        tags = errors.check(clean_tags, draft.tags, at(index, "tags"))
        external_id = errors.check(optional_text, draft.external_id, field=at(index, "externalId"), max_length=100)
        if account is None or len(errors.errors) > found_before:
            continue
        rows.append(
            Transaction(
                user_id=viewer.user_id,
                account_id=account.id,
                date=date,
                amount=amount,
                currency=account.currency,
                category_id=draft.category_id or matcher.category_for(merchant, description),
                merchant=merchant,
                description=description,
                notes=notes,
                tags=tags,
                external_id=external_id,
            )
        )
    errors.raise_any()
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
        transactions.where_visible(select(merchant, col(Transaction.category_id)), viewer)
        .where(
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
    # In chunks, so the COPY tuples of a large file never all exist at once.
    for start in range(0, len(rows), COPY_CHUNK):
        await copy_records(session, "transaction", _COPY_COLUMNS, [
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
    await _investment_cash_moved(session, rt, viewer, ledger(rows))
    wallet_changed(session, rt, viewer.user_id)
    # History is not news: only rows of the current month can newly cross a budget threshold.
    this_month = clock.now().date().replace(day=1)
    check_budgets_later(session, viewer, list(ledger(row for row in rows if row.date >= this_month)))


async def remove_imported(session: AsyncSession, rt: Runtime, viewer: Viewer, import_id: uuid.UUID) -> int:
    """Delete every row this import added (edited since or not); returns how many."""
    removed = (
        await session.exec(
            transactions.where_visible(delete(Transaction), viewer)
            .where(col(Transaction.import_id) == import_id)
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
    return await transactions.get(session, viewer, transaction_id, field=field, for_update=for_update)


async def get_transactions(session: AsyncSession, viewer: Viewer, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Transaction]:
    return await transactions.by_ids(session, viewer, ids)


async def transfer_legs(
    session: AsyncSession, viewer: Viewer, transfer_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[Transaction]]:
    """Both legs of each of the viewer's transfers among `transfer_ids`, in one query."""
    if not transfer_ids:
        return {}
    rows = (await session.exec(readable(viewer).where(any_of(col(Transaction.transfer_id), list(transfer_ids))))).all()
    legs: dict[uuid.UUID, list[Transaction]] = {}
    for row in rows:
        legs.setdefault(row.transfer_id, []).append(row)  # type: ignore[arg-type]
    return legs


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
    errors = Collector()  # every problem of every change, not only the first

    def set_checked(row: Transaction, attribute: str, clean, *args, **kwargs) -> None:  # noqa: ANN001
        found = len(errors.errors)
        value = errors.check(clean, *args, **kwargs)
        if len(errors.errors) == found:
            setattr(row, attribute, value)

    for index, (transaction_id, change) in enumerate(changes):
        try:
            row = await get_transaction(session, viewer, transaction_id, field=at(index, "id"), for_update=True)
        except ServiceError as error:
            errors.add(error)
            continue
        before.append(snapshot(row))
        if row.transfer_id is not None and (change.account_id or change.date or change.amount is not None
                                            or change.category_id or change.clear_category):
            errors.add(ServiceError(
                ErrorCode.INVALID, "Change a transfer by deleting it and recording it again.", at(index, "id")
            ))
            continue
        if change.account_id is not None and change.account_id != row.account_id:
            try:
                account = await accounts.get_account(session, viewer, change.account_id, field=at(index, "accountId"))
            except ServiceError as error:
                errors.add(error)
            else:
                if account.archived:
                    errors.add(ServiceError(ErrorCode.INVALID, "This account is archived.", at(index, "accountId")))
                elif account.currency != row.currency and change.amount is None:
                    errors.add(ServiceError(
                        ErrorCode.INVALID, "Moving to an account in another currency needs the amount too.",
                        at(index, "amount"),
                    ))
                else:
                    row.account_id, row.currency = account.id, account.currency
        if change.date is not None:
            set_checked(row, "date", clean_date, change.date, at(index, "date"))
        if change.amount is not None:
            set_checked(row, "amount", clean_amount, change.amount, currency=row.currency, field=at(index, "amount"),
                        allow_zero=False)
        if change.clear_category:
            row.category_id = None
        elif change.category_id is not None:
            try:
                category = await categories.get_category(session, viewer, change.category_id, field=at(index, "categoryId"))
            except ServiceError as error:
                errors.add(error)
            else:
                if category.kind is CategoryKind.TRANSFER:
                    errors.add(ServiceError(ErrorCode.INVALID, "Record transfers with createTransfer.", at(index, "categoryId")))
                else:
                    row.category_id = category.id
        if change.merchant is not None:
            set_checked(row, "merchant", optional_text, change.merchant, field=at(index, "merchant"), max_length=200)
        if change.description is not None:
            set_checked(row, "description", clean_text, change.description, field=at(index, "description"),
                        max_length=500, required=False)
        if change.notes is not None:
            set_checked(row, "notes", optional_text, change.notes, field=at(index, "notes"), max_length=2000)
        if change.tags is not None:
            set_checked(row, "tags", clean_tags, change.tags, at(index, "tags"))
        touched(row)
        session.add(row)
        rows.append(row)
    errors.raise_any()
    await session.flush()
    await _apply(session, rt, viewer, added=rows, removed=before)
    judged = [row for row, was in zip(rows, before, strict=True)
              if (row.date, row.amount, row.category_id, row.account_id) != (was.date, was.amount, was.category_id, was.account_id)]
    if judged:  # progress is judged again (a note or a tag changes nothing there)
        gamification.record(session, viewer, gamification.EventKind.TRANSACTION_UPDATED, gamification.transactions_payload(judged))
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
            raise transactions.not_found(name)
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
    errors = Collector()  # every problem of the input, not only the first
    source = await errors.check_async(_transfer_account(session, viewer, from_account_id, "fromAccountId"))
    if from_account_id == to_account_id:
        errors.add(ServiceError(ErrorCode.INVALID, "Choose two different accounts.", "toAccountId"))
        target = None
    else:
        target = await errors.check_async(_transfer_account(session, viewer, to_account_id, "toAccountId"))
    day = errors.check(clean_date, date, "date")
    sent = errors.check(clean_amount, amount, currency=source.currency, field="amount", positive=True) if source else None
    received = errors.check(_received, received_amount, sent, source, target) if source and target and sent else None
    default = f"Transfer {source.name} → {target.name}" if source and target else ""
    description = errors.check(clean_text, description or default, field="description", max_length=500, required=False)
    notes = errors.check(optional_text, notes, field="notes", max_length=2000)
    errors.raise_any()
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


async def _transfer_account(session: AsyncSession, viewer: Viewer, account_id: uuid.UUID, field: str) -> Account:
    account = await accounts.get_account(session, viewer, account_id, field=field)
    if account.archived:
        raise ServiceError(ErrorCode.INVALID, "This account is archived.", field)
    return account


def _received(received_amount: Decimal | None, sent: Decimal, source: Account, target: Account) -> Decimal:
    """What arrived: the amount sent within one currency; across currencies, what the client says."""
    if source.currency == target.currency:
        if received_amount is not None and received_amount != sent:
            raise ServiceError(ErrorCode.INVALID, "Same-currency transfers arrive in full.", "receivedAmount")
        return sent
    if received_amount is None:
        raise ServiceError(
            ErrorCode.REQUIRED, f"Say how many {target.currency} arrived for {format_money(sent, source.currency)}.", "receivedAmount"
        )
    return clean_amount(received_amount, currency=target.currency, field="receivedAmount", positive=True)


async def remove_account_transactions(session: AsyncSession, rt: Runtime, viewer: Viewer, account_id: uuid.UUID) -> int:
    """Delete every transaction of one of the viewer's accounts (a transfer's other leg with it),
    taking them out of balances and totals; the account deletion's first step. Returns how many."""
    ids = (await session.exec(
        transactions.where_visible(select(Transaction.id), viewer).where(col(Transaction.account_id) == account_id)
    )).all()
    removed = 0
    for start in range(0, len(ids), 1000):
        removed += len(await _delete(session, rt, viewer, ids[start : start + 1000]))
    return removed


def replace_category(row: SimpleNamespace, category_id: uuid.UUID | None) -> SimpleNamespace:
    """A snapshot of a row with another category (the totals move it from one to the other)."""
    return SimpleNamespace(**{**vars(row), "category_id": category_id})

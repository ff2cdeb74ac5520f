"""An import's run, the background job: read the whole file, validate every row, sort out
duplicates, categorise, and write all of its rows in one database transaction, so a crash
leaves nothing behind and the rerun starts clean."""

from __future__ import annotations

import csv
import datetime as dt
import logging
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DataError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from finora_gql.accounts import service as accounts
from finora_gql.accounts.models import Account
from finora_gql.core import clock
from finora_gql.core.db import any_of, atomic
from finora_gql.core.errors import ErrorCode, ServiceError
from finora_gql.core.money import clean_amount
from finora_gql.core.runtime import Runtime
from finora_gql.core.viewer import Viewer
from finora_gql.files import service as files
from finora_gql.gamification import events as gamification
from finora_gql.imports.duplicates import ContentHasher, Existing, LikelyDuplicates, label
from finora_gql.imports.mapping import LikelyDuplicatePolicy, Mapping, Options, SignConvention
from finora_gql.imports.models import Import, ImportIssue, ImportKind, ImportStatus, IssueKind
from finora_gql.imports.parsing import DateFormat, Encoding
from finora_gql.imports.progress import Progress, publish_later
from finora_gql.imports.reading import FileError, Row, RowError, Table, open_table
from finora_gql.notifications import service as notifications
from finora_gql.notifications.models import NotificationKind
from finora_gql.transactions import categories, rules
from finora_gql.transactions import service as transactions
from finora_gql.transactions.models import Category, CategoryKind, Transaction
from finora_gql.users import service as users

PREVIEW_ROWS = 20
MAX_STORED_ISSUES = 1000
log = logging.getLogger("finora.imports")

# Errors that come back on every attempt: the input itself is at fault (a value Postgres
# refuses, text the csv module or a codec cannot read). Retrying them only keeps the import
# RUNNING for minutes; the import fails at once with the reason instead.
_REPEATING = (csv.Error, UnicodeError, ValueError, DataError)


def options_of(job: Import) -> Options:
    raw = dict(job.options)
    for name, kind in (("encoding", Encoding), ("date_format", DateFormat), ("sign", SignConvention),
                       ("likely_duplicates", LikelyDuplicatePolicy)):
        if name in raw:
            raw[name] = kind(raw[name])
    return Options(**raw)


async def run_import(rt: Runtime, import_id: uuid.UUID) -> None:
    """The job: do the import once. A rerun after a crash starts over; a rerun after success
    finds the import finished and does nothing. An error that would repeat is not retried."""
    try:
        await _run_import(rt, import_id)
    except _REPEATING as exc:
        log.exception("import %s failed on its input; not retried", import_id)
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0][:200]
        await give_up(rt, import_id, message=f"The file could not be imported: {reason}. Nothing was imported.")


async def _run_import(rt: Runtime, import_id: uuid.UUID) -> None:
    async with rt.sessions() as session, atomic(session):
        # One run at a time per import, even when a presumed-dead worker is still alive.
        await session.exec(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
                           params={"key": f"import:{import_id}"})
        # A system read by the job's own id; from here on it acts as the import's owner.
        job = await session.get(Import, import_id, populate_existing=True)
        if job is None or job.status not in (ImportStatus.QUEUED, ImportStatus.RUNNING):
            return
        # Detached while the run goes on: progress is written by other sessions, and an autoflush
        # of this one would lock the row they update until the end of the run (a deadlock).
        session.expunge(job)
        viewer = Viewer.acting_for(job.user_id)
        progress = Progress(rt, job)
        await progress.update(force=True, status=ImportStatus.RUNNING, started_at=clock.now(),
                              attempts=job.attempts + 1, processed=0)
        try:
            issues = await _process(session, rt, viewer, job, progress)
        except (FileError, ServiceError) as exc:
            job.status, job.message = ImportStatus.FAILED, str(exc)
            job.message_field = getattr(exc, "field", None)
            issues = []
        else:
            job.status = ImportStatus.PREVIEWED if job.dry_run else ImportStatus.COMPLETED
        job.finished_at = clock.now()
        if job.status is not ImportStatus.PREVIEWED:
            job.content = None  # what was pasted is kept no longer than needed
        job = await session.merge(job)
        session.add_all(issues[:MAX_STORED_ISSUES])
        await session.flush()
        if not job.dry_run:
            await _notify_finished(session, rt, job)
        if job.status is ImportStatus.COMPLETED:
            gamification.record(session, viewer, gamification.EventKind.IMPORT_COMPLETED, {
                "import_id": str(job.id), "inserted": job.inserted, "duplicates": job.duplicates})
        publish_later(session, rt, job)


async def give_up(rt: Runtime, import_id: uuid.UUID, *, message: str | None = None) -> None:
    """Retries are exhausted (or pointless): say so on the import instead of leaving it running."""
    async with rt.sessions() as session, atomic(session):
        job = await session.get(Import, import_id, with_for_update=True)  # a system read by the job's id
        if job is None or job.status.finished:
            return
        job.status, job.finished_at = ImportStatus.FAILED, clock.now()
        job.message = message or "The import stopped on an internal error after several attempts; nothing was imported."
        session.add(job)
        await _notify_finished(session, rt, job)
        publish_later(session, rt, job)


async def _notify_finished(session: AsyncSession, rt: Runtime, job: Import) -> None:
    user = await users.get_user(session, job.user_id)
    if job.status is ImportStatus.COMPLETED:
        title = f"Import of {job.source_name} finished"
        added = "activities" if job.kind is ImportKind.INVESTMENT_ACTIVITIES else "transactions"
        body = (f"{job.inserted} {added} added, {job.duplicates} duplicates skipped, "
                f"{job.likely_duplicates} possible duplicates flagged, {job.errors} rows with errors.")
    else:
        title, body = f"Import of {job.source_name} failed", job.message or "Nothing was imported."
    await notifications.notify(
        session, rt, Viewer.acting_for(job.user_id), kind=NotificationKind.IMPORT_FINISHED, title=title, body=body,
        email_to=user.email if user else None, data={"importId": str(job.id), "status": job.status.value},
        dedup_key=f"import:{job.id}:{job.attempts}:{job.status.value}",
    )


@dataclass(slots=True)
class _Candidate:
    row: Row
    amount: Decimal
    hash: str
    category_id: uuid.UUID | None = None
    new_category: str | None = None
    likely: Any = None


async def _process(
    session: AsyncSession, rt: Runtime, viewer: Viewer, job: Import, progress: Progress
) -> list[ImportIssue]:
    if job.content is not None:
        data = job.content
    elif job.file_id is not None:
        _, data = await files.read_content(session, rt, viewer, job.file_id)
    else:
        raise FileError("The file was deleted before the import ran.", "fileId")
    if job.kind is ImportKind.INVESTMENT_ACTIVITIES:
        from finora_gql.investments import imports as activities  # investments imports this package

        return await activities.run_in_pipeline(session, rt, viewer, job, data, options_of(job), progress)
    table = open_table(data, Mapping(**job.mapping), options_of(job))
    del data
    job.encoding, job.delimiter = table.encoding.value, table.delimiter
    job.date_format, job.decimal_separator = table.date_format.value, table.decimal_separator
    account = await accounts.get_account(session, viewer, job.account_id)
    if account.archived:
        raise ServiceError(ErrorCode.INVALID, "The account was archived; unarchive it and import again.", "accountId")
    options = options_of(job)
    issues: list[ImportIssue] = []

    def issue(line: int, kind: IssueKind, reason: str, **extra: Any) -> None:
        if len(issues) < MAX_STORED_ISSUES:
            issues.append(ImportIssue(import_id=job.id, line=line, kind=kind, reason=reason[:500], **extra))

    candidates = await _read_rows(table, account, job, progress, issue)
    fresh = await _drop_exact_duplicates(session, account, job, candidates, issue)
    await _flag_likely_duplicates(session, account, job, fresh, issue)
    if options.likely_duplicates is LikelyDuplicatePolicy.SKIP:
        fresh = [c for c in fresh if c.likely is None]
    await _categorise(session, viewer, fresh)
    job.preview = [_preview(c) for c in fresh[:PREVIEW_ROWS]]
    if not job.dry_run:
        await _create_categories(session, viewer, fresh)
        await transactions.add_imported(session, rt, viewer, account=account, import_id=job.id, rows=[
            transactions.ImportedRow(date=c.row.date, amount=c.amount, category_id=c.category_id,
                                     merchant=c.row.merchant, description=c.row.description,
                                     external_id=c.row.external_id, import_hash=c.hash)
            for c in fresh
        ])
    await progress.update(force=True, inserted=len(fresh))
    return issues


async def _read_rows(table: Table, account: Account, job: Import, progress: Progress, issue) -> list[_Candidate]:
    hasher = ContentHasher()
    candidates: list[_Candidate] = []
    errors = 0
    total = len(table.records)
    records = table.records
    for processed in range(1, total + 1):
        # Each record is dropped once read, so the file's records and rows never all coexist.
        record, records[processed - 1] = records[processed - 1], None
        row = table.read_row(record)
        if isinstance(row, Row):
            row = _check_row(row, account)
        if isinstance(row, RowError):
            errors += 1
            issue(row.line, IssueKind.ERROR, row.reason, field=row.field)
        else:
            candidates.append(_Candidate(row, row.amount, hasher(row.date, row.amount, row.description, row.merchant)))
        if processed % 1000 == 0:
            await progress.update(processed=processed, total=total, errors=errors)
    table.records.clear()
    await progress.update(force=True, processed=total, total=total, errors=errors)
    return candidates


def _check_row(row: Row, account: Account) -> Row | RowError:
    if row.currency and row.currency != account.currency:
        return RowError(row.line, "currency", f"The row is in {row.currency}; the account is in {account.currency}.")
    if not transactions.EARLIEST <= row.date < transactions.LATEST:
        return RowError(row.line, "date", "The date must be between 1900 and 2199.")
    try:
        clean_amount(row.amount, currency=account.currency, allow_zero=False)
    except ServiceError as exc:
        return RowError(row.line, "amount", str(exc))
    return row


async def _drop_exact_duplicates(
    session: AsyncSession, account: Account, job: Import, candidates: list[_Candidate], issue
) -> list[_Candidate]:
    hashes = [c.hash for c in candidates]
    external_ids = list({c.row.external_id for c in candidates if c.row.external_id})
    known_hashes: dict[str, uuid.UUID] = dict((await session.exec(
        select(Transaction.import_hash, Transaction.id)
        .where(col(Transaction.account_id) == account.id, any_of(col(Transaction.import_hash), hashes))
    )).all())
    known_ids: dict[str, uuid.UUID] = {}
    if external_ids:
        known_ids = dict((await session.exec(
            select(Transaction.external_id, Transaction.id)
            .where(col(Transaction.account_id) == account.id, any_of(col(Transaction.external_id), external_ids))
        )).all())
    fresh: list[_Candidate] = []
    seen_ids: set[str] = set()
    for c in candidates:
        match = known_hashes.get(c.hash)
        reason = "already imported: same date, amount and description"
        if match is None and c.row.external_id:
            match = known_ids.get(c.row.external_id)
            reason = f"a transaction with id “{c.row.external_id}” is already in this account"
            if match is None and c.row.external_id in seen_ids:
                reason = f"the id “{c.row.external_id}” appears earlier in this file"
                match = "file"
        if match is None:
            if c.row.external_id:
                seen_ids.add(c.row.external_id)
            fresh.append(c)
        else:
            job.duplicates += 1
            issue(c.row.line, IssueKind.DUPLICATE, reason, transaction_id=match if match != "file" else None)
    return fresh


async def _flag_likely_duplicates(
    session: AsyncSession, account: Account, job: Import, fresh: list[_Candidate], issue
) -> None:
    if not fresh:
        return
    first = min(c.row.date for c in fresh) - dt.timedelta(days=3)
    last = max(c.row.date for c in fresh) + dt.timedelta(days=3)
    amounts = list({c.amount for c in fresh})
    rows = (await session.exec(
        select(Transaction.id, Transaction.date, Transaction.amount, Transaction.merchant, Transaction.description)
        .where(col(Transaction.account_id) == account.id, col(Transaction.date).between(first, last),
               any_of(col(Transaction.amount), amounts))
    )).all()
    existing = [Existing(r[0], r[1], r[2], label(r[3], r[4])) for r in rows]
    if not existing:
        return
    index = LikelyDuplicates(existing)
    for c in fresh:
        c.likely = index.best(c.row.date, c.amount, c.row.merchant, c.row.description)
        if c.likely is not None:
            job.likely_duplicates += 1
            issue(c.row.line, IssueKind.LIKELY_DUPLICATE, c.likely.reason, score=c.likely.score,
                  transaction_id=c.likely.transaction_id)


async def _categorise(session: AsyncSession, viewer: Viewer, fresh: list[_Candidate]) -> None:
    """The file's category by name; else the viewer's rules; else what they chose for the merchant."""
    by_name = {c.name.lower(): c for c in await categories.list_categories(session, viewer)
               if c.kind is not CategoryKind.TRANSFER}
    matcher = await rules.matcher(session, viewer)
    unresolved: list[_Candidate] = []
    for c in fresh:
        if c.row.category:
            found = by_name.get(c.row.category.lower())
            if found is not None:
                c.category_id = found.id
            else:
                c.new_category = c.row.category
            continue
        c.category_id = matcher.category_for(c.row.merchant, c.row.description)
        if c.category_id is None and c.row.merchant:
            unresolved.append(c)
    remembered = await transactions.remembered_categories(session, viewer, {c.row.merchant for c in unresolved})
    for c in unresolved:
        c.category_id = remembered.get(c.row.merchant.lower())


async def _create_categories(session: AsyncSession, viewer: Viewer, fresh: list[_Candidate]) -> None:
    """Categories the file names and the viewer lacks are created: income if their rows are mostly
    money in, else expense."""
    wanted: dict[str, list[_Candidate]] = {}
    for c in fresh:
        if c.new_category:
            wanted.setdefault(c.new_category.lower(), []).append(c)
    for group in wanted.values():
        inflow = sum(1 for c in group if c.amount > 0)
        kind = CategoryKind.INCOME if inflow * 2 > len(group) else CategoryKind.EXPENSE
        category = Category(user_id=viewer.user_id, name=group[0].new_category, kind=kind)
        session.add(category)
        await session.flush()
        for c in group:
            c.category_id = category.id


def _preview(c: _Candidate) -> dict[str, Any]:
    return {
        "line": c.row.line, "date": c.row.date.isoformat(), "amount": str(c.amount), "merchant": c.row.merchant,
        "description": c.row.description, "category_id": str(c.category_id) if c.category_id else None,
        "new_category": c.new_category, "external_id": c.row.external_id,
        "likely_duplicate_score": c.likely.score if c.likely else None,
    }

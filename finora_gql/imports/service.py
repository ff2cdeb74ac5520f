"""CSV imports: started by a person, run as a background job, undone as a whole.

A run reads the whole file, validates every row, sorts out duplicates, and then writes all of
its rows in one database transaction, so a crash leaves nothing behind and the rerun starts
clean (`run`). Progress goes to the Import row in short transactions of its own, and to the
owner's live channel, so `importProgress` subscribers see it move (`progress`). This module
starts, lists, confirms and undoes imports.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from finora_gql.accounts import service as accounts
from finora_gql.accounts.models import AccountType
from finora_gql.core import clock
from finora_gql.core.errors import ErrorCode, ServiceError
from finora_gql.core.jobs import enqueue_after_commit
from finora_gql.core.owned import Owned
from finora_gql.core.pagination import Page, PageRequest, encode_cursor, newest_first, window
from finora_gql.core.runtime import Runtime
from finora_gql.core.viewer import Viewer
from finora_gql.files import service as files
from finora_gql.files.models import FileStatus
from finora_gql.imports import progress, run
from finora_gql.imports.mapping import PRESET_OPTIONS, Mapping, Options, Preset
from finora_gql.imports.models import Import, ImportIssue, ImportKind, ImportStatus, IssueKind
from finora_gql.transactions import service as transactions

MAX_INLINE_BYTES = 1_048_576
IMPORTABLE_TYPES = {"text/csv", "text/plain", "application/csv"}
# What Windows browsers send for .csv files when Excel is installed; an .xls workbook has it too.
CSV_OR_WORKBOOK = "application/vnd.ms-excel"
MAX_SKIP_ROWS = 1000
CURSOR_KIND = "import"


imports = Owned(Import, "import")


def readable(viewer: Viewer) -> SelectOfScalar[Import]:
    return imports.readable(viewer)


# --- starting, confirming, undoing -------------------------------------------------------------


def _check_options(options: Options) -> None:
    if options.delimiter is not None and len(options.delimiter) != 1:
        raise ServiceError(ErrorCode.INVALID, "The delimiter is one character.", "options.delimiter")
    for name in ("decimal_separator", "thousands_separator"):
        value = getattr(options, name)
        if value is not None and value not in {".", ",", " ", "'"}:
            field = "options." + ("decimalSeparator" if name == "decimal_separator" else "thousandsSeparator")
            raise ServiceError(ErrorCode.INVALID, "Use “.”, “,”, a space or “'”.", field)
    if options.decimal_separator is not None and options.decimal_separator == options.thousands_separator:
        raise ServiceError(ErrorCode.INVALID, "The decimal and thousands separators must differ.",
                           "options.thousandsSeparator")
    if not 0 <= options.skip_rows <= MAX_SKIP_ROWS:
        raise ServiceError(ErrorCode.INVALID, f"Skip between 0 and {MAX_SKIP_ROWS} rows.", "options.skipRows")


async def start_import(
    session: AsyncSession, rt: Runtime, viewer: Viewer, *, account_id: uuid.UUID, file_id: uuid.UUID | None = None,
    csv: str | None = None, preset: Preset | None = None, mapping: Mapping = Mapping(), options: Options = Options(),
    dry_run: bool = False,
) -> Import:
    """Queue an import of a file (or of CSV text) into one of the viewer's accounts."""
    if (file_id is None) == (csv is None):
        raise ServiceError(ErrorCode.REQUIRED, "Give either a fileId or the csv text.", "fileId")
    account = await accounts.get_account(session, viewer, account_id)
    if account.archived:
        raise ServiceError(ErrorCode.INVALID, "This account is archived; unarchive it first.", "accountId")
    kind = ImportKind.INVESTMENT_ACTIVITIES if account.type is AccountType.INVESTMENT else ImportKind.TRANSACTIONS
    if kind is ImportKind.INVESTMENT_ACTIVITIES and (preset is not None or mapping != Mapping()):
        raise ServiceError(ErrorCode.INVALID, "A file of investment activities names its columns in its header row "
                           "(date, kind, symbol, quantity, price, amount, fee, tax, splitFrom, splitTo, note): no "
                           "preset or mapping.", "preset" if preset is not None else "mapping")
    if kind is ImportKind.INVESTMENT_ACTIVITIES and not options.has_header:
        raise ServiceError(ErrorCode.INVALID, "A file of investment activities needs its header row.",
                           "options.hasHeader")
    if preset is not None:
        options = options.over(PRESET_OPTIONS[preset])
    _check_options(options)
    content: bytes | None = None
    if csv is not None:
        content = csv.encode()
        if len(content) > MAX_INLINE_BYTES:
            raise ServiceError(ErrorCode.INVALID, "Pasted CSV is at most 1 MB; upload a file instead.", "csv")
        if not content.strip():
            raise ServiceError(ErrorCode.REQUIRED, "The CSV is empty.", "csv")
        source_name = "pasted CSV"
    else:
        file = await files.get_file(session, viewer, file_id)
        if file.status is not FileStatus.READY:
            raise ServiceError(ErrorCode.UPLOAD_INCOMPLETE, "Finish the upload (completeUpload) first.", "fileId")
        csv_by_name = file.mime_type == CSV_OR_WORKBOOK and file.filename.lower().endswith(".csv")
        if file.mime_type not in IMPORTABLE_TYPES and not csv_by_name:
            raise ServiceError(ErrorCode.INVALID, f"Only CSV files can be imported, not {file.mime_type}.", "fileId")
        source_name = file.filename
    job = Import(
        user_id=viewer.user_id, account_id=account.id, kind=kind, file_id=file_id, content=content,
        source_name=source_name,
        preset=preset.value if preset else None, mapping=_jsonable(mapping), options=_jsonable(options),
        dry_run=dry_run,
    )
    session.add(job)
    await session.flush()
    _run_later(session, job)
    return job


def _run_later(session: AsyncSession, job: Import) -> None:
    enqueue_after_commit(session, "run_import", str(job.id))


def _jsonable(value: Mapping | Options) -> dict[str, Any]:
    return {key: (item.value if hasattr(item, "value") else item)
            for key, item in dataclasses.asdict(value).items() if item is not None}


async def get_import(session: AsyncSession, viewer: Viewer, import_id: uuid.UUID, *, field: str = "id",
                     for_update: bool = False) -> Import:
    return await imports.get(session, viewer, import_id, field=field, for_update=for_update)


async def get_imports(session: AsyncSession, viewer: Viewer, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Import]:
    return await imports.by_ids(session, viewer, ids)


async def list_imports(session: AsyncSession, viewer: Viewer, *, page: PageRequest) -> Page[Import]:
    statement = newest_first(readable(viewer), (col(Import.created_at), col(Import.id)), page)
    return window(list((await session.exec(statement)).all()), page)


def cursor_of(job: Import) -> str:
    return encode_cursor(CURSOR_KIND, job.created_at, job.id)


async def count_imports(session: AsyncSession, viewer: Viewer) -> int:
    return (await session.exec(select(func.count()).select_from(readable(viewer).subquery()))).one()


async def list_issues(
    session: AsyncSession, viewer: Viewer, import_id: uuid.UUID, *, kind: IssueKind | None = None, limit: int = 100
) -> Sequence[ImportIssue]:
    statement = imports.where_visible(
        select(ImportIssue).join(Import, col(Import.id) == col(ImportIssue.import_id)), viewer
    ).where(col(ImportIssue.import_id) == import_id)
    if kind is not None:
        statement = statement.where(col(ImportIssue.kind) == kind)
    return (await session.exec(statement.order_by(col(ImportIssue.line), col(ImportIssue.kind)).limit(limit))).all()


async def confirm_import(session: AsyncSession, rt: Runtime, viewer: Viewer, import_id: uuid.UUID) -> Import:
    """Run a previewed dry run for real, with the same file, mapping and options."""
    job = await get_import(session, viewer, import_id, for_update=True)
    if job.status is not ImportStatus.PREVIEWED:
        raise ServiceError(ErrorCode.INVALID, "Only a finished dry run can be confirmed.", "id")
    await session.exec(delete(ImportIssue).where(col(ImportIssue.import_id) == job.id))
    _reset(job)
    job.dry_run = False
    session.add(job)
    await session.flush()
    _run_later(session, job)
    progress.publish_later(session, rt, job)
    return job


def _reset(job: Import) -> None:
    job.status = ImportStatus.QUEUED
    job.total = job.processed = job.inserted = job.duplicates = job.likely_duplicates = job.errors = 0
    job.preview, job.message, job.message_field = [], None, None
    job.started_at = job.finished_at = None


async def undo_import(session: AsyncSession, rt: Runtime, viewer: Viewer, import_id: uuid.UUID) -> tuple[Import, int]:
    """Remove exactly the transactions this import added (edited since or not)."""
    job = await get_import(session, viewer, import_id, for_update=True)
    if job.status is not ImportStatus.COMPLETED:
        raise ServiceError(ErrorCode.INVALID, "Only a completed import can be undone.", "id")
    if job.kind is ImportKind.INVESTMENT_ACTIVITIES:
        from finora_gql.investments import imports as activities  # investments imports this package

        removed = await activities.undo_import(session, rt, viewer, job.id, field="id", known=True)
    else:
        removed = await transactions.remove_imported(session, rt, viewer, job.id)
    job.status, job.undone_at = ImportStatus.UNDONE, clock.now()
    session.add(job)
    await session.flush()
    progress.publish_later(session, rt, job)
    return job, removed


# The run and its progress live in `run` and `progress`; their entry points are the service's too.
run_import = run.run_import
give_up = run.give_up
progress_message = progress.progress_message
IMPORT_PROGRESS = progress.IMPORT_PROGRESS

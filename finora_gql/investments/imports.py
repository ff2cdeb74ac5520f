"""CSV import of investment activities (and of prices), on the import pipeline's parsing.

The file is read by `imports.parsing` (encoding, delimiter, dates and amounts as the ledger's
imports read them); a header row names the columns (any order, any case, spaces and
underscores ignored): date, kind (or type), symbol, quantity, price, amount, fee, tax,
splitFrom, splitTo, note. Each row goes through the same validation as
recordInvestmentActivity; a bad row is reported with its line and field and left out, the
others go in. A row equal to an activity already in the account (or to an earlier row) in kind,
date, symbol, quantity and amount is a duplicate and skipped. The rows that would make the
account impossible (a sale of more than is held) are reported too. `dryRun` previews: everything
is checked, nothing stays. Every activity an import adds carries its id, so `undo` removes them.

Two ways in, one processing (`_process`): `importInvestmentActivities` does a small file (at most
MAX_ROWS rows) inside the request; `startImport` into an INVESTMENT account runs the import
pipeline's job (`run_in_pipeline`: a file upload or pasted CSV, progress, row issues, preview,
confirmImport, undoImport), up to MAX_JOB_ROWS rows.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from decimal import Decimal

from sqlalchemy import delete
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from finora_gql.accounts.models import Account
from finora_gql.core.errors import ErrorCode, ServiceError
from finora_gql.core.runtime import Runtime
from finora_gql.core.viewer import Viewer
from finora_gql.imports import parsing
from finora_gql.imports.mapping import Options
from finora_gql.imports.models import Import, ImportIssue, IssueKind
from finora_gql.imports.progress import Progress
from finora_gql.investments import checkpoints, day_values, engine, ledger_cash, service
from finora_gql.investments.engine import Kind
from finora_gql.investments.models import Activity

MAX_ROWS = 5000
MAX_JOB_ROWS = 100_000
PREVIEW_ROWS = 20
DUPLICATE = "Already in the account: the same kind, date, symbol, quantity and amount."
MAX_BYTES = 2_000_000
COLUMNS = {"date", "kind", "symbol", "quantity", "price", "amount", "fee", "tax", "splitfrom", "splitto", "note"}
ALIASES = {"type": "kind", "activity": "kind", "ticker": "symbol", "shares": "quantity", "units": "quantity",
           "unitprice": "price", "total": "amount", "fees": "fee", "taxes": "tax", "comment": "note"}
NUMBERS = ("quantity", "price", "amount", "fee", "tax", "splitfrom", "splitto")
FIELD_NAMES = {"splitfrom": "splitFrom", "splitto": "splitTo"}


@dataclasses.dataclass(frozen=True)
class RowIssue:
    line: int
    field: str | None
    message: str


@dataclasses.dataclass(frozen=True)
class ImportedRow:
    line: int
    symbol: str | None
    activity: Activity


@dataclasses.dataclass(frozen=True)
class ImportResult:
    import_id: uuid.UUID | None
    dry_run: bool
    rows: int
    added: list[ImportedRow]  # added (or, in a dry run, that would be), in file order
    duplicates: list[int]  # lines
    issues: list[RowIssue]
    date_format: parsing.DateFormat | None = None  # as read (or given)
    decimal_separator: str | None = None


def _column(header: str) -> str:
    name = "".join(ch for ch in header.lower() if ch.isalnum())
    return ALIASES.get(name, name)


def _decode(data: str) -> list[parsing.Record]:
    raw = data.encode()
    if len(raw) > MAX_BYTES:
        raise ServiceError(ErrorCode.INVALID, f"At most {MAX_BYTES:,} bytes.", "csv")
    return _records(raw, "csv", MAX_ROWS)


def _records(raw: bytes, field: str, most: int, options: Options = Options()) -> list[parsing.Record]:
    try:
        text, _ = parsing.decode(raw, options.encoding)
    except parsing.CellError as error:
        raise ServiceError(ErrorCode.INVALID, str(error), field) from None
    records = list(parsing.read_records(text, delimiter=options.delimiter or parsing.detect_delimiter(text),
                                        skip_rows=options.skip_rows))
    if len(records) < 2:
        raise ServiceError(ErrorCode.INVALID, "The file needs a header row and at least one row.", field)
    if len(records) - 1 > most:
        raise ServiceError(ErrorCode.INVALID, f"At most {most:,} rows at once.", field)
    return records


def _parsers(records: list[parsing.Record], index: dict[str, int], date_format: parsing.DateFormat | None,
             decimal_separator: str | None) -> tuple[parsing.DateParser, parsing.AmountParser, str]:
    dates = [r.cells[index["date"]] for r in records[1:] if index["date"] < len(r.cells)]
    try:
        parse_date = parsing.DateParser(date_format or parsing.detect_date_format(dates))
    except parsing.CellError as error:
        raise ServiceError(ErrorCode.INVALID, str(error), "dateFormat") from None
    numbers = [r.cells[index[c]] for r in records[1:] for c in NUMBERS if c in index and index[c] < len(r.cells)]
    separator = decimal_separator or parsing.detect_decimal_separator([v for v in numbers if v.strip()])
    try:
        return parse_date, parsing.AmountParser(separator), separator
    except parsing.CellError as error:
        raise ServiceError(ErrorCode.INVALID, str(error), "decimalSeparator") from None


def _key(kind: Kind, date: dt.date, symbol: str | None, quantity: Decimal, amount: Decimal) -> tuple:
    return kind, date, symbol, quantity.normalize(), amount.normalize()


async def import_activities(session: AsyncSession, rt: Runtime, viewer: Viewer, *, account_id: uuid.UUID, csv: str,
                            dry_run: bool, date_format: parsing.DateFormat | None = None,
                            decimal_separator: str | None = None) -> ImportResult:
    account = await service.investment_account(session, viewer, account_id)
    result = await _process(session, rt, viewer, account, _decode(csv), import_id=uuid.uuid4(), dry_run=dry_run,
                            date_format=date_format, decimal_separator=decimal_separator)
    return dataclasses.replace(result, import_id=None if dry_run or not result.added else result.import_id)


async def _process(session: AsyncSession, rt: Runtime, viewer: Viewer, account: Account,
                   records: list[parsing.Record], *, import_id: uuid.UUID, dry_run: bool,
                   date_format: parsing.DateFormat | None, decimal_separator: str | None) -> ImportResult:
    """Check every row of the file (header first) and, unless `dry_run`, add the good ones to the
    (locked) account, marked with `import_id`."""
    index: dict[str, int] = {}
    for position, header in enumerate(records[0].cells):
        name = _column(header)
        if name in COLUMNS and name not in index:
            index[name] = position
    for required in ("date", "kind"):
        if required not in index:
            raise ServiceError(ErrorCode.INVALID, f"No “{required}” column in the header row.", "csv")
    parse_date, parse_number, separator = _parsers(records, index, date_format, decimal_separator)

    existing = await service.list_activities(session, viewer, account_ids=[account.id], limit=10 ** 7)
    symbols = {row.security_id: None for row in existing if row.security_id}
    for security_id, security in (await service.get_securities(session, viewer, list(symbols))).items():
        symbols[security_id] = security.symbol
    seen = {_key(row.kind, row.date, symbols.get(row.security_id), row.quantity, row.amount) for row in existing}

    savepoint = await session.begin_nested()  # an unknown symbol's new security stays only if rows do
    issues: list[RowIssue] = []
    duplicates: list[int] = []
    added: list[tuple[int, Activity]] = []
    symbol_of: dict[uuid.UUID, str | None] = {}
    for record in records[1:]:
        cells = record.cells

        def cell(name: str, cells: list[str] = cells) -> str | None:
            position = index.get(name)
            value = cells[position].strip() if position is not None and position < len(cells) else ""
            return value or None

        try:
            values: dict[str, Decimal | None] = {}
            for name in NUMBERS:
                raw = cell(name)
                try:
                    values[name] = abs(parse_number(raw)) if raw is not None else None
                except parsing.CellError as error:
                    raise ServiceError(ErrorCode.INVALID, str(error), FIELD_NAMES.get(name, name)) from None
            raw_kind = (cell("kind") or "").upper().replace(" ", "_").replace("-", "_")
            if raw_kind not in Kind.__members__:
                raise ServiceError(ErrorCode.INVALID, f"“{cell('kind') or ''}” is not a kind ("
                                   f"{', '.join(Kind.__members__)}).", "kind")
            raw_date = cell("date")
            if raw_date is None:
                raise ServiceError(ErrorCode.REQUIRED, "The date is empty.", "date")
            try:
                day = parse_date(raw_date)
            except parsing.CellError as error:
                raise ServiceError(ErrorCode.INVALID, str(error), "date") from None
            data = service.ActivityInput(
                kind=Kind[raw_kind], date=day, symbol=cell("symbol"), quantity=values["quantity"],
                price=values["price"], amount=values["amount"], fee=values["fee"], tax=values["tax"],
                split_from=values["splitfrom"], split_to=values["splitto"], note=cell("note"),
            )
            row = Activity(user_id=viewer.user_id, account_id=account.id, import_id=import_id)
            row.kind = None  # type: ignore[assignment]
            row.date = None  # type: ignore[assignment]
            await service._apply_input(session, viewer, row, data, account.currency, creating=True)
        except ServiceError as error:
            issues.append(RowIssue(record.line, error.field, error.message))
            continue
        symbol = service.clean_symbol(data.symbol) if row.security_id else None
        key = _key(row.kind, row.date, symbol, row.quantity, row.amount)
        if key in seen:
            duplicates.append(record.line)
            continue
        seen.add(key)
        added.append((record.line, row))
        symbol_of[row.id] = symbol

    # Rows that would make the account impossible are left out, one at a time (each check is linear).
    line_of = {row.id: line for line, row in added}
    kept = [row for _, row in added]
    ledger = await ledger_cash.ledger_acts(session, viewer, {account.id: account.currency}, dt.date.max)
    while True:
        try:
            engine.check([*ledger, *(service.to_act(r, account.currency) for r in [*existing, *kept])])
            break
        except engine.ActivityError as error:
            if error.activity.id not in line_of:  # an existing activity: only a new row can have caused it
                first_new = min(kept, key=lambda r: (r.date, r.created_at)) if kept else None
                if first_new is None:
                    raise ServiceError(ErrorCode.INVALID, error.message, "accountId") from None
                failing = first_new
            else:
                failing = next(r for r in kept if r.id == error.activity.id)
            issues.append(RowIssue(line_of[failing.id], error.field if failing.id == error.activity.id else None,
                                   error.message))
            kept = [r for r in kept if r.id != failing.id]
    issues.sort(key=lambda issue: issue.line)
    for row in kept:
        session.add(row)
    await session.flush()
    if dry_run:
        await savepoint.rollback()
    else:
        await savepoint.commit()
        if kept:
            await checkpoints.changed(session, viewer, account.id, min(row.date for row in kept))
            await day_values.changed(session, viewer, account.id, min(row.date for row in kept))
            service.portfolio_changed(session, rt, viewer.user_id, "ACTIVITY")
    kept_ids = {row.id for row in kept}
    return ImportResult(import_id=import_id, dry_run=dry_run, rows=len(records) - 1,
                        added=[ImportedRow(line, symbol_of[row.id], row) for line, row in added if row.id in kept_ids],
                        duplicates=duplicates, issues=issues, date_format=parse_date.format,
                        decimal_separator=separator)


async def undo_import(session: AsyncSession, rt: Runtime, viewer: Viewer, import_id: uuid.UUID, *,
                      field: str = "importId", known: bool = False) -> int:
    """Remove every activity the import added; refused when later activities depend on them.
    `known`: the import pipeline's own import (which may have added nothing)."""
    rows = (await session.exec(service.activities.readable(viewer).where(col(Activity.import_id) == import_id))).all()
    if not rows:
        if known:
            return 0
        raise ServiceError(ErrorCode.NOT_FOUND, "No import of yours has this id.", field)
    removed = {row.id for row in rows}
    for account_id in {row.account_id for row in rows}:
        account = await service.investment_account(session, viewer, account_id)
        rest = (await session.exec(service.activities.readable(viewer).where(
            col(Activity.account_id) == account_id, col(Activity.id).not_in(removed)))).all()
        ledger = await ledger_cash.ledger_acts(session, viewer, {account.id: account.currency}, dt.date.max)
        try:
            engine.check([*ledger, *(service.to_act(row, account.currency) for row in rest)])
        except engine.ActivityError as error:
            raise ServiceError(ErrorCode.INVALID, f"Activities recorded since depend on this import: the "
                               f"{error.activity.kind.value} of {error.activity.date.isoformat()}: {error.message}",
                               field) from None
    await session.exec(delete(Activity).where(service.activities.owned_by(viewer.user_id),  # type: ignore[arg-type]
                                              col(Activity.import_id) == import_id))
    for account_id in {row.account_id for row in rows}:
        await checkpoints.changed(session, viewer, account_id, min(r.date for r in rows if r.account_id == account_id))
        await day_values.changed(session, viewer, account_id, min(r.date for r in rows if r.account_id == account_id))
    service.portfolio_changed(session, rt, viewer.user_id, "ACTIVITY")
    return len(rows)


async def import_prices(session: AsyncSession, rt: Runtime, viewer: Viewer, *, csv: str) -> tuple[int, list[RowIssue]]:
    """A CSV of closes (symbol, date, price[, currency]) through setPrice's rules, row by row."""
    records = _decode(csv)
    index = {_column(h): i for i, h in reversed(list(enumerate(records[0].cells)))}
    if "close" in index and "price" not in index:
        index["price"] = index["close"]
    for required in ("symbol", "date", "price"):
        if required not in index:
            raise ServiceError(ErrorCode.INVALID, f"No “{required}” column in the header row.", "csv")
    parse_date, parse_number, _ = _parsers(records, index, None, None)
    stored, issues = 0, []
    for record in records[1:]:
        cells = record.cells

        def cell(name: str, cells: list[str] = cells) -> str:
            position = index.get(name)
            return cells[position].strip() if position is not None and position < len(cells) else ""

        try:
            async with session.begin_nested():
                try:
                    day = parse_date(cell("date"))
                except parsing.CellError as error:
                    raise ServiceError(ErrorCode.INVALID, str(error), "date") from None
                try:
                    close = parse_number(cell("price"))
                except parsing.CellError as error:
                    raise ServiceError(ErrorCode.INVALID, str(error), "price") from None
                await service.set_price(session, rt, viewer, symbol=cell("symbol"), date=day, price=close,
                                        currency=cell("currency") or None, source="CSV")
            stored += 1
        except ServiceError as error:
            issues.append(RowIssue(record.line, error.field, error.message))
    return stored, issues


async def run_in_pipeline(session: AsyncSession, rt: Runtime, viewer: Viewer, job: Import, data: bytes,
                          options: Options, progress: Progress) -> list[ImportIssue]:
    """The import pipeline's job for an INVESTMENT account (imports.run): the same checks as
    importInvestmentActivities, with the row errors and duplicates as the import's issues and its
    first rows as the preview."""
    account = await service.investment_account(session, viewer, job.account_id)
    records = _records(data, "fileId" if job.file_id else "csv", MAX_JOB_ROWS, options)
    total = len(records) - 1
    await progress.update(force=True, total=total)
    result = await _process(session, rt, viewer, account, records, import_id=job.id, dry_run=job.dry_run,
                            date_format=options.date_format, decimal_separator=options.decimal_separator)
    job.date_format = result.date_format.value if result.date_format else None
    job.decimal_separator = result.decimal_separator
    job.duplicates = len(result.duplicates)
    job.preview = [{
        "line": r.line, "date": r.activity.date.isoformat(), "amount": str(r.activity.amount), "merchant": None,
        "description": " ".join(str(part) for part in (r.activity.kind.value, _units(r.activity), r.symbol) if part),
        "category_id": None, "new_category": None, "external_id": None, "likely_duplicate_score": None,
    } for r in result.added[:PREVIEW_ROWS]]
    issues = [ImportIssue(import_id=job.id, line=i.line, kind=IssueKind.ERROR, field=i.field, reason=i.message[:500])
              for i in result.issues]
    issues += [ImportIssue(import_id=job.id, line=line, kind=IssueKind.DUPLICATE, reason=DUPLICATE)
               for line in result.duplicates]
    issues.sort(key=lambda issue: issue.line)
    await progress.update(force=True, processed=total, total=total, errors=len(result.issues),
                          inserted=len(result.added))
    return issues


def _units(row: Activity) -> str | None:
    return f"{row.quantity.normalize():f}" if row.kind in engine.WITH_QUANTITY else None

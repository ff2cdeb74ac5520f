"""GraphQL types of CSV imports."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Iterable
from decimal import Decimal
from typing import Annotated, Any

import strawberry
from strawberry import relay
from strawberry.types import Info

from finora_gql.accounts.types import AccountNode, account_loader
from finora_gql.api.enums import described
from finora_gql.api.ids import parse_uuid
from finora_gql.imports import mapping, parsing, service
from finora_gql.imports.models import Import, ImportIssue, ImportStatus, IssueKind
from finora_gql.transactions.types import CategoryNode, TransactionNode, category_node, transaction_node

ImportStatusEnum = described(ImportStatus, name="ImportStatus", description=(
    "QUEUED, then RUNNING; a dry run ends PREVIEWED (nothing written), a real run COMPLETED or FAILED; "
    "UNDONE after undoImport."), values={
    "QUEUED": "Waiting for a worker.",
    "RUNNING": "Being read and written; progress comes through importProgress.",
    "PREVIEWED": "A dry run finished: nothing was written; the preview and issues are ready; confirmImport runs it.",
    "COMPLETED": "The rows were written.",
    "FAILED": "The file could not be imported; `error` says why. Nothing was written.",
    "UNDONE": "undoImport removed the transactions it wrote.",
})
IssueKindEnum = described(IssueKind, name="ImportIssueKind", description=(
    "ERROR: the row was refused; DUPLICATE: already in the account, skipped; LIKELY_DUPLICATE: "
    "resembles a row in the account, flagged for review."), values={
    "ERROR": "The row could not be read (a bad date or amount, a missing column); it was not imported.",
    "DUPLICATE": "The row is already in the account (same external id, or same day, amount and text); skipped.",
    "LIKELY_DUPLICATE": "The row resembles one in the account; imported or skipped as likelyDuplicates says.",
})
PresetEnum = described(mapping.Preset, name="ImportPreset", description=(
    "FINORA: date,amount,category,merchant with ISO dates; DEBIT_CREDIT: money out and in as two columns; "
    "EUROPEAN: ';' delimiter, ',' decimals, '.' thousands, DD.MM.YYYY dates."), values={
    "FINORA": "Finora's own export: date,amount,category,merchant; ISO dates, '.' decimals.",
    "DEBIT_CREDIT": "Money out and money in as two positive columns (debit, credit).",
    "EUROPEAN": "';' delimiter, ',' decimals, '.' thousands, DD.MM.YYYY dates.",
})
SignEnum = described(mapping.SignConvention, name="ImportSignConvention", description=(
    "How the amount column is signed: NEGATIVE_IS_OUTFLOW (most bank accounts) or POSITIVE_IS_OUTFLOW "
    "(most credit-card exports)."), values={
    "NEGATIVE_IS_OUTFLOW": "Negative amounts are money out (most bank accounts).",
    "POSITIVE_IS_OUTFLOW": "Positive amounts are money out (most credit-card exports list charges as positive).",
})
LikelyPolicyEnum = described(mapping.LikelyDuplicatePolicy, name="LikelyDuplicatePolicy", description=(
    "What to do with rows that resemble ones already in the account: IMPORT them flagged, or SKIP them."), values={
    "IMPORT": "Import them, each reported as a LIKELY_DUPLICATE issue for review.",
    "SKIP": "Leave them out, each reported as a LIKELY_DUPLICATE issue.",
})
EncodingEnum = described(parsing.Encoding, name="ImportEncoding", description="A text encoding of the file.", values={
    "UTF_8": "UTF-8 without a byte-order mark.",
    "UTF_8_BOM": "UTF-8 starting with a byte-order mark (as Excel writes it).",
    "UTF_16": "UTF-16 with a byte-order mark.",
    "WINDOWS_1252": "Windows-1252 (\"ANSI\" in western spreadsheet programs).",
    "LATIN_1": "ISO 8859-1 (Latin-1).",
})
DateFormatEnum = described(parsing.DateFormat, name="ImportDateFormat", description="How dates are written.", values={
    "ISO": "YYYY-MM-DD, e.g. 2026-03-31 (a time after it is ignored).",
    "DAY_MONTH_YEAR_DOTS": "DD.MM.YYYY, e.g. 31.03.2026.",
    "DAY_MONTH_YEAR_SLASHES": "DD/MM/YYYY, e.g. 31/03/2026.",
    "MONTH_DAY_YEAR_SLASHES": "MM/DD/YYYY, e.g. 03/31/2026.",
    "DAY_MONTH_YEAR_DASHES": "DD-MM-YYYY, e.g. 31-03-2026.",
    "YEAR_MONTH_DAY_SLASHES": "YYYY/MM/DD, e.g. 2026/03/31.",
    "DAY_MONTH_NAME_YEAR": "DD MMM YYYY, e.g. 31 Mar 2026 (English month names).",
})


@strawberry.input(description="Which column holds what, by header name (or 1, 2, ... when the file has no header). "
                              "Unmapped fields are recognised from common header names.")
class ImportMappingInput:
    date: str | None = strawberry.field(default=None, description="The date column.")
    amount: str | None = strawberry.field(default=None, description="A signed amount column.")
    debit: str | None = strawberry.field(default=None, description="Money out (instead of amount, with credit).")
    credit: str | None = strawberry.field(default=None, description="Money in (instead of amount, with debit).")
    description: str | None = strawberry.field(default=None, description="The bank's text for the transaction.")
    merchant: str | None = strawberry.field(default=None, description="Payee or merchant.")
    category: str | None = strawberry.field(default=None, description="A category name; missing ones are created.")
    currency: str | None = strawberry.field(default=None, description="A currency column; rows must match the account.")
    external_id: str | None = strawberry.field(default=None, description="The bank's id of the transaction.")

    def to_mapping(self) -> mapping.Mapping:
        return mapping.Mapping(**{f.name: getattr(self, f.name) for f in dataclasses.fields(mapping.Mapping)})


@strawberry.input(description="How the file is written. Everything left out is detected or taken from the preset.")
class ImportOptionsInput:
    delimiter: str | None = strawberry.field(default=None, description="Column delimiter; detected when omitted.")
    encoding: EncodingEnum | None = strawberry.field(default=None, description="Detected (BOM, UTF-8, else Windows-1252/Latin-1).")
    date_format: DateFormatEnum | None = strawberry.field(default=None, description="Detected from the dates when omitted.")
    decimal_separator: str | None = strawberry.field(default=None, description="'.' or ','; detected when omitted.")
    thousands_separator: str | None = strawberry.field(default=None, description="Whichever of '.' and ',' is not the decimal one, unless given.")
    sign: SignEnum = strawberry.field(default=mapping.SignConvention.NEGATIVE_IS_OUTFLOW, description="How amounts are signed.")
    skip_rows: int = strawberry.field(default=0, description="Lines to skip before the header (bank preambles).")
    has_header: bool = strawberry.field(default=True, description="Whether the first row names the columns.")
    likely_duplicates: LikelyPolicyEnum = strawberry.field(
        default=mapping.LikelyDuplicatePolicy.IMPORT, description="What to do with rows that look like ones already there.")

    def to_options(self) -> mapping.Options:
        return mapping.Options(**{f.name: getattr(self, f.name) for f in dataclasses.fields(mapping.Options)})


@strawberry.input(description="What to import where. Give fileId (an uploaded CSV) or csv (pasted text, at most 1 MB).")
class StartImportInput:
    account_id: relay.GlobalID = strawberry.field(description="The account the rows belong to.")
    file_id: relay.GlobalID | None = strawberry.field(default=None, description="A completed upload.")
    csv: str | None = strawberry.field(default=None, description="The CSV itself, at most 1 MB.")
    preset: PresetEnum | None = strawberry.field(default=None, description="A known export format.")
    mapping: ImportMappingInput | None = strawberry.field(default=None, description="Column mapping.")
    options: ImportOptionsInput | None = strawberry.field(default=None, description="How the file is written.")
    dry_run: bool = strawberry.field(default=False, description="Read and check everything, write nothing; see the preview.")


@strawberry.type(description="Where a running import stands.")
class ImportProgress:
    import_id: relay.GlobalID = strawberry.field(description="The import's global id.")
    status: ImportStatusEnum = strawberry.field(description="Where the import stands.")
    processed: int = strawberry.field(description="Rows read so far.")
    total: int = strawberry.field(description="Data rows in the file (0 until it has been read).")
    inserted: int = strawberry.field(description="Rows added (for a dry run: rows that would be added).")
    duplicates: int = strawberry.field(description="Rows skipped as already in the account.")
    likely_duplicates: int = strawberry.field(description="Rows resembling ones already there (flagged).")
    error_count: int = strawberry.field(description="Rows refused; see the import's issues.")
    message: str | None = strawberry.field(description="Why the import failed, when it did.")

    @classmethod
    def of(cls, job: Import) -> ImportProgress:
        return cls.from_event(service.progress_message(job)["import"])

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> ImportProgress:
        return cls(
            import_id=relay.GlobalID("Import", event["id"]), status=ImportStatus(event["status"]),
            processed=event["processed"], total=event["total"], inserted=event["inserted"],
            duplicates=event["duplicates"], likely_duplicates=event["likely_duplicates"], error_count=event["errors"],
            message=event["message"],
        )


@strawberry.type(description="A row as it would be (or was) stored.")
class ImportPreviewRow:
    line: int = strawberry.field(description="Line in the file where the row starts.")
    date: dt.date = strawberry.field(description="The day read from the file.")
    amount: Decimal = strawberry.field(description="Signed, in the account's currency.")
    merchant: str | None = strawberry.field(description="The merchant read from the file, if any.")
    description: str = strawberry.field(description="The description read from the file.")
    new_category: str | None = strawberry.field(description="A category named in the file that will be created.")
    external_id: str | None = strawberry.field(description="The bank's id of the row, if the file has one.")
    likely_duplicate_score: float | None = strawberry.field(description="0..1 when it resembles an existing row.")
    _category_id: strawberry.Private[uuid.UUID | None] = None

    @strawberry.field(description="The existing category it gets, if any (see newCategory for one to be created).")
    async def category(self, info: Info) -> CategoryNode | None:
        return await category_node(info, self._category_id)

    @classmethod
    def of(cls, raw: dict[str, Any]) -> ImportPreviewRow:
        category = raw.get("category_id")
        return cls(
            line=raw["line"], date=dt.date.fromisoformat(raw["date"]), amount=Decimal(raw["amount"]),
            merchant=raw["merchant"], description=raw["description"],
            _category_id=parse_uuid(category) if category else None,
            new_category=raw["new_category"], external_id=raw["external_id"],
            likely_duplicate_score=raw["likely_duplicate_score"],
        )


@strawberry.type(name="ImportIssue", description="A row refused, skipped as a duplicate, or flagged as a likely duplicate.")
class ImportIssueType:
    line: int = strawberry.field(description="Line in the file where the row starts (1 is the first line).")
    kind: IssueKindEnum = strawberry.field(description="Refused, skipped as a duplicate, or flagged.")
    field: str | None = strawberry.field(description="The column at fault, for errors.")
    reason: str = strawberry.field(description="What is wrong, for people.")
    score: float | None = strawberry.field(description="For likely duplicates: 0..1, how alike.")
    _transaction_id: strawberry.Private[uuid.UUID | None] = None

    @strawberry.field(description="The transaction it duplicates (or resembles), if any and not deleted since.")
    async def transaction(self, info: Info) -> TransactionNode | None:
        return await transaction_node(info, self._transaction_id)

    @classmethod
    def of(cls, row: ImportIssue) -> ImportIssueType:
        return cls(line=row.line, kind=row.kind, field=row.field, reason=row.reason, score=row.score,
                   _transaction_id=row.transaction_id)


@strawberry.type(name="Import", description="An import of a bank export into one account.")
class ImportNode(relay.Node):
    id: relay.NodeID[str]
    status: ImportStatusEnum = strawberry.field(description="Where the import stands.")
    source_name: str = strawberry.field(description="The uploaded file's name, or “pasted CSV”.")
    dry_run: bool = strawberry.field(description="Whether this run only previews.")
    encoding: EncodingEnum | None = strawberry.field(description="The encoding the file was read with; null until read.")
    delimiter: str | None = strawberry.field(description="The column delimiter used.")
    date_format: DateFormatEnum | None = strawberry.field(description="The date format used; null until read.")
    decimal_separator: str | None = strawberry.field(description="The decimal separator used.")
    progress: ImportProgress = strawberry.field(description="Counts so far (final once finished).")
    preview: list[ImportPreviewRow] = strawberry.field(description="The first rows as they would be (or were) stored.")
    created_at: dt.datetime = strawberry.field(description="When startImport (or confirmImport) created it (UTC).")
    started_at: dt.datetime | None = strawberry.field(description="When a worker began reading it (UTC).")
    finished_at: dt.datetime | None = strawberry.field(description="When it finished: previewed, completed or failed (UTC).")
    undone_at: dt.datetime | None = strawberry.field(description="When undoImport removed its transactions (UTC).")
    _account_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="The account imported into.")
    async def account(self, info: Info) -> AccountNode:
        return AccountNode.of(await account_loader(info).load(self._account_id))

    @strawberry.field(description="Refused, skipped and flagged rows, in file order (at most 1,000 are kept).")
    async def issues(
        self, info: Info,
        kind: Annotated[IssueKindEnum | None, strawberry.argument(description="Only issues of this kind; all when omitted.")] = None,
        first: Annotated[int, strawberry.argument(description="At most this many, from the top of the file (0 to 1,000).")] = 100,
    ) -> list[ImportIssueType]:
        rows = await service.list_issues(info.context.session, await info.context.viewer(), uuid.UUID(self.id),
                                         kind=kind, limit=max(0, min(first, 1000)))
        return [ImportIssueType.of(row) for row in rows]

    @classmethod
    def of(cls, job: Import) -> ImportNode:
        return cls(
            id=str(job.id), status=job.status, source_name=job.source_name, dry_run=job.dry_run,
            encoding=parsing.Encoding(job.encoding) if job.encoding else None, delimiter=job.delimiter,
            date_format=parsing.DateFormat(job.date_format) if job.date_format else None,
            decimal_separator=job.decimal_separator, progress=ImportProgress.of(job),
            preview=[ImportPreviewRow.of(raw) for raw in job.preview], created_at=job.created_at,
            started_at=job.started_at, finished_at=job.finished_at, undone_at=job.undone_at,
            _account_id=job.account_id,
        )

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False) -> list[ImportNode | None]:
        ids = [parse_uuid(node_id) for node_id in node_ids]
        found = await service.get_imports(info.context.session, await info.context.viewer(), [i for i in ids if i])
        return [cls.of(found[i]) if i in found else None for i in ids]

"""An import of a bank export into one account, and what it found row by row."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import Enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from finora_gql.core.models import created_at_field, enum_field, id_field, owner_field, timestamp_field


class ImportStatus(str, Enum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    PREVIEWED = "PREVIEWED"  # a dry run finished: nothing written, the preview is ready
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    UNDONE = "UNDONE"

    @property
    def finished(self) -> bool:
        return self in (ImportStatus.PREVIEWED, ImportStatus.COMPLETED, ImportStatus.FAILED, ImportStatus.UNDONE)


class ImportKind(str, Enum):
    TRANSACTIONS = "TRANSACTIONS"  # a bank export into a ledger account
    INVESTMENT_ACTIVITIES = "INVESTMENT_ACTIVITIES"  # activities into an INVESTMENT account (investments.imports)


class Import(SQLModel, table=True):
    __tablename__ = "import"
    __table_args__ = (sa.Index("ix_import_user_created", "user_id", sa.text("created_at DESC"), sa.text("id DESC")),)

    id: uuid.UUID = id_field()
    user_id: uuid.UUID = owner_field(index=False)
    account_id: uuid.UUID = Field(foreign_key="account.id", ondelete="CASCADE", nullable=False)
    kind: ImportKind = enum_field(ImportKind, ImportKind.TRANSACTIONS)
    file_id: uuid.UUID | None = Field(default=None, foreign_key="file.id", ondelete="SET NULL")
    # A CSV pasted into the mutation (at most 1 MB) is kept here until the import finishes.
    content: bytes | None = Field(default=None, sa_type=sa.LargeBinary)
    source_name: str = Field(max_length=255, nullable=False)
    preset: str | None = Field(default=None, max_length=32)
    mapping: dict[str, Any] = Field(default_factory=dict, sa_type=JSONB, nullable=False)
    options: dict[str, Any] = Field(default_factory=dict, sa_type=JSONB, nullable=False)
    dry_run: bool = Field(default=False, nullable=False)
    status: ImportStatus = enum_field(ImportStatus, ImportStatus.QUEUED)
    message: str | None = Field(default=None, max_length=1000)
    message_field: str | None = Field(default=None, max_length=100)
    # What was detected in the file (or taken from the options).
    encoding: str | None = Field(default=None, max_length=32)
    delimiter: str | None = Field(default=None, max_length=4)
    date_format: str | None = Field(default=None, max_length=32)
    decimal_separator: str | None = Field(default=None, max_length=4)
    total: int = Field(default=0, nullable=False)
    processed: int = Field(default=0, nullable=False)
    inserted: int = Field(default=0, nullable=False)
    duplicates: int = Field(default=0, nullable=False)
    likely_duplicates: int = Field(default=0, nullable=False)
    errors: int = Field(default=0, nullable=False)
    # The first rows as they would be (or were) stored, for the person to check.
    preview: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONB, nullable=False)
    attempts: int = Field(default=0, nullable=False)
    created_at: dt.datetime = created_at_field()
    started_at: dt.datetime | None = timestamp_field()
    finished_at: dt.datetime | None = timestamp_field()
    undone_at: dt.datetime | None = timestamp_field()


class IssueKind(str, Enum):
    ERROR = "ERROR"
    DUPLICATE = "DUPLICATE"
    LIKELY_DUPLICATE = "LIKELY_DUPLICATE"


class ImportIssue(SQLModel, table=True):
    """A row that was refused, skipped as a duplicate, or flagged as a likely one."""

    __tablename__ = "import_issue"
    __table_args__ = (sa.Index("ix_import_issue_import_line", "import_id", "line"),)

    id: uuid.UUID = id_field()
    import_id: uuid.UUID = Field(foreign_key="import.id", ondelete="CASCADE", nullable=False)
    line: int = Field(nullable=False)
    kind: IssueKind = enum_field(IssueKind, IssueKind.ERROR)
    field: str | None = Field(default=None, max_length=40)
    reason: str = Field(max_length=500, nullable=False)
    # For likely duplicates: 0..1, how alike (not money: a plain number is right here).
    score: float | None = Field(default=None)
    # The ledger row this one duplicates; no foreign key, the row may be deleted later.
    transaction_id: uuid.UUID | None = Field(default=None)

"""Files people upload: bank exports to import, statements, receipts."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import Enum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from finora_gql.core.models import created_at_field, enum_field, id_field, owner_field, timestamp_field


class FileStatus(str, Enum):
    PENDING = "PENDING"
    READY = "READY"


class File(SQLModel, table=True):
    """One upload. PENDING from createUpload until completeUpload found exactly the declared
    bytes in storage under `key`; only READY files are downloaded or read."""

    __table_args__ = (
        sa.Index("ix_file_user_created", "user_id", sa.text("created_at DESC"), sa.text("id DESC")),
        # The hourly sweep of abandoned uploads reads only these: few rows, whatever the files' count.
        sa.Index("ix_file_pending_created", "created_at", postgresql_where=sa.text("status = 'PENDING'")),
    )

    id: uuid.UUID = id_field()
    user_id: uuid.UUID = owner_field(index=False)
    # `userId/fileId/ascii-name`: where the bytes are in storage.
    key: str = Field(max_length=255, nullable=False, unique=True)
    filename: str = Field(max_length=255, nullable=False)
    mime_type: str = Field(max_length=100, nullable=False)
    # Declared at createUpload; the upload URL only accepts this many bytes.
    size: int = Field(sa_type=sa.BigInteger, nullable=False)
    status: FileStatus = enum_field(FileStatus, FileStatus.PENDING)
    created_at: dt.datetime = created_at_field()
    completed_at: dt.datetime | None = timestamp_field()

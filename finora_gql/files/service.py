"""Files of the viewer. Every read goes through `files` (the ownership kit), the one place
ownership is decided.

The bytes never pass through the API: createUpload records a PENDING file and hands out a
presigned PUT URL; completeUpload checks what storage holds against what was declared and marks
the file READY. Downloads (and other domains, through `read_content`) see READY files only.

When the stored object differs in size or type from the declared one, completeUpload deletes
it and the file stays PENDING: the client may PUT again while its upload URL is valid and
complete again, or delete the file.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
import uuid
from collections.abc import Sequence

from sqlalchemy import func
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from finora_gql.core import clock
from finora_gql.core.db import after_commit
from finora_gql.core.errors import Collector, ErrorCode, ServiceError
from finora_gql.core.owned import SYSTEM, Owned
from finora_gql.core.pagination import Page, PageRequest, encode_cursor, newest_first, window
from finora_gql.core.runtime import Runtime
from finora_gql.core.storage import PresignedUpload
from finora_gql.core.viewer import Viewer
from finora_gql.files.models import File, FileStatus

# What people may upload, by media type: bank exports and the documents behind them.
ALLOWED_TYPES: dict[str, str] = {
    "text/csv": "CSV",
    "application/csv": "CSV",
    # Windows browsers label .csv files so when Excel is installed; also real .xls workbooks.
    "application/vnd.ms-excel": "CSV or Excel 97-2003",
    "text/plain": "plain text",
    "application/x-ofx": "OFX",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "XLSX",
    "application/pdf": "PDF",
    "image/png": "PNG",
    "image/jpeg": "JPEG",
}
# Upload URLs live an hour; a day leaves a client room to retry before its upload is discarded.
ABANDONED_AFTER = dt.timedelta(hours=24)
MAX_FILENAME = 255
MAX_KEY_NAME = 100
CURSOR_KIND = "file"


files = Owned(File, "file")


def readable(viewer: Viewer) -> SelectOfScalar[File]:
    return files.readable(viewer)


def _shortened(name: str, limit: int) -> str:
    """`name` cut to `limit` characters, keeping a short extension."""
    if len(name) <= limit:
        return name
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem or len(extension) > 10:
        return name[:limit]
    return stem[: limit - len(extension) - 1] + "." + extension


def clean_filename(value: str) -> str:
    """The name as people see it: the last path part, without control or direction-changing
    characters (which could disguise `exe.csv` as `vsc.exe`), spaces collapsed."""
    name = unicodedata.normalize("NFC", value).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(" " if c.isspace() else c for c in name if c.isspace() or not unicodedata.category(c).startswith("C"))
    name = " ".join(name.split()).strip(" .")
    if not name:
        raise ServiceError(ErrorCode.REQUIRED, "Filename is required.", "filename")
    return _shortened(name, MAX_FILENAME)


def key_name(filename: str) -> str:
    """The ASCII form of a clean filename used in storage keys: letters, digits, `.`, `_`, `-`."""
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", ascii_name)
    name = re.sub(r"^[^A-Za-z0-9]+|[^A-Za-z0-9]+$", "", name)
    return _shortened(name, MAX_KEY_NAME) or "file"


def _media_type(value: str) -> str:
    """`text/CSV; charset=utf-8` -> `text/csv`: the type alone decides what a file is."""
    return value.split(";", 1)[0].strip().lower()


def clean_mime_type(value: str) -> str:
    media_type = _media_type(value)
    if media_type not in ALLOWED_TYPES:
        allowed = ", ".join(f"{label} ({allowed_type})" for allowed_type, label in ALLOWED_TYPES.items())
        raise ServiceError(ErrorCode.UNSUPPORTED_FILE_TYPE, f"Files can be {allowed}.", "mimeType")
    return media_type


def clean_size(value: int, limit: int) -> int:
    if value <= 0:
        raise ServiceError(ErrorCode.INVALID, "Size must be the file's size in bytes, at least 1.", "size")
    if value > limit:
        raise ServiceError(ErrorCode.FILE_TOO_LARGE, f"Files can be at most {limit / 1_048_576:g} MB.", "size")
    return value


async def get_files(session: AsyncSession, viewer: Viewer, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, File]:
    return await files.by_ids(session, viewer, ids)


async def get_file(
    session: AsyncSession, viewer: Viewer, file_id: uuid.UUID, *, field: str = "fileId", for_update: bool = False
) -> File:
    """One of the viewer's files; NOT_FOUND (on `field`) for a missing file or someone else's."""
    return await files.get(session, viewer, file_id, field=field, for_update=for_update)


async def create_upload(
    session: AsyncSession, rt: Runtime, viewer: Viewer, *, filename: str, mime_type: str, size: int
) -> tuple[File, PresignedUpload]:
    """Record a PENDING file and presign the one PUT that may store its bytes."""
    errors = Collector()  # every problem of the input, not only the first
    name = errors.check(clean_filename, filename)
    media_type = errors.check(clean_mime_type, mime_type)
    size = errors.check(clean_size, size, rt.settings.max_upload_bytes)
    errors.raise_any()
    file_id = uuid.uuid4()
    file = File(
        id=file_id, user_id=viewer.user_id, key=f"{viewer.user_id}/{file_id}/{key_name(name)}",
        filename=name, mime_type=media_type, size=size,
    )
    session.add(file)
    await session.flush()
    return file, await rt.storage.presign_put(file.key, content_type=media_type, size=size)


async def complete_upload(session: AsyncSession, rt: Runtime, viewer: Viewer, file_id: uuid.UUID) -> File:
    """Mark the file READY once storage holds exactly the declared bytes; READY files stay as they are."""
    file = await get_file(session, viewer, file_id, for_update=True)
    if file.status is FileStatus.READY:
        return file
    stored = await rt.storage.head(file.key)
    if stored is None:
        raise ServiceError(ErrorCode.UPLOAD_INCOMPLETE, "Nothing is uploaded yet: PUT the file to its upload URL first.",
                           "fileId")
    if stored.size != file.size or _media_type(stored.content_type or "") != file.mime_type:
        # Wrong bytes are never kept: nothing could download or import them by mistake later.
        await rt.storage.delete(file.key)
        raise ServiceError(
            ErrorCode.UPLOAD_MISMATCH,
            f"The upload had {stored.size} bytes of {stored.content_type or 'unknown type'}, not the declared "
            f"{file.size} bytes of {file.mime_type}; upload it again.",
            "fileId",
        )
    file.status = FileStatus.READY
    file.completed_at = clock.now()
    session.add(file)
    return file


async def delete_file(session: AsyncSession, rt: Runtime, viewer: Viewer, file_id: uuid.UUID) -> File:
    """Delete the row now and the stored object once that commits (a rollback keeps both)."""
    file = await get_file(session, viewer, file_id, field="id", for_update=True)
    await session.delete(file)
    after_commit(session, lambda: rt.storage.delete(file.key))
    return file


async def remove_abandoned(session: AsyncSession, rt: Runtime, *, older_than: dt.timedelta = ABANDONED_AFTER,
                           limit: int = 500) -> int:
    """Delete uploads never completed (rows now, stored objects once that commits). A client that
    gave up mid-upload leaves a PENDING row and maybe part of an object behind. A system job: it
    reads across owners, and touches nothing but uploads that never became anyone's file."""
    statement = (
        files.readable(SYSTEM)
        .where(col(File.status) == FileStatus.PENDING, col(File.created_at) < clock.now() - older_than)
        .order_by(col(File.created_at)).limit(limit).with_for_update(skip_locked=True)
    )
    abandoned = (await session.exec(statement)).all()
    for file in abandoned:
        await session.delete(file)
    keys = [file.key for file in abandoned]

    async def delete_objects() -> None:
        for key in keys:
            await rt.storage.delete(key)

    after_commit(session, delete_objects)
    return len(abandoned)


async def download_url(rt: Runtime, file: File) -> str | None:
    """A presigned GET (one hour) that saves the file under its name; None until it is READY."""
    if file.status is not FileStatus.READY:
        return None
    return await rt.storage.presign_get(file.key, filename=file.filename)


async def get_ready_file(session: AsyncSession, viewer: Viewer, file_id: uuid.UUID, *, field: str = "fileId") -> File:
    """One of the viewer's READY files: NOT_FOUND as get_file, UPLOAD_INCOMPLETE before completeUpload."""
    file = await get_file(session, viewer, file_id, field=field)
    if file.status is not FileStatus.READY:
        raise ServiceError(ErrorCode.UPLOAD_INCOMPLETE, "This file is not uploaded completely yet (completeUpload).", field)
    return file


async def read_content(session: AsyncSession, rt: Runtime, viewer: Viewer, file_id: uuid.UUID) -> tuple[File, bytes]:
    """A READY file of the viewer and its bytes, for other domains (the CSV import); errors as get_ready_file."""
    file = await get_ready_file(session, viewer, file_id)
    return file, await rt.storage.read(file.key)


async def list_files(session: AsyncSession, viewer: Viewer, *, page: PageRequest) -> Page[File]:
    statement = newest_first(readable(viewer), (col(File.created_at), col(File.id)), page)
    return window(list((await session.exec(statement)).all()), page)


def cursor_of(row: File) -> str:
    return encode_cursor(CURSOR_KIND, row.created_at, row.id)


async def count_files(session: AsyncSession, viewer: Viewer) -> int:
    return (await session.exec(readable(viewer).with_only_columns(func.count()))).one()

"""Keyset pagination: opaque cursors over (sort value, id), and the page window a client asked for."""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Generic, TypeVar

import orjson
from sqlalchemy import tuple_

from finora_gql.core.errors import ErrorCode, ServiceError

MAX_PAGE = 100
DEFAULT_PAGE = 20
T = TypeVar("T")


@dataclass(frozen=True)
class PageRequest:
    """`first`/`after` pages forward, `last`/`before` backward; at most MAX_PAGE rows."""

    size: int
    cursor: tuple[Any, uuid.UUID] | None
    backward: bool

    @classmethod
    def of(cls, *, first: int | None, after: str | None, last: int | None, before: str | None, kind: str) -> PageRequest:
        if first is not None and last is not None:
            raise ServiceError(ErrorCode.INVALID, "Pass either first or last, not both.", "first")
        backward = last is not None or (before is not None and first is None)
        size = (last if backward else first) if (last if backward else first) is not None else DEFAULT_PAGE
        field = "last" if backward else "first"
        if not 0 <= size <= MAX_PAGE:
            raise ServiceError(ErrorCode.INVALID, f"{field} must be between 0 and {MAX_PAGE}.", field)
        raw = before if backward else after
        return cls(size=size, cursor=decode_cursor(raw, kind, "before" if backward else "after") if raw else None,
                   backward=backward)


@dataclass(frozen=True)
class Page(Generic[T]):
    rows: list[T]
    has_next: bool
    has_previous: bool


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return {"d": str(value)}
    if isinstance(value, dt.datetime):
        return {"ts": value.isoformat()}
    if isinstance(value, dt.date):
        return {"t": value.isoformat()}
    return value


def _typed(value: Any) -> Any:
    if isinstance(value, dict) and "d" in value:
        return Decimal(value["d"])
    if isinstance(value, dict) and "ts" in value:
        return dt.datetime.fromisoformat(value["ts"])
    if isinstance(value, dict) and "t" in value:
        return dt.date.fromisoformat(value["t"])
    return value


def encode_cursor(kind: str, value: Any, row_id: uuid.UUID) -> str:
    payload = orjson.dumps([kind, _plain(value), str(row_id)])
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def decode_cursor(cursor: str, kind: str, field: str) -> tuple[Any, uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        cursor_kind, value, row_id = orjson.loads(base64.urlsafe_b64decode(padded))
        if cursor_kind != kind:
            raise ValueError(cursor_kind)
        return _typed(value), uuid.UUID(row_id)
    except (ValueError, TypeError, orjson.JSONDecodeError):
        raise ServiceError(ErrorCode.INVALID, "This cursor is not valid for this list and order.", field) from None


def window(rows: list[T], request: PageRequest) -> Page[T]:
    """Trim the one-extra row fetched to learn whether more exist; restore order when backward."""
    more = len(rows) > request.size
    rows = rows[: request.size]
    if request.backward:
        rows.reverse()
        return Page(rows, has_next=request.cursor is not None, has_previous=more)
    return Page(rows, has_next=more, has_previous=request.cursor is not None)


def newest_first(statement: Any, key: tuple[Any, Any], request: PageRequest) -> Any:
    """`statement` limited to the requested page over `key` = (timestamp column, id column),
    newest first; fetch it and pass the rows to `window`."""
    descending = not request.backward
    if request.cursor is not None:
        statement = statement.where(tuple_(*key) < request.cursor if descending else tuple_(*key) > request.cursor)
    order = [column.desc() for column in key] if descending else [column.asc() for column in key]
    return statement.order_by(*order).limit(request.size + 1)

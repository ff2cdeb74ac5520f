"""Listing transactions: filters, cursors, and the compiled page reads behind the transactions page."""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import NamedTuple

from sqlalchemy import and_, bindparam, func, or_, tuple_
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from finora_gql.core.db import CompiledRead, any_of, array_of, fetch
from finora_gql.core.pagination import Page, PageRequest, encode_cursor, window
from finora_gql.core.viewer import Viewer
from finora_gql.transactions.ledger import transactions
from finora_gql.transactions.models import Transaction


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
    return transactions.readable(viewer).where(*_conditions(shape)).params(values)


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
    statement = select(*_LISTED_COLUMNS).where(transactions.owned_by(bindparam("user_id")), *_conditions(shape))
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


async def merchants(session: AsyncSession, viewer: Viewer, *, limit: int = 300) -> list[str]:
    """The viewer's merchant names, most used first."""
    statement = transactions.where_visible(
        select(col(Transaction.merchant), func.count())
        .where(col(Transaction.merchant).is_not(None)).group_by(col(Transaction.merchant))
        .order_by(func.count().desc(), col(Transaction.merchant)).limit(limit),
        viewer,
    )
    return [merchant for merchant, _ in (await session.exec(statement)).all()]

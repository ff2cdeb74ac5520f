"""Categories of the viewer: the defaults every account starts with, and their upkeep."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import NamedTuple

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from finora_gql.core.db import fetch
from finora_gql.core.errors import Collector, ErrorCode, ServiceError
from finora_gql.core.owned import Owned
from finora_gql.core.validation import clean_text
from finora_gql.core.viewer import Viewer
from finora_gql.transactions.models import Category, CategoryKind

DEFAULTS: dict[CategoryKind, tuple[str, ...]] = {
    CategoryKind.INCOME: ("Salary", "Freelance", "Interest & Dividends", "Refunds", "Other Income"),
    CategoryKind.EXPENSE: (
        "Groceries", "Restaurants", "Rent & Mortgage", "Utilities", "Transport", "Fuel", "Health",
        "Insurance", "Shopping", "Entertainment", "Subscriptions", "Travel", "Education", "Gifts & Donations",
        "Fees & Charges", "Taxes", "Other Expenses",
    ),
    CategoryKind.TRANSFER: ("Transfers",),
}


categories = Owned(Category, "category")


def readable(viewer: Viewer) -> SelectOfScalar[Category]:
    return categories.readable(viewer)


class CategoryRow(NamedTuple):
    """A category's columns as a plain tuple, for reads that only look at it."""

    id: uuid.UUID
    user_id: uuid.UUID
    name: str
    kind: CategoryKind
    parent_id: uuid.UUID | None
    created_at: dt.datetime


_BY_IDS = categories.compiled_by_ids(CategoryRow._fields)


async def create_defaults(session: AsyncSession, user_id: uuid.UUID) -> None:
    session.add_all(
        Category(user_id=user_id, name=name, kind=kind) for kind, names in DEFAULTS.items() for name in names
    )


async def list_categories(session: AsyncSession, viewer: Viewer, *, kind: CategoryKind | None = None) -> Sequence[Category]:
    statement = readable(viewer)
    if kind is not None:
        statement = statement.where(col(Category.kind) == kind)
    return (await session.exec(statement.order_by(col(Category.kind), col(Category.name)))).all()


async def get_categories(session: AsyncSession, viewer: Viewer, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, CategoryRow]:
    """The viewer's categories among `ids` (for the request's loader: a compiled read, no ORM)."""
    rows = await fetch(session, _BY_IDS, {"user_id": viewer.user_id, "ids": list(ids)})
    return {row[0]: CategoryRow(row[0], row[1], row[2], CategoryKind(row[3]), *row[4:]) for row in rows}


async def get_category(session: AsyncSession, viewer: Viewer, category_id: uuid.UUID, *, field: str = "categoryId") -> Category:
    return await categories.get(session, viewer, category_id, field=field)


async def create_category(
    session: AsyncSession, viewer: Viewer, *, name: str, kind: CategoryKind, parent_id: uuid.UUID | None = None
) -> Category:
    errors = Collector()  # every problem of the input, not only the first
    cleaned_name = errors.check(clean_text, name, field="name", max_length=60)
    parent = await errors.check_async(_parent_of_kind(session, viewer, parent_id, kind)) if parent_id is not None else None
    errors.raise_any()
    category = Category(user_id=viewer.user_id, name=cleaned_name, kind=kind, parent_id=parent.id if parent else None)
    return await _save(session, category)


async def _parent_of_kind(session: AsyncSession, viewer: Viewer, parent_id: uuid.UUID, kind: CategoryKind) -> Category:
    parent = await get_category(session, viewer, parent_id, field="parentId")
    if parent.kind != kind:
        raise ServiceError(ErrorCode.INVALID, "A subcategory must be of its parent's kind.", "parentId")
    return parent


async def update_category(
    session: AsyncSession, viewer: Viewer, category_id: uuid.UUID, *, name: str | None = None,
    parent_id: uuid.UUID | None = None, clear_parent: bool = False,
) -> Category:
    category = await get_category(session, viewer, category_id, field="id")
    errors = Collector()  # every problem of the input, not only the first
    cleaned_name = errors.check(clean_text, name, field="name", max_length=60) if name is not None else None
    new_parent = not clear_parent and parent_id is not None
    parent = await errors.check_async(_new_parent(session, viewer, category, parent_id)) if new_parent else None
    errors.raise_any()
    if cleaned_name is not None:
        category.name = cleaned_name
    if clear_parent:
        category.parent_id = None
    elif parent is not None:
        category.parent_id = parent.id
    return await _save(session, category)


async def _new_parent(session: AsyncSession, viewer: Viewer, category: Category, parent_id: uuid.UUID) -> Category:
    parent = await get_category(session, viewer, parent_id, field="parentId")
    if category.id in ancestry(parent.id, await parents(session, viewer)) or parent.kind != category.kind:
        raise ServiceError(ErrorCode.INVALID, "This parent would make a cycle or mix kinds.", "parentId")
    return parent


async def parents(session: AsyncSession, viewer: Viewer) -> dict[uuid.UUID, uuid.UUID | None]:
    """Each of the viewer's categories' parent (None at the top)."""
    rows = await session.exec(categories.where_visible(select(Category.id, Category.parent_id), viewer))
    return dict(rows.all())


def ancestry(category_id: uuid.UUID, parents: dict[uuid.UUID, uuid.UUID | None]) -> list[uuid.UUID]:
    """The category, then its parent, its parent's parent... (stopping at a cycle, should one exist)."""
    chain: list[uuid.UUID] = []
    node: uuid.UUID | None = category_id
    while node is not None and node not in chain:
        chain.append(node)
        node = parents.get(node)
    return chain


async def _save(session: AsyncSession, category: Category) -> Category:
    session.add(category)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise ServiceError(ErrorCode.ALREADY_EXISTS, "You already have a category with this name.", "name") from None
    return category

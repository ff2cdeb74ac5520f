"""The ownership kit: the one place that decides whose rows a read may see.

Every table of user data has a `user_id`. A domain declares one `Owned` per model, next to the
model's service, and reads through it:

    budgets = Owned(Budget, "budget")
    budgets.readable(viewer)                       # SELECT ... WHERE user_id = viewer's
    await budgets.get(session, viewer, id, field="budgetId")   # the row, or NOT_FOUND on field
    await budgets.by_ids(session, viewer, ids)     # {id: row} of the viewer's rows among ids
    budgets.compiled_by_ids(fields)                # the same as a CompiledRead (hot loaders)

Reads that deliberately cross owners (an administrator's console, a system job sweeping every
user) pass `SYSTEM`, an explicit actor that is never a request's viewer; a job working for one
person uses `Viewer.acting_for(user_id)` and sees exactly what that person sees. Nothing else
writes a `user_id` filter by hand: `tests/test_ownership_kit.py` fails when one appears
outside this module and its short allow-list.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import bindparam
from sqlalchemy import select as sa_select
from sqlalchemy.sql.elements import BindParameter, ColumnElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from finora_gql.core.db import CompiledRead, any_of, array_of
from finora_gql.core.errors import ErrorCode, ServiceError
from finora_gql.core.viewer import Viewer

M = TypeVar("M")


@dataclass(frozen=True)
class SystemActor:
    """Whoever reads across owners on purpose (admin console, periodic sweeps). Named, so a
    grep finds every such read; a request never carries one."""

    reason: str


SYSTEM = SystemActor("system")
Actor = Viewer | SystemActor


def user_filter(user_column: Any, user_id: uuid.UUID | BindParameter[Any]) -> ColumnElement[bool]:
    """`user_column = user_id`: the rule itself, for tables without a model (SQL views and
    aggregates) and for compiled reads, where `user_id` is a bind parameter."""
    return user_column == user_id


def user_sql(column: str = "user_id", parameter: str = "user_id") -> str:
    """The rule as a fragment of hand-written SQL (`text()` statements over aggregate tables):
    `column = :parameter`, the person's id bound by name at execution time."""
    if not (column.replace("_", "").replace(".", "").isalnum() and parameter.replace("_", "").isalnum()):
        raise ValueError(f"not an identifier: {column!r} / {parameter!r}")
    return f"{column} = :{parameter}"


def owner_id(actor: Viewer) -> uuid.UUID:
    """The id a per-person computation binds as its owner (the totals' raw SQL). A person's
    figures are always someone's: the system actor has none to give."""
    if isinstance(actor, SystemActor):  # pragma: no cover - a programming error
        raise TypeError("per-person figures need a person's viewer, not the system actor")
    return actor.user_id


class Owned(Generic[M]):
    """Ownership and the common reads of one model of user data.

    `noun` names the model in errors ("No budget of yours has this id.").
    """

    def __init__(self, model: type[M], noun: str, *, owner: str = "user_id", options: Sequence[Any] = ()) -> None:
        self.model = model
        self.noun = noun
        self._owner = owner
        # Loader options every read of whole rows takes (e.g. deferring a column nobody reads).
        self._options = tuple(options)

    @property
    def owner_column(self) -> Any:
        return col(getattr(self.model, self._owner))

    @property
    def id_column(self) -> Any:
        return col(self.model.id)  # type: ignore[attr-defined]

    def owned_by(self, user_id: uuid.UUID | BindParameter[Any]) -> ColumnElement[bool]:
        """The ownership condition for one user (or a bind parameter in a compiled read)."""
        return user_filter(self.owner_column, user_id)

    def visible_to(self, actor: Actor) -> ColumnElement[bool] | None:
        """The condition an actor's reads add: none for the system actor."""
        if isinstance(actor, SystemActor):
            return None
        return self.owned_by(actor.user_id)

    def readable(self, actor: Actor) -> SelectOfScalar[M]:
        """`SELECT model` of the rows `actor` may read: start every read from here."""
        statement = select(self.model)
        if self._options:
            statement = statement.options(*self._options)
        return self.where_visible(statement, actor)

    def where_visible(self, statement: Any, actor: Actor) -> Any:
        """`statement` (any select touching this model) kept to the rows `actor` may read."""
        condition = self.visible_to(actor)
        return statement if condition is None else statement.where(condition)

    async def find(self, session: AsyncSession, actor: Actor, row_id: uuid.UUID, *, for_update: bool = False) -> M | None:
        """The row if `actor` may read it, else None."""
        statement = self.readable(actor).where(self.id_column == row_id)
        if for_update:
            statement = statement.with_for_update()
        return (await session.exec(statement)).first()

    async def get(self, session: AsyncSession, actor: Actor, row_id: uuid.UUID, *, field: str | None = "id",
                  for_update: bool = False) -> M:
        """The row, or `ServiceError(NOT_FOUND)` on `field`: another person's row and a missing
        one are the same answer, so ids reveal nothing."""
        row = await self.find(session, actor, row_id, for_update=for_update)
        if row is None:
            raise self.not_found(field)
        return row

    def not_found(self, field: str | None) -> ServiceError:
        return ServiceError(ErrorCode.NOT_FOUND, f"No {self.noun} of yours has this id.", field)

    async def by_ids(self, session: AsyncSession, actor: Actor, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, M]:
        """`{id: row}` of the rows among `ids` that `actor` may read (for loaders)."""
        if not ids:
            return {}
        rows = await session.exec(self.readable(actor).where(any_of(self.id_column, list(ids))))
        return {row.id: row for row in rows.all()}  # type: ignore[attr-defined]

    def compiled_by_ids(self, fields: Sequence[str]) -> CompiledRead:
        """A compiled read of `fields` of the rows whose ids are bound as `ids`, kept to those of
        the user bound as `user_id` (a request's hot by-ids loader)."""
        id_column = self.model.__table__.c.id  # type: ignore[attr-defined]
        return CompiledRead(
            sa_select(*(getattr(self.model, name) for name in fields)).where(
                self.owned_by(bindparam("user_id")),
                any_of(id_column, bindparam("ids", type_=array_of(id_column.type))),
            )
        )

"""The user directory for the admin console: search and filter people, a page at a time."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from finora_gql.core.pagination import Page, PageRequest, encode_cursor, newest_first, window
from finora_gql.users.models import Role, User

CURSOR_KIND = "admin-user"


def _filtered(*, search: str | None, role: Role | None, banned: bool | None, locked: bool | None, locked_ids: Any) -> Any:
    statement = select(User)
    if search:
        pattern = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_").lower() + "%"
        statement = statement.where(or_(func.lower(col(User.email)).like(pattern, escape="\\"),
                                        func.lower(col(User.name)).like(pattern, escape="\\")))
    if role is not None:
        statement = statement.where(col(User.role) == role)
    if banned is not None:
        statement = statement.where(col(User.banned_at).is_not(None) if banned else col(User.banned_at).is_(None))
    if locked is not None:
        statement = statement.where(col(User.id).in_(locked_ids) if locked else col(User.id).not_in(locked_ids))
    return statement


async def search_users(
    session: AsyncSession, *, search: str | None, role: Role | None, banned: bool | None, locked: bool | None,
    locked_ids: Any, page: PageRequest,
) -> Page[User]:
    statement = _filtered(search=search, role=role, banned=banned, locked=locked, locked_ids=locked_ids)
    statement = newest_first(statement, (col(User.created_at), col(User.id)), page)
    return window(list((await session.exec(statement)).all()), page)


async def count_users(session: AsyncSession, *, search: str | None, role: Role | None, banned: bool | None,
                      locked: bool | None, locked_ids: Any) -> int:
    statement = _filtered(search=search, role=role, banned=banned, locked=locked, locked_ids=locked_ids)
    return (await session.exec(select(func.count()).select_from(statement.subquery()))).one()


def cursor_of(user: User) -> str:
    return encode_cursor(CURSOR_KIND, user.created_at, user.id)

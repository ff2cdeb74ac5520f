"""Users: lookup, creation, profile and standing. Every function takes the session first."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import bindparam
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from finora_gql.core import clock
from finora_gql.core.db import CompiledRead, fetch
from finora_gql.core.errors import Collector, ErrorCode, ServiceError
from finora_gql.core.models import touched
from finora_gql.core.validation import clean_currency, clean_text, clean_timezone
from finora_gql.core.viewer import Viewer
from finora_gql.users.models import Role, User

NAME_MAX = 120


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    """The user by id, whoever asks: for the system (sign-in, jobs) and for a person's own row.
    A lookup on behalf of a viewer goes through `visible_user`."""
    return await session.get(User, user_id)


@dataclass(frozen=True)
class Basics:
    """What background jobs need of a person: where to write, their zone and currency."""

    email: str
    timezone: str
    base_currency: str


_BASICS = CompiledRead(select(User.email, User.timezone, User.base_currency).where(col(User.id) == bindparam("id")))


async def basics(session: AsyncSession, user_id: uuid.UUID) -> Basics | None:
    """`get_user`'s few columns for a hot job (one compiled read, no ORM object)."""
    rows = await fetch(session, _BASICS, {"id": user_id})
    return Basics(*rows[0]) if rows else None


async def visible_user(session: AsyncSession, viewer: Viewer, user_id: uuid.UUID) -> User | None:
    """The user if `viewer` may see them (themselves; administrators see everyone), else None:
    another person's id and a missing one are the same answer."""
    if not (viewer.is_admin or user_id == viewer.user_id):  # owned: allow-listed in test_ownership_kit
        return None
    return await get_user(session, user_id)


async def get_user_by_email(session: AsyncSession, email: str) -> User | None:
    """`email` must already be normalised (see core.validation.clean_email)."""
    return (await session.exec(select(User).where(User.email == email))).first()


def unsaved_user(*, email: str, name: str) -> User:
    """A user as `create_user` would make it, never stored (register's answer for a known email)."""
    return User(email=email, name=clean_text(name, field="name", max_length=NAME_MAX), role=Role.USER)


async def create_user(session: AsyncSession, *, email: str, name: str, role: Role = Role.USER) -> User:
    user = User(email=email, name=clean_text(name, field="name", max_length=NAME_MAX), role=role)
    session.add(user)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise ServiceError(ErrorCode.ALREADY_EXISTS, "An account with this email already exists.", "email") from exc
    return user


async def update_profile(
    session: AsyncSession,
    user: User,
    *,
    name: str | None = None,
    base_currency: str | None = None,
    timezone: str | None = None,
) -> User:
    """Write the fields only. A person's change goes through `users.profile.update_profile`, which
    also converts their budget limits to a new base currency and tells the wallet."""
    errors = Collector()  # every problem of the input, not only the first
    cleaned_name = errors.check(clean_text, name, field="name", max_length=NAME_MAX) if name is not None else None
    currency = errors.check(clean_currency, base_currency, field="baseCurrency") if base_currency is not None else None
    zone = errors.check(clean_timezone, timezone) if timezone is not None else None
    errors.raise_any()
    if cleaned_name is not None:
        user.name = cleaned_name
    if currency is not None:
        user.base_currency = currency
    if zone is not None:
        user.timezone = zone
    touched(user)
    session.add(user)
    return user


async def mark_email_verified(session: AsyncSession, user: User) -> None:
    if user.email_verified_at is None:
        user.email_verified_at = clock.now()
        touched(user)
        session.add(user)


async def set_banned(session: AsyncSession, user: User, *, banned: bool, reason: str | None = None) -> None:
    user.banned_at = clock.now() if banned else None
    user.ban_reason = reason if banned else None
    touched(user)
    session.add(user)


async def set_role(session: AsyncSession, user: User, role: Role) -> None:
    user.role = role
    touched(user)
    session.add(user)

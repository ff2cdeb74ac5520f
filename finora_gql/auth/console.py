"""What the admin console may read of sign-in: sessions, last sign-in, lockouts (never secrets)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from finora_gql.auth.models import AuthSession, Credential
from finora_gql.core import clock
from finora_gql.core.db import any_of
from finora_gql.core.owned import Owned

auth_sessions = Owned(AuthSession, "session")


def locked_user_ids() -> Any:
    """A subquery of the ids of users whose sign-in is locked now."""
    return select(Credential.user_id).where(col(Credential.locked_until) > clock.now())


async def locked_until(session: AsyncSession, user_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, dt.datetime]:
    if not user_ids:
        return {}
    rows = (await session.exec(select(Credential.user_id, Credential.locked_until).where(
        any_of(col(Credential.user_id), list(user_ids)), col(Credential.locked_until) > clock.now()))).all()
    return {user_id: until for user_id, until in rows}


async def sessions_of(session: AsyncSession, user_id: uuid.UUID, *, limit: int = 50) -> Sequence[AuthSession]:
    """A user's sign-in sessions, newest first (revoked ones too, with why)."""
    from finora_gql.core.viewer import Viewer

    statement = auth_sessions.readable(Viewer.acting_for(user_id)).order_by(
        col(AuthSession.created_at).desc()).limit(limit)
    return (await session.exec(statement)).all()


async def last_sign_in(session: AsyncSession, user_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, dt.datetime]:
    if not user_ids:
        return {}
    rows = (await session.exec(select(AuthSession.user_id, func.max(AuthSession.created_at)).where(
        any_of(col(AuthSession.user_id), list(user_ids))).group_by(col(AuthSession.user_id)))).all()
    return {user_id: at for user_id, at in rows}


async def live_session_count(session: AsyncSession, user_id: uuid.UUID) -> int:
    from finora_gql.core.viewer import Viewer

    statement = auth_sessions.where_visible(select(func.count()).select_from(AuthSession), Viewer.acting_for(user_id))
    return (await session.exec(statement.where(col(AuthSession.revoked_at).is_(None)))).one()

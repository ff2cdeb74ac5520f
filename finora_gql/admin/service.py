"""Administrative actions on users. Every action is written to the audit log."""

from __future__ import annotations

import uuid

from sqlmodel.ext.asyncio.session import AsyncSession

from finora_gql.admin import audit
from finora_gql.auth import service as auth
from finora_gql.core.errors import ErrorCode, ServiceError
from finora_gql.core.runtime import Runtime
from finora_gql.core.validation import clean_text
from finora_gql.core.viewer import Viewer, require_admin
from finora_gql.notifications import service as notifications
from finora_gql.notifications.models import NotificationKind
from finora_gql.users import service as users
from finora_gql.users.models import User


async def _tell(session: AsyncSession, rt: Runtime, user: User, title: str, body: str) -> None:
    """Admin actions that affect someone are told to them (in the app and by email)."""
    await notifications.notify(
        session, rt, Viewer.acting_for(user.id), kind=NotificationKind.ADMIN_ACTION, title=title, body=body, email_to=user.email
    )


async def _target(session: AsyncSession, viewer: Viewer, user_id: uuid.UUID) -> User:
    user = await users.get_user(session, user_id)
    if user is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "No user has this id.", "userId")
    if user.id == viewer.user_id:
        raise ServiceError(ErrorCode.INVALID, "Administrators cannot do this to their own account.", "userId")
    return user


async def ban_user(session: AsyncSession, rt: Runtime, viewer: Viewer, user_id: uuid.UUID, *, reason: str) -> User:
    require_admin(viewer)
    reason = clean_text(reason, field="reason", max_length=500)
    user = await _target(session, viewer, user_id)
    await users.set_banned(session, user, banned=True, reason=reason)
    await auth.revoke_all_sessions(session, rt, user.id, reason="banned")
    audit.record(session, viewer, "user.ban", user.id, {"reason": reason})
    await _tell(session, rt, user, "Your Finora account was suspended", f"Reason: {reason}")
    return user


async def unban_user(session: AsyncSession, rt: Runtime, viewer: Viewer, user_id: uuid.UUID) -> User:
    require_admin(viewer)
    user = await _target(session, viewer, user_id)
    await users.set_banned(session, user, banned=False)
    audit.record(session, viewer, "user.unban", user.id)
    await _tell(session, rt, user, "Your Finora account is active again", "You can sign in again.")
    return user


async def unlock_user(session: AsyncSession, rt: Runtime, viewer: Viewer, user_id: uuid.UUID) -> User:
    require_admin(viewer)
    user = await _target(session, viewer, user_id)
    await auth.unlock(session, user.id)
    audit.record(session, viewer, "user.unlock", user.id)
    await _tell(session, rt, user, "Your Finora account was unlocked", "An administrator lifted the sign-in lock.")
    return user

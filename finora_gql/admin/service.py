"""The admin console: users, audit log, catalog, dead-lettered jobs. Every mutation writes
exactly one audit row (`audit.record`) in its own transaction, with the values it changed."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from finora_gql.admin import audit
from finora_gql.admin.audit import AuditAction
from finora_gql.admin.models import AuditLog
from finora_gql.auth import console as sign_ins
from finora_gql.auth import service as auth
from finora_gql.core import dead_letters
from finora_gql.core.db import after_commit
from finora_gql.core.errors import ErrorCode, ServiceError
from finora_gql.core.pagination import Page, PageRequest, encode_cursor, newest_first, window
from finora_gql.core.runtime import Runtime
from finora_gql.core.validation import clean_text
from finora_gql.core.viewer import Viewer, require_admin
from finora_gql.gamification import catalog_admin as catalog
from finora_gql.gamification import processing
from finora_gql.gamification import service as gamification
from finora_gql.notifications import service as notifications
from finora_gql.notifications.models import NotificationKind
from finora_gql.users import directory
from finora_gql.users import service as users
from finora_gql.users.models import Role, User


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
    before = {"banned": False, "ban_reason": user.ban_reason}
    was_banned = user.banned_at is not None
    await users.set_banned(session, user, banned=True, reason=reason)
    await auth.revoke_all_sessions(session, rt, user.id, reason="banned")
    audit.record(session, viewer, AuditAction.USER_BAN, user.id,
                 audit.changes({**before, "banned": was_banned}, {"banned": True, "ban_reason": reason}))
    await _tell(session, rt, user, "Your Finora account was suspended", f"Reason: {reason}")
    return user


async def unban_user(session: AsyncSession, rt: Runtime, viewer: Viewer, user_id: uuid.UUID) -> User:
    require_admin(viewer)
    user = await _target(session, viewer, user_id)
    before = {"banned": user.banned_at is not None, "ban_reason": user.ban_reason}
    await users.set_banned(session, user, banned=False)
    audit.record(session, viewer, AuditAction.USER_UNBAN, user.id,
                 audit.changes(before, {"banned": False, "ban_reason": user.ban_reason}))
    await _tell(session, rt, user, "Your Finora account is active again", "You can sign in again.")
    return user


async def unlock_user(session: AsyncSession, rt: Runtime, viewer: Viewer, user_id: uuid.UUID) -> User:
    require_admin(viewer)
    user = await _target(session, viewer, user_id)
    locked = await sign_ins.locked_until(session, [user.id])
    await auth.unlock(session, user.id)
    audit.record(session, viewer, AuditAction.USER_UNLOCK, user.id,
                 audit.changes({"locked_until": locked.get(user.id)}, {"locked_until": None}))
    await _tell(session, rt, user, "Your Finora account was unlocked", "An administrator lifted the sign-in lock.")
    return user


async def set_user_role(session: AsyncSession, rt: Runtime, viewer: Viewer, user_id: uuid.UUID, role: Role) -> User:
    require_admin(viewer)
    user = await _target(session, viewer, user_id)
    before = user.role
    await users.set_role(session, user, role)
    if before is not role:
        rt.session_cache.forget_user(user.id)  # their next request reads the new role
    audit.record(session, viewer, AuditAction.USER_SET_ROLE, user.id, audit.changes({"role": before}, {"role": role}))
    return user


async def revoke_user_sessions(session: AsyncSession, rt: Runtime, viewer: Viewer, user_id: uuid.UUID) -> tuple[User, int]:
    require_admin(viewer)
    user = await _target(session, viewer, user_id)
    live = await sign_ins.live_session_count(session, user.id)
    revoked = await auth.revoke_all_sessions(session, rt, user.id, reason="admin")
    audit.record(session, viewer, AuditAction.USER_REVOKE_SESSIONS, user.id,
                 audit.changes({"live_sessions": live}, {"live_sessions": live - revoked}))
    return user, revoked


# --- the user directory -------------------------------------------------------------------------


@dataclass(frozen=True)
class UserFilter:
    search: str | None = None
    role: Role | None = None
    banned: bool | None = None
    locked: bool | None = None


async def list_users(session: AsyncSession, viewer: Viewer, spec: UserFilter, *, page: PageRequest) -> Page[User]:
    require_admin(viewer)
    search = clean_text(spec.search, field="search", max_length=100, required=False) if spec.search else None
    return await directory.search_users(session, search=search, role=spec.role, banned=spec.banned,
                                        locked=spec.locked, locked_ids=sign_ins.locked_user_ids(), page=page)


async def count_users(session: AsyncSession, viewer: Viewer, spec: UserFilter) -> int:
    require_admin(viewer)
    search = clean_text(spec.search, field="search", max_length=100, required=False) if spec.search else None
    return await directory.count_users(session, search=search, role=spec.role, banned=spec.banned,
                                       locked=spec.locked, locked_ids=sign_ins.locked_user_ids())


async def user_detail_counts(session: AsyncSession, viewer: Viewer, user_id: uuid.UUID) -> dict[str, int]:
    """How much data a person has: counts only, never the data (their transactions stay theirs)."""
    from finora_gql.accounts import service as accounts
    from finora_gql.budgets import service as budgets
    from finora_gql.imports import service as imports
    from finora_gql.transactions import service as transactions
    from finora_gql.transactions.service import Filter

    require_admin(viewer)
    person = Viewer.acting_for(user_id)
    earned = await gamification.user_counts(session, user_id)
    return {
        "accounts": len(await accounts.list_accounts(session, person, include_archived=True)),
        "transactions": await transactions.count_transactions(session, person, spec=Filter()),
        "goals": len(await budgets.list_goals(session, person)),
        "imports": await imports.count_imports(session, person),
        "awards": earned["awards"],
        "points": earned["points"],
    }


# --- the audit log ------------------------------------------------------------------------------

AUDIT_CURSOR = "audit"


@dataclass(frozen=True)
class AuditFilter:
    actor_id: uuid.UUID | None = None
    action: AuditAction | None = None
    target_id: uuid.UUID | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


async def list_audit(session: AsyncSession, viewer: Viewer, spec: AuditFilter, *, page: PageRequest) -> Page[AuditLog]:
    require_admin(viewer)
    statement = select(AuditLog)
    if spec.actor_id is not None:
        statement = statement.where(col(AuditLog.actor_id) == spec.actor_id)
    if spec.action is not None:
        statement = statement.where(col(AuditLog.action) == spec.action.value)
    if spec.target_id is not None:
        statement = statement.where(col(AuditLog.target_id) == spec.target_id)
    if spec.since is not None:
        statement = statement.where(col(AuditLog.created_at) >= spec.since)
    if spec.until is not None:
        statement = statement.where(col(AuditLog.created_at) < spec.until)
    statement = newest_first(statement, (col(AuditLog.created_at), col(AuditLog.id)), page)
    return window(list((await session.exec(statement)).all()), page)


def audit_cursor(row: AuditLog) -> str:
    return encode_cursor(AUDIT_CURSOR, row.created_at, row.id)


# --- catalog --------------------------------------------------------------------------------------
# One audited action per verb, for any kind of entry: its audit action is "<noun>.<verb>".


async def create_entry(session: AsyncSession, viewer: Viewer, kind: catalog.Catalog, draft: Any) -> Any:
    require_admin(viewer)
    row, changed = await kind.create(session, viewer, draft)
    audit.record(session, viewer, AuditAction(f"{kind.noun}.create"), row.id, changed)
    return row


async def update_entry(session: AsyncSession, viewer: Viewer, kind: catalog.Catalog, entry_id: uuid.UUID,
                       draft: Any) -> Any:
    require_admin(viewer)
    row, changed = await kind.update(session, viewer, entry_id, draft)
    audit.record(session, viewer, AuditAction(f"{kind.noun}.update"), row.id, changed)
    return row


async def retire_entry(session: AsyncSession, viewer: Viewer, kind: catalog.Catalog, entry_id: uuid.UUID) -> Any:
    require_admin(viewer)
    row, changed = await kind.retire(session, entry_id)
    audit.record(session, viewer, AuditAction(f"{kind.noun}.retire"), row.id, changed)
    return row


async def recompute_gamification(session: AsyncSession, rt: Runtime, viewer: Viewer, user_id: uuid.UUID):
    require_admin(viewer)
    result = await processing.recompute(session, rt, user_id)
    audit.record(session, viewer, AuditAction.GAMIFICATION_RECOMPUTE, user_id,
                 {"events_replayed": {"before": None, "after": result.events},
                  "awards_added": {"before": None, "after": result.awards_added}})
    return result


# --- dead-lettered jobs ---------------------------------------------------------------------------


async def list_dead_letters(viewer: Viewer, *, limit: int = 100) -> Sequence[dead_letters.DeadLetter]:
    require_admin(viewer)
    return await asyncio.to_thread(dead_letters.list_dead_letters, limit)


def _job_target(dead_id: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(dead_id.partition("/")[2])
    except ValueError:
        return None


async def _settle_dead_letter(session: AsyncSession, viewer: Viewer, dead_id: str, action: AuditAction, after: str,
                              settle: Callable[[str], object]) -> dead_letters.DeadLetter:
    """Audit an action on a dead-lettered job, then `settle` it once that commits (a job moved but
    not audited would be worse than an audit row for a no-op)."""
    require_admin(viewer)
    letter = await asyncio.to_thread(dead_letters.peek, dead_id)
    if letter is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "No dead-lettered job has this id.", "id")
    audit.record(session, viewer, action, _job_target(dead_id),
                 {"state": {"before": "DEAD_LETTERED", "after": after}, "actor": {"before": None, "after": letter.actor}})

    async def move() -> None:
        await asyncio.to_thread(settle, dead_id)

    after_commit(session, move)
    return letter


async def retry_dead_letter(session: AsyncSession, viewer: Viewer, dead_id: str) -> dead_letters.DeadLetter:
    """Put a dead-lettered job back on its queue."""
    return await _settle_dead_letter(session, viewer, dead_id, AuditAction.JOB_RETRY, "QUEUED", dead_letters.retry)


async def discard_dead_letter(session: AsyncSession, viewer: Viewer, dead_id: str) -> dead_letters.DeadLetter:
    return await _settle_dead_letter(session, viewer, dead_id, AuditAction.JOB_DISCARD, "DISCARDED",
                                     dead_letters.discard)

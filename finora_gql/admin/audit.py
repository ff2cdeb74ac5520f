"""The audit trail's one writer: every administrative mutation calls `record` once, in the
same transaction as its change, with the values that changed (before and after). So does a
person's confirmation of an assistant proposal (a change made on a model's suggestion)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from finora_gql.admin.models import AuditLog
from finora_gql.core import clock
from finora_gql.core.owned import Actor, SystemActor


class AuditAction(str, Enum):
    USER_BAN = "user.ban"
    USER_UNBAN = "user.unban"
    USER_UNLOCK = "user.unlock"
    USER_SET_ROLE = "user.set_role"
    USER_REVOKE_SESSIONS = "user.revoke_sessions"
    BADGE_CREATE = "badge.create"
    BADGE_UPDATE = "badge.update"
    BADGE_RETIRE = "badge.retire"
    CHALLENGE_CREATE = "challenge.create"
    CHALLENGE_UPDATE = "challenge.update"
    CHALLENGE_RETIRE = "challenge.retire"
    REWARD_CREATE = "reward.create"
    REWARD_UPDATE = "reward.update"
    REWARD_RETIRE = "reward.retire"
    JOB_RETRY = "job.retry"
    JOB_DISCARD = "job.discard"
    GAMIFICATION_RECOMPUTE = "gamification.recompute"
    FX_RATE_SET = "fx_rate.set"
    ASSISTANT_PROPOSAL_CONFIRM = "assistant.proposal_confirm"


def plain(value: Any) -> Any:
    """A value as JSON keeps it (money as a string, times as ISO)."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [plain(v) for v in value]
    return value


def changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """`{field: {"before": b, "after": a}}` for the fields whose value differs."""
    return {name: {"before": plain(before.get(name)), "after": plain(after.get(name))}
            for name in sorted(set(before) | set(after)) if plain(before.get(name)) != plain(after.get(name))}


def record(
    session: AsyncSession, actor: Actor, action: AuditAction | str, target_id: uuid.UUID | None,
    changes: dict[str, Any] | None = None,
) -> AuditLog:
    """Write the audit row of one administrative action, in the caller's transaction. The system
    actor (the demo seed, a sweep) has no user id: its reason is kept in the details instead."""
    details = plain(changes or {})
    if isinstance(actor, SystemActor):
        details["system"] = actor.reason
    row = AuditLog(actor_id=None if isinstance(actor, SystemActor) else actor.user_id,
                   action=AuditAction(action).value, target_id=target_id, details=details, created_at=clock.now())
    session.add(row)
    return row

"""The audit trail's one writer: every administrative action, in the transaction that makes it."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from finora_gql.admin.models import AuditLog
from finora_gql.core.owned import Actor, SystemActor


def record(
    session: AsyncSession, actor: Actor, action: str, target: uuid.UUID | None = None,
    changes: dict[str, Any] | None = None,
) -> AuditLog:
    """Add an audit row for `action` by `actor` on `target` (a user's id, or None for shared
    data such as exchange rates) with what changed; it commits or rolls back with the action.
    The system actor has no user id: its reason is kept in the details instead."""
    details = dict(changes or {})
    if isinstance(actor, SystemActor):
        details["system"] = actor.reason
        actor_id = None
    else:
        actor_id = actor.user_id
    entry = AuditLog(actor_id=actor_id, action=action, target_id=target, details=details)
    session.add(entry)
    return entry

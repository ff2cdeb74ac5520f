"""The audit trail's one writer: every administrative action, in the transaction that makes it."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from finora_gql.admin.models import AuditLog
from finora_gql.core.viewer import Viewer


def record(
    session: AsyncSession, viewer: Viewer, action: str, target: uuid.UUID | None = None,
    changes: dict[str, Any] | None = None,
) -> AuditLog:
    """Add an audit row for `action` by `viewer` on `target` (a user's id, or None for shared
    data such as exchange rates) with what changed; it commits or rolls back with the action."""
    entry = AuditLog(actor_id=viewer.user_id, action=action, target_id=target, details=dict(changes or {}))
    session.add(entry)
    return entry

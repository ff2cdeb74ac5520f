"""Who is asking: the authenticated person behind a request, resolved once per request."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from finora_gql.core.errors import Forbidden


@dataclass(frozen=True)
class Viewer:
    user_id: uuid.UUID
    session_id: uuid.UUID
    is_admin: bool = False

    @classmethod
    def acting_for(cls, user_id: uuid.UUID) -> Viewer:
        """A background job working on one user's data: sees exactly what that user sees."""
        return cls(user_id=user_id, session_id=uuid.UUID(int=0))


def require_admin(viewer: Viewer) -> None:
    """Refuse (a top-level FORBIDDEN) unless `viewer` is an administrator: checked by the service
    that does the work, so a worker or the assistant is held to it exactly as the API is."""
    if not viewer.is_admin:
        raise Forbidden("Only administrators can do this.")


def user_channel(user_id: uuid.UUID) -> str:
    """The pub/sub channel carrying one user's realtime events."""
    return f"finora:user:{user_id}"


# Published on a user's channel when sessions are revoked; live streams re-check theirs.
SESSIONS_REVOKED = "SESSIONS_REVOKED"

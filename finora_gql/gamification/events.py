"""The one call other domains make: `record(session, viewer, EventKind.X, payload)`.

The event is written in the caller's transaction (so it exists exactly when its cause does) and
a job processes it after commit. A crash between commit and enqueue leaves it pending; the
period-close sweep processes pending events it finds (`processing.sweep_pending`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from finora_gql.core import clock
from finora_gql.core.jobs import enqueue_after_commit
from finora_gql.core.viewer import Viewer
from finora_gql.gamification.models import EventKind, GamificationEvent

__all__ = ["EventKind", "PROCESS_ACTOR", "record", "transactions_payload"]

PROCESS_ACTOR = "gamification_process"


def record(
    session: AsyncSession, viewer: Viewer, kind: EventKind, payload: dict[str, Any] | None = None, *,
    dedup_key: str | None = None,
) -> GamificationEvent:
    """Record that `kind` happened to the viewer, in this transaction; processed after commit."""
    user_id = viewer.user_id
    now = clock.now()
    event = GamificationEvent(user_id=user_id, kind=kind, payload=payload or {}, dedup_key=dedup_key,
                              occurred_at=now, created_at=now)
    session.add(event)
    enqueue_after_commit(session, PROCESS_ACTOR, str(event.id))
    return event


def transactions_payload(rows: Iterable[Any], *, imported: bool = False) -> dict[str, Any]:
    """What the rules need of created ledger rows (never more: no merchants, no notes)."""
    return {"transactions": [
        {"id": str(row.id), "date": row.date.isoformat(), "transfer": row.transfer_id is not None,
         "imported": imported or getattr(row, "import_id", None) is not None}
        for row in rows
    ]}

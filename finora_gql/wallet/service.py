"""(Lead's interim file so ledger writers can run; the wallet engineer replaces it with the real
service: caching, invalidation and analytics.)"""

from __future__ import annotations

import uuid

from sqlmodel.ext.asyncio.session import AsyncSession

from finora_gql.core.runtime import Runtime


def wallet_changed(session: AsyncSession, rt: Runtime, user_id: uuid.UUID) -> None:
    """Called by every ledger write; the cached summaries of `user_id` become stale."""

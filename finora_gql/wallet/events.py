"""The wallet's one event: a person's balances or summaries changed. Apart from the wallet
service so the ledger and accounts (which the wallet reads) can raise it without a cycle."""

from __future__ import annotations

import uuid

from sqlmodel.ext.asyncio.session import AsyncSession

from finora_gql.core.db import after_commit
from finora_gql.core.runtime import Runtime
from finora_gql.core.viewer import user_channel

WALLET_CHANGED = "WALLET_CHANGED"


def user_version_key(user_id: uuid.UUID) -> str:
    """The cache version of one person's wallet answers (bumped by every change)."""
    return f"wallet:user:{user_id}"


def wallet_changed(session: AsyncSession, rt: Runtime, user_id: uuid.UUID) -> None:
    """Every ledger write calls this: after commit the user's cached summaries are stale and
    their live `walletChanged` subscriptions hear about it."""

    async def notify() -> None:
        await rt.cache.bump(user_version_key(user_id))
        await rt.pubsub.publish(user_channel(user_id), {"kind": WALLET_CHANGED})

    after_commit(session, notify)

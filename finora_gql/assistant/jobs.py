"""Upkeep of retrieval context, called by the assistant's jobs."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import distinct
from sqlmodel import col, select

from finora_gql.assistant import rag
from finora_gql.assistant.models import Conversation
from finora_gql.assistant.service import conversations
from finora_gql.core import clock
from finora_gql.core.owned import SYSTEM
from finora_gql.core.runtime import Runtime

REFRESH_COOLDOWN_SECONDS = 300
STALL_MARGIN_SECONDS = 300


async def refresh_active_users(rt: Runtime, *, days: int = 30) -> int:
    since = clock.now() - dt.timedelta(days=days)
    async with rt.sessions() as session:
        await rag.ensure_corpus(session, rt)
        await session.commit()
        statement = conversations.where_visible(
            select(distinct(Conversation.user_id)).where(col(Conversation.updated_at) >= since), SYSTEM)
        user_ids = (await session.exec(statement)).all()
    for user_id in user_ids:
        async with rt.sessions() as session:
            await rag.refresh_user(session, rt, user_id)
            await session.commit()
    return len(user_ids)


async def fail_stalled_replies(rt: Runtime) -> int:
    """Replies still PENDING or STREAMING well past the reply timeout (their worker died) end
    FAILED with a reason, so nobody waits on them forever. Returns how many."""
    from sqlalchemy import update

    from finora_gql.assistant.models import Message, MessageStatus
    from finora_gql.assistant.service import messages

    cutoff = clock.now() - dt.timedelta(seconds=rt.settings.assistant_reply_timeout + STALL_MARGIN_SECONDS)
    async with rt.sessions() as session:
        statement = messages.where_visible(
            update(Message).where(col(Message.status).in_([MessageStatus.PENDING, MessageStatus.STREAMING]),
                                  col(Message.created_at) < cutoff), SYSTEM,
        ).values(status=MessageStatus.FAILED, error="The reply was interrupted; please ask again.",
                 finished_at=clock.now())
        result = await session.exec(statement)
        await session.commit()
        return result.rowcount

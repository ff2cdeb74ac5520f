"""Subscription plumbing: a viewer's realtime messages, ending when their session ends."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection
from typing import Any

from finora_gql.context import Context
from finora_gql.core.errors import Unauthenticated
from finora_gql.core.viewer import SESSIONS_REVOKED, Viewer, user_channel


SUBSCRIBED = "subscribed"


async def viewer_messages(
    context: Context, kinds: Collection[str], *, announce: bool = False
) -> AsyncIterator[tuple[Viewer, dict[str, Any]]]:
    """Messages of `kinds` on the viewer's channel; the stream ends when this session is revoked
    (logout everywhere, password reset, ban), after a final SESSIONS_REVOKED message if asked for.

    With `announce`, a first SUBSCRIBED message says listening has begun: state read after it
    cannot miss an event published in between.
    """
    viewer = await context.viewer()
    await context.aclose()  # no database connection held for the life of the stream
    async with context.runtime.pubsub.subscribe(user_channel(viewer.user_id)) as stream:
        if announce:
            yield viewer, {"kind": SUBSCRIBED}
        async for message in stream:
            kind = message.get("kind")
            if kind == SESSIONS_REVOKED:
                context.forget_viewer()
                try:
                    await context.viewer()
                except Unauthenticated:
                    if SESSIONS_REVOKED in kinds:
                        yield viewer, {**message, "current_session_ended": True}
                    return
                finally:
                    await context.aclose()
            if kind in kinds:
                yield viewer, message

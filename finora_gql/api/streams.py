"""Subscription plumbing: a viewer's realtime messages, ending when their session ends."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Collection
from typing import Any, TypeVar

from finora_gql.api.websocket import event_sender
from finora_gql.context import Context
from finora_gql.core.errors import Unauthenticated
from finora_gql.core.viewer import SESSIONS_REVOKED, Viewer, user_channel

SUBSCRIBED = "SUBSCRIBED"
T = TypeVar("T")


async def viewer_messages(
    context: Context, kinds: Collection[str], *, announce: bool = False,
    shared: Callable[[dict[str, Any]], object] | None = None,
) -> AsyncIterator[tuple[Viewer, dict[str, Any]]]:
    """Messages of `kinds` on the viewer's channel; the stream ends when this session is revoked
    (logout everywhere, password reset, ban), after a final SESSIONS_REVOKED message if asked for.

    With `announce`, a first SUBSCRIBED message says listening has begun: state read after it
    cannot miss an event published in between.

    `shared`, for a resolver that yields `shared(message)` for each message (the same event for
    every subscriber of the message, see `shared_event`): over graphql-transport-ws, such events
    may go straight to the socket without passing through this stream (api/websocket.py).
    """
    viewer = await context.viewer()
    await context.aclose()  # no database connection held for the life of the stream
    async with context.runtime.pubsub.subscribe(user_channel(viewer.user_id)) as stream:
        send_event = event_sender() if shared is not None else None
        if send_event is not None:
            def direct(message: dict[str, Any]) -> bool:
                kind = message.get("kind")
                if kind == SESSIONS_REVOKED:
                    return False  # always through the stream below: it may end the stream
                return kind not in kinds or send_event(shared(message))  # other kinds: ignored, as below

            stream.direct = direct
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


async def until_session_ends(context: Context, events: AsyncIterator[T]) -> AsyncIterator[T]:
    """`events` (a stream on a channel of its own, such as one assistant reply's) until the
    viewer's session is revoked: the same end, through `viewer_messages`, as a stream on the
    viewer's channel. Reading `events` begins once the revocations are being listened to."""
    revocations = viewer_messages(context, {SESSIONS_REVOKED}, announce=True)
    listening = asyncio.get_running_loop().create_future()

    async def watch() -> None:
        async for _, message in revocations:
            if message["kind"] == SUBSCRIBED:
                listening.set_result(None)
            elif message.get("current_session_ended"):
                return

    watcher = asyncio.create_task(watch())
    step: asyncio.Future[T] | None = None
    try:
        await asyncio.wait((listening, watcher), return_when=asyncio.FIRST_COMPLETED)
        while not watcher.done():
            step = asyncio.ensure_future(anext(events))
            await asyncio.wait((step, watcher), return_when=asyncio.FIRST_COMPLETED)
            if not step.done():
                return  # the session ended
            try:
                item = step.result()
            except StopAsyncIteration:
                return
            step = None
            yield item
    finally:
        for task in (step, watcher):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await revocations.aclose()
        close = getattr(events, "aclose", None)
        if close is not None:  # also when the client left first: its subscriptions end now, not at GC
            await close()

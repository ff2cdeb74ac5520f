"""Point the in-process job worker (shared by every test server of the session) at other settings."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from finora_gql.config import Settings


def _swap(settings: Settings | None) -> Settings | None:
    from dramatiq.asyncio import get_event_loop_thread

    from workers import runtime

    previous = runtime._settings
    loop_thread = get_event_loop_thread()
    if loop_thread is not None:
        asyncio.run_coroutine_threadsafe(runtime.close(), loop_thread.loop).result(timeout=30)
    runtime.configure(settings)  # the next job builds its runtime from these
    return previous


@contextlib.asynccontextmanager
async def worker_settings(settings: Settings) -> AsyncIterator[None]:
    previous = await asyncio.to_thread(_swap, settings)
    try:
        yield
    finally:
        await asyncio.to_thread(_swap, previous)

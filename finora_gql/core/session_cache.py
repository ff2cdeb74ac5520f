"""Sessions this process confirmed a moment ago, so a burst of requests checks the database once.

Every HTTP request used to decode its JWT and read its session and user (one SQL statement,
~10% of the CPU of a transactions page). An access token that this process found live less
than `TTL_SECONDS` ago is trusted again without either, as long as:

- the token itself is still within its expiry (and its signing key's retirement);
- no revocation was seen since: every revocation (logout, logout everywhere, password reset or
  change, ban, refresh-token reuse) drops the user's entries in this process synchronously after
  its commit, and is broadcast on `REVOCATIONS`, which every API process listens to (through
  Redis when configured), so other processes drop them within milliseconds too.

So revocation ends access at once in the process that did it and as soon as the broadcast
arrives elsewhere; `TTL_SECONDS` bounds the rest: a broadcast lost to a Redis reconnect, and
changes that are not revocations (a role changed from the CLI, a user deleted by `seed --demo`).
Only positive answers are kept, and only for HTTP requests: websockets check the database on
connect and after every revocation message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from finora_gql.core import clock
from finora_gql.core.viewer import Viewer

if TYPE_CHECKING:
    from finora_gql.core.pubsub import PubSub

log = logging.getLogger("finora.auth")

TTL_SECONDS = 5.0
MAX_ENTRIES = 10_000
REVOCATIONS = "finora:sessions:revoked"  # {"user_id": "<uuid>"} after any session revocation


@dataclass(frozen=True)
class _Entry:
    viewer: Viewer
    checked: float  # time.monotonic() of the database check
    usable_until: datetime  # the token's own expiry, on the business clock


class SessionCache:
    def __init__(self, ttl: float = TTL_SECONDS, max_entries: int = MAX_ENTRIES) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        # Bumped by every revocation: a check that began before one is not stored after it.
        self.generation = 0

    def get(self, token: str) -> Viewer | None:
        entry = self._entries.get(token)
        if entry is None:
            return None
        if time.monotonic() - entry.checked >= self.ttl or clock.now() >= entry.usable_until:
            self._entries.pop(token, None)
            return None
        return entry.viewer

    def put(self, token: str, viewer: Viewer, *, usable_until: datetime, checked: float, generation: int) -> None:
        if generation != self.generation:
            return  # a revocation happened while this session was being checked
        self._entries[token] = _Entry(viewer, checked, usable_until)
        self._entries.move_to_end(token)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def forget_user(self, user_id: uuid.UUID) -> None:
        self.generation += 1
        for token in [token for token, entry in self._entries.items() if entry.viewer.user_id == user_id]:
            del self._entries[token]

    async def listen(self, pubsub: PubSub) -> None:
        """Drop the entries of every user whose sessions any process revokes (runs for the app's life)."""
        while True:
            try:
                async with pubsub.subscribe(REVOCATIONS) as stream:
                    async for message in stream:
                        with contextlib.suppress(KeyError, TypeError, ValueError):
                            self.forget_user(uuid.UUID(message["user_id"]))
                return  # the pub/sub was stopped
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("session revocation listener failed; restarting in 1 s")
                self._entries.clear()
                await asyncio.sleep(1)

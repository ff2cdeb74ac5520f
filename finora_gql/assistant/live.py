"""The live side of a reply: its events, published through the pub/sub hub and kept in a short
log so a subscriber who arrives late (or reconnects) first receives everything generated so far.

Every event carries `seq` (1, 2, ...). The generator appends an event to the log, then publishes
it. A subscriber subscribes first, then reads the log, then takes published events whose `seq`
is past the log's last: nothing is missed in between and nothing is seen twice. The log lives in
Redis when configured (shared by every API process and worker), else in this process (the
in-process workers and the API share it, as they share the pub/sub hub). It is not the database:
the reply is saved at most once a second while streaming, and in full when it ends.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import orjson
from redis.asyncio import Redis

LOG_TTL_SECONDS = 15 * 60
PREFIX = "finora:assistant:live:"


def reply_channel(message_id: uuid.UUID | str) -> str:
    """The pub/sub channel of one reply's events."""
    return f"finora:assistant:reply:{message_id}"


class Kind:
    TEXT = "TEXT"
    TOOL_STARTED = "TOOL_STARTED"
    TOOL_FINISHED = "TOOL_FINISHED"
    PROPOSAL = "PROPOSAL"
    DONE = "DONE"
    ERROR = "ERROR"
    FINAL = frozenset({"DONE", "ERROR"})


class _ProcessLog:
    def __init__(self) -> None:
        self._events: dict[str, tuple[float, list[dict[str, Any]]]] = {}
        self._lock = threading.Lock()

    def append(self, key: str, event: dict[str, Any]) -> None:
        now = time.monotonic()
        with self._lock:
            entry = self._events.get(key)
            if entry is None:
                self._sweep(now)
                entry = self._events[key] = (now, [])
            entry[1].append(event)

    def read(self, key: str) -> list[dict[str, Any]]:
        with self._lock:
            entry = self._events.get(key)
            return list(entry[1]) if entry else []

    def clear(self, key: str) -> None:
        with self._lock:
            self._events.pop(key, None)

    def _sweep(self, now: float) -> None:
        for key in [k for k, (at, _) in self._events.items() if now - at > LOG_TTL_SECONDS]:
            del self._events[key]


_PROCESS_LOG = _ProcessLog()


class LiveLog:
    def __init__(self, redis: Redis | None) -> None:
        self._redis = redis

    async def append(self, message_id: uuid.UUID, event: dict[str, Any]) -> None:
        key = PREFIX + str(message_id)
        if self._redis is None:
            _PROCESS_LOG.append(key, event)
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.rpush(key, orjson.dumps(event))
            pipe.expire(key, LOG_TTL_SECONDS)
            await pipe.execute()

    async def read(self, message_id: uuid.UUID) -> list[dict[str, Any]]:
        key = PREFIX + str(message_id)
        if self._redis is None:
            return _PROCESS_LOG.read(key)
        return [orjson.loads(raw) for raw in await self._redis.lrange(key, 0, -1)]

    async def clear(self, message_id: uuid.UUID) -> None:
        key = PREFIX + str(message_id)
        if self._redis is None:
            _PROCESS_LOG.clear(key)
        else:
            await self._redis.delete(key)


class Emitter:
    """The generator's side: number, log and publish each event of one reply."""

    def __init__(self, rt: Any, message_id: uuid.UUID) -> None:
        self.rt = rt
        self.message_id = message_id
        self.log = LiveLog(rt.redis)
        self.seq = 0
        self.channel = reply_channel(message_id)

    async def start(self) -> None:
        await self.log.clear(self.message_id)  # a retried run starts the stream over

    async def emit(self, kind: str, **fields: Any) -> dict[str, Any]:
        self.seq += 1
        event = {"seq": self.seq, "kind": kind, "at": time.time(), **fields}
        await self.log.append(self.message_id, event)
        await self.rt.pubsub.publish(self.channel, event)
        return event

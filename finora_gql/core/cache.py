"""A small byte cache: Redis when configured (shared by every process), else in-process LRU.

Invalidation is by version counters, never by pattern deletes: a domain puts a counter in its
keys (per user, say) and bumps it; stale entries simply stop being asked for and expire.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Protocol

from redis.asyncio import Redis

PREFIX = "finora:cache:"


class Cache(Protocol):
    async def get(self, key: str) -> bytes | None: ...
    async def set(self, key: str, value: bytes, ttl_seconds: int) -> None: ...
    async def version(self, key: str) -> int: ...
    async def bump(self, key: str) -> int: ...


class InMemoryCache:
    def __init__(self, max_entries: int = 10_000) -> None:
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._versions: dict[str, int] = {}
        self._max = max_entries

    async def get(self, key: str) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, value = entry
        if expires < time.monotonic():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return value

    async def set(self, key: str, value: bytes, ttl_seconds: int) -> None:
        # A copy of exactly its size: bytes from orjson keep the whole buffer they were written
        # in (8 KiB of resident memory for a 2.5 KB summary, measured).
        self._entries[key] = (time.monotonic() + ttl_seconds, bytes(memoryview(value)))
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    async def version(self, key: str) -> int:
        return self._versions.get(key, 0)

    async def bump(self, key: str) -> int:
        self._versions[key] = self._versions.get(key, 0) + 1
        return self._versions[key]


class RedisCache:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def get(self, key: str) -> bytes | None:
        return await self._redis.get(PREFIX + key)

    async def set(self, key: str, value: bytes, ttl_seconds: int) -> None:
        await self._redis.set(PREFIX + key, value, ex=ttl_seconds)

    async def version(self, key: str) -> int:
        return int(await self._redis.get(PREFIX + key) or 0)

    async def bump(self, key: str) -> int:
        return await self._redis.incr(PREFIX + key)


def build_cache(redis: Redis | None) -> Cache:
    return RedisCache(redis) if redis is not None else InMemoryCache()

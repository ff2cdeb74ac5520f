"""Leaderboard scores: Redis sorted sets with REDIS_URL, an in-process equivalent otherwise.

Only people who opted in are on a board, under their display name (a pseudonym unless they chose
one); scores are points earned, never amounts of money. The boards are a cache of the points
ledger: `service.rebuild_leaderboard` refills one from the ledger when its marker is missing
(a fresh Redis, an expired marker), so a lost or raced increment heals within MARKER_TTL.
"""

from __future__ import annotations

import bisect
import hashlib
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis

PREFIX = "finora:lb"
MARKER_TTL = 3600  # seconds a rebuilt board is trusted before the next read rebuilds it


def pseudonym(user_id: uuid.UUID) -> str:
    digest = hashlib.sha256(b"finora-leaderboard:" + user_id.bytes).hexdigest()
    return f"Saver-{digest[:6].upper()}"


@dataclass(frozen=True)
class Ranked:
    rank: int  # 1-based
    member: str
    points: int


@dataclass(frozen=True)
class Reading:
    """One read of a board: the top, one member's place and the places around it, and names."""

    top: list[Ranked]
    mine: Ranked | None
    around: list[Ranked]
    names: dict[str, str]


# The whole read in one round trip (a leaderboard read is one Redis call, not five).
READ_SCRIPT = """
if redis.call('exists', KEYS[3]) == 0 then return false end
local top = redis.call('zrevrange', KEYS[1], 0, tonumber(ARGV[3]) - 1, 'withscores')
local rank = redis.call('zrevrank', KEYS[1], ARGV[1])
local around, first = {}, 0
if rank then
  first = math.max(rank - tonumber(ARGV[2]), 0)
  around = redis.call('zrevrange', KEYS[1], first, rank + tonumber(ARGV[2]), 'withscores')
end
local members = {}
for i = 1, #top, 2 do members[#members + 1] = top[i] end
for i = 1, #around, 2 do members[#members + 1] = around[i] end
local shown = {}
if #members > 0 then shown = redis.call('hmget', KEYS[2], unpack(members)) end
return {top, rank or -1, first, around, members, shown}
"""


class Board(Protocol):
    async def incr(self, key: str, member: str, delta: int) -> None: ...
    async def replace(self, key: str, scores: dict[str, int]) -> None: ...
    async def remove(self, member: str, keys: list[str]) -> None: ...
    async def top(self, key: str, count: int) -> list[Ranked]: ...
    async def rank(self, key: str, member: str) -> Ranked | None: ...
    async def around(self, key: str, rank: int, radius: int) -> list[Ranked]: ...
    async def built(self, key: str) -> bool: ...
    async def names(self, members: list[str]) -> dict[str, str]: ...
    async def set_name(self, member: str, name: str | None) -> None: ...
    async def set_names(self, names: dict[str, str]) -> None: ...
    async def read(self, key: str, member: str, *, count: int, radius: int) -> Reading | None: ...


class RedisBoard:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._read = redis.register_script(READ_SCRIPT)

    async def read(self, key: str, member: str, *, count: int, radius: int) -> Reading | None:
        """None when the board is not built (its marker is missing or expired)."""
        found = await self._read(keys=[f"{PREFIX}:{key}", f"{PREFIX}:names", f"{PREFIX}:built:{key}"],
                                 args=[member, radius, count])
        if not found:
            return None
        top, rank, first, around, members, shown = found

        def ranked(flat: list, start: int) -> list[Ranked]:
            return [Ranked(start + i + 1, flat[2 * i].decode(), int(float(flat[2 * i + 1])))
                    for i in range(len(flat) // 2)]

        places = ranked(around, int(first))
        mine = next((r for r in places if r.member == member), None) if int(rank) >= 0 else None
        names = {m.decode(): v.decode() for m, v in zip(members, shown, strict=True) if v}
        return Reading(ranked(top, 0), mine, places, names)

    async def incr(self, key: str, member: str, delta: int) -> None:
        await self.redis.zincrby(f"{PREFIX}:{key}", delta, member)

    async def replace(self, key: str, scores: dict[str, int]) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(f"{PREFIX}:{key}")
            if scores:
                pipe.zadd(f"{PREFIX}:{key}", scores)
            pipe.set(f"{PREFIX}:built:{key}", "1", ex=MARKER_TTL)
            await pipe.execute()

    async def remove(self, member: str, keys: list[str]) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.zrem(f"{PREFIX}:{key}", member)
            await pipe.execute()

    async def top(self, key: str, count: int) -> list[Ranked]:
        rows = await self.redis.zrevrange(f"{PREFIX}:{key}", 0, count - 1, withscores=True)
        return [Ranked(i + 1, m.decode(), int(s)) for i, (m, s) in enumerate(rows)]

    async def rank(self, key: str, member: str) -> Ranked | None:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zrevrank(f"{PREFIX}:{key}", member)
            pipe.zscore(f"{PREFIX}:{key}", member)
            position, score = await pipe.execute()
        return None if position is None else Ranked(position + 1, member, int(score))

    async def around(self, key: str, rank: int, radius: int) -> list[Ranked]:
        first = max(rank - 1 - radius, 0)
        rows = await self.redis.zrevrange(f"{PREFIX}:{key}", first, rank - 1 + radius, withscores=True)
        return [Ranked(first + i + 1, m.decode(), int(s)) for i, (m, s) in enumerate(rows)]

    async def built(self, key: str) -> bool:
        return bool(await self.redis.exists(f"{PREFIX}:built:{key}"))

    async def names(self, members: list[str]) -> dict[str, str]:
        if not members:
            return {}
        values = await self.redis.hmget(f"{PREFIX}:names", members)
        return {m: v.decode() for m, v in zip(members, values, strict=True) if v is not None}

    async def set_name(self, member: str, name: str | None) -> None:
        if name is None:
            await self.redis.hdel(f"{PREFIX}:names", member)
        else:
            await self.redis.hset(f"{PREFIX}:names", member, name)

    async def set_names(self, names: dict[str, str]) -> None:
        if names:
            await self.redis.hset(f"{PREFIX}:names", mapping=names)


class _Sorted:
    """Members ordered by (-score, member): ranks by bisection, updates in O(n) memmove."""

    def __init__(self) -> None:
        self.order: list[tuple[int, str]] = []
        self.score: dict[str, int] = {}

    def set(self, member: str, score: int) -> None:
        old = self.score.get(member)
        if old is not None:
            del self.order[bisect.bisect_left(self.order, (-old, member))]
        self.score[member] = score
        bisect.insort(self.order, (-score, member))

    def drop(self, member: str) -> None:
        old = self.score.pop(member, None)
        if old is not None:
            del self.order[bisect.bisect_left(self.order, (-old, member))]


class LocalBoard:
    """The in-process board, one per process (API and in-process workers share it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._boards: dict[str, _Sorted] = {}
        self._built: dict[str, float] = {}
        self._names: dict[str, str] = {}

    def _board(self, key: str) -> _Sorted:
        return self._boards.setdefault(key, _Sorted())

    async def incr(self, key: str, member: str, delta: int) -> None:
        with self._lock:
            board = self._board(key)
            board.set(member, board.score.get(member, 0) + delta)

    async def replace(self, key: str, scores: dict[str, int]) -> None:
        board = _Sorted()
        board.score = dict(scores)
        board.order = sorted((-s, m) for m, s in scores.items())
        with self._lock:
            self._boards[key] = board
            self._built[key] = time.monotonic() + MARKER_TTL

    async def remove(self, member: str, keys: list[str]) -> None:
        with self._lock:
            for key in keys:
                self._board(key).drop(member)

    async def top(self, key: str, count: int) -> list[Ranked]:
        with self._lock:
            return [Ranked(i + 1, m, -s) for i, (s, m) in enumerate(self._board(key).order[:count])]

    async def rank(self, key: str, member: str) -> Ranked | None:
        with self._lock:
            board = self._board(key)
            score = board.score.get(member)
            if score is None:
                return None
            return Ranked(bisect.bisect_left(board.order, (-score, member)) + 1, member, score)

    async def around(self, key: str, rank: int, radius: int) -> list[Ranked]:
        with self._lock:
            first = max(rank - 1 - radius, 0)
            rows = self._board(key).order[first:rank + radius]
            return [Ranked(first + i + 1, m, -s) for i, (s, m) in enumerate(rows)]

    async def built(self, key: str) -> bool:
        with self._lock:
            return self._built.get(key, 0) > time.monotonic()

    async def names(self, members: list[str]) -> dict[str, str]:
        with self._lock:
            return {m: self._names[m] for m in members if m in self._names}

    async def set_name(self, member: str, name: str | None) -> None:
        with self._lock:
            if name is None:
                self._names.pop(member, None)
            else:
                self._names[member] = name

    async def set_names(self, names: dict[str, str]) -> None:
        with self._lock:
            self._names.update(names)

    async def read(self, key: str, member: str, *, count: int, radius: int) -> Reading | None:
        with self._lock:
            if self._built.get(key, 0) <= time.monotonic():
                return None
            board = self._board(key)
            top = [Ranked(i + 1, m, -s) for i, (s, m) in enumerate(board.order[:count])]
            score = board.score.get(member)
            mine, around = None, []
            if score is not None:
                rank = bisect.bisect_left(board.order, (-score, member)) + 1
                mine = Ranked(rank, member, score)
                first = max(rank - 1 - radius, 0)
                around = [Ranked(first + i + 1, m, -s) for i, (s, m) in enumerate(board.order[first:rank + radius])]
            names = {r.member: self._names[r.member] for r in [*top, *around] if r.member in self._names}
            return Reading(top, mine, around, names)

    def clear(self) -> None:
        with self._lock:
            self._boards.clear()
            self._built.clear()
            self._names.clear()


_LOCAL = LocalBoard()


def board_for(redis: Redis | None) -> Board:
    return RedisBoard(redis) if redis is not None else _LOCAL

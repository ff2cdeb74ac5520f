"""Rate limiting with a sliding-window counter (two fixed windows, the previous one weighted).

O(1) memory per key. Denied attempts are not counted, so hammering a limited key does not
keep the real owner locked out beyond the window.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis


@dataclass(frozen=True)
class RateLimit:
    limit: int
    window_seconds: int

    @classmethod
    def parse(cls, value: str) -> RateLimit:
        """`"10/900"`: ten attempts per 900 seconds."""
        count, _, seconds = value.partition("/")
        if not (count.strip().isdigit() and seconds.strip().isdigit()):
            raise ValueError(f"rate limit must look like 'attempts/seconds', got {value!r}")
        rule = cls(int(count), int(seconds))
        if rule.limit <= 0 or rule.window_seconds <= 0:
            raise ValueError(f"rate limit must be positive, got {value!r}")
        return rule


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    remaining: int
    retry_after: int


class RateLimiter(Protocol):
    async def hit(self, key: str, rule: RateLimit) -> RateDecision: ...
    async def reset(self, key: str) -> None: ...
    async def aclose(self) -> None: ...


def rate_key(action: str, kind: str, value: str) -> str:
    """A key that never stores the raw value (emails, addresses) in the backend."""
    return f"{action}:{kind}:{hashlib.sha256(value.encode()).hexdigest()[:32]}"


def _decide(previous: int, current: int, elapsed: float, rule: RateLimit) -> tuple[bool, int, int]:
    """(allowed, remaining after this hit, retry_after) from the two window counts."""
    window = rule.window_seconds
    weight = 1 - elapsed / window
    estimated = previous * weight + current
    if estimated + 1 <= rule.limit:
        return True, max(0, math.floor(rule.limit - estimated - 1)), 0
    # When does the estimate drop below limit - 1 again? Either as the previous window's weight
    # fades within this window, or at the next window boundary when `current` becomes `previous`.
    if previous > 0 and current + 1 <= rule.limit:
        needed_weight = (rule.limit - 1 - current) / previous
        wait = (1 - needed_weight) * window - elapsed
    else:
        wait = window - elapsed + (window * max(0.0, 1 - (rule.limit - 1) / max(current, 1)))
    return False, 0, max(1, math.ceil(wait))


class InMemoryRateLimiter:
    """One process's limits; asyncio-safe because every operation is synchronous."""

    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        self._now = now
        # key -> (window start, previous count, current count, window length)
        self._windows: dict[str, tuple[int, int, int, int]] = {}
        self._hits_since_sweep = 0

    async def hit(self, key: str, rule: RateLimit) -> RateDecision:
        now = self._now()
        window = rule.window_seconds
        start = int(now // window) * window
        stored_start, previous, current, _ = self._windows.get(key, (start, 0, 0, window))
        if stored_start != start:
            previous = current if stored_start == start - window else 0
            current = 0
        allowed, remaining, retry_after = _decide(previous, current, now - start, rule)
        if allowed:
            current += 1
        self._windows[key] = (start, previous, current, window)
        self._sweep(now)
        return RateDecision(allowed, remaining, retry_after)

    async def reset(self, key: str) -> None:
        self._windows.pop(key, None)

    async def aclose(self) -> None:
        self._windows.clear()

    def _sweep(self, now: float) -> None:
        """Every 1,000 hits, forget keys whose windows are over (two windows old)."""
        self._hits_since_sweep += 1
        if self._hits_since_sweep < 1000:
            return
        self._hits_since_sweep = 0
        expired = [key for key, (start, _, _, window) in self._windows.items() if now >= start + 2 * window]
        for key in expired:
            del self._windows[key]


# KEYS[1] = current window key, KEYS[2] = previous window key; ARGV = limit, window.
# Uses the Redis server clock so every app process agrees on the windows.
_HIT_SCRIPT = """
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local start = math.floor(now / window) * window
local current_key = KEYS[1] .. ':' .. start
local previous_key = KEYS[1] .. ':' .. (start - window)
local current = tonumber(redis.call('GET', current_key) or '0')
local previous = tonumber(redis.call('GET', previous_key) or '0')
local elapsed = now - start
local estimated = previous * (1 - elapsed / window) + current
if estimated + 1 <= limit then
  redis.call('INCR', current_key)
  redis.call('EXPIRE', current_key, window * 2)
  return {1, current + 1, previous, tostring(elapsed)}
end
return {0, current, previous, tostring(elapsed)}
"""


class RedisRateLimiter:
    def __init__(self, redis: Redis, prefix: str = "finora:rl:") -> None:
        self._redis = redis
        self._prefix = prefix
        self._script = redis.register_script(_HIT_SCRIPT)

    async def hit(self, key: str, rule: RateLimit) -> RateDecision:
        allowed, current, previous, elapsed = await self._script(
            keys=[self._prefix + key], args=[rule.limit, rule.window_seconds]
        )
        elapsed_seconds = float(elapsed)
        if allowed:
            estimated = previous * (1 - elapsed_seconds / rule.window_seconds) + current
            return RateDecision(True, max(0, math.floor(rule.limit - estimated)), 0)
        _, _, retry_after = _decide(int(previous), int(current), elapsed_seconds, rule)
        return RateDecision(False, 0, retry_after)

    async def reset(self, key: str) -> None:
        keys = [k async for k in self._redis.scan_iter(match=f"{self._prefix}{key}:*")]
        if keys:
            await self._redis.delete(*keys)

    async def aclose(self) -> None:
        pass  # the Redis client belongs to the runtime


def build_rate_limiter(redis: Redis | None) -> RateLimiter:
    return RedisRateLimiter(redis) if redis is not None else InMemoryRateLimiter()

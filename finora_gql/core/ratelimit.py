"""Rate limits for abuse-prone operations (sign-in, sign-up, password reset), counted per call.

Algorithm: a sliding-window counter (the two-window weighting Cloudflare describes). Time is cut
into fixed windows of `window_seconds`, aligned to the clock's epoch; a key keeps the count of
the current window and of the previous one, and the number of attempts "in the last window" is
estimated as

    previous * (time left in the current window / window) + current

which assumes the previous window's attempts were spread evenly. An attempt is allowed when that
estimate plus the attempt itself stays within `limit`. State per key is O(1): two counts, the
window index and the time of the last counted attempt.

Decisions worth knowing:

* **Denied attempts are not counted.** Only allowed attempts increment the counter, so an
  attacker hammering a key (say, a victim's email) cannot extend the block: it ends at most one
  window after the last *allowed* attempt, and the owner can sign in again then.
* **Never longer than the window.** The plain two-window estimate can block for up to
  `window * (1 + 1/limit)` (with `limit=1`, almost two windows) when all attempts landed early
  in the previous window. Every counted attempt happened at or before the last counted one, so
  one window after that nothing can still be "in the last window": the state is dropped then.
  Hence `0 < retry_after <= window_seconds` for every denial, and `retry_after` is honest:
  trying again after that many seconds is allowed (unless other attempts were counted since).
* **`retry_after` is whole seconds, rounded up**; `remaining` is how many more attempts would be
  allowed right now (rounded down, so it is never optimistic).

Both backends run the exact same arithmetic, in integer microseconds: `InMemoryRateLimiter` in
Python (one process, e.g. development), `RedisRateLimiter` in one Lua script on the Redis server
using the server's clock, so every app process shares counts and agrees on the windows.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from redis.asyncio import Redis

_US = 1_000_000
# Tolerance, in attempts, on the estimate so float noise never turns an exact "allowed" into a denial.
_EPSILON = 1e-6


@dataclass(frozen=True)
class RateLimit:
    """At most `limit` attempts per `window_seconds` (sliding)."""

    limit: int
    window_seconds: int

    def __post_init__(self) -> None:
        for name in ("limit", "window_seconds"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"RateLimit.{name} must be a positive integer, got {value!r}")

    @classmethod
    def parse(cls, value: str) -> RateLimit:
        """`"10/900"`: ten attempts per 900 seconds (the format of the RATE_LIMIT_* settings)."""
        count, sep, seconds = value.partition("/")
        count, seconds = count.strip(), seconds.strip()
        if not (sep and count.isdecimal() and seconds.isdecimal()):
            raise ValueError(f"rate limit must look like 'attempts/seconds', got {value!r}")
        if int(count) <= 0 or int(seconds) <= 0:
            raise ValueError(f"rate limit must be positive, got {value!r}")
        return cls(int(count), int(seconds))

    def __str__(self) -> str:
        return f"{self.limit}/{self.window_seconds}"


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    remaining: int  # further attempts allowed right now
    retry_after: int  # seconds until an attempt is allowed again; 0 when allowed


@runtime_checkable
class RateLimiter(Protocol):
    async def hit(self, key: str, rule: RateLimit) -> RateDecision:
        """Count one attempt on `key` (only if allowed) and decide."""
        ...

    async def reset(self, key: str) -> None:
        """Forget every attempt on `key`."""
        ...

    async def aclose(self) -> None: ...


def rate_key(action: str, kind: str, value: str) -> str:
    """`login:email:<sha256 hex>`: the value is normalised (trimmed, lower-cased) and hashed,
    so raw emails or addresses never sit in the backend. `action` and `kind` are plain names."""
    for name, part in (("action", action), ("kind", kind)):
        if not part or ":" in part:
            raise ValueError(f"rate_key {name} must be non-empty and contain no ':', got {part!r}")
    digest = hashlib.sha256(value.strip().lower().encode()).hexdigest()
    return f"{action}:{kind}:{digest}"


# --- the algorithm (mirrored line by line in _HIT_SCRIPT) -------------------------------------


@dataclass(slots=True)
class _State:
    window_us: int
    index: int  # window number: now_us // window_us
    previous: int  # allowed attempts in window index - 1
    current: int  # allowed attempts in window index
    last_us: int  # time of the last allowed attempt


def _hit(state: _State | None, now_us: int, rule: RateLimit) -> tuple[RateDecision, _State | None]:
    """Decide one attempt at `now_us`; the new state when it is allowed (and counted), else None."""
    limit = rule.limit
    window_us = rule.window_seconds * _US
    index = now_us // window_us
    elapsed = now_us - index * window_us

    previous = current = 0
    last_us: int | None = None
    # State older than one window after the last counted attempt counts nothing any more.
    if state is not None and state.window_us == window_us and now_us - state.last_us < window_us:
        last_us = state.last_us
        if state.index >= index:  # same window (or a clock that stepped back: keep the counts)
            previous, current = state.previous, state.current
        elif state.index == index - 1:
            previous = state.current

    estimate = previous * (window_us - elapsed) / window_us + current
    if estimate + 1 <= limit + _EPSILON:
        remaining = max(0, math.floor(limit - estimate - 1 + _EPSILON))
        return RateDecision(True, remaining, 0), _State(window_us, index, previous, current + 1, now_us)

    # Denied: when does the estimate get back to limit - 1?
    need = limit - 1
    if current <= need and previous > 0:
        # In this window, as the previous window's weight fades.
        wait = window_us * (1 - (need - current) / previous) - elapsed
    else:
        # In the next window, where this window's count becomes the fading one.
        wait = (window_us - elapsed) + window_us * (1 - need / current)
    if last_us is not None:
        wait = min(wait, last_us + window_us - now_us)
    wait = min(wait, window_us)
    retry_after = max(1, math.ceil(math.floor(wait + 0.5) / _US))
    return RateDecision(False, 0, retry_after), None


# --- in process ---------------------------------------------------------------------------------


class InMemoryRateLimiter:
    """Limits within one process. Safe for asyncio (a hit never awaits, so it is atomic on the
    loop) and for threads (a lock). Keys whose state has run out are swept every `sweep_every`
    seconds of the clock, so memory holds only keys active within their last window."""

    def __init__(self, now: Callable[[], float] = time.monotonic, *, sweep_every: float = 60.0) -> None:
        self._now = now
        self._states: dict[str, _State] = {}
        self._lock = threading.Lock()
        self._sweep_every_us = int(sweep_every * _US)
        self._next_sweep_us: int | None = None

    def __len__(self) -> int:
        return len(self._states)

    async def hit(self, key: str, rule: RateLimit) -> RateDecision:
        now_us = round(self._now() * _US)
        with self._lock:
            decision, state = _hit(self._states.get(key), now_us, rule)
            if state is not None:
                self._states[key] = state
            self._maybe_sweep(now_us)
        return decision

    async def reset(self, key: str) -> None:
        with self._lock:
            self._states.pop(key, None)

    async def aclose(self) -> None:
        with self._lock:
            self._states.clear()

    def sweep(self) -> int:
        """Drop every key whose state no longer counts; how many were dropped."""
        with self._lock:
            return self._sweep(round(self._now() * _US))

    def _maybe_sweep(self, now_us: int) -> None:
        if self._next_sweep_us is None:
            self._next_sweep_us = now_us + self._sweep_every_us
        elif now_us >= self._next_sweep_us:
            self._sweep(now_us)

    def _sweep(self, now_us: int) -> int:
        expired = [key for key, s in self._states.items() if now_us - s.last_us >= s.window_us]
        for key in expired:
            del self._states[key]
        self._next_sweep_us = now_us + self._sweep_every_us
        return len(expired)


# --- Redis --------------------------------------------------------------------------------------

# KEYS[1]: the key's hash {w = window us, i = window index, p = previous, c = current,
# l = last allowed attempt us}. ARGV: limit, window seconds. Returns {allowed, remaining,
# retry_after}. Same steps as _hit(); the server's TIME is the clock. Numbers stay below 2^53,
# so Lua's doubles hold them exactly; they are written with %.0f to avoid exponent notation.
_HIT_SCRIPT = """
local limit = tonumber(ARGV[1])
local window_us = tonumber(ARGV[2]) * 1000000
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local index = math.floor(now / window_us)
local elapsed = now - index * window_us

local previous, current, last = 0, 0, nil
local s = redis.call('HMGET', KEYS[1], 'w', 'i', 'p', 'c', 'l')
local s_w, s_i, s_p, s_c, s_l = tonumber(s[1]), tonumber(s[2]), tonumber(s[3]), tonumber(s[4]), tonumber(s[5])
if s_w and s_i and s_p and s_c and s_l and s_w == window_us and now - s_l < window_us then
  last = s_l
  if s_i >= index then
    previous, current = s_p, s_c
  elseif s_i == index - 1 then
    previous = s_c
  end
end

local estimate = previous * (window_us - elapsed) / window_us + current
if estimate + 1 <= limit + 1e-6 then
  redis.call('HSET', KEYS[1], 'w', string.format('%.0f', window_us), 'i', string.format('%.0f', index),
    'p', string.format('%.0f', previous), 'c', string.format('%.0f', current + 1),
    'l', string.format('%.0f', now))
  redis.call('PEXPIRE', KEYS[1], string.format('%.0f', 2 * window_us / 1000))
  local remaining = math.floor(limit - estimate - 1 + 1e-6)
  if remaining < 0 then remaining = 0 end
  return {1, remaining, 0}
end

local need = limit - 1
local wait
if current <= need and previous > 0 then
  wait = window_us * (1 - (need - current) / previous) - elapsed
else
  wait = (window_us - elapsed) + window_us * (1 - need / current)
end
if last and last + window_us - now < wait then wait = last + window_us - now end
if wait > window_us then wait = window_us end
local retry_after = math.ceil(math.floor(wait + 0.5) / 1000000)
if retry_after < 1 then retry_after = 1 end
return {0, 0, retry_after}
"""


class RedisRateLimiter:
    """Limits shared by every process using the same Redis: one atomic script per attempt, the
    Redis server's clock, one hash per key expiring two windows after its last counted attempt.

    Redis errors propagate; the caller decides whether to fail open or closed. The client belongs
    to whoever passed it in (`aclose` leaves it open) unless `owns_client=True`."""

    def __init__(self, redis: Redis, prefix: str = "finora:rl:", *, owns_client: bool = False) -> None:
        self._redis = redis
        self._prefix = prefix
        self._owns_client = owns_client
        self._script = redis.register_script(_HIT_SCRIPT)

    async def hit(self, key: str, rule: RateLimit) -> RateDecision:
        allowed, remaining, retry_after = await self._script(
            keys=[self._prefix + key], args=[rule.limit, rule.window_seconds]
        )
        return RateDecision(bool(int(allowed)), int(remaining), int(retry_after))

    async def reset(self, key: str) -> None:
        await self._redis.delete(self._prefix + key)

    async def aclose(self) -> None:
        if self._owns_client:
            await self._redis.aclose()


def build_rate_limiter(redis_client: Redis | None) -> RateLimiter:
    """Redis-backed (shared across processes) when a client is configured, else in-process."""
    if redis_client is not None:
        return RedisRateLimiter(redis_client)
    return InMemoryRateLimiter()

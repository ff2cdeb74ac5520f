"""The rate limiter: the same behaviour checked on the in-process and the Redis backends.

The in-process limiter runs on an injected clock (time travel); the Redis one on the real
server clock, so its tests use windows of 1 second and real sleeps (a few seconds in total).
Redis tests are skipped only when Redis is unreachable outside CI; in CI they must run.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
import redis.asyncio as redis_asyncio
from redis.exceptions import RedisError

from finora_gql.core.ratelimit import (
    InMemoryRateLimiter,
    RateDecision,
    RateLimit,
    RateLimiter,
    RedisRateLimiter,
    build_rate_limiter,
    rate_key,
)

REDIS_URL = os.environ.get("FINORA_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


class FakeClock:
    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


@dataclass
class Backend:
    """A limiter plus how to move its time: a fake clock, or the Redis server's real one."""

    name: str
    limiter: RateLimiter
    window: int  # seconds; short for Redis (real sleeps), anything for the fake clock
    clock: FakeClock | None = None
    redis: redis_asyncio.Redis | None = None
    prefix: str = ""
    extra_clients: list[redis_asyncio.Redis] = field(default_factory=list)

    @property
    def exact(self) -> bool:
        """Whether time is exact (fake clock) rather than real and a little jittery."""
        return self.clock is not None

    async def sleep(self, seconds: float) -> None:
        if self.clock is not None:
            self.clock.now += seconds
        else:
            await asyncio.sleep(seconds)

    async def now(self) -> float:
        if self.clock is not None:
            return self.clock.now
        assert self.redis is not None
        seconds, micros = await self.redis.time()
        return seconds + micros / 1_000_000

    async def align(self, fraction: float) -> None:
        """Move to `fraction` of the way through a window (windows are aligned to the epoch)."""
        now = await self.now()
        target = fraction * self.window
        delay = (target - now % self.window) % self.window
        await self.sleep(delay)

    async def peer(self) -> RateLimiter:
        """Another limiter on its own connection and the same store: a second server process."""
        assert self.redis is not None
        client = redis_asyncio.Redis.from_url(REDIS_URL)
        self.extra_clients.append(client)
        return RedisRateLimiter(client, prefix=self.prefix)


async def redis_or_skip() -> redis_asyncio.Redis:
    client = redis_asyncio.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        await client.ping()
    except (RedisError, OSError) as error:
        await client.aclose()
        if in_ci():
            pytest.fail(f"Redis at {REDIS_URL} is required in CI: {error}")
        pytest.skip(f"Redis at {REDIS_URL} is unreachable: {error}")
    return client


async def delete_prefix(client: redis_asyncio.Redis, prefix: str) -> None:
    keys = [key async for key in client.scan_iter(match=prefix + "*", count=500)]
    if keys:
        await client.delete(*keys)


@pytest.fixture(params=["memory", "redis"])
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    if request.param == "memory":
        clock = FakeClock()
        limiter = InMemoryRateLimiter(now=clock)
        yield Backend("memory", limiter, window=100, clock=clock)
        await limiter.aclose()
        return
    client = await redis_or_skip()
    prefix = f"finora:test:rl:{uuid.uuid4().hex}:"
    b = Backend("redis", RedisRateLimiter(client, prefix=prefix), window=1, redis=client, prefix=prefix)
    try:
        yield b
    finally:
        await delete_prefix(client, prefix)
        await b.limiter.aclose()
        for extra in b.extra_clients:
            await extra.aclose()
        await client.aclose()


redis_only = pytest.mark.parametrize("backend", ["redis"], indirect=True)
memory_only = pytest.mark.parametrize("backend", ["memory"], indirect=True)


async def hits(limiter: RateLimiter, key: str, rule: RateLimit, count: int) -> list[RateDecision]:
    return [await limiter.hit(key, rule) for _ in range(count)]


# --- behaviour shared by both backends ----------------------------------------------------------


async def test_allows_exactly_limit_then_denies(backend: Backend) -> None:
    rule = RateLimit(5, backend.window)
    decisions = await hits(backend.limiter, "login:ip:a", rule, 5)
    assert [d.allowed for d in decisions] == [True] * 5
    assert [d.remaining for d in decisions] == [4, 3, 2, 1, 0]
    assert all(d.retry_after == 0 for d in decisions)

    denied = await backend.limiter.hit("login:ip:a", rule)
    assert not denied.allowed and denied.remaining == 0
    assert 0 < denied.retry_after <= rule.window_seconds
    # Other keys have their own count.
    assert (await backend.limiter.hit("login:ip:b", rule)).allowed


async def test_allowed_again_after_retry_after(backend: Backend) -> None:
    rule = RateLimit(3, backend.window)
    await hits(backend.limiter, "k", rule, 3)
    denied = await backend.limiter.hit("k", rule)
    assert not denied.allowed
    await backend.sleep(denied.retry_after)
    again = await backend.limiter.hit("k", rule)
    assert again.allowed


async def test_denied_attempts_are_not_counted(backend: Backend) -> None:
    rule = RateLimit(3, backend.window)
    # Early in a window, so the whole block lies in it (retry_after is rounded up to seconds,
    # which with a 1 s window could otherwise end the true block before the hammering does).
    await backend.align(0.05)
    await hits(backend.limiter, "k", rule, 3)
    first_denial = await backend.limiter.hit("k", rule)
    assert not first_denial.allowed
    # An attacker keeps trying all through the block...
    step = 0.9 * first_denial.retry_after / 30
    hammering = []
    for _ in range(30):
        await backend.sleep(step)
        hammering.append(await backend.limiter.hit("k", rule))
    assert not any(d.allowed for d in hammering)
    assert max(d.retry_after for d in hammering) <= first_denial.retry_after
    # ...and the block still ends when the first denial said it would.
    await backend.sleep(first_denial.retry_after - 30 * step)
    assert (await backend.limiter.hit("k", rule)).allowed


async def test_window_passing_frees_the_whole_limit(backend: Backend) -> None:
    rule = RateLimit(4, backend.window)
    await hits(backend.limiter, "k", rule, 4)
    assert not (await backend.limiter.hit("k", rule)).allowed
    await backend.sleep(rule.window_seconds + (0 if backend.exact else 0.05))
    assert [d.allowed for d in await hits(backend.limiter, "k", rule, 5)] == [True] * 4 + [False]


async def test_sliding_previous_window_weighs_in(backend: Backend) -> None:
    """Ten attempts late in one window; half-way through the next, about half still count.

    A fixed window would allow ten again, a sliding log none; the counter allows about five."""
    rule = RateLimit(10, backend.window)
    await backend.align(0.8)
    assert all(d.allowed for d in await hits(backend.limiter, "k", rule, 10))
    await backend.sleep(0.7 * rule.window_seconds)  # half-way through the next window
    decisions = await hits(backend.limiter, "k", rule, 10)
    allowed = sum(d.allowed for d in decisions)
    if backend.exact:
        assert allowed == 5
    else:
        assert 4 <= allowed <= 6
    assert decisions[allowed:] and not any(d.allowed for d in decisions[allowed:])
    assert [d.allowed for d in decisions] == [True] * allowed + [False] * (10 - allowed)


async def test_concurrent_hits_allow_exactly_the_limit(backend: Backend) -> None:
    rule = RateLimit(10, 60)
    decisions = await asyncio.gather(*(backend.limiter.hit("burst", rule) for _ in range(50)))
    allowed = [d for d in decisions if d.allowed]
    assert len(allowed) == 10
    assert sorted(d.remaining for d in allowed) == list(range(10))
    assert all(0 < d.retry_after <= 60 for d in decisions if not d.allowed)


async def test_reset_forgets_the_key_only(backend: Backend) -> None:
    rule = RateLimit(2, 60)
    await hits(backend.limiter, "a", rule, 2)
    await hits(backend.limiter, "b", rule, 2)
    assert not (await backend.limiter.hit("a", rule)).allowed
    await backend.limiter.reset("a")
    assert (await backend.limiter.hit("a", rule)) == RateDecision(True, 1, 0)
    assert not (await backend.limiter.hit("b", rule)).allowed
    await backend.limiter.reset("never-used")  # no error


async def test_limit_of_one(backend: Backend) -> None:
    rule = RateLimit(1, 60)
    assert (await backend.limiter.hit("k", rule)) == RateDecision(True, 0, 0)
    denied = await backend.limiter.hit("k", rule)
    assert not denied.allowed and 0 < denied.retry_after <= 60


# --- Redis specifics ----------------------------------------------------------------------------


@redis_only
async def test_two_processes_share_the_count(backend: Backend) -> None:
    rule = RateLimit(6, 60)
    a, b = backend.limiter, await backend.peer()
    decisions = await asyncio.gather(*(limiter.hit("shared", rule) for limiter in [a, b] * 10))
    assert sum(d.allowed for d in decisions) == 6
    assert not (await a.hit("shared", rule)).allowed and not (await b.hit("shared", rule)).allowed
    await b.reset("shared")
    assert (await a.hit("shared", rule)).allowed


@redis_only
async def test_redis_state_is_one_expiring_key(backend: Backend) -> None:
    assert backend.redis is not None
    rule = RateLimit(2, 30)
    await backend.limiter.hit("login:email:x", rule)
    keys = [k async for k in backend.redis.scan_iter(match=backend.prefix + "*")]
    assert keys == [(backend.prefix + "login:email:x").encode()]
    ttl = await backend.redis.pttl(keys[0])
    assert 59_000 < ttl <= 60_000  # two windows


@redis_only
async def test_redis_limiter_leaves_a_borrowed_client_open(backend: Backend) -> None:
    assert backend.redis is not None
    await RedisRateLimiter(backend.redis, prefix=backend.prefix).aclose()
    assert await backend.redis.ping()


# --- in-process specifics (exact time) ----------------------------------------------------------


@memory_only
async def test_retry_after_is_exact_while_the_previous_window_fades(backend: Backend) -> None:
    limiter, clock = backend.limiter, backend.clock
    assert clock is not None
    rule = RateLimit(10, 100)
    await backend.align(0.9)
    await hits(limiter, "k", rule, 10)
    clock.now += 60  # half-way through the next window: weight 0.5, estimate 5
    assert sum(d.allowed for d in await hits(limiter, "k", rule, 5)) == 5
    denied = await limiter.hit("k", rule)
    # 10 * weight + 5 must fall to 9: weight 0.4, ten seconds later.
    assert denied == RateDecision(False, 0, 10)
    clock.now += 9.9
    assert not (await limiter.hit("k", rule)).allowed
    clock.now += 0.1
    assert (await limiter.hit("k", rule)) == RateDecision(True, 0, 0)


@memory_only
async def test_block_never_outlasts_the_window(backend: Backend) -> None:
    """All attempts at the very start of a window: the two-window estimate alone would block
    for window * (1 + 1/limit); the limiter blocks for one window after the last attempt."""
    limiter, clock = backend.limiter, backend.clock
    assert clock is not None
    rule = RateLimit(1, 100)
    await backend.align(0.0)
    assert (await limiter.hit("k", rule)).allowed
    clock.now += 1
    denied = await limiter.hit("k", rule)
    assert denied == RateDecision(False, 0, 99)
    clock.now += 98.5
    assert not (await limiter.hit("k", rule)).allowed
    clock.now += 0.5
    assert (await limiter.hit("k", rule)).allowed


async def test_expired_keys_are_swept() -> None:
    clock = FakeClock()
    limiter = InMemoryRateLimiter(now=clock, sweep_every=10)
    rule = RateLimit(3, 5)
    for i in range(1000):
        await limiter.hit(f"ip:{i}", rule)
    assert len(limiter) == 1000
    clock.now += 5
    await limiter.hit("late", RateLimit(3, 60))  # still inside this key's window
    assert limiter.sweep() == 1000 and len(limiter) == 1
    clock.now += 10
    await limiter.hit("other", rule)  # a hit past the sweep interval sweeps on its own
    assert len(limiter) == 2
    clock.now += 60
    await limiter.hit("other2", rule)
    assert len(limiter) == 1


# --- rules, keys, factory -----------------------------------------------------------------------


def test_parse() -> None:
    assert RateLimit.parse("10/900") == RateLimit(10, 900)
    assert RateLimit.parse(" 3 / 60 ") == RateLimit(3, 60)
    assert str(RateLimit.parse("10/900")) == "10/900"
    for bad in ["10", "10/", "/900", "a/b", "0/900", "10/0", "-1/5", "10/900/1", "1.5/60", ""]:
        with pytest.raises(ValueError):
            RateLimit.parse(bad)
    with pytest.raises(ValueError):
        RateLimit(0, 10)


def test_rate_key_hashes_the_normalised_value() -> None:
    key = rate_key("login", "email", "  Ann@Example.COM ")
    assert key == "login:email:" + hashlib.sha256(b"ann@example.com").hexdigest()
    assert key == rate_key("login", "email", "ann@example.com")
    assert "@" not in key and "example" not in key
    assert rate_key("login", "ip", "1.2.3.4") != rate_key("register", "ip", "1.2.3.4")
    with pytest.raises(ValueError):
        rate_key("log:in", "ip", "1.2.3.4")


async def test_build_rate_limiter() -> None:
    memory = build_rate_limiter(None)
    assert isinstance(memory, InMemoryRateLimiter) and isinstance(memory, RateLimiter)
    client = redis_asyncio.Redis.from_url(REDIS_URL)  # not connected until used
    try:
        shared = build_rate_limiter(client)
        assert isinstance(shared, RedisRateLimiter) and isinstance(shared, RateLimiter)
    finally:
        await client.aclose()

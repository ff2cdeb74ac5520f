"""The in-process cache (used without Redis): expiry, least-recently-used eviction, compact entries."""

from __future__ import annotations

import time
import tracemalloc
from types import SimpleNamespace

import orjson
import pytest

from finora_gql.core import cache as cache_module
from finora_gql.core.cache import InMemoryCache


async def test_entries_expire_and_the_least_recently_used_go_first(monkeypatch: pytest.MonkeyPatch) -> None:
    cache = InMemoryCache(max_entries=2)
    await cache.set("a", b"1", 60)
    await cache.set("b", b"2", 60)
    assert await cache.get("a") == b"1"  # "a" is now the most recently used
    await cache.set("c", b"3", 60)
    assert (await cache.get("a"), await cache.get("b"), await cache.get("c")) == (b"1", None, b"3")
    later = time.monotonic() + 61
    # The cache module's clock only: the event loop's own must keep its time.
    monkeypatch.setattr(cache_module, "time", SimpleNamespace(monotonic=lambda: later))
    assert await cache.get("a") is None


async def test_an_entry_holds_its_own_size_not_its_encoders_buffer() -> None:
    cache = InMemoryCache()
    payload = {"summary": "x" * 2_500}
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for index in range(200):
            await cache.set(f"k{index}", orjson.dumps(payload), 60)
        per_entry = (tracemalloc.get_traced_memory()[0] - before) / 200
    finally:
        tracemalloc.stop()
    assert per_entry < 2 * len(orjson.dumps(payload))  # orjson's own bytes: ~32 KiB each
    assert orjson.loads((await cache.get("k0")) or b"") == payload

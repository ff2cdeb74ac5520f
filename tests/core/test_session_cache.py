"""The per-process session cache: revocations win over checks in flight, entries expire."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

from finora_gql.core import clock
from finora_gql.core.session_cache import SessionCache
from finora_gql.core.viewer import Viewer


def test_hit_until_ttl_or_token_expiry_and_dropped_by_revocation() -> None:
    cache = SessionCache(ttl=60)
    ann, bob = Viewer(uuid.uuid4(), uuid.uuid4()), Viewer(uuid.uuid4(), uuid.uuid4())
    soon = clock.now() + timedelta(minutes=5)
    cache.put("a", ann, usable_until=soon, checked=time.monotonic(), generation=cache.generation)
    cache.put("b", bob, usable_until=soon, checked=time.monotonic(), generation=cache.generation)
    assert cache.get("a") == ann
    with clock.travel(timedelta(minutes=6)):
        assert cache.get("a") is None  # the token expired
    cache.forget_user(bob.user_id)
    assert cache.get("b") is None
    cache.put("c", ann, usable_until=soon, checked=time.monotonic() - 61, generation=cache.generation)
    assert cache.get("c") is None  # checked longer ago than the TTL


def test_a_check_that_began_before_a_revocation_is_not_stored() -> None:
    cache = SessionCache()
    viewer = Viewer(uuid.uuid4(), uuid.uuid4())
    began = cache.generation
    cache.forget_user(uuid.uuid4())  # any revocation while the check was reading the database
    cache.put("t", viewer, usable_until=clock.now() + timedelta(minutes=5), checked=time.monotonic(), generation=began)
    assert cache.get("t") is None

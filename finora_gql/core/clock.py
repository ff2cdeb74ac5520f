"""The one source of "now" for business rules, so tests can travel in time.

Lockouts, token expiry and one-time tokens compare against `now()`, never against the
database's clock, so a shifted clock moves all of them together.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

_offset = timedelta()


def now() -> datetime:
    return datetime.now(UTC) + _offset


@contextmanager
def travel(delta: timedelta) -> Iterator[None]:
    """Shift `now()` by `delta` inside the block (tests only)."""
    global _offset
    previous = _offset
    _offset = previous + delta
    try:
        yield
    finally:
        _offset = previous

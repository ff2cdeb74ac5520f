"""Periodic jobs: due at the minutes their schedules name; the embedded server enqueues them."""

from __future__ import annotations

import datetime as dt
import threading

from tests.server import RunningServer
from workers.schedule import due, periodic_actors


def due_at(hour: int, minute: int) -> list[str]:
    at = dt.datetime(2026, 11, 29, hour, minute, tzinfo=dt.UTC)
    return sorted(actor.actor_name for actor in due(periodic_actors(), at))


def test_periodic_actors_are_due_at_the_minutes_their_schedules_name() -> None:
    assert due_at(10, 15) == ["relay_job_outbox", "requeue_stale_emails"]  # every minute; every 5 minutes
    assert due_at(10, 17) == ["relay_job_outbox", "remove_abandoned_uploads"]  # hourly, at :17
    assert due_at(10, 18) == ["relay_job_outbox"]
    assert due_at(10, 41) == ["refresh_prices", "relay_job_outbox"]  # hourly, at :41


async def test_the_embedded_server_runs_one_scheduler(server: RunningServer) -> None:
    schedulers = [thread for thread in threading.enumerate() if thread.name == "finora-scheduler"]
    assert len(schedulers) == 1 and schedulers[0].is_alive()

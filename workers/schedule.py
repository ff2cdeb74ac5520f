"""Periodic jobs: which actors are due when, and a scheduler thread for the embedded default.

With Redis, `finora-gql scheduler` (periodiq's loop) enqueues them, once per deployment. Without
it, the API process has no separate scheduler, so its in-process workers run this thread.
"""

from __future__ import annotations

import threading
from datetime import datetime

import pendulum
from dramatiq import Actor

from workers.actors import broker


def periodic_actors() -> list[Actor]:
    return [actor for actor in broker.actors.values() if "periodic" in actor.options]


def due(actors: list[Actor], at: datetime) -> list[Actor]:
    """The actors whose cron schedule names the minute `at`."""
    return [actor for actor in actors if actor.options["periodic"].validate(at)]


class MinuteScheduler(threading.Thread):
    """Enqueues each periodic actor at the minutes its schedule names, until stopped."""

    def __init__(self) -> None:
        super().__init__(name="finora-scheduler", daemon=True)
        self._stopping = threading.Event()
        self._actors = periodic_actors()

    def run(self) -> None:
        while True:
            now = pendulum.now()
            minute = now.replace(second=0, microsecond=0).add(minutes=1)
            if self._stopping.wait((minute - now).total_seconds()):
                return
            for actor in due(self._actors, minute):
                # `scheduled_at` lets PeriodiqMiddleware skip a run that waited too long.
                actor.send_with_options(scheduled_at=str(minute))

    def stop(self) -> None:
        self._stopping.set()
        self.join(timeout=5)

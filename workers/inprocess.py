"""Worker threads inside the API process, for the embedded default (no Redis, no `finora-gql worker`
or `finora-gql scheduler`): they run the jobs, and a scheduler thread enqueues the periodic ones.

One worker per process however many apps it serves (tests run several): Dramatiq's asyncio
middleware keeps a single event-loop thread per process, and one scheduler sends each job once.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator

from dramatiq import Worker
from dramatiq.asyncio import get_event_loop_thread

from finora_gql.config import Settings
from workers import runtime
from workers.actors import broker
from workers.schedule import MinuteScheduler

_lock = threading.Lock()
_worker: Worker | None = None
_scheduler: MinuteScheduler | None = None
_users = 0


@contextlib.contextmanager
def in_process_workers(settings: Settings) -> Iterator[Worker]:
    global _worker, _scheduler, _users
    with _lock:
        if _worker is None:
            runtime.configure(settings)
            _worker = Worker(broker, worker_threads=settings.worker_threads)
            _worker.start()
            _scheduler = MinuteScheduler()
            _scheduler.start()
        _users += 1
        worker = _worker
    try:
        yield worker
    finally:
        with _lock:
            _users -= 1
            if _users == 0:
                if _scheduler is not None:
                    _scheduler.stop()
                    _scheduler = None
                _stop(worker)
                _worker = None


def _stop(worker: Worker) -> None:
    loop_thread = get_event_loop_thread()
    if loop_thread is not None:
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(runtime.close(), loop_thread.loop).result(timeout=5)
    worker.stop()

"""An import's progress: saved to its row in short transactions of its own and announced on the
owner's live channel, so `importProgress` subscribers see it move."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from finora_gql.core.db import after_commit
from finora_gql.core.runtime import Runtime
from finora_gql.core.viewer import user_channel
from finora_gql.imports.models import Import

IMPORT_PROGRESS = "IMPORT_PROGRESS"
PROGRESS_EVERY_ROWS = 5000
PROGRESS_EVERY_SECONDS = 0.5


def progress_message(job: Import) -> dict[str, Any]:
    return {"kind": IMPORT_PROGRESS, "import": {
        "id": str(job.id), "status": job.status.value, "processed": job.processed, "total": job.total,
        "inserted": job.inserted, "duplicates": job.duplicates, "likely_duplicates": job.likely_duplicates,
        "errors": job.errors, "message": job.message,
    }}


def publish_later(session: AsyncSession, rt: Runtime, job: Import) -> None:
    message = progress_message(job)
    after_commit(session, lambda: rt.pubsub.publish(user_channel(job.user_id), message))


class Progress:
    """Counts of a running import, saved and announced at most every few thousand rows."""

    def __init__(self, rt: Runtime, job: Import) -> None:
        self.rt, self.job = rt, job
        self._saved_at = 0.0
        self._saved_processed = -1

    async def update(self, *, force: bool = False, **counts: Any) -> None:
        for name, value in counts.items():
            setattr(self.job, name, value)
        due = (self.job.processed - self._saved_processed >= PROGRESS_EVERY_ROWS
               or time.monotonic() - self._saved_at >= PROGRESS_EVERY_SECONDS)
        if not (force or due):
            return
        self._saved_at, self._saved_processed = time.monotonic(), self.job.processed
        values = {name: getattr(self.job, name) for name in
                  ("status", "total", "processed", "inserted", "duplicates", "likely_duplicates", "errors",
                   "started_at", "attempts")}
        # Its own short transaction: the run's transaction commits only at the very end.
        async with self.rt.sessions() as progress_session:
            await progress_session.exec(update(Import).where(col(Import.id) == self.job.id).values(**values))
            await progress_session.commit()
        await self.rt.pubsub.publish(user_channel(self.job.user_id), progress_message(self.job))

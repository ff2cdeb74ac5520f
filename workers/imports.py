"""CSV imports run here, off the request path; a crash retries the whole import."""

from __future__ import annotations

import uuid
from typing import Any

import dramatiq

from finora_gql.imports import service
from workers.broker import retry_options, settings
from workers.runtime import runtime


@dramatiq.actor(actor_name="run_import", queue_name="imports", on_retry_exhausted="import_gave_up",
                time_limit=30 * 60 * 1000, **retry_options(settings))
async def run_import(import_id: str) -> None:
    await service.run_import(await runtime(), uuid.UUID(import_id))


@dramatiq.actor(actor_name="import_gave_up", queue_name="imports", **retry_options(settings))
async def import_gave_up(message: dict[str, Any], retries: dict[str, Any]) -> None:
    await service.give_up(await runtime(), uuid.UUID(message["args"][0]))

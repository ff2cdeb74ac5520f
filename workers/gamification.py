"""Gamification jobs: apply each recorded event once, and judge periods as they close."""

from __future__ import annotations

import uuid

import dramatiq
from periodiq import cron

from finora_gql.gamification import processing
from finora_gql.gamification.events import PROCESS_ACTOR
from workers.broker import retry_options, settings
from workers.runtime import runtime


@dramatiq.actor(actor_name=PROCESS_ACTOR, queue_name="gamification", **retry_options(settings))
async def gamification_process(event_id: str) -> None:
    """Idempotent by event id: an event applied before (a redelivery, a duplicate) changes nothing."""
    await processing.process_event(await runtime(), uuid.UUID(event_id))


@dramatiq.actor(actor_name="gamification_close_periods", queue_name="gamification", periodic=cron("3 * * * *"),
                **retry_options(settings))
async def gamification_close_periods() -> None:
    """Hourly: judge SPEND_UNDER / NO_SPEND_DAYS / BUDGET_KEPT for periods that closed in each
    person's time zone; safe to run twice (each judgement is keyed by challenge and period)."""
    await processing.close_periods(await runtime())

"""The process's Dramatiq broker: Redis when REDIS_URL is set, else an in-process stub.

Importing this module configures the global broker (actors bind to it when declared), so it
is imported before any actor module.
"""

from __future__ import annotations

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import AsyncIO, CurrentMessage, default_middleware
from periodiq import PeriodiqMiddleware

from finora_gql.config import Settings
from finora_gql.core.observability import observability_middleware
from workers.middleware import OutboxMiddleware


def build_broker(settings: Settings) -> dramatiq.Broker:
    middleware = [factory() for factory in default_middleware]
    middleware += [AsyncIO(), CurrentMessage(), PeriodiqMiddleware(skip_delay=60), OutboxMiddleware()]
    middleware += observability_middleware()  # traces carried into jobs, job metrics, job log context
    broker_url = settings.broker_url or settings.redis_url
    if broker_url and broker_url.startswith(("amqp://", "amqps://")):
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        # Messages are acknowledged after the job: a killed worker's job goes back to the queue
        # as soon as its connection drops. Publisher confirms: an enqueue returns once stored.
        return RabbitmqBroker(url=broker_url, middleware=middleware, confirm_delivery=True)
    if broker_url:
        return RedisBroker(
            url=broker_url,
            namespace="finora-jobs",
            middleware=middleware,
            heartbeat_timeout=settings.worker_heartbeat_timeout_ms,
            # Jobs of dead workers are requeued in this maintenance step.
            maintenance_chance=settings.worker_maintenance_chance,
        )
    broker = StubBroker(middleware=middleware)
    broker.emit_after("process_boot")
    return broker


settings = Settings()
broker = build_broker(settings)
dramatiq.set_broker(broker)


def retry_options(settings: Settings) -> dict[str, int]:
    return {
        "max_retries": settings.job_max_retries,
        "min_backoff": settings.job_min_backoff_ms,
        "max_backoff": settings.job_max_backoff_ms,
    }


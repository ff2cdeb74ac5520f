"""Prometheus metrics: HTTP requests, GraphQL operations, the database pool, realtime delivery,
Redis commands, background jobs (outcomes, durations, queue depth, dead letters).

Each app gets its own registry (tests build several apps in one process); what belongs to the
process rather than an app (Redis commands, jobs run here, the broker's queues) lives in
`PROCESS_REGISTRY`, which every app's /metrics (and a worker's metrics port) also exposes.

The seed's names (`http_requests_total`, `http_request_duration_ms`, `http_errors_total`) sit
beside the `finora_*` ones dashboards already use.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.extensions import SchemaExtension

from finora_gql.core.pubsub import LocalHub

LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
# Milliseconds, with edges at the seed's latency targets (50, 100, 150, 200, 2000 ms p95).
LATENCY_BUCKETS_MS = (2, 5, 10, 25, 50, 75, 100, 150, 200, 300, 500, 1000, 2000, 3000, 5000, 10000)
JOB_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800)
# Operation names are chosen by clients: at most this many distinct names get their own series.
MAX_OPERATION_NAMES = 200
_OPERATION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.http_requests = Counter(
            "finora_http_requests_total", "HTTP requests by route and status.", ["method", "route", "status"],
            registry=self.registry,
        )
        self.http_latency = Histogram(
            "finora_http_request_duration_seconds", "HTTP request latency.", ["method", "route"],
            buckets=LATENCY_BUCKETS, registry=self.registry,
        )
        self.operations = Counter(
            "finora_graphql_operations_total", "GraphQL operations by type, name and outcome.",
            ["type", "name", "outcome"], registry=self.registry,
        )
        self.operation_latency = Histogram(
            "finora_graphql_operation_duration_seconds", "GraphQL operation latency.", ["type"],
            buckets=LATENCY_BUCKETS, registry=self.registry,
        )
        self.db_pool_checked_out = Gauge(
            "finora_db_pool_connections_in_use", "Database connections checked out of the pool.",
            registry=self.registry,
        )
        self.db_pool_size = Gauge("finora_db_pool_size", "Connections the pool keeps open.", registry=self.registry)
        self.db_pool_idle = Gauge("finora_db_pool_connections_idle", "Open connections waiting in the pool.",
                                  registry=self.registry)
        self.db_pool_overflow = Gauge("finora_db_pool_overflow", "Connections open beyond the pool size.",
                                      registry=self.registry)
        # The seed's names.
        self.seed_requests = Counter(
            "http_requests_total", "HTTP requests by method, route template and status.",
            ["method", "route", "status"], registry=self.registry,
        )
        self.seed_latency = Histogram(
            "http_request_duration_ms", "HTTP request latency in milliseconds.", ["method", "route"],
            buckets=LATENCY_BUCKETS_MS, registry=self.registry,
        )
        self.seed_errors = Counter(
            "http_errors_total", "HTTP responses with a 4xx or 5xx status.", ["method", "route", "status"],
            registry=self.registry,
        )
        self.operation_latency_ms = Histogram(
            "graphql_operation_duration_ms", "GraphQL operation latency in milliseconds, by type and name "
            f"(names beyond the first {MAX_OPERATION_NAMES} seen, or not plain identifiers, are 'other').",
            ["type", "name"], buckets=LATENCY_BUCKETS_MS, registry=self.registry,
        )
        self._operation_names: set[str] = set()
        self.realtime = RealtimeCollector()
        self.registry.register(self.realtime)

    def operation_label(self, name: str | None) -> str:
        if name is None:
            return "anonymous"
        if name in self._operation_names:
            return name
        if not _OPERATION_NAME.match(name) or len(self._operation_names) >= MAX_OPERATION_NAMES:
            return "other"
        self._operation_names.add(name)
        return name

    def exposition(self) -> bytes:
        return generate_latest(self.registry) + generate_latest(PROCESS_REGISTRY)


class RealtimeCollector:
    """Live subscribers and how their messages were delivered, read from the pub/sub hub at
    scrape time (the hub counts with plain integers: nothing on its hot path but `+= 1`)."""

    def __init__(self) -> None:
        self.hub: LocalHub | None = None  # set once the app's runtime has started

    def collect(self) -> Iterator[Metric]:
        if self.hub is None:
            return
        deliveries = self.hub.deliveries
        yield GaugeMetricFamily("finora_realtime_subscribers", "Live subscription streams in this process.",
                                value=self.hub.subscriber_count())
        messages = CounterMetricFamily(
            "finora_realtime_messages", "Pub/sub messages handed to this process's subscribers, by delivery: "
            "direct (the encoded frame written straight to the socket) or queued (through the subscription's stream).",
            labels=["delivery"],
        )
        messages.add_metric(["direct"], deliveries.direct)
        messages.add_metric(["queued"], deliveries.queued)
        yield messages
        yield CounterMetricFamily("finora_realtime_messages_dropped",
                                  "Messages dropped for a subscriber too far behind (its stream full).",
                                  value=deliveries.dropped)


class HttpMetrics:
    """ASGI middleware timing every HTTP request by its route template (not its raw path)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            method, code, elapsed = scope["method"], str(status), time.perf_counter() - started
            metrics = self.metrics
            metrics.http_requests.labels(method, route, code).inc()
            metrics.http_latency.labels(method, route).observe(elapsed)
            metrics.seed_requests.labels(method, route, code).inc()
            metrics.seed_latency.labels(method, route).observe(elapsed * 1000)
            if status >= 400:
                metrics.seed_errors.labels(method, route, code).inc()


def graphql_metrics_extension(metrics: Metrics) -> type[SchemaExtension]:
    class GraphQLMetrics(SchemaExtension):
        def on_operation(self) -> Iterator[None]:
            started = time.perf_counter()
            yield
            context = self.execution_context
            kind = context.operation_type.value if context.operation_type else "unknown"
            name = (context.operation_name or "anonymous")[:64]
            outcome = "error" if context.result is None or context.result.errors else "ok"
            elapsed = time.perf_counter() - started
            metrics.operations.labels(kind, name, outcome).inc()
            metrics.operation_latency.labels(kind).observe(elapsed)
            metrics.operation_latency_ms.labels(kind, metrics.operation_label(context.operation_name)).observe(
                elapsed * 1000)

    return GraphQLMetrics


# --- per process: Redis commands, jobs, the broker's queues ---------------------------------------

PROCESS_REGISTRY = CollectorRegistry()
REDIS_COMMANDS = Counter(
    "finora_redis_commands_total", "Redis commands sent by this process (pipelines count once, as 'PIPELINE').",
    ["command", "outcome"], registry=PROCESS_REGISTRY,
)
REDIS_LATENCY = Histogram(
    "finora_redis_command_duration_seconds", "Redis command latency.", ["command"],
    buckets=LATENCY_BUCKETS, registry=PROCESS_REGISTRY,
)
JOBS = Counter(
    "finora_jobs_total", "Background jobs run by this process, by actor and outcome (succeeded, failed, skipped).",
    ["actor", "queue", "outcome"], registry=PROCESS_REGISTRY,
)
JOB_DURATION = Histogram(
    "finora_job_duration_seconds", "Background job run time.", ["actor"], buckets=JOB_BUCKETS,
    registry=PROCESS_REGISTRY,
)


def record_job(message: Any, outcome: str, seconds: float) -> None:
    JOBS.labels(message.actor_name, message.queue_name, outcome).inc()
    JOB_DURATION.labels(message.actor_name).observe(seconds)


class QueueCollector:
    """Queue depth (ready and delayed) and dead letters of the process's broker, read at scrape."""

    def collect(self) -> Iterator[Metric]:
        import dramatiq
        from dramatiq.brokers.redis import RedisBroker

        depth = GaugeMetricFamily("finora_queue_depth", "Jobs waiting in each queue (delayed: not due yet).",
                                  labels=["queue", "state"])
        dead = GaugeMetricFamily("finora_dead_letters", "Jobs that exhausted their retries, kept for inspection.",
                                 labels=["queue"])
        try:
            broker = dramatiq.get_broker()
            queues = sorted(q for q in broker.get_declared_queues() if not q.endswith((".DQ", ".XQ")))
            if hasattr(broker, "get_queue_message_counts"):  # RabbitMQ
                for queue in queues:
                    ready, delayed, dead_count = broker.get_queue_message_counts(queue)
                    depth.add_metric([queue, "ready"], ready)
                    depth.add_metric([queue, "delayed"], delayed)
                    dead.add_metric([queue], dead_count)
            elif isinstance(broker, RedisBroker):
                with broker.client.pipeline(transaction=False) as pipe:
                    for queue in queues:
                        pipe.llen(f"{broker.namespace}:{queue}")
                        pipe.llen(f"{broker.namespace}:{queue}.DQ")
                        pipe.zcard(f"{broker.namespace}:{queue}.XQ")
                    values = pipe.execute()
                for index, queue in enumerate(queues):
                    ready, delayed, dead_count = values[3 * index: 3 * index + 3]
                    depth.add_metric([queue, "ready"], ready)
                    depth.add_metric([queue, "delayed"], delayed)
                    dead.add_metric([queue], dead_count)
            else:
                stub_queues = getattr(broker, "queues", {})
                dead_letters = list(getattr(broker, "dead_letters", ()))
                for queue in queues:
                    ready = stub_queues.get(queue)
                    delayed = stub_queues.get(f"{queue}.DQ")
                    depth.add_metric([queue, "ready"], ready.qsize() if ready is not None else 0)
                    depth.add_metric([queue, "delayed"], delayed.qsize() if delayed is not None else 0)
                    dead.add_metric([queue], sum(1 for m in dead_letters if m.queue_name in (queue, f"{queue}.DQ")))
        except Exception:  # the broker unreachable: no queue series this scrape, never a failed scrape
            return
        yield depth
        yield dead


PROCESS_REGISTRY.register(QueueCollector())

_redis_lock = threading.Lock()
_redis_instrumented = False


def instrument_redis() -> None:
    """Count and time every Redis command of this process (and trace it when tracing is on):
    redis-py has no hooks, so its asyncio client's two entry points are wrapped, once."""
    global _redis_instrumented
    with _redis_lock:
        if _redis_instrumented:
            return
        _redis_instrumented = True
    from redis.asyncio.client import Pipeline, Redis

    from finora_gql.core import tracing

    execute_command = Redis.execute_command
    execute_pipeline = Pipeline.execute

    async def observed_command(self: Any, *args: Any, **options: Any) -> Any:
        name = str(args[0]).upper() if args else "?"
        if len(name) > 24 or not name.replace(" ", "").isalpha():
            name = "OTHER"
        started = time.perf_counter()
        outcome = "error"
        try:
            with tracing.span(f"redis {name}", **{"db.system.name": "redis", "db.operation.name": name}):
                result = await execute_command(self, *args, **options)
            outcome = "ok"
            return result
        finally:
            REDIS_COMMANDS.labels(name, outcome).inc()
            REDIS_LATENCY.labels(name).observe(time.perf_counter() - started)

    async def observed_pipeline(self: Any, raise_on_error: bool = True) -> Any:
        started = time.perf_counter()
        outcome = "error"
        try:
            with tracing.span("redis PIPELINE", **{"db.system.name": "redis",
                                                   "db.operation.batch.size": len(self.command_stack)}):
                result = await execute_pipeline(self, raise_on_error)
            outcome = "ok"
            return result
        finally:
            REDIS_COMMANDS.labels("PIPELINE", outcome).inc()
            REDIS_LATENCY.labels("PIPELINE").observe(time.perf_counter() - started)

    Redis.execute_command = observed_command  # type: ignore[method-assign]
    Pipeline.execute = observed_pipeline  # type: ignore[method-assign]

"""Prometheus metrics: HTTP requests, GraphQL operations, the database pool, realtime delivery.

Each app gets its own registry (tests build several apps in one process).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.extensions import SchemaExtension

from finora_gql.core.pubsub import LocalHub

LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)


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
        self.realtime = RealtimeCollector()
        self.registry.register(self.realtime)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


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
            self.metrics.http_requests.labels(scope["method"], route, str(status)).inc()
            self.metrics.http_latency.labels(scope["method"], route).observe(time.perf_counter() - started)


def graphql_metrics_extension(metrics: Metrics) -> type[SchemaExtension]:
    class GraphQLMetrics(SchemaExtension):
        def on_operation(self) -> Iterator[None]:
            started = time.perf_counter()
            yield
            context = self.execution_context
            kind = context.operation_type.value if context.operation_type else "unknown"
            name = (context.operation_name or "anonymous")[:64]
            outcome = "error" if context.result is None or context.result.errors else "ok"
            metrics.operations.labels(kind, name, outcome).inc()
            metrics.operation_latency.labels(kind).observe(time.perf_counter() - started)

    return GraphQLMetrics

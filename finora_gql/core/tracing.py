"""Traces with OpenTelemetry: HTTP requests, GraphQL operations, SQL, Redis and Dramatiq jobs.

Off by default (nothing is recorded, no listener is registered). On when
`OTEL_EXPORTER_OTLP_ENDPOINT` is set (spans are exported over OTLP/HTTP in batches) or when
`TRACING=true` (spans are made but go nowhere unless a processor is added, as the tests do with
the SDK's in-memory exporter through `install`).

A request's trace continues into the jobs it enqueues: the enqueueing side writes the W3C trace
context into the message's options (`TracingMiddleware.before_enqueue`), the worker reads it back
before running the job (`before_process_message`), so the job's span, its SQL and the jobs it
enqueues in turn belong to the request's trace, whichever process runs them.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import dramatiq
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.trace import SpanKind, Status, StatusCode
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.extensions import SchemaExtension

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from finora_gql.config import Settings

log = logging.getLogger("finora.tracing")

TRACER_NAME = "finora_gql"
MESSAGE_OPTION = "trace_context"  # the carrier dict inside a Dramatiq message's options
MAX_STATEMENT_CHARS = 2000

_lock = threading.Lock()
_provider: TracerProvider | None = None
_enabled = False


def enabled() -> bool:
    return _enabled


def tracer() -> trace.Tracer:
    return trace.get_tracer(TRACER_NAME)


def install(*processors: SpanProcessor, service_name: str = "finora-gql") -> TracerProvider:
    """Make tracing on for this process (once); add `processors` to the provider."""
    global _provider, _enabled
    with _lock:
        if _provider is None:
            _provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
            trace.set_tracer_provider(_provider)
        _enabled = True
        for processor in processors:
            _provider.add_span_processor(processor)
        return _provider


def configure(settings: Settings, *, service_name: str | None = None) -> bool:
    """Turn tracing on as the settings say; returns whether it is on. Idempotent."""
    if settings.otel_exporter_otlp_endpoint:
        if enabled():
            return True
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        endpoint = settings.otel_exporter_otlp_endpoint.rstrip("/")
        if not endpoint.endswith("/v1/traces"):
            endpoint += "/v1/traces"
        install(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)),
                service_name=service_name or settings.otel_service_name)
        log.info("tracing on: OTLP export to %s", endpoint)
    elif settings.tracing:
        install(service_name=service_name or settings.otel_service_name)
    return enabled()


def disable() -> None:
    """Stop making spans in this process (tests that turned tracing on, when they are done).
    OpenTelemetry's global provider cannot be replaced, so every instrument checks `enabled()`."""
    global _enabled
    _enabled = False


def shutdown() -> None:
    """Flush spans still in batches (process exit)."""
    if _provider is not None:
        _provider.force_flush(timeout_millis=5000)


def current_trace_id() -> str | None:
    span_context = trace.get_current_span().get_span_context()
    return format(span_context.trace_id, "032x") if span_context.is_valid else None


# --- HTTP -------------------------------------------------------------------------------------

class TracingMiddleware:
    """ASGI middleware: one SERVER span per HTTP request (and websocket connection), continuing
    a `traceparent` sent by the caller."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not enabled() or scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        carrier = {key.decode("latin-1"): value.decode("latin-1") for key, value in scope["headers"]
                   if key in (b"traceparent", b"tracestate", b"baggage")}
        parent = propagate.extract(carrier) if carrier else None
        method = scope.get("method", "WS")
        with tracer().start_as_current_span(f"{method} {scope['path']}", context=parent, kind=SpanKind.SERVER) as span:
            span.set_attribute("http.request.method", method)
            span.set_attribute("url.path", scope["path"])
            status = 0

            async def send_status(message: dict[str, Any]) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                await send(message)

            try:
                await self.app(scope, receive, send_status)
            finally:
                route = getattr(scope.get("route"), "path", None)
                if route:
                    span.update_name(f"{method} {route}")
                    span.set_attribute("http.route", route)
                if status:
                    span.set_attribute("http.response.status_code", status)
                    if status >= 500:
                        span.set_status(Status(StatusCode.ERROR))


# --- GraphQL ----------------------------------------------------------------------------------

class GraphQLTracing(SchemaExtension):
    """A span per GraphQL operation: its type, name, and (when the schema computed one) cost."""

    def on_operation(self) -> Iterator[None]:
        if not enabled():
            yield
            return
        with tracer().start_as_current_span("graphql.operation") as span:
            yield
            context = self.execution_context
            kind = context.operation_type.value if context.operation_type else "unknown"
            name = context.operation_name or "anonymous"
            span.update_name(f"{kind} {name}")
            span.set_attribute("graphql.operation.type", kind)
            span.set_attribute("graphql.operation.name", name[:128])
            complexity = getattr(context.context, "complexity", None)  # set by a cost limiter, when one runs
            if isinstance(complexity, int):
                span.set_attribute("graphql.operation.complexity", complexity)
            result = context.result
            if result is not None and getattr(result, "errors", None):
                span.set_attribute("graphql.errors", len(result.errors))
                span.set_status(Status(StatusCode.ERROR, str(result.errors[0].message)[:200]))

    def on_validate(self) -> Iterator[None]:
        if not enabled():
            yield
            return
        with tracer().start_as_current_span("graphql.validate"):
            yield


@contextlib.contextmanager
def span(name: str, **attributes: Any) -> Iterator[Any]:
    """A span around a block (data loaders, service steps); nothing when tracing is off."""
    if not enabled():
        yield None
        return
    with tracer().start_as_current_span(name, attributes=attributes) as current:
        yield current


# --- SQL --------------------------------------------------------------------------------------

def instrument_engine(engine: AsyncEngine) -> None:
    """A CLIENT span per statement on this engine (compiled reads included: `db.fetch` fires the
    same cursor events). Nothing is registered while tracing is off."""
    if not enabled():
        return
    from sqlalchemy import event

    sync_engine = engine.sync_engine
    database = sync_engine.url.database or ""

    @event.listens_for(sync_engine, "before_cursor_execute")
    def before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if not _enabled:
            return
        operation = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "SQL"
        current = tracer().start_span(f"{operation} {database}".strip(), kind=SpanKind.CLIENT)
        current.set_attribute("db.system.name", "postgresql")
        current.set_attribute("db.namespace", database)
        current.set_attribute("db.operation.name", operation)
        current.set_attribute("db.query.text", statement[:MAX_STATEMENT_CHARS])  # parameters are never recorded
        conn.info.setdefault("finora_spans", []).append(current)

    @event.listens_for(sync_engine, "after_cursor_execute")
    def after(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        spans = conn.info.get("finora_spans")
        if spans:
            spans.pop().end()

    @event.listens_for(sync_engine, "handle_error")
    def failed(exception_context: Any) -> None:
        conn = exception_context.connection
        spans = conn.info.get("finora_spans") if conn is not None else None
        if spans:
            current = spans.pop()
            current.set_status(Status(StatusCode.ERROR, type(exception_context.original_exception).__name__))
            current.end()


# --- Dramatiq ---------------------------------------------------------------------------------

class JobTracing(dramatiq.Middleware):
    """Carries the trace context from whoever enqueues a job to the worker that runs it, and
    times each job as a CONSUMER span."""

    def __init__(self) -> None:
        self._local = threading.local()

    def before_enqueue(self, broker: dramatiq.Broker, message: dramatiq.Message, delay: int | None) -> None:
        if not enabled() or MESSAGE_OPTION in message.options:
            return  # retries keep the context of the first attempt
        with tracer().start_as_current_span(f"enqueue {message.actor_name}", kind=SpanKind.PRODUCER) as current:
            current.set_attribute("messaging.system", "dramatiq")
            current.set_attribute("messaging.destination.name", message.queue_name)
            current.set_attribute("messaging.message.id", message.message_id)
            carrier: dict[str, str] = {}
            propagate.inject(carrier)
            message.options[MESSAGE_OPTION] = carrier

    def before_process_message(self, broker: dramatiq.Broker, message: dramatiq.Message) -> None:
        if not enabled():
            return
        parent = propagate.extract(message.options.get(MESSAGE_OPTION) or {})
        current = tracer().start_span(f"job {message.actor_name}", context=parent, kind=SpanKind.CONSUMER)
        current.set_attribute("messaging.system", "dramatiq")
        current.set_attribute("messaging.destination.name", message.queue_name)
        current.set_attribute("messaging.message.id", message.message_id)
        current.set_attribute("dramatiq.retries", message.options.get("retries", 0))
        token = otel_context.attach(trace.set_span_in_context(current))
        self._stack().append((current, token, time.perf_counter()))

    def after_process_message(self, broker: dramatiq.Broker, message: dramatiq.Message, *,
                              result: Any = None, exception: BaseException | None = None) -> None:
        self._finish(exception)

    def after_skip_message(self, broker: dramatiq.Broker, message: dramatiq.Message) -> None:
        self._finish(None)

    def _stack(self) -> list[Any]:
        stack = getattr(self._local, "stack", None)
        if stack is None:
            stack = self._local.stack = []
        return stack

    def _finish(self, exception: BaseException | None) -> None:
        stack = self._stack()
        if not stack:
            return
        current, token, _ = stack.pop()
        if exception is not None:
            current.record_exception(exception)
            current.set_status(Status(StatusCode.ERROR, type(exception).__name__))
        current.end()
        with contextlib.suppress(ValueError):
            otel_context.detach(token)

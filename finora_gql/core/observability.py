"""What the app and the job broker register to be observable: request ids and log context,
traces, job metrics. One place, so app.py and workers/broker.py each add one line."""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import dramatiq
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.extensions import SchemaExtension

from finora_gql.core import errortracking, logs, tracing

if TYPE_CHECKING:
    from finora_gql.config import Settings

REQUEST_ID_HEADER = b"x-request-id"
_VALID_REQUEST_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")


class RequestContext:
    """Outermost: a request id (the caller's X-Request-ID when well-formed, else a new one) in
    the log context and the response headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = next((value for key, value in scope["headers"] if key == REQUEST_ID_HEADER), None)
        request_id = given.decode() if given and _VALID_REQUEST_ID.match(given) else secrets.token_hex(8)
        token = logs.bind(logs.LogContext(request_id=request_id))
        header = (REQUEST_ID_HEADER, request_id.encode())

        async def send_with_id(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id if scope["type"] == "http" else send)
        finally:
            logs.unbind(token)


def asgi_middleware(settings: Settings) -> list[Middleware]:
    logs.register_settings_secrets(settings)
    tracing.configure(settings)
    errortracking.configure(settings)
    return [Middleware(RequestContext), Middleware(tracing.TracingMiddleware)]


class GraphQLLogContext(SchemaExtension):
    """The operation's name in the request's log context."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        kind = context.operation_type.value if context.operation_type else "unknown"
        logs.set_operation(f"{kind} {context.operation_name or 'anonymous'}")
        yield


class JobContext(dramatiq.Middleware):
    """Log context for each job (its actor and message id), and its metrics."""

    def __init__(self) -> None:
        self._local = threading.local()

    def before_process_message(self, broker: dramatiq.Broker, message: dramatiq.Message) -> None:
        token = logs.bind(logs.LogContext(job=f"{message.actor_name}:{message.message_id}"))
        self._stack().append((token, time.perf_counter()))

    def after_process_message(self, broker: dramatiq.Broker, message: dramatiq.Message, *,
                              result: Any = None, exception: BaseException | None = None) -> None:
        self._finish(message, "failed" if exception is not None else "succeeded")

    def after_skip_message(self, broker: dramatiq.Broker, message: dramatiq.Message) -> None:
        self._finish(message, "skipped")

    def _stack(self) -> list[Any]:
        stack = getattr(self._local, "stack", None)
        if stack is None:
            stack = self._local.stack = []
        return stack

    def _finish(self, message: dramatiq.Message, outcome: str) -> None:
        stack = self._stack()
        if not stack:
            return
        token, started = stack.pop()
        from finora_gql.core import telemetry

        telemetry.record_job(message, outcome, time.perf_counter() - started)
        try:
            logs.unbind(token)
        except ValueError:
            pass


def observability_middleware(settings: Settings | None = None) -> list[dramatiq.Middleware]:
    """Dramatiq middleware, in order: trace context first (so the job's logs carry its trace)."""
    if settings is not None:
        logs.register_settings_secrets(settings)
        tracing.configure(settings)
        errortracking.configure(settings)
    return [tracing.JobTracing(), JobContext()]

"""The Starlette application: /graphql (HTTP and websockets), GraphiQL, /health, /ready, /metrics."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hmac
import logging
import re
from collections.abc import AsyncIterator
from typing import Any

import orjson
from cross_web import HTTPException
from dramatiq.brokers.stub import StubBroker
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL
from strawberry.types import ExecutionResult

from finora_gql import graphiql, pages
from finora_gql.api.websocket import FanoutTransportWSHandler, KeepServerSend, TextWebSocketAdapter
from finora_gql.config import Settings
from finora_gql.context import Context
from finora_gql.core import db, observability
from finora_gql.core.errors import Unauthenticated
from finora_gql.core.runtime import Runtime, build_runtime
from finora_gql.core.storage import LOCAL_FILES_PATH, local_files_endpoint
from finora_gql.core.telemetry import HttpMetrics, Metrics
from finora_gql.schema import build_schema
from workers.actors import broker as job_broker
from workers.inprocess import in_process_workers

log = logging.getLogger("finora.app")

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
APPLICATION_JSON = "application/json"
GRAPHIQL_STATIC_PREFIX = "/graphiql-static"
CONTEXT_KEY = "finora_context"
NO_STORE = {"cache-control": "no-store"}
# graphql-core's words for a variable a scalar refused: "Variable '$input' has invalid value at
# .name: Text must not contain ..." (3.3; 3.2 said "got invalid value ... at 'input.name'; ")
# -> field "input.name".
_VARIABLE_AT = re.compile(r"Variable '\$(?P<name>\w+)' has invalid value(?: at (?P<path>[.\w\[\]]+))?: ")


def negotiate_media_type(accept: str | None) -> str | None:
    """Pick the response media type per GraphQL over HTTP; None when nothing acceptable."""
    if not accept:
        return APPLICATION_JSON  # legacy clients send no Accept header
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept.split(",")):
        media, *params = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                with contextlib.suppress(ValueError):
                    quality = float(value)
        if quality <= 0:
            continue
        if media in (GRAPHQL_RESPONSE_JSON, APPLICATION_JSON):
            ranked.append((-quality, position, media))
        elif media in ("*/*", "application/*"):
            # GraphQL over HTTP: SHOULD answer application/json to a client that did not ask for
            # the new type by name (old clients, curl).
            ranked.append((-quality, position, APPLICATION_JSON))
    return min(ranked)[2] if ranked else None


class FinoraGraphQL(GraphQL):
    """Strawberry's ASGI view, made conformant to GraphQL over HTTP and wired to our context."""

    websocket_adapter_class = TextWebSocketAdapter  # type: ignore[assignment]
    graphql_transport_ws_handler_class = FanoutTransportWSHandler

    def encode_json(self, data: object) -> bytes:  # type: ignore[override]
        return orjson.dumps(data)

    def parse_json(self, data: str | bytes) -> Any:
        """A request body (or the `variables`/`extensions` of a GET): JSON, an object, at most
        ~1,000 levels deep, valid UTF-8 without lone surrogates; anything else is a 400 that says
        why (the stdlib parser let `null`, deep nesting and bad UTF-8 through as 500s)."""
        try:
            value = orjson.loads(data)
        except orjson.JSONDecodeError as error:
            raise HTTPException(400, f"The request body is not valid JSON (UTF-8, at most 1024 levels deep): {error}") from None
        if isinstance(value, list):
            return value  # a batch: refused later with its own message (batching is off)
        if not isinstance(value, dict):
            kind = "null" if value is None else type(value).__name__
            raise HTTPException(400, f"The request body (and its variables and extensions) must be a JSON object, not {kind}.")
        return value

    def parse_query_params(self, params: Any) -> dict[str, Any]:
        # A GET's `variables=null` (or `extensions=null`) means none, as in a POST body.
        params = {name: value for name, value in dict(params).items()
                  if not (name in ("variables", "extensions") and value.strip() == "null")}
        return super().parse_query_params(params)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            if scope["type"] != "http":
                await super().__call__(scope, receive, send)
                return
            request = Request(scope, receive)
            accept = request.headers.get("accept")
            request.state.media_type = negotiate_media_type(accept)
            browser = request.method == "GET" and "text/html" in (accept or "")
            if request.state.media_type is None and not browser:
                message = f"Accept {GRAPHQL_RESPONSE_JSON} or {APPLICATION_JSON}."
                await self._request_error(request, 406, message)(scope, receive, send)
                return
            try:
                response = await self.run(request)
            except HTTPException as error:
                status_code = error.status_code
                if isinstance(error.__cause__, InvalidOperationTypeError) and request.method == "GET":
                    status_code = 405  # GraphQL over HTTP: a mutation over GET is a wrong method
                response = self._request_error(request, status_code, error.reason)
            await response(scope, receive, send)
        finally:
            context = scope.get("state", {}).get(CONTEXT_KEY)
            if context is not None:
                await context.aclose()

    def _request_error(self, request: Request, status_code: int, message: str) -> Response:
        media_type = negotiate_media_type(request.headers.get("accept")) or APPLICATION_JSON
        if status_code == 400 and message == "Unsupported content type":
            status_code = 415
        headers = {"Allow": "GET, POST"} if status_code == 405 else None
        return Response(
            self.encode_json({"errors": [{"message": message}]}),
            status_code=status_code,
            media_type=media_type,
            headers={**(headers or {}), **NO_STORE},
        )

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        context = Context(request.app.state.runtime, request)
        request.state.finora_context = context
        return context

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        sub_response = await super().get_sub_response(request)
        sub_response.media_type = getattr(request.state, "media_type", None) or APPLICATION_JSON
        request.state.sub_response = sub_response
        return sub_response

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        response = await super().process_result(request, result)
        for error in response.get("errors") or ():
            extensions = error.get("extensions")
            if extensions and extensions.get("code") == "BAD_USER_INPUT" and "field" not in extensions:
                if match := _VARIABLE_AT.match(error["message"]):
                    extensions["field"] = match["name"] + (match["path"] or "")
        sub_response = request.state.sub_response
        # With the new media type, a request that never executed (syntax, validation,
        # variables) is a client error; with application/json it stays 200 for old clients.
        if sub_response.media_type == GRAPHQL_RESPONSE_JSON and result.data is None and result.errors:
            if all(error.path is None for error in result.errors):
                sub_response.status_code = 400
                response.pop("data", None)
        return response

    def create_response(self, response_data: Any, sub_response: Response) -> Response:
        response = super().create_response(response_data, sub_response)
        response.headers["content-type"] = sub_response.media_type or APPLICATION_JSON
        response.headers.update(NO_STORE)  # answers are per viewer: no shared or browser cache
        return response

    def should_render_graphql_ide(self, request: Any) -> bool:
        """A browser gets GraphiQL, also for a `?query=` link (the page opens with that query);
        other clients asking `*/*` get it only without a query."""
        if request.method != "GET":
            return False
        accept = request.headers.get("accept", "")
        return "text/html" in accept or ("*/*" in accept and request.query_params.get("query") is None)

    async def render_graphql_ide(self, request: Request) -> Response:
        page = graphiql.graphiql_page(
            endpoint=str(request.url.path),
            subscription_endpoint=str(request.url.path),
            static_prefix=GRAPHIQL_STATIC_PREFIX,
        )
        return Response(page, media_type="text/html", headers={"Content-Security-Policy": graphiql.CSP_HEADER})

    async def on_ws_connect(self, context: Context) -> dict[str, object] | None:
        # The viewer signs in once, in `connection_init`: {"authorization": "Bearer <token>"}.
        try:
            await context.viewer()
        except Unauthenticated as error:
            raise ConnectionRejectionError({"message": error.message, "code": error.code}) from None
        finally:
            await context.aclose()
        return None


class BodySizeLimit:
    """Refuse request bodies over `max_bytes` with 413, whether or not Content-Length is honest.

    Paths under `exempt_prefix` (signed file uploads) enforce their own, signed length.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, exempt_prefix: str) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.exempt_prefix = exempt_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.exempt_prefix):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> dict[str, Any]:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge
            return message

        try:
            await self.app(scope, limited_receive, send)
        except BodyTooLarge:
            await self._too_large(scope, receive, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = JSONResponse(
            {"errors": [{"message": f"Request body is larger than {self.max_bytes} bytes."}]}, status_code=413,
            headers=NO_STORE,
        )
        await response(scope, receive, send)


class BodyTooLarge(Exception):
    pass


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.headers = [
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
            (b"x-frame-options", b"DENY"),
        ]
        if hsts:
            self.headers.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], *self.headers]
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def metrics_endpoint(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    token = runtime.settings.metrics_token
    expected = f"Bearer {token.get_secret_value()}" if token is not None else None
    given = request.headers.get("authorization", "").encode("latin-1")
    if expected is not None and not hmac.compare_digest(given, expected.encode("latin-1")):
        return PlainTextResponse("metrics require a bearer token", status_code=401)
    metrics: Metrics = request.app.state.metrics
    pool = runtime.engine.pool
    metrics.db_pool_checked_out.set(pool.checkedout())
    for gauge, read in ((metrics.db_pool_size, "size"), (metrics.db_pool_idle, "checkedin"),
                        (metrics.db_pool_overflow, "overflow")):
        with contextlib.suppress(Exception):
            gauge.set(max(getattr(pool, read)(), 0))
    # In a thread: the queue collector asks the broker (blocking Redis) for queue depths.
    return Response(await asyncio.to_thread(metrics.exposition), media_type=CONTENT_TYPE_LATEST)


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def ready(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    checks: dict[str, str] = {}
    try:
        await db.ping(runtime.engine)
        checks["database"] = "ok"
    except Exception:
        log.exception("readiness: database unreachable")
        checks["database"] = "unreachable"
    if runtime.redis is not None:
        try:
            await runtime.redis.ping()
            checks["redis"] = "ok"
        except Exception:
            log.exception("readiness: redis unreachable")
            checks["redis"] = "unreachable"
    healthy = all(value == "ok" for value in checks.values())
    return JSONResponse({"status": "ok" if healthy else "unavailable", "checks": checks}, status_code=200 if healthy else 503)


_heap_frozen = False


def freeze_startup_heap() -> None:
    """Move everything alive after startup out of the garbage collector's reach, once per process.

    The schema, the ORM, the drivers and their modules are ~1M long-lived objects. Requests in
    flight promote their short-lived objects to the oldest generation, so CPython ran a full
    collection every ~0.4 s under load, each walking the whole heap for ~110 ms: a quarter of
    the server's CPU on the transactions page, and its worst latencies. Frozen objects are never
    scanned (nor freed: they live as long as the process anyway). The youngest generation is
    collected every 5,000 allocations instead of 700: a page of 50 transactions makes ~30,000
    container objects, and each early collection only promotes the request's own objects.
    """
    global _heap_frozen
    if not _heap_frozen:
        _heap_frozen = True
        gc.collect()
        gc.freeze()
        _, older, oldest = gc.get_threshold()
        gc.set_threshold(5_000, older, oldest)


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings()
    settings.validate_or_raise()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        with contextlib.ExitStack() as stack:
            url = settings.database_url or stack.enter_context(db.embedded_postgres(settings.data_dir))
            if isinstance(job_broker, StubBroker):
                # No Redis: this process runs the background jobs itself.
                stack.enter_context(in_process_workers(settings.model_copy(update={"database_url": url})))
            runtime = build_runtime(settings, url)
            await runtime.start()
            app.state.runtime = runtime
            metrics.realtime.hub = runtime.pubsub.hub
            # Other processes' session revocations empty this one's session cache.
            revocations = asyncio.create_task(runtime.session_cache.listen(runtime.pubsub), name="finora-revocations")
            freeze_startup_heap()
            try:
                yield
            finally:
                revocations.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await revocations
                await runtime.aclose()

    metrics = Metrics()
    view = FinoraGraphQL(
        build_schema(settings, metrics),
        graphql_ide="graphiql",
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL),
        keep_alive=True,
        keep_alive_interval=15,
        allowed_origins=settings.allowed_origins,
    )
    middleware = [
        Middleware(KeepServerSend),  # outermost: the server's own websocket send, for direct frames
        *observability.asgi_middleware(settings),  # request ids, log context, traces
        Middleware(HttpMetrics, metrics=metrics),
        Middleware(SecurityHeaders, hsts=settings.is_production),
        Middleware(BodySizeLimit, max_bytes=settings.max_body_bytes, exempt_prefix=LOCAL_FILES_PATH + "/"),
    ]
    if settings.allowed_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=settings.allowed_origins,
                allow_methods=["GET", "POST", "PUT"],  # PUT: uploads to local signed URLs
                allow_headers=["authorization", "content-type"],
                max_age=600,
            )
        )
    app = Starlette(
        routes=[
            Route("/graphql", view, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", view),
            Route("/health", health),
            Route("/ready", ready),
            Route("/metrics", metrics_endpoint),
            Route(LOCAL_FILES_PATH + "/{key:path}", local_files_endpoint, methods=["GET", "PUT"]),
            Route(GRAPHIQL_STATIC_PREFIX + "/{name:path}", graphiql.static_asset),
            Route("/verify-email", pages.page),
            Route("/reset-password", pages.page),
            Mount(pages.STATIC_PREFIX, StaticFiles(directory=pages.STATIC_DIR), name="pages-static"),
        ],
        middleware=middleware,
        lifespan=lifespan,
    )
    app.state.metrics = metrics
    return app

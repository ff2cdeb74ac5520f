"""graphql-transport-ws: text frames, and shared subscription events written straight to the sockets.

Every subscriber of a user's channel receives the same pub/sub message. Through strawberry,
each subscriber then runs its own per-event pipeline: wake its task, resume the async
generators from the hub up to the protocol handler, build a graphql-core executor, run the
extension hooks, build and encode the `next` message and send it. Profiled at 2,000
subscribers, that pipeline was most of the fan-out's CPU; writing the frame was the rest.

A subscription resolver that streams shared events (`viewer_messages(..., shared=...)`) lets
the hub hand such a message to `OperationFrames.send_event` instead: the operation's document
is executed on the event once per distinct (document, variables), the `next` payload is encoded
once, and each subscriber only puts its operation id in front and writes the frame. A socket
that cannot take it at once gets a writer task, so one slow socket never holds up the others.

Only where the frame is exactly what strawberry would send: the document selects only pure
types (every field a plain attribute, so nothing depends on who asks; see api/execution.py),
it executes without errors, no schema extension hooks resolvers, adds `extensions` to results
or looks at stream results (MaskErrors does, but changes errors only). Anything else, and any
message while the subscriber is still busy with an earlier one, takes strawberry's path, so
the order of an operation's frames is kept (`Subscription.direct` in core/pubsub.py), and a
frame of that path waits for the direct frames already on their way.

Under uvicorn's websockets-sansio protocol, a direct frame goes straight to the connection's
transport (`TransportWriter`), as the same bytes uvicorn would write: at 2,000 subscribers the
ASGI send chain (Starlette's WebSocket, its exception middleware, uvicorn's framing, a coroutine
for each) cost more than the socket writes themselves.

Frames are text, as the protocol requires (browser clients cannot read binary ones).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from functools import lru_cache
from typing import Any

import orjson
from graphql import parse
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocketDisconnect
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.extensions import MaskErrors, SchemaExtension
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.schema import BaseSchema
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler, Operation

from finora_gql.api.execution import Bounded, FastExecutionContext

try:  # uvicorn's websockets-sansio protocol, where direct frames can skip the ASGI send chain
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
    from websockets.protocol import State
except ImportError:  # another server or uvicorn version: every frame goes through ASGI
    WebSocketsSansIOProtocol = None  # type: ignore[assignment,misc]

log = logging.getLogger("finora.websocket")

DOCUMENTS = 512  # parsed subscription documents remembered, by query text
PAYLOADS = 256  # encoded `next` payloads remembered: (document, variables, event)


class TextWebSocketAdapter(ASGIWebSocketAdapter):
    """Strawberry's websocket adapter, sending every message as a text frame."""

    async def send_json(self, message: Mapping[str, object]) -> None:
        await self.send_text(orjson.dumps(message).decode())

    async def send_text(self, text: str) -> None:
        try:
            await self.ws.send_text(text)
        except WebSocketDisconnect as error:
            raise WebSocketDisconnected from error


class FanoutTransportWSHandler(BaseGraphQLTransportWSHandler):
    """Strawberry's graphql-transport-ws handler, plus direct frames for shared events."""

    websocket: TextWebSocketAdapter

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._outbox: list[str] = []  # rarely more than one frame; a list is the smallest
        self._writer: asyncio.Task[None] | None = None
        self._transport = TransportWriter.of(self.websocket.ws.scope.get(SERVER_SEND))

    async def run_operation(self, operation: Operation) -> None:
        # The operation runs in a task of its own: its subscription resolver finds it here.
        _operation_frames.set(OperationFrames(self, operation))
        await super().run_operation(operation)

    async def send_message(self, message: Any) -> None:
        if self._writer is not None:
            # asyncio.wait, not await: cancelling this operation must not cancel the writer.
            await asyncio.wait((self._writer,))
        await super().send_message(message)

    def write(self, frame: str) -> None:
        # Straight to the transport, in the caller's loop over subscribers, unless frames are
        # already queued (they go first) or the socket pushes back (its writer task waits).
        if self._writer is None and self._transport is not None and self._transport.write_text(frame):
            return
        self._outbox.append(frame)
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_outbox())

    async def _write_outbox(self) -> None:
        try:
            while self._outbox:
                await self.websocket.send_text(self._outbox.pop(0))
        except Exception:  # the connection is gone: its own handler sees that and shuts down
            log.debug("direct frame not written", exc_info=True)
            self._outbox.clear()
        finally:
            self._writer = None


SERVER_SEND = "finora.server_send"


class KeepServerSend:
    """ASGI middleware, outermost: keeps a websocket connection's `send` as the server gave it
    (before any middleware wraps it) in the scope, for `TransportWriter`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            scope[SERVER_SEND] = send
        await self.app(scope, receive, send)


class TransportWriter:
    """Text frames written straight to the transport of a uvicorn websockets-sansio connection.

    The bytes are those uvicorn writes for `websocket.send` (one unmasked, final text frame;
    uncompressed, which permessage-deflate allows). Only while the connection is open and its
    transport takes data without pushing back; otherwise the caller sends through ASGI, which
    waits where it must.
    """

    def __init__(self, protocol: WebSocketsSansIOProtocol) -> None:
        self._protocol = protocol

    @classmethod
    def of(cls, server_send: object) -> TransportWriter | None:
        protocol = getattr(server_send, "__self__", None)
        if WebSocketsSansIOProtocol is None or not isinstance(protocol, WebSocketsSansIOProtocol):
            return None
        return cls(protocol)

    def write_text(self, text: str) -> bool:
        protocol = self._protocol
        if (protocol.disconnected or protocol.close_sent or not protocol.handshake_complete
                or not protocol.writable.is_set() or protocol.conn.state is not State.OPEN
                or protocol.transport.is_closing()):
            return False
        data = text.encode()
        protocol.transport.write(_text_frame_header(len(data)) + data)
        return True


def _text_frame_header(length: int) -> bytes:
    # RFC 6455 5.2: FIN and opcode 1 (text), then the payload length; a server never masks.
    if length < 126:
        return bytes((0x81, length))
    if length < 1 << 16:
        return bytes((0x81, 126)) + length.to_bytes(2, "big")
    return bytes((0x81, 127)) + length.to_bytes(8, "big")


class OperationFrames:
    """One graphql-transport-ws operation, as a destination for shared events."""

    def __init__(self, handler: FanoutTransportWSHandler, operation: Operation) -> None:
        self.handler = handler
        self.operation = operation
        self._id_prefix = '{"id":' + orjson.dumps(operation.id).decode() + ',"type":"next","payload":'
        # Computed here, as the operation starts, not in the fan-out loop over subscribers; a str,
        # because bytes from orjson keep the whole buffer they were written in (4 KiB of resident
        # memory per connection, measured).
        self._key: tuple[str, str | None, str] | None
        try:
            self._key = (operation.query, operation.operation_name,
                         orjson.dumps(operation.variables, option=orjson.OPT_SORT_KEYS).decode())
        except TypeError:  # variables orjson cannot encode: no key to share their results by
            self._key = None

    def send_event(self, event: object) -> bool:
        """Write `event`'s `next` frame if strawberry would send exactly that; False otherwise."""
        operation = self.operation
        if operation.completed or self.handler.operations.get(operation.id) is not operation:
            return False
        payload = self._payload(event)
        if payload is None:
            return False
        self.handler.write(self._id_prefix + payload + "}")
        return True

    def _payload(self, event: object) -> str | None:
        if self._key is None:
            return None
        key = (*self._key, id(event))
        hit = _payloads.get(key)
        if hit is not None and hit[0] is event:
            return hit[1]
        payload = _execute(self.handler.schema, self.operation.query, self.operation.operation_name,
                           self.operation.variables, event)
        if payload is not None:
            _payloads[key] = (event, payload)  # the event is kept alive, so its id stays its own
        return payload


_operation_frames: ContextVar[OperationFrames | None] = ContextVar("finora_operation_frames", default=None)
_payloads: Bounded = Bounded(PAYLOADS)  # (query, name, variables, id(event)) -> (event, payload)
# strawberry has already validated each document: here it is only parsed again, once per text.
_parse = lru_cache(maxsize=DOCUMENTS)(parse)
_plain_schemas: dict[int, tuple[BaseSchema, bool]] = {}


def event_sender() -> Callable[[object], bool] | None:
    """For a subscription resolver: sends a shared event of its operation straight to the
    socket, returning False where strawberry's path must send it; None outside a
    graphql-transport-ws operation of this handler."""
    frames = _operation_frames.get()
    return frames.send_event if frames is not None else None


def _execute(schema: BaseSchema, query: str, operation_name: str | None, variables: dict[str, Any] | None,
             event: object) -> str | None:
    """The encoded `next` payload of the document on `event`; None unless shared and exact."""
    if not _plain_extensions(schema):
        return None
    document = _parse(query)
    # No context: a pure selection never reads it, which is what makes the result shareable.
    executor = FastExecutionContext.build(schema._schema, document, raw_variable_values=variables,
                                          operation_name=operation_name)
    if not isinstance(executor, FastExecutionContext) or not executor.selects_pure():
        return None
    result = executor.build_per_event_executor(event).execute_operation(False)
    if inspect.isawaitable(result):
        result.close()  # type: ignore[union-attr]  # a pure selection never awaits; be safe
        return None
    if result.errors or result.data is None:
        return None
    return orjson.dumps({"data": result.data}).decode()


def _plain_extensions(schema: BaseSchema) -> bool:
    """Whether no extension of `schema` hooks resolvers, adds results or changes error-free results."""
    known = _plain_schemas.get(id(schema))
    if known is not None and known[0] is schema:
        return known[1]
    plain = True
    for extension in schema.get_extensions():  # type: ignore[attr-defined]
        kind = type(extension)
        plain = plain and not kind._implements_resolve() and kind.get_results is SchemaExtension.get_results and (
            kind.on_stream_result in (SchemaExtension.on_stream_result, MaskErrors.on_stream_result))
    _plain_schemas[id(schema)] = (schema, plain)
    return plain

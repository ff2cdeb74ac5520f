"""A small graphql-transport-ws client for tests, on the `websockets` library."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

from finora_gql.core.viewer import user_channel
from tests.flows import node_uuid
from tests.server import RunningServer


class GraphQLWebSocket:
    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection

    async def receive(self, timeout: float = 5) -> dict[str, Any]:
        while True:
            message = json.loads(await asyncio.wait_for(self.connection.recv(), timeout))
            if message["type"] not in ("ping", "pong"):
                return message

    async def subscribe(self, query: str, variables: dict[str, Any] | None = None, operation_id: str = "1") -> None:
        await self.connection.send(
            json.dumps({"id": operation_id, "type": "subscribe", "payload": {"query": query, "variables": variables or {}}})
        )


@contextlib.asynccontextmanager
async def graphql_ws(url: str, init_payload: dict[str, Any] | None) -> AsyncIterator[GraphQLWebSocket]:
    """Connect and send `connection_init`; the caller checks for `connection_ack`."""
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"], origin=None) as connection:
        await connection.send(json.dumps({"type": "connection_init", "payload": init_payload or {}}))
        yield GraphQLWebSocket(connection)


async def listening(server: RunningServer, user_id: str, count: int = 1) -> None:
    """Wait until `count` subscriptions of the user (global id) listen in the test server: an
    event published before a subscription listens reaches nobody, however loaded the machine."""
    channel = user_channel(node_uuid(user_id))
    for _ in range(1000):
        if server.runtime.pubsub.hub.subscriber_count(channel) >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{count} subscriptions on {channel} did not start within 10 s")

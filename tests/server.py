"""Run the real app under uvicorn on a free port, in the test's event loop, and talk GraphQL to it."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn

from finora_gql.app import create_app
from finora_gql.config import Settings

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"


@dataclass
class RunningServer:
    base_url: str
    settings: Settings
    app: Any

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://") + "/graphql"

    def client(self, **kwargs: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base_url, timeout=30, **kwargs)

    async def gql(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """POST one operation; return the decoded response body."""
        all_headers = {"accept": GRAPHQL_RESPONSE_JSON, **(headers or {})}
        if token:
            all_headers["authorization"] = f"Bearer {token}"
        async with self.client() as client:
            response = await client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=all_headers)
        assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE_JSON), response.text
        return response.json()

    @property
    def runtime(self) -> Any:
        return self.app.state.runtime


@contextlib.asynccontextmanager
async def running_server(settings: Settings) -> AsyncIterator[RunningServer]:
    app = create_app(settings)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="on", log_level="warning", ws="websockets-sansio")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # surfaces the startup error
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield RunningServer(base_url=f"http://127.0.0.1:{port}", settings=settings, app=app)
    finally:
        server.should_exit = True
        await task


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{secrets.token_hex(6)}@example.com"

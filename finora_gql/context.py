"""The per-request (or per-websocket) context every resolver receives."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.requests import HTTPConnection
from strawberry.dataloader import DataLoader

from finora_gql.auth import service as auth
from finora_gql.core import logs, tracing
from finora_gql.core.errors import Forbidden, Unauthenticated
from finora_gql.core.runtime import Runtime
from finora_gql.core.viewer import Viewer


class Context:
    def __init__(self, runtime: Runtime, connection: HTTPConnection) -> None:
        self.runtime = runtime
        self.connection = connection
        # Set by strawberry from the websocket `connection_init` payload.
        self.connection_params: dict[str, Any] | None = None
        self._session: AsyncSession | None = None
        self._viewer: Viewer | None = None
        self._recheck = False  # set by forget_viewer: the next check reads the database
        self._loaders: dict[str, DataLoader[Any, Any]] = {}

    @property
    def session(self) -> AsyncSession:
        """One database session for the request, opened on first use."""
        if self._session is None:
            self._session = self.runtime.sessions()
        return self._session

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def loader(
        self, name: str, load: Callable[[AsyncSession, Viewer, Sequence[Any]], Awaitable[dict[Any, Any]]]
    ) -> DataLoader[Any, Any]:
        """A per-request dataloader: `load(session, viewer, keys)` returns the found rows by key."""
        if name not in self._loaders:

            async def batch(keys: Sequence[Any]) -> list[Any]:
                with tracing.span(f"loader {name}", keys=len(keys)):
                    found = await load(self.session, await self.viewer(), keys)
                return [found.get(key) for key in keys]

            self._loaders[name] = DataLoader(load_fn=batch)
        return self._loaders[name]

    @property
    def client_ip(self) -> str:
        """The caller's address, trusting X-Forwarded-For only as far as configured proxies go."""
        hops = self.runtime.settings.trusted_proxy_count
        forwarded = self.connection.headers.get("x-forwarded-for")
        if hops and forwarded:
            chain = [part.strip() for part in forwarded.split(",") if part.strip()]
            if len(chain) >= hops:
                return chain[-hops]
        return self.connection.client.host if self.connection.client else "unknown"

    @property
    def user_agent(self) -> str | None:
        return self.connection.headers.get("user-agent")

    def _bearer_token(self) -> str | None:
        if self.connection_params is not None:
            raw = self.connection_params.get("authorization") or self.connection_params.get("Authorization")
        else:
            raw = self.connection.headers.get("authorization")
        if not isinstance(raw, str):
            return None
        scheme, _, token = raw.partition(" ")
        return token.strip() if scheme.lower() == "bearer" and token.strip() else None

    async def viewer(self) -> Viewer:
        """The authenticated viewer; raises UNAUTHENTICATED without a valid, live session."""
        if self._viewer is None:
            token = self._bearer_token()
            if token is None:
                raise Unauthenticated()
            # HTTP requests may reuse a check made a moment ago; websockets always read the database.
            cached = self.connection.scope["type"] == "http" and not self._recheck
            self._viewer = await auth.authenticate(self.session, self.runtime, token, cached=cached)
            logs.set_user(self._viewer.user_id)
        return self._viewer

    async def admin(self) -> Viewer:
        viewer = await self.viewer()
        if not viewer.is_admin:
            raise Forbidden("Only administrators can do this.")
        return viewer

    def forget_viewer(self) -> None:
        """Drop the cached viewer so the next call re-checks the session (long-lived websockets)."""
        self._viewer = None
        self._recheck = True

"""Websocket subscriptions: the viewer signs in via connection_init, and streams end with the session."""

from __future__ import annotations

import pytest
from websockets.exceptions import ConnectionClosed

from tests.flows import ERRORS, login, signed_in_user
from tests.server import RunningServer
from tests.ws import graphql_ws, listening

SESSION_EVENTS = "subscription { sessionEvents { kind currentSessionEnded } }"
LOGOUT_ALL = f"mutation {{ logoutAll {{ ok {ERRORS} }} }}"
CHANGE = f"mutation($input: ChangePasswordInput!) {{ changePassword(input: $input) {{ {ERRORS} }} }}"


@pytest.mark.parametrize("payload", [None, {"authorization": "Bearer not-a-token"}, {"authorization": "Basic abc"}])
async def test_connection_without_valid_token_is_refused(server: RunningServer, payload) -> None:
    async with graphql_ws(server.ws_url, payload) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await ws.receive()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


async def test_stream_delivers_and_ends_with_the_session(server: RunningServer) -> None:
    user = await signed_in_user(server)
    async with graphql_ws(server.ws_url, {"authorization": f"Bearer {user.access_token}"}) as ws:
        assert (await ws.receive())["type"] == "connection_ack"
        await ws.subscribe(SESSION_EVENTS)
        await listening(server, user.user_id)

        # Another device changes the password: this session is signed out, hears so, and ends.
        other = await login(server, user.email)
        await server.gql(
            CHANGE, {"input": {"currentPassword": user.password, "newPassword": "another passphrase"}},
            token=other["accessToken"],
        )
        first = await ws.receive()
        assert first["type"] == "next"
        assert first["payload"]["data"]["sessionEvents"] == {"kind": "SESSIONS_REVOKED", "currentSessionEnded": True}
        assert (await ws.receive())["type"] == "complete"


async def test_logout_all_on_another_device_closes_the_stream(server: RunningServer) -> None:
    user = await signed_in_user(server)
    other = await login(server, user.email)
    async with graphql_ws(server.ws_url, {"authorization": f"Bearer {user.access_token}"}) as ws:
        assert (await ws.receive())["type"] == "connection_ack"
        await ws.subscribe(SESSION_EVENTS)
        await listening(server, user.user_id)
        await server.gql(LOGOUT_ALL, token=other["accessToken"])
        event = await ws.receive()
        assert event["payload"]["data"]["sessionEvents"]["currentSessionEnded"] is True
        assert (await ws.receive())["type"] == "complete"


async def test_other_users_events_are_not_delivered(server: RunningServer) -> None:
    ann = await signed_in_user(server)
    bob = await signed_in_user(server)
    async with graphql_ws(server.ws_url, {"authorization": f"Bearer {ann.access_token}"}) as ws:
        assert (await ws.receive())["type"] == "connection_ack"
        await ws.subscribe(SESSION_EVENTS)
        await listening(server, ann.user_id)
        await server.gql(LOGOUT_ALL, token=bob.access_token)
        with pytest.raises(TimeoutError):
            await ws.receive(timeout=0.5)

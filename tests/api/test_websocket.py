"""Shared subscription events written straight to the sockets (api/websocket.py)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from prometheus_client.parser import text_string_to_metric_families
from websockets.frames import Frame, Opcode
from websockets.protocol import State

from finora_gql.api import websocket
from tests.flows import login, signed_in_user
from tests.notifications.test_notifications import lock_out
from tests.server import RunningServer
from tests.ws import graphql_ws, listening


def recorded(monkeypatch: pytest.MonkeyPatch, owner: type, name: str) -> list[bool]:
    """What each call of the method `owner.name` returned, in order."""
    results: list[bool] = []
    method = getattr(owner, name)

    def recording(self: object, *args: object) -> bool:
        results.append(method(self, *args))
        return results[-1]

    monkeypatch.setattr(owner, name, recording)
    return results


async def test_shared_events_are_text_frames_with_each_operations_id(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = recorded(monkeypatch, websocket.OperationFrames, "send_event")
    written = recorded(monkeypatch, websocket.TransportWriter, "write_text")
    ann = await signed_in_user(server)
    bob = await signed_in_user(server)
    token = {"authorization": f"Bearer {ann.access_token}"}
    async with graphql_ws(server.ws_url, token) as first, graphql_ws(server.ws_url, token) as second, \
            graphql_ws(server.ws_url, {"authorization": f"Bearer {bob.access_token}"}) as bobs:
        for ws in (first, second, bobs):
            assert (await ws.receive())["type"] == "connection_ack"
        await first.subscribe("subscription { notifications { kind } }", operation_id="a")
        await first.subscribe("subscription { notifications { kind } }", operation_id="b")
        await second.subscribe("subscription { notifications { kind title } }", operation_id='c"1')
        await bobs.subscribe("subscription { notifications { kind } }")
        await listening(server, ann.user_id, 3)
        await listening(server, bob.user_id)

        for _ in range(5):  # the fifth failure locks the account: one ACCOUNT_LOCKED notification
            await login(server, ann.email, "not the password")
        frames = {await asyncio.wait_for(first.connection.recv(), 5) for _ in range(2)}
        assert frames == {
            '{"id":"a","type":"next","payload":{"data":{"notifications":{"kind":"ACCOUNT_LOCKED"}}}}',
            '{"id":"b","type":"next","payload":{"data":{"notifications":{"kind":"ACCOUNT_LOCKED"}}}}',
        }
        assert await asyncio.wait_for(second.connection.recv(), 5) == (
            '{"id":"c\\"1","type":"next","payload":{"data":{"notifications":'
            '{"kind":"ACCOUNT_LOCKED","title":"Your account was locked"}}}}')
        assert sent == [True, True, True]
        assert written == [True, True, True]  # each straight to its transport (uvicorn websockets-sansio)
        with pytest.raises(TimeoutError):
            await bobs.receive(timeout=0.5)


@pytest.mark.parametrize("length", [0, 125, 126, 65535, 65536])
def test_a_direct_frame_is_the_frame_uvicorn_would_write(length: int) -> None:
    text = "é" * (length // 2) + "x" * (length % 2)  # non-ASCII: the length is in bytes
    written: list[bytes] = []
    transport = SimpleNamespace(write=written.append, is_closing=lambda: False)
    protocol = SimpleNamespace(disconnected=False, close_sent=False, handshake_complete=True,
                               writable=asyncio.Event(), conn=SimpleNamespace(state=State.OPEN), transport=transport)
    writer = websocket.TransportWriter(protocol)  # type: ignore[arg-type]

    assert not writer.write_text(text) and written == []  # the transport pushes back: ASGI's path waits
    protocol.writable.set()
    assert writer.write_text(text)
    assert written == [Frame(Opcode.TEXT, text.encode()).serialize(mask=False)]
    protocol.close_sent = True
    assert not writer.write_text(text) and len(written) == 1  # closing: nothing after the close frame


async def realtime_metrics(server: RunningServer) -> dict[str, float]:
    async with server.client() as client:
        text = (await client.get("/metrics")).text
    return {
        sample.name + "".join(f"/{value}" for value in sample.labels.values()): sample.value
        for family in text_string_to_metric_families(text) if family.name.startswith("finora_realtime")
        for sample in family.samples if not sample.name.endswith("_created")
    }


async def test_metrics_count_live_subscribers_and_how_their_messages_went(server: RunningServer) -> None:
    ann = await signed_in_user(server)
    before = await realtime_metrics(server)
    async with graphql_ws(server.ws_url, {"authorization": f"Bearer {ann.access_token}"}) as ws:
        assert (await ws.receive())["type"] == "connection_ack"
        await ws.subscribe("subscription { notifications { kind } }", operation_id="n")  # a shared event
        await ws.subscribe("subscription { unreadCount }", operation_id="c")  # read per subscriber
        assert (await ws.receive())["id"] == "c"
        await listening(server, ann.user_id, 2)
        during = await realtime_metrics(server)
        await lock_out(server, ann.email)
        assert {(await ws.receive())["id"] for _ in range(2)} == {"n", "c"}
        after = await realtime_metrics(server)
    assert during["finora_realtime_subscribers"] >= 2
    for _ in range(100):  # the server ends both streams soon after the socket closes
        closed = await realtime_metrics(server)
        if closed["finora_realtime_subscribers"] <= during["finora_realtime_subscribers"] - 2:
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the closed connection's subscriptions are still counted")
    assert after["finora_realtime_messages_total/direct"] - during["finora_realtime_messages_total/direct"] == 1
    assert after["finora_realtime_messages_total/queued"] - during["finora_realtime_messages_total/queued"] == 1
    assert after["finora_realtime_messages_dropped_total"] == before["finora_realtime_messages_dropped_total"]

"""GraphQL helpers for assistant tests: conversations, questions, and following a reply live."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tests.server import RunningServer
from tests.ws import graphql_ws

ERRORS = "errors { code field message }"
START = f"""mutation($input: StartConversationInput!) {{ startConversation(input: $input) {{
  conversation {{ id title }} {ERRORS} }} }}"""
SEND = f"""mutation($input: SendAssistantMessageInput!) {{ sendAssistantMessage(input: $input) {{
  userMessage {{ id content status }} reply {{ id status }} {ERRORS} }} }}"""
CONVERSATION = """query($id: ID!) { conversation(id: $id) { id title messages { id role content status error tokens
  citations { index tool arguments title url } toolCalls { name arguments result ok durationMs }
  proposals { id kind summary status outcome } } } }"""
CONVERSATIONS = "{ conversations { id title } }"
DELETE = f"mutation($input: DeleteConversationInput!) {{ deleteConversation(input: $input) {{ deletedIds {ERRORS} }} }}"
CONFIRM = f"""mutation($input: ProposalInput!) {{ confirmAssistantProposal(input: $input) {{
  proposal {{ id status outcome kind }} {ERRORS} }} }}"""
REJECT = f"""mutation($input: ProposalInput!) {{ rejectAssistantProposal(input: $input) {{
  proposal {{ id status }} {ERRORS} }} }}"""
REPLY = """subscription($id: ID!) { assistantReply(messageId: $id) { kind seq delta toolName summary
  proposal { id summary kind } message { id content status } error } }"""
FINAL = {"COMPLETE", "FAILED"}


async def start_conversation(server: RunningServer, token: str, title: str | None = None) -> str:
    body = await server.gql(START, {"input": {"title": title}}, token=token)
    payload = body["data"]["startConversation"]
    assert payload["errors"] == [], payload
    return payload["conversation"]["id"]


async def send(server: RunningServer, token: str, conversation_id: str, content: str,
               client_key: str | None = None) -> dict[str, Any]:
    body = await server.gql(SEND, {"input": {"conversationId": conversation_id, "content": content,
                                             "clientKey": client_key}}, token=token)
    assert "errors" not in body, body
    return body["data"]["sendAssistantMessage"]


async def reply_of(server: RunningServer, token: str, conversation_id: str, reply_id: str) -> dict[str, Any]:
    body = await server.gql(CONVERSATION, {"id": conversation_id}, token=token)
    return next(m for m in body["data"]["conversation"]["messages"] if m["id"] == reply_id)


async def wait_reply(server: RunningServer, token: str, conversation_id: str, reply_id: str,
                     timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        message = await reply_of(server, token, conversation_id, reply_id)
        if message["status"] in FINAL or time.monotonic() > deadline:
            return message
        await asyncio.sleep(0.05)


async def stream_reply(server: RunningServer, token: str, reply_id: str, *, stop_after: int | None = None,
                       timeout: float = 60) -> list[dict[str, Any]]:
    """The reply's events over a real websocket, until DONE/ERROR (or `stop_after` events)."""
    events: list[dict[str, Any]] = []
    async with graphql_ws(server.ws_url, {"authorization": f"Bearer {token}"}) as ws:
        ack = await ws.receive(timeout=timeout)
        assert ack["type"] == "connection_ack", ack
        await ws.subscribe(REPLY, {"id": reply_id})
        while True:
            message = await ws.receive(timeout=timeout)
            if message["type"] == "complete":
                return events
            assert message["type"] == "next", message
            assert "errors" not in message["payload"], message
            event = message["payload"]["data"]["assistantReply"]
            events.append(event)
            if event["kind"] in ("DONE", "ERROR") or (stop_after is not None and len(events) >= stop_after):
                return events


async def ask(server: RunningServer, token: str, conversation_id: str, question: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Ask and follow the reply to its end; returns (stored reply, streamed events)."""
    sent = await send(server, token, conversation_id, question)
    assert sent["errors"] == [], sent
    events = await stream_reply(server, token, sent["reply"]["id"])
    stored = await wait_reply(server, token, conversation_id, sent["reply"]["id"])
    return stored, events


def text_of(events: list[dict[str, Any]]) -> str:
    return "".join(e["delta"] or "" for e in events if e["kind"] == "TEXT")

"""Upkeep: a reply whose worker died ends FAILED; a reply streams through Redis (pub/sub and the
event log), as it does with the subscriber on another API process; a slow reply is saved while it
streams."""

from __future__ import annotations

import asyncio
import datetime as dt

import redis.asyncio as aioredis
from pydantic import SecretStr

from finora_gql.assistant.jobs import fail_stalled_replies
from finora_gql.assistant.models import Message, MessageStatus, Role
from tests.assistant.assistant_flows import ask, reply_of, send, start_conversation, stream_reply, text_of
from tests.assistant.openai_server import fake_openai
from tests.assistant.test_assistant_flow import _spender
from tests.assistant.worker_config import worker_settings
from tests.flows import node_uuid
from tests.server import RunningServer, running_server

REDIS_URL = "redis://127.0.0.1:6379/10"


async def test_stalled_reply_fails_with_a_reason(server: RunningServer) -> None:
    user, _, _ = await _spender(server)
    conversation = await start_conversation(server, user.access_token)
    rt = server.runtime
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    async with rt.sessions() as session:
        stuck = Message(user_id=node_uuid(user.user_id), conversation_id=node_uuid(conversation), role=Role.ASSISTANT,
                        status=MessageStatus.STREAMING, content="Half an ans", created_at=long_ago)
        session.add(stuck)
        await session.commit()
        stuck_id = stuck.id
    assert await fail_stalled_replies(rt) >= 1
    async with rt.sessions() as session:
        row = await session.get(Message, stuck_id)
        assert row.status is MessageStatus.FAILED and "interrupted" in row.error


async def test_reply_streams_through_redis(server: RunningServer) -> None:
    client = aioredis.Redis.from_url(REDIS_URL)
    await client.flushdb()
    try:
        settings = server.settings.model_copy(update={"redis_url": REDIS_URL})
        async with running_server(settings) as api, worker_settings(settings):
            user, _, _ = await _spender(api)
            conversation = await start_conversation(api, user.access_token)
            stored, events = await ask(api, user.access_token, conversation, "How much did I spend at Blue Bottle this month?")
            assert stored["status"] == "COMPLETE" and "19.75 USD" in text_of(events)
            # The event log lives in Redis: a late subscriber gets the whole stream from there.
            keys = [key async for key in client.scan_iter("finora:assistant:live:*")]
            assert len(keys) == 1
            late = await stream_reply(api, user.access_token, stored["id"])
            assert late == events
    finally:
        await client.flushdb()
        await client.aclose()


async def test_slow_reply_is_saved_while_it_streams(server: RunningServer) -> None:
    user, _, _ = await _spender(server)
    async with fake_openai() as model:
        model.chunk_delay = 0.05
        configured = server.settings.model_copy(update={
            "llm_model": "openai/finora-test-model", "llm_api_base": model.base_url,
            "llm_api_key": SecretStr("test-key"), "assistant_persist_interval": 0.5})
        async with worker_settings(configured):
            conversation = await start_conversation(server, user.access_token)
            sent = await send(server, user.access_token, conversation, "What is my cash flow month by month this year?")
            snapshots = []
            while True:
                message = await reply_of(server, user.access_token, conversation, sent["reply"]["id"])
                snapshots.append((message["status"], message["content"]))
                if message["status"] in ("COMPLETE", "FAILED"):
                    break
                await asyncio.sleep(0.1)
    final = snapshots[-1]
    assert final[0] == "COMPLETE"
    partial = {content for status, content in snapshots if status == "STREAMING" and content}
    assert partial, snapshots[:5]  # saved mid-stream...
    assert all(final[1].startswith(p.strip()) for p in partial)  # ...as a prefix of the answer
    # ...but not per chunk: far fewer saves than streamed words.
    assert len(partial) < len(final[1].split()) / 4

"""Limits and failures: the per-person rate limit, the daily token budget, a provider that is too
slow or refuses, a reply's stream ending with the session, and the production path against a local OpenAI-compatible server (SSE + tool calls)."""

from __future__ import annotations

from pydantic import SecretStr

from finora_gql.config import Settings
from tests.assistant.assistant_flows import REPLY, ask, send, start_conversation, stream_reply, text_of, wait_reply
from tests.assistant.openai_server import FakeModel, fake_openai
from tests.assistant.test_assistant_flow import _spender
from tests.assistant.worker_config import worker_settings
from tests.flows import ERRORS, login
from tests.server import RunningServer, running_server
from tests.ws import graphql_ws, listening

LOGOUT = f"mutation {{ logout {{ ok {ERRORS} }} }}"


def _with_model(server: RunningServer, model: FakeModel, *, key: str = "test-key", **overrides: object) -> Settings:
    """The server's settings pointed at the local OpenAI-compatible `model` (the production path)."""
    return server.settings.model_copy(update={
        "llm_model": "openai/finora-test-model", "llm_api_base": model.base_url, "llm_api_key": SecretStr(key),
        **overrides})


async def test_rate_limit_per_person_is_a_clear_payload_error(server: RunningServer) -> None:
    settings = server.settings.model_copy(update={"assistant_rate_limit": "2/3600"})
    async with running_server(settings) as limited:
        user, _, _ = await _spender(limited)
        other, _, _ = await _spender(limited)
        conversation = await start_conversation(limited, user.access_token)
        for question in ("What is my balance?", "What are my goals?"):
            sent = await send(limited, user.access_token, conversation, question)
            assert sent["errors"] == []
        third = await send(limited, user.access_token, conversation, "And my budgets?")
        assert third["errors"][0]["code"] == "RATE_LIMITED"
        assert "too fast" in third["errors"][0]["message"] and third["reply"] is None
        # Per person: someone else may still ask.
        theirs = await start_conversation(limited, other.access_token)
        assert (await send(limited, other.access_token, theirs, "What is my balance?"))["errors"] == []


async def test_daily_token_budget_is_a_clear_payload_error(server: RunningServer) -> None:
    settings = server.settings.model_copy(update={"assistant_daily_tokens": 1})
    async with running_server(settings) as limited:
        user, _, _ = await _spender(limited)
        conversation = await start_conversation(limited, user.access_token)
        first, _ = await ask(limited, user.access_token, conversation, "What is my balance?")
        assert first["status"] == "COMPLETE" and first["tokens"] > 1
        second = await send(limited, user.access_token, conversation, "What are my goals?")
        assert second["errors"][0]["code"] == "RATE_LIMITED"
        assert "today's assistant allowance" in second["errors"][0]["message"]


async def test_production_path_through_an_openai_compatible_server(server: RunningServer) -> None:
    user, _, _ = await _spender(server)
    async with fake_openai() as model:
        configured = _with_model(server, model, llm_retries=0)
        async with worker_settings(configured):
            conversation = await start_conversation(server, user.access_token)
            stored, events = await ask(server, user.access_token, conversation,
                                       "How much did I spend at Blue Bottle this month?")
    assert stored["status"] == "COMPLETE", stored
    text = text_of(events)
    assert "19.75 USD" in text and "[1]" in text
    assert [e["kind"] for e in events][:2] == ["TOOL_STARTED", "TOOL_FINISHED"]
    assert stored["toolCalls"][0]["name"] == "search_transactions"
    assert stored["tokens"] > 100  # the server's usage, counted
    first, last = model.requests[0], model.requests[-1]
    assert first["stream"] is True and first["model"] == "finora-test-model"
    tool = next(t for t in first["tools"] if t["function"]["name"] == "search_transactions")["function"]
    assert tool["strict"] is True and tool["parameters"]["additionalProperties"] is False
    assert "Restaurants" in next(t for t in first["tools"] if t["function"]["name"] == "spending_by_category")[
        "function"]["parameters"]["properties"]["category"]["enum"]  # the person's own names
    assert last["messages"][-1]["role"] == "tool" and '"data"' in last["messages"][-1]["content"]


async def test_tool_rounds_are_capped_and_the_last_forbids_tools(server: RunningServer) -> None:
    user, _, _ = await _spender(server)
    async with fake_openai() as model:
        configured = _with_model(server, model, assistant_max_tool_rounds=1)
        async with worker_settings(configured):
            conversation = await start_conversation(server, user.access_token)
            stored, events = await ask(server, user.access_token, conversation, "What is my balance?")
    assert len(model.requests) == 1 and model.requests[0]["tool_choice"] == "none"
    assert not [e for e in events if e["kind"].startswith("TOOL")]
    assert stored["status"] == "COMPLETE"


async def test_provider_timeout_fails_the_reply_with_a_reason(server: RunningServer) -> None:
    user, _, _ = await _spender(server)
    async with fake_openai() as model:
        model.delay = 10
        configured = _with_model(server, model, llm_timeout=1.0, llm_retries=0)
        async with worker_settings(configured):
            conversation = await start_conversation(server, user.access_token)
            sent = await send(server, user.access_token, conversation, "What is my balance?")
            events = await stream_reply(server, user.access_token, sent["reply"]["id"])
            stored = await wait_reply(server, user.access_token, conversation, sent["reply"]["id"])
    assert events[-1]["kind"] == "ERROR" and "in time" in events[-1]["error"]
    assert stored["status"] == "FAILED" and "in time" in stored["error"]


async def test_provider_refusal_fails_the_reply_with_a_reason(server: RunningServer) -> None:
    user, _, _ = await _spender(server)
    async with fake_openai() as model:
        configured = _with_model(server, model, key="wrong-key", llm_retries=0)
        async with worker_settings(configured):
            conversation = await start_conversation(server, user.access_token)
            sent = await send(server, user.access_token, conversation, "What is my balance?")
            stored = await wait_reply(server, user.access_token, conversation, sent["reply"]["id"])
    assert stored["status"] == "FAILED" and "API key" in stored["error"]


async def test_signing_out_ends_that_sessions_reply_stream(server: RunningServer) -> None:
    """The reply goes on (and is stored); the stream of the session that signed out ends at once,
    another session's stream of the same reply does not."""
    user, _, _ = await _spender(server)
    other = await login(server, user.email)
    async with fake_openai() as model:
        model.chunk_delay = 0.05  # a model writing slowly: the reply is still streaming when the session ends
        configured = _with_model(server, model, llm_retries=0)
        async with worker_settings(configured):
            conversation = await start_conversation(server, user.access_token)
            sent = await send(server, user.access_token, conversation, "What is my balance?")
            reply_id = sent["reply"]["id"]
            async with (graphql_ws(server.ws_url, {"authorization": f"Bearer {user.access_token}"}) as mine,
                        graphql_ws(server.ws_url, {"authorization": f"Bearer {other['accessToken']}"}) as theirs):
                for ws in (mine, theirs):
                    assert (await ws.receive())["type"] == "connection_ack"
                    await ws.subscribe(REPLY, {"id": reply_id})
                await listening(server, user.user_id, count=2)
                assert (await server.gql(LOGOUT, token=user.access_token))["data"]["logout"]["errors"] == []
                seen = []
                while (message := await mine.receive(timeout=10))["type"] == "next":
                    seen.append(message["payload"]["data"]["assistantReply"]["kind"])
                assert message["type"] == "complete" and "DONE" not in seen, (message, seen)
                kinds = []
                while (message := await theirs.receive(timeout=30))["type"] == "next":
                    kinds.append(message["payload"]["data"]["assistantReply"]["kind"])
                assert kinds[-1] == "DONE", kinds
            stored = await wait_reply(server, other["accessToken"], conversation, reply_id)
    assert stored["status"] == "COMPLETE"

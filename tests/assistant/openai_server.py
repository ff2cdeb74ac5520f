"""A local OpenAI-compatible chat server for tests: POST /v1/chat/completions with SSE streaming
and tool calls, as hosted models send them (tool-call arguments split across chunks, usage in the
last chunk). Its "model" is the offline planner, so its answers are checkable; `delay` makes it
slow (the provider-timeout case) and `fail_with` makes it refuse."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from finora_gql.assistant.planner import respond


@dataclass
class FakeModel:
    delay: float = 0.0
    chunk_delay: float = 0.0  # seconds between streamed words, like a model generating
    fail_with: int | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)
    base_url: str = ""


def _chunk(model: str, delta: dict[str, Any], finish: str | None = None, usage: dict | None = None) -> bytes:
    body: dict[str, Any] = {"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": int(time.time()),
                            "model": model, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    if usage is not None:
        body["usage"] = usage
    return b"data: " + json.dumps(body).encode() + b"\n\n"


def build_app(state: FakeModel) -> Starlette:
    async def completions(request: Request):
        body = await request.json()
        state.requests.append(body)
        if request.headers.get("authorization") != "Bearer test-key":
            return JSONResponse({"error": {"message": "bad key", "type": "invalid_request_error"}}, status_code=401)
        if state.fail_with:
            return JSONResponse({"error": {"message": "unavailable", "type": "server_error"}}, status_code=state.fail_with)
        if state.delay:
            await asyncio.sleep(state.delay)
        params = {"tools": body.get("tools"), "tool_choice": body.get("tool_choice")}
        calls, text = respond(body["messages"], params)
        model = body.get("model", "fake")
        usage = {"prompt_tokens": 100, "completion_tokens": max(1, len(text) // 4), "total_tokens": 100 + max(1, len(text) // 4)}

        async def stream() -> AsyncIterator[bytes]:
            yield _chunk(model, {"role": "assistant", "content": ""})
            for index, (name, args) in enumerate(calls):
                arguments = json.dumps(args)
                half = len(arguments) // 2
                call_id = f"call_{uuid.uuid4().hex[:8]}"
                yield _chunk(model, {"tool_calls": [{"index": index, "id": call_id, "type": "function",
                                                     "function": {"name": name, "arguments": arguments[:half]}}]})
                yield _chunk(model, {"tool_calls": [{"index": index, "function": {"arguments": arguments[half:]}}]})
            words = text.split(" ")
            for i, word in enumerate(words):
                yield _chunk(model, {"content": word + (" " if i < len(words) - 1 else "")})
                await asyncio.sleep(state.chunk_delay)
            yield _chunk(model, {}, "tool_calls" if calls else "stop")
            yield b"data: " + json.dumps({"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 0,
                                          "model": model, "choices": [], "usage": usage}).encode() + b"\n\n"
            yield b"data: [DONE]\n\n"

        if body.get("stream"):
            return StreamingResponse(stream(), media_type="text/event-stream")
        return JSONResponse({"error": {"message": "only streaming here"}}, status_code=400)

    return Starlette(routes=[Route("/v1/chat/completions", completions, methods=["POST"]),
                             Route("/chat/completions", completions, methods=["POST"])])


@contextlib.asynccontextmanager
async def fake_openai() -> AsyncIterator[FakeModel]:
    state = FakeModel()
    config = uvicorn.Config(build_app(state), host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    state.base_url = f"http://127.0.0.1:{port}/v1"
    try:
        yield state
    finally:
        server.should_exit = True
        await task

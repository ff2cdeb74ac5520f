"""The offline model registered with litellm as a custom provider (`finora-offline/...`): streaming,
tool calls and embeddings, with no key and no network. The thinking is in planner.py; this module
speaks litellm's custom-provider interface (imported only once litellm is)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

from litellm import CustomLLM
from litellm.types.utils import GenericStreamingChunk, ModelResponse

from finora_gql.assistant.planner import _pieces, _tokens, respond


class OfflineProvider(CustomLLM):
    """`finora-offline/<anything>` in litellm: streaming, tool calls and embeddings, offline."""

    def _chunks(self, messages: list, optional_params: dict) -> Iterator[GenericStreamingChunk]:
        calls, text = respond(messages, optional_params)
        produced = json.dumps([[n, a] for n, a in calls]) + text
        prompt, completion = _tokens(messages, produced)
        usage = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
        for index, (name, args) in enumerate(calls):
            yield GenericStreamingChunk(text="", is_finished=False, finish_reason="", usage=None, index=0, tool_use={
                "id": f"call_{uuid.uuid4().hex[:12]}", "type": "function", "index": index,
                "function": {"name": name, "arguments": json.dumps(args)}})
        for piece in _pieces(text):
            yield GenericStreamingChunk(text=piece, tool_use=None, is_finished=False, finish_reason="", usage=None, index=0)
        yield GenericStreamingChunk(text="", tool_use=None, is_finished=True, usage=usage, index=0,
                                    finish_reason="tool_calls" if calls else "stop")

    def streaming(self, model, messages, api_base, custom_prompt_dict, model_response, print_verbose, encoding, api_key,
                  logging_obj, optional_params, *args: Any, **kwargs: Any) -> Iterator[GenericStreamingChunk]:
        yield from self._chunks(messages, optional_params)

    async def astreaming(self, model, messages, api_base, custom_prompt_dict, model_response, print_verbose, encoding,
                         api_key, logging_obj, optional_params, *args: Any, **kwargs: Any) -> AsyncIterator[GenericStreamingChunk]:
        for chunk in self._chunks(messages, optional_params):
            yield chunk

    def completion(self, model, messages, api_base, custom_prompt_dict, model_response: ModelResponse, print_verbose,
                   encoding, api_key, logging_obj, optional_params, *args: Any, **kwargs: Any) -> ModelResponse:
        calls, text = respond(messages, optional_params)
        message = model_response.choices[0].message  # type: ignore[union-attr]
        message.content = text or None
        if calls:
            from litellm.types.utils import ChatCompletionMessageToolCall, Function

            message.tool_calls = [ChatCompletionMessageToolCall(id=f"call_{i}", type="function", function=Function(
                name=name, arguments=json.dumps(args))) for i, (name, args) in enumerate(calls)]
            model_response.choices[0].finish_reason = "tool_calls"  # type: ignore[union-attr]
        prompt, completion = _tokens(messages, text)
        from litellm.types.utils import Usage

        model_response.usage = Usage(prompt_tokens=prompt, completion_tokens=completion,  # type: ignore[attr-defined]
                                     total_tokens=prompt + completion)
        return model_response

    async def acompletion(self, *args: Any, **kwargs: Any) -> ModelResponse:
        return self.completion(*args, **kwargs)

    def embedding(self, model, input, model_response, print_verbose, logging_obj, optional_params, *args: Any,
                  **kwargs: Any):
        from finora_gql.assistant.embeddings import wordllama_embed

        vectors = wordllama_embed(list(input))
        model_response.data = [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)]
        model_response.model = model
        return model_response

    async def aembedding(self, *args: Any, **kwargs: Any):
        return self.embedding(*args, **kwargs)

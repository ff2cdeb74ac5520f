"""litellm, imported lazily (it takes seconds), with the offline provider registered as a custom
provider, so the same code path runs with and without a key.

`stream_completion` is the only call the generator makes: one model turn, streamed, yielding
`("text", str)`, `("tool_call", {id, name, arguments})` and `("usage", tokens)`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import AsyncIterator
from typing import Any

from finora_gql.config import Settings

OFFLINE_PROVIDER = "finora-offline"
_lock = threading.Lock()
_litellm: Any = None


def litellm() -> Any:
    """The litellm module, imported once, using its bundled cost map (no network at import)."""
    global _litellm
    if _litellm is None:
        with _lock:
            if _litellm is None:
                os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
                import litellm as module

                from finora_gql.assistant.offline import OfflineProvider

                module.telemetry = False
                module.suppress_debug_info = True
                providers = [p for p in (module.custom_provider_map or []) if p.get("provider") != OFFLINE_PROVIDER]
                providers.append({"provider": OFFLINE_PROVIDER, "custom_handler": OfflineProvider()})
                module.custom_provider_map = providers
                # custom_provider_map is read when litellm sets up its handlers: register it now.
                from litellm.utils import custom_llm_setup

                custom_llm_setup()
                _litellm = module
    return _litellm


def is_offline(model: str) -> bool:
    return model.split("/", 1)[0] == OFFLINE_PROVIDER


class ProviderError(Exception):
    """The model could not answer: unreachable, refused, too slow. Its message is shown to people."""


async def stream_completion(
    settings: Settings, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None, *, allow_tools: bool,
) -> AsyncIterator[tuple[str, Any]]:
    module = litellm()
    kwargs: dict[str, Any] = {
        "model": settings.llm_model,
        "messages": messages,
        "stream": True,
        "timeout": settings.llm_timeout,
        "num_retries": settings.llm_retries,
        "stream_options": {"include_usage": True},
    }
    if settings.llm_api_key is not None:
        kwargs["api_key"] = settings.llm_api_key.get_secret_value()
    if settings.llm_api_base:
        kwargs["api_base"] = settings.llm_api_base
    if tools:
        # The last round still describes the tools (the conversation refers to them) but forbids calls.
        kwargs["tools"] = tools
        kwargs["tool_choice"] = "auto" if allow_tools else "none"
    try:
        response = await module.acompletion(**kwargs)
        calls: dict[int, dict[str, Any]] = {}
        usage = 0
        async for chunk in response:
            chunk_usage = getattr(chunk, "usage", None)
            if chunk_usage is not None and getattr(chunk_usage, "total_tokens", None):
                usage = int(chunk_usage.total_tokens)
            if not chunk.choices:
                continue
            delta = chunk.choices[0].delta
            if delta is None:
                continue
            if delta.content:
                yield "text", delta.content
            for call in delta.tool_calls or ():
                index = call.index if call.index is not None else len(calls)
                entry = calls.setdefault(index, {"id": None, "name": "", "arguments": ""})
                if call.id:
                    entry["id"] = call.id
                if call.function is not None:
                    if call.function.name:
                        entry["name"] += call.function.name
                    if call.function.arguments:
                        entry["arguments"] += call.function.arguments
        for index in sorted(calls):
            entry = calls[index]
            entry["id"] = entry["id"] or f"call_{index}"
            yield "tool_call", entry
        yield "usage", usage
    except ProviderError:
        raise
    except Exception as error:  # litellm maps every provider failure to its own exception types
        if type(error).__module__.startswith("litellm") or isinstance(error, TimeoutError):
            raise ProviderError(_reason(error)) from error
        raise


def _reason(error: Exception) -> str:
    name = type(error).__name__
    status = getattr(error, "status_code", None)
    if status in (401, 403) or "401" in str(error)[:300]:
        return "The language model refused the configured API key."
    if "Timeout" in name or isinstance(error, TimeoutError):
        return "The language model did not answer in time."
    if "RateLimit" in name:
        return "The language model refused: too many requests. Try again in a minute."
    if "Authentication" in name:
        return "The language model refused the configured API key."
    if "Connection" in name or "ServiceUnavailable" in name or "APIConnection" in name:
        return "The language model could not be reached."
    return f"The language model failed ({name})."


async def embed(settings: Settings, texts: list[str]) -> list[list[float]]:
    """Embeddings through litellm (production); the offline default does not come here."""
    module = litellm()
    kwargs: dict[str, Any] = {"model": settings.embedding_model, "input": texts, "timeout": settings.llm_timeout}
    if settings.llm_api_key is not None:
        kwargs["api_key"] = settings.llm_api_key.get_secret_value()
    if settings.llm_api_base:
        kwargs["api_base"] = settings.llm_api_base
    response = await module.aembedding(**kwargs)
    return [item["embedding"] for item in response.data]

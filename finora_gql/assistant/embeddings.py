"""Text embeddings: wordllama offline (its 256-d weights ship inside the package, no download),
or any litellm embedding model in production. Vectors are unit length and 256-d, and every row
records the model that made it, so `finora-gql reindex-assistant` knows what to rebuild."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import numpy as np

from finora_gql.assistant.models import EMBEDDING_DIMENSION
from finora_gql.config import Settings

OFFLINE = "wordllama"
INLINE_CHARS = 2000  # texts this short are embedded on the event loop
_model: Any = None
_lock = threading.Lock()


def _wordllama() -> Any:
    global _model
    if _model is None:
        with _lock:
            if _model is None:
                import wordllama
                from wordllama import WordLlama

                # Its own folder as the cache: the tokenizer is looked up under "tokenizers/" there
                # (the package's "project root" lookup uses the wrong folder name and would download).
                _model = WordLlama.load(dim=EMBEDDING_DIMENSION, cache_dir=Path(wordllama.__file__).parent,
                                        disable_download=True)
    return _model


def _unit(vectors: np.ndarray) -> list[list[float]]:
    vectors = np.asarray(vectors, dtype=np.float32)[:, :EMBEDDING_DIMENSION]
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1
    return (vectors / norms).tolist()


def wordllama_embed(texts: list[str]) -> list[list[float]]:
    if not texts:
        return []
    return _unit(_wordllama().embed(texts))


def model_name(settings: Settings) -> str:
    return f"{OFFLINE}/l2_supercat-{EMBEDDING_DIMENSION}" if settings.embedding_model == OFFLINE else settings.embedding_model


async def embed(settings: Settings, texts: list[str]) -> list[list[float]]:
    if not texts:
        return []
    if settings.embedding_model == OFFLINE:
        if _model is not None and sum(map(len, texts)) <= INLINE_CHARS:
            return wordllama_embed(texts)  # a question: ~0.1 ms, less than a thread hop (and its GIL wait)
        return await asyncio.to_thread(wordllama_embed, texts)
    from finora_gql.assistant import llm

    vectors = await llm.embed(settings, texts)
    if any(len(v) < EMBEDDING_DIMENSION for v in vectors):
        raise ValueError(f"{settings.embedding_model} returns fewer than {EMBEDDING_DIMENSION} dimensions")
    return _unit(np.array(vectors))

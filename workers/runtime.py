"""The Runtime actors use: built once per worker process, on the worker's event loop."""

from __future__ import annotations

import asyncio

import finora_gql.models  # noqa: F401 - every table, so foreign keys resolve in a bare worker
from finora_gql.config import Settings
from finora_gql.core.runtime import Runtime, build_runtime

_settings: Settings | None = None
_runtime: Runtime | None = None
_lock = asyncio.Lock()


def configure(settings: Settings) -> None:
    """Use these settings (with a database_url) instead of the environment's."""
    global _settings, _runtime
    _settings, _runtime = settings, None


def _current(candidate: Runtime | None) -> bool:
    return candidate is not None and (_settings is None or candidate.settings is _settings)


async def runtime() -> Runtime:
    global _runtime
    async with _lock:
        # configure() may run on another thread while a runtime is being built (tests point the
        # worker at other settings): one built from settings that were replaced meanwhile is dropped.
        while not _current(_runtime):
            settings = _settings or Settings()
            if not settings.database_url:
                raise RuntimeError("workers need DATABASE_URL (the CLI sets it for the embedded database)")
            built = build_runtime(settings, settings.database_url)
            await built.start()
            if _current(built):
                _runtime = built
            else:
                await built.aclose()
        assert _runtime is not None
        return _runtime


async def close() -> None:
    global _runtime
    if _runtime is not None:
        await _runtime.aclose()
        _runtime = None

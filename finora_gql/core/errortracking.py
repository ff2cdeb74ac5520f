"""Error reporting to Sentry when `SENTRY_DSN` is set (the seed's optional error tracking).

Events pass through the same redaction as logs before they leave the process: request headers
and bodies, exception messages, local variables and breadcrumbs. The SDK's defaults attach no personal data; the user is the id
only, from the log context.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from finora_gql.core import logs

if TYPE_CHECKING:
    from finora_gql.config import Settings

_lock = threading.Lock()
_configured = False


def scrub(event: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    event = logs.redact_value(event)
    context = logs.current()
    if context is not None:
        tags = event.setdefault("tags", {})
        if isinstance(tags, dict):
            for key in ("request_id", "operation", "job"):
                if getattr(context, key):
                    tags[key] = getattr(context, key)
        if context.user_id:
            event["user"] = {"id": context.user_id}
    return event


def scrub_breadcrumb(crumb: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    return logs.redact_value(crumb)


def configure(settings: Settings) -> bool:
    """Start the Sentry client once per process when a DSN is configured."""
    global _configured
    if settings.sentry_dsn is None:
        return False
    with _lock:
        if _configured:
            return True
        import inspect
        import logging

        import sentry_sdk
        from sentry_sdk.integrations.logging import LoggingIntegration

        extra: dict[str, Any] = {}
        if "before_send_log" in inspect.signature(sentry_sdk.consts.ClientConstructor.__init__).parameters:
            extra["before_send_log"] = scrub_breadcrumb  # sentry-sdk 3 also ships log records
        sentry_sdk.init(
            **extra,
            dsn=settings.sentry_dsn.get_secret_value(),
            environment=settings.env.value,
            # No personal data by default in either major version (2.x: send_default_pii, 3.x:
            # data_collection); options that exist in both only.
            max_request_body_size="never",
            before_send=scrub,
            before_breadcrumb=scrub_breadcrumb,
            traces_sample_rate=0,
            # Errors logged (unexpected GraphQL errors, failed jobs) become events; INFO and up
            # are their breadcrumbs. Explicit: sentry-sdk 3 no longer makes events from logs.
            integrations=[LoggingIntegration(event_level=logging.ERROR, breadcrumb_level=logging.INFO)],
        )
        _configured = True
    return True

"""Logging: human-readable lines by default, JSON lines with `LOG_FORMAT=json`; never a secret.

Every record carries the request id, trace id, user id and GraphQL operation of the request (or
job) it was logged in. The context is one mutable holder per request, set by the outermost
middleware: resolvers run in tasks of their own (graphql-core gathers them), so a value they set
(the viewer, once authenticated) must land in an object the request's other tasks share.

`RedactionFilter` sits on the handler, so it sees every record of every library: it masks
JWTs, bearer tokens, values of password/token/secret/key fields, signed-URL and token query
parameters, email bodies passed as fields, and every secret value the settings hold.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import sys
import threading
from contextvars import ContextVar
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from finora_gql.config import Settings

REDACTED = "[REDACTED]"


@dataclass
class LogContext:
    request_id: str | None = None
    user_id: str | None = None
    operation: str | None = None
    job: str | None = None


_context: ContextVar[LogContext | None] = ContextVar("finora_log_context", default=None)


def current() -> LogContext | None:
    return _context.get()


def bind(context: LogContext) -> Any:
    """Make `context` the current one; returns the token for `unbind`."""
    return _context.set(context)


def unbind(token: Any) -> None:
    _context.reset(token)


def set_user(user_id: object) -> None:
    context = _context.get()
    if context is not None:
        context.user_id = str(user_id)


def set_operation(name: str | None) -> None:
    context = _context.get()
    if context is not None:
        context.operation = name


# --- redaction --------------------------------------------------------------------------------

_SENSITIVE_KEYS = (
    r"[a-z0-9_-]*(?:password|passwd|secret|token|api_?key|apikey|signature|dsn|private_?key|encryption_?key)|"
    r"authorization|cookie|set-cookie|body|html|text_?body|html_?body"
)
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # JSON-ish and Python-repr-ish "key": "value" / 'key': 'value' / key="value"
    (re.compile(rf"""(?i)(["']?\b(?:{_SENSITIVE_KEYS})\b["']?\s*[:=]\s*)(["'])(?:\\.|(?!\2).)*\2""", re.S),
     rf"\1\2{REDACTED}\2"),
    # key=value unquoted (query strings, env dumps, form bodies)
    (re.compile(rf"(?i)(?<![A-Za-z0-9_])((?:{_SENSITIVE_KEYS}|code|sig|x-amz-signature|x-amz-credential)=)"
                rf"[^&\s\"',;]+"), rf"\1{REDACTED}"),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"), rf"\1 {REDACTED}"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}"), REDACTED),  # JWTs
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^:/@\s]+):[^@\s/]+@"), rf"\1:{REDACTED}@"),  # passwords in URLs
]

_secrets_lock = threading.Lock()
_secret_values: tuple[str, ...] = ()


def register_secret(value: str | None) -> None:
    """Mask this exact value wherever it appears (secrets from the settings, API keys)."""
    global _secret_values
    if not value or len(value) < 6:
        return
    with _secrets_lock:
        if value not in _secret_values:
            # Longest first, so a secret containing another is masked whole.
            _secret_values = tuple(sorted({*_secret_values, value}, key=len, reverse=True))


def register_settings_secrets(settings: Settings) -> None:
    from pydantic import SecretStr

    for name in type(settings).model_fields:
        value = getattr(settings, name, None)
        if isinstance(value, SecretStr):
            register_secret(value.get_secret_value())
    for name in ("database_url", "redis_url", "broker_url"):
        url = getattr(settings, name, None)
        if isinstance(url, str):
            match = re.search(r"://[^:/@\s]+:([^@\s/]+)@", url)
            if match:
                register_secret(match.group(1))


def redact(text: str) -> str:
    for secret in _secret_values:
        if secret in text:
            text = text.replace(secret, REDACTED)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_value(value: Any) -> Any:
    """A copy of a structure (dicts, lists, strings) with sensitive keys and values masked."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: REDACTED if isinstance(key, str) and _sensitive_key(key) else redact_value(item)
                for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(redact_value(item) for item in value)
    return value


_KEY_RE = re.compile(rf"(?i)^(?:{_SENSITIVE_KEYS})$")


def _sensitive_key(key: str) -> bool:
    return bool(_KEY_RE.match(key.replace("-", "_")))


_EXTRA_SKIP = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}


class RedactionFilter(logging.Filter):
    """Masks secrets in the message, its arguments, the traceback and any `extra` fields."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep what there is
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        for key, value in list(vars(record).items()):
            if key in _EXTRA_SKIP or key.startswith("_"):
                continue
            if _sensitive_key(key):
                setattr(record, key, REDACTED)
            elif isinstance(value, (str, dict, list, tuple)):
                setattr(record, key, redact_value(value))
        return True


class ContextFilter(logging.Filter):
    """Adds request_id, trace_id, user_id, operation and job to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = _context.get()
        record.request_id = context.request_id if context else None
        record.user_id = context.user_id if context else None
        record.operation = context.operation if context else None
        record.job = context.job if context else None
        record.trace_id = _trace_id()
        return True


def _trace_id() -> str | None:
    from finora_gql.core.tracing import current_trace_id, enabled

    return current_trace_id() if enabled() else None


# --- formatting -------------------------------------------------------------------------------

class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, the context, extras, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("request_id", "trace_id", "user_id", "operation", "job"):
            value = getattr(record, key, None)
            if value is not None:
                entry[key] = value
        for key, value in vars(record).items():
            if key not in _EXTRA_SKIP and key not in entry and not key.startswith("_") and \
                    key not in ("request_id", "trace_id", "user_id", "operation", "job"):
                entry[key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return orjson.dumps(entry, default=str).decode()


class HumanFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s%(context)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        parts = []
        for key, label in (("request_id", "req"), ("user_id", "user"), ("operation", "op"), ("job", "job"),
                           ("trace_id", "trace")):
            value = getattr(record, key, None)
            if value:
                parts.append(f"{label}={value}")
        record.context = f" [{' '.join(parts)}]" if parts else ""
        return super().format(record)


def make_handler(log_format: str = "text", stream: IO[str] | None = None) -> logging.Handler:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactionFilter())
    handler.setFormatter(JsonFormatter() if log_format == "json" else HumanFormatter())
    handler.set_name("finora")
    return handler


def configure(settings: Settings | None = None, *, level: str | None = None, log_format: str | None = None,
              stream: IO[str] | None = None) -> logging.Handler:
    """Route every logger through one redacting handler on the root logger (replacing ours)."""
    import os

    if settings is not None:
        register_settings_secrets(settings)
    level = level or (settings.log_level if settings else os.environ.get("LOG_LEVEL", "INFO"))
    log_format = log_format or (settings.log_format if settings else os.environ.get("LOG_FORMAT", "text"))
    root = logging.getLogger()
    for existing in list(root.handlers):
        if existing.get_name() == "finora" or not isinstance(existing, logging.FileHandler):
            root.removeHandler(existing)
    handler = make_handler(log_format.lower(), stream)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Uvicorn's loggers come through the same handler (see `uvicorn_log_config`).
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    return handler


def uvicorn_log_config(settings: Settings) -> dict[str, Any]:
    """A dictConfig for uvicorn (and its `--workers` children): everything through our handler."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {"finora": {"()": "finora_gql.core.logs.make_handler", "log_format": settings.log_format.lower()}},
        "root": {"handlers": ["finora"], "level": settings.log_level.upper()},
        "loggers": {name: {"handlers": [], "propagate": True} for name in ("uvicorn", "uvicorn.error", "uvicorn.access")},
    }

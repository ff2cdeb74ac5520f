"""Settings from the environment and `.env`, and the checks that guard production.

Nothing configured means the embedded defaults: an embedded Postgres under `FINORA_DATA_DIR`,
in-process cache/rate limits/pub-sub, mail written to an outbox folder.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from decimal import Decimal
from enum import Enum
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin
from urllib.parse import urlsplit

import orjson
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from pydantic_settings.exceptions import SettingsError

from finora_gql.core.ratelimit import RateLimit

MIN_SECRET_BYTES = 32
# Values people copy from examples; a production server must never sign tokens with them.
KNOWN_DEFAULT_SECRETS = {"", "changeme", "change-me", "secret", "dev-secret", "development-secret"}


class Environment(str, Enum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    env: Environment = Field(Environment.DEVELOPMENT, alias="FINORA_ENV")
    data_dir: Path = Field(Path(".finora"), alias="FINORA_DATA_DIR")
    public_url: str = Field(
        "http://127.0.0.1:8000",
        description="Base URL people open; links in emails point here.",
    )
    frontend_url: str | None = Field(
        None,
        description="Your own front end: email links open <FRONTEND_URL>/verify-email?token=... and "
        "/reset-password?token=... there instead of on the server's built-in pages.",
    )

    # Backends: unset means embedded.
    database_url: str | None = None
    database_pool_size: int = 10
    redis_url: str | None = None
    # The job broker: amqp://… for RabbitMQ, redis://… for Redis; unset means REDIS_URL's Redis
    # (or, without either, the in-process broker `serve` consumes itself).
    broker_url: str | None = None

    # Tokens. The kid of a token says which secret signed it, so a rotated-out secret can be
    # honoured until `jwt_previous_secret_valid_until`.
    jwt_secret: SecretStr | None = None
    jwt_previous_secret: SecretStr | None = None
    jwt_previous_secret_valid_until: datetime | None = None
    access_token_ttl: timedelta = timedelta(minutes=15)
    refresh_token_ttl: timedelta = timedelta(days=7)
    email_verification_ttl: timedelta = timedelta(hours=24)
    password_reset_ttl: timedelta = timedelta(hours=1)

    # Password hashing: argon2id. Tests lower the cost through FINORA_ENV=test only.
    argon2_time_cost: int = 3
    argon2_memory_cost_kib: int = 65536
    argon2_parallelism: int = 2

    # Brute-force protection.
    lockout_threshold: int = 5
    lockout_duration: timedelta = timedelta(minutes=30)
    rate_limit_login_per_ip: str = "30/300"
    rate_limit_login_per_email: str = "10/900"
    rate_limit_register_per_ip: str = "10/3600"
    rate_limit_register_per_email: str = "3/3600"
    rate_limit_password_reset_per_ip: str = "10/3600"
    rate_limit_password_reset_per_email: str = "3/3600"
    trusted_proxy_count: int = Field(
        0, description="How many reverse proxies append to X-Forwarded-For in front of us."
    )

    # GraphQL limits.
    max_query_depth: int = 12
    max_aliases: int = 100
    max_tokens: int = 5000
    max_body_bytes: int = 2_621_440  # room for a pasted 1 MB CSV (startImport), JSON-escaped
    introspection: bool | None = None  # None: on, except in production
    field_suggestions: bool | None = None  # None: on, except in production
    # Comma-separated (or a JSON list): https://app.example.com,https://admin.example.com
    allowed_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # Mail: SMTP when smtp_host is set, else .eml files in <data_dir>/outbox.
    mail_from: str = "Finora <no-reply@finora.local>"
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = True
    smtp_use_tls: bool = False
    smtp_ca_file: str | None = None
    smtp_timeout: float = 10.0

    # Background jobs (Dramatiq): retries back off exponentially between these bounds.
    job_max_retries: int = 8
    job_min_backoff_ms: int = 1_000
    job_max_backoff_ms: int = 300_000
    # A worker silent for this long is presumed dead and its unfinished jobs are redelivered.
    worker_heartbeat_timeout_ms: int = 60_000
    # Chance, per 1,000,000 broker commands on a queue, that the command also runs the sweep that
    # requeues that queue's jobs held by dead workers. An idle queue is polled about once a second,
    # so at 1% a dead worker's email comes back ~100 s after the heartbeat timeout, not ~17 min as
    # at Dramatiq's default of 0.1%. The sweep costs next to nothing while no worker is dead.
    worker_maintenance_chance: int = 10_000
    worker_threads: int = 4
    # Job outbox: the sweep relays jobs committed this long ago and still not relayed (the broker
    # refused them, or the process died after the commit); relayed rows are kept this many days.
    job_outbox_relay_after_seconds: float = Field(60.0, ge=0)
    job_outbox_keep_days: int = Field(7, ge=1)

    # Files: S3 (or any S3-compatible server) when s3_bucket is set, else <data_dir>/files served by
    # the app through signed URLs. Unset keys mean boto's own chain (env, instance role).
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    # "path" for servers addressed by IP or localhost (MinIO and the like); "auto" suits AWS.
    s3_addressing_style: Literal["auto", "path", "virtual"] = "auto"
    max_upload_bytes: int = Field(25 * 1024 * 1024, ge=1, le=2**31 - 1)  # sizes are GraphQL Ints

    # Investments. Prices come from the prices table (set by people, administrators and CSV) unless
    # an HTTP quote provider is configured: "alphavantage" speaks Alpha Vantage's TIME_SERIES_DAILY
    # JSON at price_api_url (any server answering that format works).
    price_provider: Literal["embedded", "alphavantage"] = "embedded"
    price_api_url: str = "https://www.alphavantage.co"
    price_api_key: SecretStr | None = None
    price_api_timeout: float = 10.0
    # A holding's price older than this many days (before `to`, or today) is flagged stale.
    price_stale_after_days: int = Field(5, ge=0)
    # A security whose refresh failed waits 2^failures minutes (at most this many) before the next try.
    price_refresh_max_backoff_minutes: int = Field(24 * 60, ge=1)
    # A holder is told when a held security's close moves more than this (in percent) in a day.
    price_move_threshold_percent: Decimal = Field(Decimal(5), gt=0)
    # Gamification: points earned per day (in the person's time zone) are capped at this.
    gamification_daily_points_cap: int = Field(200, ge=0)

    # /metrics: open when unset (keep it off the public network), else requires this bearer token.
    metrics_token: SecretStr | None = None

    # GraphQL execution's fast path (api/execution.py: plain fields and compiled plans instead of
    # graphql-core's per-field machinery, shared subscription events). Off: graphql-core and
    # strawberry execute everything (identical responses, ~a third more CPU on large pages).
    execution_fast_path: bool = True
    # The AI assistant. LLM_MODEL is any litellm model ("openrouter/...", "openai/gpt-4o-mini", ...);
    # the default is the offline planner registered with litellm as a custom provider (no key, no network).
    llm_model: str = "finora-offline/planner"
    llm_api_key: SecretStr | None = None
    llm_api_base: str | None = None
    llm_timeout: float = Field(30.0, gt=0, description="Seconds one model call may take (each tool round is one call).")
    llm_retries: int = Field(1, ge=0, le=5)
    assistant_max_tool_rounds: int = Field(4, ge=1, le=12, description="Model calls per reply; the last forbids tools.")
    assistant_reply_timeout: float = Field(120.0, gt=0, description="Seconds a whole reply may take before it FAILS.")
    assistant_rate_limit: str = Field("30/300", description="Messages a person may send: 'count/seconds', sliding.")
    assistant_daily_tokens: int = Field(200_000, ge=0, description="Tokens a person's replies may use per UTC day.")
    assistant_persist_interval: float = Field(1.0, gt=0, description="Seconds between saves of a streaming reply.")
    # Embeddings: "wordllama" is the offline default (weights inside the package); else a litellm
    # embedding model, called with LLM_API_KEY / LLM_API_BASE, whose vectors are cut to 256 dimensions.
    embedding_model: str = "wordllama"

    log_level: str = "INFO"
    # "text": human-readable lines; "json": one JSON object per line (request/trace/user ids).
    log_format: Literal["text", "json"] = "text"

    # Observability (see README "Operations").
    # Traces: exported over OTLP/HTTP when the endpoint is set; TRACING=true makes spans without it.
    otel_exporter_otlp_endpoint: str | None = None
    otel_service_name: str = "finora-gql"
    tracing: bool = False
    # `finora-gql backup` encrypts with a key derived from this passphrase when set (and
    # `restore` needs it to read such a backup).
    backup_encryption_key: SecretStr | None = None
    # `finora-gql secrets backup/restore` encrypt the secrets file with this passphrase.
    secrets_backup_key: SecretStr | None = None
    # Errors go to Sentry (redacted as the logs are) when set.
    sentry_dsn: SecretStr | None = None
    # `finora-gql worker` serves its metrics (jobs, queues, Redis) on this port when set.
    worker_metrics_port: int | None = None

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                try:
                    return orjson.loads(text)
                except orjson.JSONDecodeError:
                    raise ValueError("not a JSON list") from None
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("allowed_origins")
    @classmethod
    def _origins_are_origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            parts = urlsplit(origin)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/") or parts.query:
                raise ValueError(f"{origin!r} is not an origin (scheme://host[:port])")
        return [origin.rstrip("/") for origin in value]

    @property
    def is_production(self) -> bool:
        return self.env is Environment.PRODUCTION

    @property
    def introspection_enabled(self) -> bool:
        return (not self.is_production) if self.introspection is None else self.introspection

    @property
    def field_suggestions_enabled(self) -> bool:
        if self.field_suggestions is None:
            return not self.is_production
        return self.field_suggestions

    @property
    def links_base_url(self) -> str:
        """Where the links in emails (verify-email, reset-password) open."""
        return self.frontend_url or self.public_url

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"

    @property
    def files_dir(self) -> Path:
        return self.data_dir / "files"

    @cached_property
    def signing_secret(self) -> str:
        """The JWT secret; outside production a missing one is made once and kept in data_dir."""
        if self.jwt_secret is not None:
            return self.jwt_secret.get_secret_value()
        if self.is_production:
            raise ConfigError(["JWT_SECRET is required in production"])
        path = self.data_dir / "jwt-secret"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()

    def problems(self) -> list[str]:
        """Everything wrong with these settings for their environment, worded for an operator."""
        found: list[str] = []
        if self.database_url is not None and not self.database_url.startswith("postgresql+asyncpg://"):
            found.append(explain("DATABASE_URL", f"{_scheme(self.database_url)} is not accepted"))
        for name in ("public_url", "frontend_url"):
            value = getattr(self, name)
            if value is not None and (urlsplit(value).scheme not in ("http", "https") or not urlsplit(value).netloc):
                found.append(explain(name.upper(), f"{value!r} is not an http(s) URL"))
        if self.is_production:
            secret = self.jwt_secret.get_secret_value() if self.jwt_secret else None
            if secret is None:
                found.append("JWT_SECRET is missing; expected 32 or more random bytes, e.g. JWT_SECRET=$(openssl rand -base64 48)")
            elif secret.lower() in KNOWN_DEFAULT_SECRETS:
                found.append("JWT_SECRET is a well-known default value")
            elif len(secret.encode()) < MIN_SECRET_BYTES:
                found.append(f"JWT_SECRET is shorter than {MIN_SECRET_BYTES} bytes")
            if self.database_url is None:
                found.append("DATABASE_URL is required in production (no embedded database)")
            if self.smtp_host is None:
                found.append("SMTP_HOST is required in production (mail would go to a local outbox)")
            if self.s3_bucket is None and not _writable_dir(self.data_dir):
                found.append(f"FINORA_DATA_DIR ({self.data_dir}) is not writable: files are stored there without "
                             "S3_BUCKET; mount a writable volume there or set S3_BUCKET")
        if self.jwt_previous_secret is not None:
            if self.jwt_previous_secret_valid_until is None:
                found.append("JWT_PREVIOUS_SECRET is set without JWT_PREVIOUS_SECRET_VALID_UNTIL")
            if len(self.jwt_previous_secret.get_secret_value().encode()) < MIN_SECRET_BYTES:
                found.append(f"JWT_PREVIOUS_SECRET is shorter than {MIN_SECRET_BYTES} bytes")
        if (self.s3_access_key_id is None) != (self.s3_secret_access_key is None):
            found.append("S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY must be set together")
        if self.smtp_username and self.smtp_password is None:
            found.append("SMTP_USERNAME is set without SMTP_PASSWORD")
        if self.smtp_host and not (self.smtp_starttls or self.smtp_use_tls) and self.smtp_username:
            found.append("SMTP credentials would be sent in plain text: enable SMTP_STARTTLS or SMTP_USE_TLS")
        for name in (
            "rate_limit_login_per_ip",
            "rate_limit_login_per_email",
            "rate_limit_register_per_ip",
            "rate_limit_register_per_email",
            "rate_limit_password_reset_per_ip",
            "rate_limit_password_reset_per_email",
            "assistant_rate_limit",
        ):
            try:
                RateLimit.parse(getattr(self, name))
            except ValueError as error:
                found.append(f"{name.upper()}: {error}")
        return found

    def warnings(self) -> list[str]:
        """What works, but probably not as meant: said by check-config, never fatal."""
        found: list[str] = []
        if self.is_production:
            if "public_url" not in self.model_fields_set:
                found.append("PUBLIC_URL is not set: links in emails point to http://127.0.0.1:8000. "
                             "Set it to the address people open, e.g. PUBLIC_URL=https://finora.example.com")
            if self.redis_url is None:
                found.append("REDIS_URL is not set: with several workers or replicas, rate limits, caches, "
                             "subscriptions and jobs stay inside each process. E.g. REDIS_URL=redis://redis:6379/0")
            if self.s3_bucket is None:
                found.append("S3_BUCKET is not set: files are kept on this machine's disk, so with several "
                             "replicas each sees only its own uploads. E.g. S3_BUCKET=finora-files")
        return found

    def validate_or_raise(self) -> None:
        if found := self.problems():
            raise ConfigError(found)


def _writable_dir(path: Path) -> bool:
    """`path` exists and is writable, or could be created by this user."""
    import os

    probe = path
    while not probe.exists():
        if probe.parent == probe:
            return False
        probe = probe.parent
    return probe.is_dir() and os.access(probe, os.W_OK | os.X_OK)


class ConfigError(Exception):
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid configuration: " + "; ".join(problems))


# --- one line per bad setting: the variable, what it accepts, an example -----------------------

_EXAMPLES: dict[str, tuple[str, str]] = {
    "DATABASE_URL": ("a postgresql+asyncpg:// URL", "postgresql+asyncpg://finora:secret@db:5432/finora"),
    "REDIS_URL": ("a redis:// URL", "redis://127.0.0.1:6379/0"),
    "PUBLIC_URL": ("an http(s) URL", "https://finora.example.com"),
    "FRONTEND_URL": ("an http(s) URL", "https://app.example.com"),
    "ALLOWED_ORIGINS": ("comma-separated origins (or a JSON list)", "https://app.example.com,https://admin.example.com"),
    "JWT_PREVIOUS_SECRET_VALID_UNTIL": ("an ISO 8601 date-time", "2026-12-31T00:00:00Z"),
    "LOG_LEVEL": ("DEBUG, INFO, WARNING or ERROR", "INFO"),
}


def _env_name(field: str) -> str:
    info = Settings.model_fields.get(field)
    if info is not None and info.alias:
        return info.alias
    return field.upper()


def _field_of(env_name: str) -> str | None:
    for name, info in Settings.model_fields.items():
        if env_name in (info.alias, name.upper(), name):
            return name
    return None


def _form_of(field: str) -> tuple[str, str]:
    """What a setting accepts and an example, from its type and default."""
    env = _env_name(field)
    if env in _EXAMPLES:
        return _EXAMPLES[env]
    info = Settings.model_fields[field]
    kind, default = info.annotation, info.get_default(call_default_factory=True)
    if get_origin(kind) is not None and type(None) in get_args(kind):
        kind = next(arg for arg in get_args(kind) if arg is not type(None))
    if kind is timedelta:
        seconds = int(default.total_seconds()) if isinstance(default, timedelta) else 900
        return "a duration in seconds or ISO 8601", f"{seconds} (or PT{seconds // 60}M)" if seconds % 60 == 0 else str(seconds)
    if isinstance(kind, type) and issubclass(kind, Enum):
        return "one of " + ", ".join(member.value for member in kind), next(iter(kind)).value
    if get_origin(kind) is Literal:
        return "one of " + ", ".join(map(str, get_args(kind))), str(get_args(kind)[0])
    if kind is bool:
        return "true or false", "true"
    if kind is int:
        return "a whole number", str(default if default is not None else 1)
    if kind is float:
        return "a number", str(default if default is not None else 1.0)
    if kind is datetime:
        return "an ISO 8601 date-time", "2026-12-31T00:00:00Z"
    if kind is Path:
        return "a folder path", str(default or "/var/lib/finora")
    return "text", str(default) if default not in (None, "") else "..."


def explain(env_name: str, problem: str) -> str:
    field = _field_of(env_name)
    accepted, example = _form_of(field) if field else _EXAMPLES.get(env_name, ("", ""))
    line = f"{env_name}: {problem}"
    if accepted:
        line += f"; expected {accepted}, e.g. {env_name}={example}"
    return line


def _scheme(url: str) -> str:
    scheme = url.split("://", 1)[0] if "://" in url else url[:20]
    return f"{scheme!r}" + (" (scheme)" if "://" in url else "")


def settings_from_environment(**overrides: object) -> tuple[Settings | None, list[str]]:
    """Settings and every problem with them, each one line; None when they cannot be built.

    Invalid values are reported all at once; the other checks then run on the settings with
    those values at their defaults, so check-config shows everything in one go.
    """
    problems: list[str] = []
    replaced: dict[str, object] = {}
    for _ in range(len(Settings.model_fields)):
        try:
            settings = Settings(**overrides, **replaced)  # type: ignore[arg-type]
            break
        except ValidationError as error:
            for item in error.errors():
                name = str(item["loc"][0]) if item["loc"] else "?"
                field = _field_of(name) or name
                given = item.get("input")
                shown = f"{given!r} is not accepted" if isinstance(given, str) else "is not accepted"
                problems.append(explain(_env_name(field), f"{shown} ({item['msg'].lower()})"))
                info = Settings.model_fields.get(field)
                if info is not None:
                    replaced[info.alias or field] = info.get_default(call_default_factory=True)
        except SettingsError as error:  # pragma: no cover - only JSON-typed settings raise this
            problems.append(str(error))
            return None, problems
    else:  # pragma: no cover
        return None, problems
    problems.extend(settings.problems())
    return settings, problems

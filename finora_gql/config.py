"""Settings from the environment and `.env`, and the checks that guard production.

Nothing configured means the embedded defaults: an embedded Postgres under `FINORA_DATA_DIR`,
in-process cache/rate limits/pub-sub, mail written to an outbox folder.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from enum import Enum
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

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
    allowed_origins: list[str] = Field(default_factory=list)

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

    # /metrics: open when unset (keep it off the public network), else requires this bearer token.
    metrics_token: SecretStr | None = None

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
        if self.is_production:
            secret = self.jwt_secret.get_secret_value() if self.jwt_secret else None
            if secret is None:
                found.append("JWT_SECRET is missing")
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
        ):
            try:
                RateLimit.parse(getattr(self, name))
            except ValueError as error:
                found.append(f"{name.upper()}: {error}")
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


def load_settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]

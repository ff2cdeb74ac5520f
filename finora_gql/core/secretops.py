"""Secrets operations behind `finora-gql secrets ...`: validate, rotate, back up and restore.

Secrets live in the environment (`.env` for a single machine, compose's `env_file`, a k8s
Secret). These functions compute what to deploy; the CLI prints it, writes it into an env file,
or renders a k8s Secret manifest.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from finora_gql.config import KNOWN_DEFAULT_SECRETS, MIN_SECRET_BYTES, Settings

K8S_SECRET_NAME = "finora-secrets"
DEFAULT_GRACE = dt.timedelta(days=7)  # the seed: a rotated-out JWT secret stays valid 7 days
# Settings that are secrets (or carry one) and belong in a secrets backup.
SECRET_ENV_NAMES = (
    "JWT_SECRET", "JWT_PREVIOUS_SECRET", "JWT_PREVIOUS_SECRET_VALID_UNTIL", "DATABASE_URL", "REDIS_URL",
    "BROKER_URL", "SMTP_USERNAME", "SMTP_PASSWORD", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY", "METRICS_TOKEN",
    "BACKUP_ENCRYPTION_KEY", "SENTRY_DSN", "LLM_API_KEY",
)
API_KEYS = {
    "llm": ("LLM_API_KEY", "issued by the LLM provider: pass the new key with --value or on stdin"),
    "metrics": ("METRICS_TOKEN", "generated here"),
    "backup": ("BACKUP_ENCRYPTION_KEY", "generated here; keep the old one while old backups matter"),
}


def new_secret() -> str:
    return secrets.token_urlsafe(48)  # 64 characters, 384 bits


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


def validate(settings: Settings, *, production: bool | None = None, now: dt.datetime | None = None) -> Report:
    """Problems (the deploy must not go out) and warnings (it may, but look)."""
    now = now or dt.datetime.now(dt.UTC)
    production = settings.is_production if production is None else production
    checked = settings if not production or settings.is_production else settings.model_copy(
        update={"env": type(settings.env).PRODUCTION})
    report = Report(problems=list(checked.problems()))
    jwt = _secret(settings.jwt_secret)
    if jwt is not None and len(jwt.encode()) >= MIN_SECRET_BYTES and len(set(jwt)) < 12:
        report.problems.append("JWT_SECRET has too few distinct characters to be random")
    if not production and jwt is None:
        report.warnings.append("JWT_SECRET is unset: a development secret is kept in FINORA_DATA_DIR")
    previous = _secret(settings.jwt_previous_secret)
    if previous is not None:
        if previous == jwt:
            report.problems.append("JWT_PREVIOUS_SECRET equals JWT_SECRET: rotation did not change the secret")
        until = settings.jwt_previous_secret_valid_until
        if until is not None:
            until = until if until.tzinfo else until.replace(tzinfo=dt.UTC)
            if until < now:
                report.warnings.append(f"JWT_PREVIOUS_SECRET expired at {until.isoformat()}: remove it "
                                       "(and JWT_PREVIOUS_SECRET_VALID_UNTIL)")
            elif until - now > dt.timedelta(days=30):
                report.warnings.append("JWT_PREVIOUS_SECRET stays valid for more than 30 days")
    metrics = _secret(settings.metrics_token)
    if metrics is None and production:
        report.warnings.append("METRICS_TOKEN is unset: keep /metrics off the public network")
    elif metrics is not None and len(metrics) < 24:
        report.problems.append("METRICS_TOKEN is shorter than 24 characters")
    backup_key = _secret(settings.backup_encryption_key)
    if backup_key is None and production:
        report.warnings.append("BACKUP_ENCRYPTION_KEY is unset: backups are written unencrypted")
    elif backup_key is not None and len(backup_key) < 20:
        report.problems.append("BACKUP_ENCRYPTION_KEY is shorter than 20 characters")
    dsn = _secret(settings.sentry_dsn)
    if dsn is not None and not re.match(r"^https?://[^@/\s]+@[^/\s]+/\d+$", dsn):
        report.problems.append("SENTRY_DSN is not a DSN (https://<key>@<host>/<project>)")
    for name in ("jwt_secret", "jwt_previous_secret", "smtp_password", "s3_secret_access_key", "metrics_token",
                 "backup_encryption_key"):
        value = _secret(getattr(settings, name, None))
        if value is not None and value.lower() in KNOWN_DEFAULT_SECRETS:
            report.problems.append(f"{name.upper()} is a well-known default value")
    return report


def rotate_jwt(settings: Settings, *, grace: dt.timedelta = DEFAULT_GRACE,
               now: dt.datetime | None = None) -> dict[str, str]:
    """The new JWT settings: a new secret, the current one kept valid for `grace`."""
    now = now or dt.datetime.now(dt.UTC)
    current = settings.signing_secret  # outside production, the development secret if unset
    return {
        "JWT_SECRET": new_secret(),
        "JWT_PREVIOUS_SECRET": current,
        "JWT_PREVIOUS_SECRET_VALID_UNTIL": (now + grace).replace(microsecond=0).isoformat(),
    }


def rotate_api_key(name: str, value: str | None = None) -> dict[str, str]:
    if name not in API_KEYS:
        raise ValueError(f"unknown key {name!r}: one of {', '.join(sorted(API_KEYS))}")
    env_name, _ = API_KEYS[name]
    if name == "llm":
        if not value:
            raise ValueError("the LLM key is issued by the provider: pass it with --value or on stdin")
        return {env_name: value.strip()}
    return {env_name: value or new_secret()}


# --- rendering --------------------------------------------------------------------------------

def render_env(values: dict[str, str]) -> str:
    return "".join(f"{key}={_quote(value)}\n" for key, value in values.items())


def _quote(value: str) -> str:
    return value if re.match(r"^[A-Za-z0-9_./:@+=,%-]*$", value) else json.dumps(value)


def render_k8s_secret(values: dict[str, str], *, name: str = K8S_SECRET_NAME) -> str:
    """A Secret manifest to `kubectl apply -f -` (a merge: keys not listed are kept)."""
    lines = ["apiVersion: v1", "kind: Secret", "metadata:", f"  name: {name}", "type: Opaque", "data:"]
    lines += [f"  {key}: {base64.b64encode(value.encode()).decode()}" for key, value in values.items()]
    return "\n".join(lines) + "\n"


def update_env_file(path: Path, values: dict[str, str]) -> None:
    """Set `values` in an env file: existing keys replaced in place, new ones appended, the rest kept."""
    lines = path.read_text().splitlines() if path.exists() else []
    pending = dict(values)
    out = []
    for line in lines:
        key = line.split("=", 1)[0].strip().removeprefix("export ").strip() if "=" in line else None
        if key in pending:
            out.append(f"{key}={_quote(pending.pop(key))}")
        else:
            out.append(line)
    out += [f"{key}={_quote(value)}" for key, value in pending.items()]
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("\n".join(out) + "\n")
    os.chmod(tmp, 0o600)
    tmp.replace(path)


# --- backup of the secrets themselves ----------------------------------------------------------

SECRETS_MAGIC = b"FINORA-SECRETS 1\n"


def current_values(settings: Settings) -> dict[str, str]:
    """The secret settings in force, by env name (from the environment and `.env`)."""
    values: dict[str, str] = {}
    for env_name in SECRET_ENV_NAMES:
        attribute = env_name.lower()
        value = getattr(settings, attribute, None)
        if value is None:
            value = os.environ.get(env_name)
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if isinstance(value, dt.datetime):
            value = value.isoformat()
        if value is not None:
            values[env_name] = str(value)
    return values


def seal(values: dict[str, str], passphrase: str) -> bytes:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from finora_gql.core.backup import _derive

    salt, nonce = os.urandom(16), os.urandom(12)
    header = json.dumps({"kdf": "scrypt", "salt": salt.hex(), "nonce": nonce.hex(),
                         "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                         "names": sorted(values)}).encode()
    sealed = AESGCM(_derive(passphrase, salt)).encrypt(nonce, json.dumps(values).encode(), header)
    return SECRETS_MAGIC + header + b"\n" + sealed


def unseal(data: bytes, passphrase: str) -> dict[str, str]:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from finora_gql.core.backup import BackupError, _derive

    if not data.startswith(SECRETS_MAGIC):
        raise BackupError("not a Finora secrets backup")
    header, _, sealed = data[len(SECRETS_MAGIC):].partition(b"\n")
    try:
        meta: dict[str, Any] = json.loads(header)
        key = _derive(passphrase, bytes.fromhex(meta["salt"]))
        return json.loads(AESGCM(key).decrypt(bytes.fromhex(meta["nonce"]), sealed, header))
    except InvalidTag:
        raise BackupError("the secrets backup does not decrypt: wrong passphrase, or the file was altered") from None
    except (ValueError, KeyError):
        raise BackupError("the secrets backup is corrupted") from None

"""`finora-gql secrets`: validate, rotate-jwt (the old secret honoured for 7 days, then not),
rotate-api-key, backup/restore of the secrets; Sentry reports redacted like the logs."""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import http.server
import json
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest

from finora_gql.config import Settings
from finora_gql.core import clock, secretops
from finora_gql.core.runtime import build_token_codec
from finora_gql.core.security import InvalidToken
from tests.processes import BIN, process_env

OLD_SECRET = "old-secret-" + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z" * 2


def run(args: list[str], cwd: Path, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "finora-gql"), "secrets", *args], cwd=cwd, input=stdin, capture_output=True,
                          text=True, timeout=120, env=process_env(FINORA_DATA_DIR=str(cwd / "data"), **env))


def test_rotate_jwt_keeps_the_old_secret_valid_for_seven_days(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(f"# deploy settings\nFINORA_ENV=test\nJWT_SECRET={OLD_SECRET}\nLOG_LEVEL=INFO\n")
    old = Settings(_env_file=env_file)
    old_codec = build_token_codec(old.model_copy(update={"access_token_ttl": dt.timedelta(days=10)}))
    token, _ = old_codec.issue_access(user_id=uuid.uuid4(), session_id=uuid.uuid4(), role="USER")

    rotated = run(["rotate-jwt", "--env-file", str(env_file)], tmp_path)
    assert rotated.returncode == 0, rotated.stderr
    text = env_file.read_text()
    assert text.startswith("# deploy settings\nFINORA_ENV=test\n") and "LOG_LEVEL=INFO" in text  # the rest kept
    assert OLD_SECRET not in rotated.stdout + rotated.stderr
    new = Settings(_env_file=env_file)
    assert new.jwt_secret.get_secret_value() != OLD_SECRET  # type: ignore[union-attr]
    assert new.jwt_previous_secret.get_secret_value() == OLD_SECRET  # type: ignore[union-attr]
    until = new.jwt_previous_secret_valid_until
    assert until is not None and dt.timedelta(days=6, hours=23) < until - dt.datetime.now(dt.UTC) <= dt.timedelta(days=7)
    assert new.problems() == []

    codec = build_token_codec(new)
    fresh, _ = codec.issue_access(user_id=uuid.uuid4(), session_id=uuid.uuid4(), role="USER")
    assert codec.decode_access(token)  # signed with the old secret: still good
    assert codec.decode_access(fresh)
    with clock.travel(dt.timedelta(days=6, hours=23)):
        assert codec.decode_access(token)
    with clock.travel(dt.timedelta(days=7, minutes=1)):
        with pytest.raises(InvalidToken, match="retired"):
            codec.decode_access(token)

    # Printed for compose/.env, or as a k8s Secret.
    printed = run(["rotate-jwt", "--format", "k8s"], tmp_path)
    assert printed.returncode == 0, printed.stderr
    assert "kind: Secret" in printed.stdout and "name: finora-secrets" in printed.stdout
    data = dict(line.strip().split(": ", 1) for line in printed.stdout.split("\ndata:\n")[1].splitlines())
    assert "JWT_PREVIOUS_SECRET" in data, printed.stdout
    assert base64.b64decode(data["JWT_PREVIOUS_SECRET"]).decode() == new.jwt_secret.get_secret_value()  # type: ignore[union-attr]


def test_validate_reports_problems_and_passes_good_secrets(tmp_path: Path) -> None:
    weak = run(["validate", "--production"], tmp_path, JWT_SECRET="changeme", METRICS_TOKEN="short")
    assert weak.returncode == 2
    assert "JWT_SECRET is a well-known default value" in weak.stderr and "METRICS_TOKEN is shorter" in weak.stderr
    repeated = run(["validate", "--production"], tmp_path, JWT_SECRET="a" * 40, DATABASE_URL="postgresql+asyncpg://db/x",
                   SMTP_HOST="smtp.example.com")
    assert repeated.returncode == 2 and "too few distinct characters" in repeated.stderr
    stale = run(["validate"], tmp_path, FINORA_ENV="test", JWT_SECRET=secretops.new_secret(),
                JWT_PREVIOUS_SECRET=secretops.new_secret(), JWT_PREVIOUS_SECRET_VALID_UNTIL="2020-01-01T00:00:00Z")
    assert stale.returncode == 0 and "expired" in stale.stderr
    good = run(["validate", "--production"], tmp_path, JWT_SECRET=secretops.new_secret(),
               DATABASE_URL="postgresql+asyncpg://u:p@db/finora", SMTP_HOST="smtp.example.com",
               METRICS_TOKEN=secretops.new_secret(), BACKUP_ENCRYPTION_KEY=secretops.new_secret())
    assert good.returncode == 0, good.stderr
    assert "secrets are valid" in good.stdout


def test_rotate_api_keys(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("LLM_API_KEY=sk-old\n")
    given = run(["rotate-api-key", "llm", "--env-file", str(env_file)], tmp_path, stdin="sk-new-key-123\n")
    assert given.returncode == 0, given.stderr
    assert env_file.read_text() == "LLM_API_KEY=sk-new-key-123\n"
    missing = run(["rotate-api-key", "llm"], tmp_path, stdin="")
    assert missing.returncode == 2 and "issued by the provider" in missing.stderr
    metrics = run(["rotate-api-key", "metrics"], tmp_path)
    assert metrics.returncode == 0 and metrics.stdout.startswith("METRICS_TOKEN=") and len(metrics.stdout) > 60
    unknown = run(["rotate-api-key", "nope"], tmp_path)
    assert unknown.returncode == 2 and "unknown key" in unknown.stderr


def test_secrets_backup_and_restore(tmp_path: Path) -> None:
    jwt = secretops.new_secret()
    env = {"SECRETS_BACKUP_KEY": "a passphrase for the secrets file", "JWT_SECRET": jwt,
           "SMTP_PASSWORD": "smtp pass word", "SMTP_USERNAME": "mailer"}
    file = tmp_path / "secrets.enc"
    made = run(["backup", "-o", str(file)], tmp_path, **env)
    assert made.returncode == 0, made.stderr
    raw = file.read_bytes()
    assert jwt.encode() not in raw and b"smtp pass word" not in raw
    restored_env = tmp_path / "restored.env"
    restored = run(["restore", str(file), "--env-file", str(restored_env)], tmp_path,
                   SECRETS_BACKUP_KEY=env["SECRETS_BACKUP_KEY"])
    assert restored.returncode == 0, restored.stderr
    settings = Settings(_env_file=restored_env)
    assert settings.jwt_secret.get_secret_value() == jwt  # type: ignore[union-attr]
    assert settings.smtp_password.get_secret_value() == "smtp pass word"  # type: ignore[union-attr]
    wrong = run(["restore", str(file)], tmp_path, SECRETS_BACKUP_KEY="not the passphrase")
    assert wrong.returncode == 1 and "does not decrypt" in wrong.stderr


def test_sentry_events_are_redacted(tmp_path: Path) -> None:
    received: list[bytes] = []

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers["content-length"]))
            encoding = self.headers.get("content-encoding")
            if encoding == "gzip":
                body = gzip.decompress(body)
            elif encoding == "br":  # sentry-sdk prefers brotli when it is installed
                import brotli

                body = brotli.decompress(body)
            received.append(body)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzZW50cnkifQ.c2lnbmF0dXJlc2lnbmF0dXJl"
    script = f"""
import logging, sentry_sdk
from finora_gql.config import Settings
from finora_gql.core import errortracking, logs
settings = Settings(_env_file=None)
logs.register_settings_secrets(settings)
assert errortracking.configure(settings)
def login(password, refresh_token):
    raise RuntimeError("token check failed for {token}")
try:
    login("hunter2 hunter2", "{token}")
except RuntimeError:
    logging.getLogger("finora.app").exception("unexpected error with Bearer {token}")
sentry_sdk.flush(timeout=10)
print("sent")
"""
    dsn = f"http://publickey@127.0.0.1:{httpd.server_port}/1"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          env=process_env(SENTRY_DSN=dsn, JWT_SECRET="the-jwt-secret-" + "q" * 30))
    httpd.shutdown()
    assert done.returncode == 0 and "sent" in done.stdout, done.stderr
    assert received, "no event reached the Sentry endpoint"
    payload = b"".join(received).decode()
    assert "token check failed" in payload and "[REDACTED]" in payload
    leak = payload.find(token)
    assert leak < 0, payload[max(0, leak - 300):leak + 100]
    assert "hunter2" not in payload
    lines = [json.loads(line) for line in payload.splitlines() if line.startswith("{")]
    assert any(line.get("level") == "error" for line in lines)

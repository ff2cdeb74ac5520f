"""Bad settings and arguments: one line naming the variable, what it accepts and an example; exit 2."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

BASE_ENV = {name: os.environ[name] for name in ("PATH", "HOME", "LANG", "TMPDIR", "VIRTUAL_ENV") if name in os.environ}


def finora(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "finora_gql.cli", *args],
        env={**BASE_ENV, "FINORA_ENV": "development", **env}, capture_output=True, text=True, timeout=120,
        cwd=os.environ.get("TMPDIR", "/tmp"),  # no .env of the repository
    )


@pytest.mark.parametrize(
    ("env", "names", "example"),
    [
        ({"ACCESS_TOKEN_TTL": "abc"}, "ACCESS_TOKEN_TTL", "ACCESS_TOKEN_TTL=900"),
        ({"ALLOWED_ORIGINS": "not an origin"}, "ALLOWED_ORIGINS", "ALLOWED_ORIGINS=https://"),
        ({"FINORA_ENV": "prod"}, "FINORA_ENV", "FINORA_ENV=development"),
        ({"DATABASE_URL": "postgres://finora:secret@db/finora"}, "DATABASE_URL", "DATABASE_URL=postgresql+asyncpg://"),
        ({"SMTP_PORT": "smtp"}, "SMTP_PORT", "SMTP_PORT=587"),
    ],
)
def test_a_bad_setting_is_one_line_and_exit_2(env: dict[str, str], names: str, example: str) -> None:
    for command in (["check-config"], ["migrate"]):
        result = finora(*command, **env)
        assert result.returncode == 2, result
        lines = [line for line in result.stderr.splitlines() if line.strip().startswith("- ")]
        assert len(lines) == 1, result.stderr
        assert lines[0].strip().startswith(f"- {names}:") and example in lines[0], result.stderr
        assert "Traceback" not in result.stderr + result.stdout


def test_allowed_origins_accepts_a_plain_origin_and_a_list() -> None:
    assert finora("check-config", ALLOWED_ORIGINS="https://x").returncode == 0
    assert finora("check-config", ALLOWED_ORIGINS="https://a.example, http://localhost:5173").returncode == 0
    assert finora("check-config", ALLOWED_ORIGINS='["https://a.example"]').returncode == 0


def test_check_config_reports_every_problem_and_warns_in_production() -> None:
    result = finora("check-config", FINORA_ENV="production", ACCESS_TOKEN_TTL="abc", SMTP_PORT="x")
    assert result.returncode == 2
    for name in ("ACCESS_TOKEN_TTL", "SMTP_PORT", "JWT_SECRET", "DATABASE_URL", "SMTP_HOST"):
        assert f"- {name}" in result.stderr, result.stderr
    for name in ("PUBLIC_URL", "REDIS_URL", "S3_BUCKET"):
        assert f"warning: {name}" in result.stderr, result.stderr


def test_an_unreachable_database_is_one_line() -> None:
    result = finora("migrate", DATABASE_URL="postgresql+asyncpg://finora:secret@127.0.0.1:1/finora")
    assert result.returncode == 2
    assert "DATABASE_URL: cannot connect to 127.0.0.1:1/finora" in result.stderr
    assert "Traceback" not in result.stderr


def test_set_role_with_an_unknown_role() -> None:
    result = finora("set-role", "ann@example.com", "SUPERUSER", DATABASE_URL="postgresql+asyncpg://x@127.0.0.1:1/x")
    assert result.returncode == 2
    assert "expected ADMIN or USER" in result.stderr and "Traceback" not in result.stderr


def test_migrate_to_an_older_revision_says_so(database_url: str) -> None:
    result = finora("migrate", "0003", DATABASE_URL=database_url)
    assert result.returncode == 0, result
    assert "newer than 0003" in result.stdout
    again = finora("migrate", DATABASE_URL=database_url)
    assert "(already)" in again.stdout

"""Settings validation and the production guard rails."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from finora_gql.app import create_app
from finora_gql.config import ConfigError, Settings

STRONG = "s" * 48


def production(**values: object) -> Settings:
    base: dict[str, object] = {
        "FINORA_ENV": "production",
        "database_url": "postgresql+asyncpg://finora@db/finora",
        "smtp_host": "smtp.example.com",
        "jwt_secret": STRONG,
    }
    base.update(values)
    return Settings(_env_file=None, **base)  # type: ignore[arg-type]


def test_valid_production_settings() -> None:
    settings = production()
    assert settings.problems() == []
    assert settings.introspection_enabled is False and settings.field_suggestions_enabled is False


@pytest.mark.parametrize(
    ("secret", "problem"),
    [(None, "JWT_SECRET is missing"), ("changeme", "well-known default"), ("too-short-secret", "shorter than 32 bytes")],
)
def test_production_refuses_weak_jwt_secret(secret: str | None, problem: str) -> None:
    settings = production(jwt_secret=secret)
    assert any(problem in found for found in settings.problems())
    with pytest.raises(ConfigError):
        create_app(settings)


def test_previous_secret_needs_an_end_of_grace() -> None:
    settings = Settings(_env_file=None, FINORA_ENV="test", jwt_previous_secret=STRONG)
    assert any("JWT_PREVIOUS_SECRET_VALID_UNTIL" in p for p in settings.problems())


def test_development_keeps_a_generated_secret(tmp_path: Path) -> None:
    first = Settings(_env_file=None, FINORA_DATA_DIR=tmp_path).signing_secret
    assert len(first) >= 32
    assert Settings(_env_file=None, FINORA_DATA_DIR=tmp_path).signing_secret == first
    assert oct((tmp_path / "jwt-secret").stat().st_mode)[-3:] == "600"


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("JWT_", "FINORA_", "DATABASE_", "SMTP_"))}
    return subprocess.run(
        [sys.executable, "-m", "finora_gql.cli", *args], env={**clean, **env}, capture_output=True, text=True, timeout=60
    )


def test_check_config_names_every_problem(tmp_path: Path) -> None:
    result = run_cli("check-config", env={"FINORA_ENV": "production", "JWT_SECRET": "short"})
    assert result.returncode == 2
    assert "JWT_SECRET is shorter than 32 bytes" in result.stderr
    assert "DATABASE_URL is required" in result.stderr
    ok = run_cli("check-config", env={
        "FINORA_ENV": "production", "JWT_SECRET": STRONG, "DATABASE_URL": "postgresql+asyncpg://x@y/z",
        "SMTP_HOST": "smtp.example.com",
    })
    assert ok.returncode == 0, ok.stderr
    assert "valid for production" in ok.stdout


def test_set_role_promotes_an_existing_account(database_url: str) -> None:
    import asyncio

    from finora_gql.core import db as database
    from finora_gql.users import service as users
    from finora_gql.users.models import Role

    async def create() -> str:
        engine = database.create_engine(database_url, pool_size=1)
        async with database.sessionmaker(engine)() as session:
            user = await users.create_user(session, email=f"ops-{id(engine)}@example.com", name="Ops")
            await session.commit()
        await engine.dispose()
        return user.email

    email = asyncio.run(create())
    result = run_cli("set-role", email, "ADMIN", env={"DATABASE_URL": database_url, "FINORA_ENV": "test"})
    assert result.returncode == 0, result.stderr
    missing = run_cli("set-role", "nobody@example.com", env={"DATABASE_URL": database_url, "FINORA_ENV": "test"})
    assert missing.returncode == 1

    async def role() -> Role:
        engine = database.create_engine(database_url, pool_size=1)
        async with database.sessionmaker(engine)() as session:
            user = await users.get_user_by_email(session, email)
        await engine.dispose()
        return user.role

    assert asyncio.run(role()) is Role.ADMIN

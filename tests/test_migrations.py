"""Migrations and models agree: upgrading to head leaves nothing for autogenerate to add; every
revision can be undone."""

from __future__ import annotations

import asyncio

import asyncpg
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from finora_gql.core import db
from finora_gql.models import metadata


async def test_models_match_migrations(database_url: str) -> None:
    engine = create_async_engine(database_url)
    async with engine.connect() as connection:
        diff = await connection.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync, opts={"compare_type": True}), metadata)
        )
        extensions = (await connection.exec_driver_sql("SELECT extname FROM pg_extension")).scalars().all()
    await engine.dispose()
    assert diff == []
    assert "vector" in extensions


def test_every_revision_downgrades_and_upgrades_again(database_url: str) -> None:
    url = make_url(database_url)
    scratch = url.set(database="finora_round_trip").render_as_string(hide_password=False)

    async def admin(statement: str) -> None:
        connection = await asyncpg.connect(url.set(drivername="postgresql").render_as_string(hide_password=False))
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(admin("DROP DATABASE IF EXISTS finora_round_trip"))
    asyncio.run(admin("CREATE DATABASE finora_round_trip"))
    try:
        db.migrate(scratch)
        command.downgrade(db.alembic_config(scratch), "base")
        db.migrate(scratch)
    finally:
        asyncio.run(admin("DROP DATABASE finora_round_trip"))

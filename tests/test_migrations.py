"""Migrations and models agree: upgrading to head leaves nothing for autogenerate to add."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

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

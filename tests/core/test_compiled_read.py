"""Compiled reads: values only at fetch time, the session's own writes visible, ownership kept."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import Integer, Uuid, bindparam, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import col, select

from finora_gql.accounts import service as accounts
from finora_gql.accounts.models import Account, AccountType
from finora_gql.core import db
from finora_gql.core.db import CompiledRead, atomic, copy_records, fetch
from finora_gql.core.viewer import Viewer
from finora_gql.users.models import User
from tests.server import RunningServer


def test_a_value_captured_when_compiling_is_refused() -> None:
    # A viewer's id bound while building would be every later caller's id.
    with pytest.raises(TypeError, match="at fetch time"):
        CompiledRead(select(Account.id).where(col(Account.user_id) == uuid.uuid4()))
    read = CompiledRead(select(Account.id).where(col(Account.user_id) == bindparam("user_id"), col(Account.opening_balance) > 0))
    assert read.arguments({"user_id": "u"}) == ["u", 0]  # literals of the SQL stay


async def test_reads_the_sessions_unflushed_writes_and_only_the_owners_rows(server: RunningServer) -> None:
    async with server.runtime.sessions() as session:  # rolled back at the end: nothing is kept
        owner, other = (User(email=f"compiled-{uuid.uuid4().hex[:8]}@example.com", name="C")
                        for _ in range(2))
        session.add_all([owner, other])
        await session.flush()
        mine = Account(user_id=owner.id, name="Mine", currency="EUR", type=AccountType.SAVINGS,
                       opening_balance=Decimal("1.50"), current_balance=Decimal("1.50"))
        theirs = Account(user_id=other.id, name="Theirs", currency="EUR")
        session.add_all([mine, theirs])  # not flushed: the read must flush first, as the ORM would
        found = await accounts.get_accounts(session, Viewer.acting_for(owner.id), [mine.id, theirs.id])
        assert list(found) == [mine.id]
        row = found[mine.id]
        assert (row.type, row.current_balance, row.name) == (AccountType.SAVINGS, Decimal("1.50"), "Mine")
        assert await accounts.get_accounts(session, Viewer.acting_for(other.id), [mine.id]) == {}
        await session.rollback()


# --- inside the session's transaction, with SQLAlchemy's errors ----------------------------------
# Both ways a compiled read runs: the direct one on SQLAlchemy's asyncpg adapter, and
# exec_driver_sql, taken where the adapter is not as core.db knows it.


@pytest.fixture(params=["direct", "exec_driver_sql"])
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "exec_driver_sql":
        monkeypatch.setattr(db, "_direct_adapter", lambda adapted: None)
    return request.param


async def test_the_direct_path_is_used_with_this_sqlalchemy(server: RunningServer) -> None:
    # Fails when an upgrade changes the adapter: every read would silently take the slower path.
    async with server.runtime.sessions() as session:
        raw = await (await session.connection()).get_raw_connection()
        assert db._direct_adapter(raw.dbapi_connection) is raw.dbapi_connection
        await session.rollback()


async def test_a_first_statement_compiled_read_is_inside_the_sessions_transaction(server: RunningServer, path: str) -> None:
    read = CompiledRead(text("SELECT pg_current_xact_id()::text"))
    async with server.runtime.sessions() as session:
        (first,), = await fetch(session, read, {})  # the session's very first statement
        (again,) = (await session.exec(text("SELECT pg_current_xact_id()::text"))).one()
        assert first == again  # one transaction: BEGIN came before the compiled read
        await session.rollback()


async def owner(server: RunningServer) -> User:
    user = User(email=f"compiled-{uuid.uuid4().hex[:8]}@example.com", name="C")
    async with server.runtime.sessions() as session:
        session.add(user)
        await session.commit()
    return user


ACCOUNT_COLUMNS = ("id", "user_id", "type", "name", "currency", "opening_balance", "current_balance", "archived",
                   "created_at", "updated_at")


def account_row(account_id: uuid.UUID, user_id: uuid.UUID, name: str) -> tuple:
    now = dt.datetime.now(dt.UTC)
    return (account_id, user_id, "CASH", name, "EUR", Decimal(0), Decimal(0), False, now, now)


async def test_a_compiled_read_then_a_failing_write_roll_back_together(server: RunningServer, path: str) -> None:
    user = await owner(server)
    # A read with a side effect, so what the rollback undoes can be seen: were the read outside
    # the transaction (asyncpg's autocommit), its account would stay.
    creates = CompiledRead(text(
        "WITH made AS (INSERT INTO account (id, user_id, type, name, currency, opening_balance, current_balance, "
        "archived, created_at, updated_at) VALUES (:id, :user_id, 'CASH', 'Read', 'EUR', 0, 0, false, now(), now()) "
        "RETURNING id) SELECT id FROM made"
    ).bindparams(bindparam("id", type_=Uuid()), bindparam("user_id", type_=Uuid())))
    account_id = uuid.uuid4()
    with pytest.raises(IntegrityError):
        async with server.runtime.sessions() as session, atomic(session):
            rows = await fetch(session, creates, {"id": account_id, "user_id": user.id})  # the first statement
            assert [tuple(row) for row in rows] == [(account_id,)]
            session.add(Account(id=account_id, user_id=user.id, name="Twin", currency="EUR"))  # the same id: refused
            await session.flush()
    async with server.runtime.sessions() as session:
        assert (await session.exec(select(Account.id).where(col(Account.id) == account_id))).first() is None


async def test_an_error_from_a_compiled_read_is_sqlalchemys(server: RunningServer, path: str) -> None:
    read = CompiledRead(text("SELECT 1 / :n").bindparams(bindparam("n", type_=Integer())))
    async with server.runtime.sessions() as session:
        with pytest.raises(DBAPIError) as raised:
            await fetch(session, read, {"n": 0})
        assert "division by zero" in str(raised.value.orig)
        await session.rollback()
        assert [tuple(row) for row in await fetch(session, read, {"n": 1})] == [(1,)]  # the session goes on


async def test_copy_records_runs_in_the_transaction_with_sqlalchemys_errors(server: RunningServer, path: str) -> None:
    user = await owner(server)
    first, second = uuid.uuid4(), uuid.uuid4()
    async with server.runtime.sessions() as session:
        await copy_records(session, "account", ACCOUNT_COLUMNS, [account_row(first, user.id, "Copied")])  # first statement
        await session.rollback()
        with pytest.raises(IntegrityError):  # the same id twice: a unique violation, as SQLAlchemy names it
            await copy_records(session, "account", ACCOUNT_COLUMNS,
                               [account_row(second, user.id, "A"), account_row(second, user.id, "B")])
        await session.rollback()
        found = (await session.exec(select(Account.id).where(col(Account.id).in_([first, second])))).all()
        assert found == []  # the first COPY went with its transaction

"""Compiled reads: values only at fetch time, the session's own writes visible, ownership kept."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from sqlalchemy import bindparam
from sqlmodel import col, select

from finora_gql.accounts import service as accounts
from finora_gql.accounts.models import Account, AccountType
from finora_gql.core.db import CompiledRead
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

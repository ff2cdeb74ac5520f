"""The demo generator writes a consistent ledger through the services, once."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func
from sqlmodel import select

from finora_gql.accounts.models import Account
from finora_gql.demo import DEMO_EMAIL, create_demo
from finora_gql.transactions.models import Transaction
from finora_gql.users import service as users
from tests.server import RunningServer


async def test_demo_is_consistent_and_idempotent(server: RunningServer) -> None:
    rt = server.runtime
    assert await create_demo(rt.sessions, rt, months=3, reset=True)
    async with rt.sessions() as session:
        user = await users.get_user_by_email(session, DEMO_EMAIL)
        accounts = (await session.exec(select(Account).where(Account.user_id == user.id))).all()
        count = (await session.exec(select(func.count()).select_from(Transaction).where(Transaction.user_id == user.id))).one()
        for account in accounts:
            total = (await session.exec(select(func.coalesce(func.sum(Transaction.amount), 0))
                                        .where(Transaction.account_id == account.id))).one()
            assert account.current_balance == account.opening_balance + Decimal(total)
    assert len(accounts) == 4 and count > 150
    assert user.email_verified_at is not None
    # Again without reset: nothing changes.
    assert not await create_demo(rt.sessions, rt, months=3)
    async with rt.sessions() as session:
        again = (await session.exec(select(func.count()).select_from(Transaction).where(Transaction.user_id == user.id))).one()
    assert again == count

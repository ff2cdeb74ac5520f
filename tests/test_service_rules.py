"""Business rules live in services, so a worker or the assistant calling a service is held to
exactly what the API is: the admin check and audit of exchange rates, who may load a user,
account deletion taking its own rows out of the totals, and a profile's base-currency change."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from decimal import Decimal

import pytest
from sqlmodel import col, select

from finora_gql.accounts import service as accounts
from finora_gql.accounts.models import AccountType
from finora_gql.admin.models import AuditLog
from finora_gql.budgets import service as budgets
from finora_gql.core.db import atomic
from finora_gql.core.errors import Forbidden, ServiceError
from finora_gql.core.owned import SYSTEM, SystemActor
from finora_gql.core.viewer import Viewer
from finora_gql.transactions import categories
from finora_gql.transactions import service as ledger
from finora_gql.transactions.models import CategoryKind
from finora_gql.users import profile
from finora_gql.users import service as users
from finora_gql.wallet import service as wallet
from finora_gql.wallet import totals
from finora_gql.wallet.events import user_version_key
from finora_gql.wallet.models import FxRate
from tests.server import RunningServer, unique_email

DAY = dt.date(2043, 5, 1)  # a year of its own: no other test sets rates of this pair then


async def _person(server: RunningServer, prefix: str) -> Viewer:
    async with server.runtime.sessions() as session, atomic(session):
        user = await users.create_user(session, email=unique_email(prefix), name=prefix.title())
        await categories.create_defaults(session, user.id)
    return Viewer.acting_for(user.id)


async def test_set_fx_rate_checks_admin_itself_and_is_audited(server: RunningServer) -> None:
    rt = server.runtime
    person = await _person(server, "rates")
    admin = dataclasses.replace(person, is_admin=True)
    async with rt.sessions() as session:
        with pytest.raises(Forbidden):
            async with atomic(session):
                await wallet.set_fx_rate(session, rt, person, base="ISK", quote="USD", date=DAY, rate=Decimal("0.007"))
        assert (await session.exec(select(FxRate).where(col(FxRate.base) == "ISK", col(FxRate.date) == DAY))).first() is None

    for rate in ("0.0070", "0.0072"):
        async with rt.sessions() as session, atomic(session):
            await wallet.set_fx_rate(session, rt, admin, base="isk", quote="usd", date=DAY, rate=Decimal(rate))
    async with rt.sessions() as session:
        rows = (await session.exec(
            select(AuditLog).where(col(AuditLog.actor_id) == admin.user_id, col(AuditLog.action) == "fx_rate.set")
            .order_by(col(AuditLog.created_at), col(AuditLog.id))
        )).all()
    assert [row.details for row in rows] == [
        {"base": "ISK", "quote": "USD", "date": DAY.isoformat(), "rate": "0.0070", "previous": None},
        {"base": "ISK", "quote": "USD", "date": DAY.isoformat(), "rate": "0.0072", "previous": "0.0070000000"},
    ]

    # A refused change writes no audit row either: both roll back together.
    async with rt.sessions() as session:
        with pytest.raises(ServiceError):
            async with atomic(session):
                await wallet.set_fx_rate(session, rt, admin, base="ISK", quote="ISK", date=DAY, rate=Decimal(1))
        count = len((await session.exec(select(AuditLog).where(col(AuditLog.actor_id) == admin.user_id))).all())
    assert count == 2

    # A named system actor (the demo seed, a price feed) may set rates too, audited under its name.
    async with rt.sessions() as session, atomic(session):
        await wallet.set_fx_rate(session, rt, SystemActor("price feed"), base="ISK", quote="USD",
                                 date=DAY + dt.timedelta(days=1), rate=Decimal("0.0071"))
    async with rt.sessions() as session:
        fed = (await session.exec(select(AuditLog).where(col(AuditLog.action) == "fx_rate.set",
                                                         col(AuditLog.actor_id).is_(None)))).all()
    assert [row.details["system"] for row in fed if row.details["base"] == "ISK"] == ["price feed"]


async def test_a_user_is_loaded_by_id_only_for_themselves_or_an_administrator(server: RunningServer) -> None:
    ann, bob = await _person(server, "ann"), await _person(server, "bob")
    async with server.runtime.sessions() as session:
        assert (await users.visible_user(session, ann, ann.user_id)).id == ann.user_id
        assert await users.visible_user(session, ann, bob.user_id) is None
        assert await users.visible_user(session, ann, uuid.uuid4()) is None
        admin = dataclasses.replace(ann, is_admin=True)
        assert (await users.visible_user(session, admin, bob.user_id)).id == bob.user_id


async def test_deleting_an_account_takes_its_rows_out_of_balances_and_totals(server: RunningServer) -> None:
    rt = server.runtime
    viewer = await _person(server, "closing")
    async with rt.sessions() as session, atomic(session):
        checking = await accounts.create_account(session, viewer, name="Checking", type=AccountType.CHECKING,
                                                 currency="USD", opening_balance=Decimal(100))
        savings = await accounts.create_account(session, viewer, name="Savings", type=AccountType.SAVINGS,
                                                currency="USD")
        food = (await categories.list_categories(session, viewer, kind=CategoryKind.EXPENSE))[0]
        await ledger.create_transaction(session, rt, viewer, account_id=checking.id, date=DAY, amount=Decimal("-30"),
                                        category_id=food.id)
        await ledger.create_transfer(session, rt, viewer, from_account_id=checking.id, to_account_id=savings.id,
                                     date=DAY, amount=Decimal("20"))
    async with rt.sessions() as session, atomic(session):
        await accounts.delete_account(session, rt, viewer, checking.id)
    async with rt.sessions() as session:
        found, missing = await totals.converted_totals(session, viewer, start=DAY, end=DAY, currency="USD")
        balances = await accounts.balances_by_currency(session, viewer)
        with pytest.raises(ServiceError) as gone:
            await accounts.get_account(session, viewer, checking.id)
    assert gone.value.code.value == "NOT_FOUND"
    # The transfer's other leg went with it: nothing is left counting money that no longer exists.
    assert [(t.inflow, t.outflow, t.count) for t in found if t.count] == []
    assert missing == []
    assert balances == {"USD": Decimal(0)}


async def test_a_new_base_currency_converts_limits_in_the_service(server: RunningServer) -> None:
    rt = server.runtime
    viewer = await _person(server, "mover")
    admin = dataclasses.replace(viewer, is_admin=True)
    async with rt.sessions() as session, atomic(session):
        food = (await categories.list_categories(session, viewer, kind=CategoryKind.EXPENSE))[0]
        budget = await budgets.create_budget(session, viewer, month=DAY, category_id=food.id, limit=Decimal(500))
    async with rt.sessions() as session:
        with pytest.raises(ServiceError) as refused:  # no USD->BTN rate yet: nothing changes
            async with atomic(session):
                await profile.update_profile(session, rt, viewer, base_currency="BTN")
    assert refused.value.field == "baseCurrency"
    async with rt.sessions() as session, atomic(session):
        await wallet.set_fx_rate(session, rt, admin, base="USD", quote="BTN", date=dt.date(2000, 1, 3),
                                 rate=Decimal("0.9"))
    async with rt.sessions() as session, atomic(session):
        user = await profile.update_profile(session, rt, viewer, base_currency="BTN")
    assert user.base_currency == "BTN"
    async with rt.sessions() as session:
        converted = await budgets.get_budget(session, viewer, budget.id)
    assert converted.limit_amount == Decimal("450.00")


async def test_the_system_actor_reads_across_owners_and_a_viewer_only_their_own(server: RunningServer) -> None:
    ann, bob = await _person(server, "sysann"), await _person(server, "sysbob")
    async with server.runtime.sessions() as session:
        everyone = await categories.categories.by_ids(session, SYSTEM, [
            c.id for v in (ann, bob) for c in await categories.list_categories(session, v)
        ])
        own = await categories.categories.by_ids(session, ann, list(everyone))
    assert {row.user_id for row in everyone.values()} == {ann.user_id, bob.user_id}
    assert {row.user_id for row in own.values()} == {ann.user_id}


async def test_an_opening_balance_change_tells_the_wallet_from_the_service(server: RunningServer) -> None:
    rt = server.runtime
    viewer = await _person(server, "opening")
    async with rt.sessions() as session, atomic(session):
        account = await accounts.create_account(session, viewer, name="Cash", type=AccountType.CASH, currency="USD")
    key = user_version_key(viewer.user_id)
    before = await rt.cache.version(key)
    async with rt.sessions() as session, atomic(session):
        await accounts.update_account(session, rt, viewer, account.id, name="Wallet")  # balances unchanged
    assert await rt.cache.version(key) == before
    async with rt.sessions() as session, atomic(session):
        await accounts.update_account(session, rt, viewer, account.id, opening_balance=Decimal(50))
    assert await rt.cache.version(key) == before + 1

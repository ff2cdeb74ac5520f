"""Year-end checkpoints: a portfolio from a checkpoint equals the full replay; a change before a
checkpoint voids it (the figures follow the change at once)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func
from sqlmodel import col, select

from finora_gql.core.db import atomic
from finora_gql.investments import checkpoints
from finora_gql.investments.models import Checkpoint
from tests.flows import node_uuid, signed_in_user
from tests.investments.invest_flows import UPDATE, investment_account, portfolio, recorded, set_price
from tests.server import RunningServer


async def _rebuild(server: RunningServer, user_id: str, account_id: str) -> int:
    async with server.runtime.sessions() as session, atomic(session):
        return await checkpoints.rebuild(session, node_uuid(user_id), node_uuid(account_id))


async def test_checkpoints_match_the_full_replay_and_follow_changes(server: RunningServer) -> None:
    ann = await signed_in_user(server)
    token = ann.access_token
    account = (await investment_account(server, token))["id"]
    buy = await recorded(server, token, account, kind="BUY", date="2022-03-01", symbol="CKPT", quantity="30",
                         price="10")
    await recorded(server, token, account, kind="SELL", date="2023-05-02", symbol="CKPT", quantity="10", price="12")
    await recorded(server, token, account, kind="SPLIT", date="2023-08-01", symbol="CKPT", splitFrom="1", splitTo="2")
    await recorded(server, token, account, kind="BUY", date="2024-02-01", symbol="CKPT", quantity="5", price="7")
    for day, close in (("2022-03-01", "10"), ("2023-12-29", "6.5"), ("2024-06-28", "7.5")):
        await set_price(server, token, "CKPT", day, close)

    for method in ("FIFO", "AVERAGE"):
        written = await _rebuild(server, ann.user_id, account)
        assert written >= 3  # 2022-12-31 and every year end since
        from_checkpoint = await portfolio(server, token, "2024-01-01", "2024-06-30", method=method)
        async with server.runtime.sessions() as session, atomic(session):
            await session.exec(Checkpoint.__table__.delete().where(  # type: ignore[attr-defined]
                Checkpoint.account_id == node_uuid(account)))
        replayed = await portfolio(server, token, "2024-01-01", "2024-06-30", method=method)
        assert from_checkpoint == replayed
        assert replayed["holdings"][0]["quantity"] == "45" and replayed["value"] == "422.50"  # 45 x 7.5 + 120 - 35 cash

    # A change before the checkpoint voids it in the same transaction.
    await _rebuild(server, ann.user_id, account)
    changed = await server.gql(UPDATE, {"input": {"id": buy["id"], "price": "11"}}, token=token)
    assert changed["data"]["updateInvestmentActivity"]["errors"] == []
    async with server.runtime.sessions() as session:
        left = (await session.exec(select(func.count()).where(
            col(Checkpoint.account_id) == node_uuid(account), col(Checkpoint.date) >= dt.date(2022, 12, 31)))).one()
    figures = await portfolio(server, token, "2024-01-01", "2024-06-30")
    # 20 of 30 at 11 left after the FIFO sale, split to 40, plus 5 at 7.
    assert figures["costBasis"] == "255.00"
    assert left in (0, 4)  # voided, or already rebuilt by the job the change enqueued


async def test_checkpoints_of_a_foreign_account_carry_the_rates_they_were_built_with(server: RunningServer) -> None:
    from tests.auth.test_auth_flows import promote_to_admin

    admin = await signed_in_user(server)
    await promote_to_admin(server, admin.user_id)
    set_fx = """mutation($input: FxRateInput!) { setFxRate(input: $input) { errors { code } } }"""
    rate = {"base": "ZAR", "quote": "USD", "date": "2021-01-01", "rate": "0.06"}
    assert (await server.gql(set_fx, {"input": rate}, token=admin.access_token))["data"]["setFxRate"]["errors"] == []
    ann = await signed_in_user(server)
    token = ann.access_token
    account = (await investment_account(server, token, currency="ZAR", name="Rand broker"))["id"]
    await recorded(server, token, account, kind="BUY", date="2022-03-01", symbol="RANDCO", quantity="10", price="100")
    await set_price(server, token, "RANDCO", "2022-03-01", "110")
    assert await _rebuild(server, ann.user_id, account) >= 1
    async with server.runtime.sessions() as session:
        stored = (await session.exec(select(Checkpoint.rates_version).where(
            col(Checkpoint.account_id) == node_uuid(account)))).all()
        version = await checkpoints.rates_version(session, ["ZAR"], "USD")
        assert stored and version and all(v == version for v in stored)
    from_checkpoint = await portfolio(server, token, "2024-01-01", "2024-01-31")
    assert from_checkpoint["costBasis"] == "60.00" and from_checkpoint["value"] == "66.00"
    # A new rate makes the checkpoints outdated: the full replay gives the new figures.
    rate.update(date="2022-03-01", rate="0.05")
    assert (await server.gql(set_fx, {"input": rate}, token=admin.access_token))["data"]["setFxRate"]["errors"] == []
    replayed = await portfolio(server, token, "2024-01-01", "2024-01-31")
    assert replayed["costBasis"] == "50.00" and replayed["value"] == "55.00"


async def test_checkpoints_hold_the_ledger_cash(server: RunningServer) -> None:
    """An opening balance and a ledger transfer are in the year-end checkpoints; an account with only
    an opening balance before the range has none and is replayed, with the same figures."""
    from tests.ledger.ledger_flows import CREATE_TRANSFER, create_account

    bo = await signed_in_user(server)
    token = bo.access_token
    checking = (await create_account(server, token, opening="900"))["id"]
    first = (await create_account(server, token, name="Broker", type="INVESTMENT", opening="1000"))["id"]
    second = (await create_account(server, token, name="Idle", type="INVESTMENT", opening="50"))["id"]
    await recorded(server, token, first, kind="BUY", date="2022-03-01", symbol="CKLC", quantity="10", price="10")
    moved = await server.gql(CREATE_TRANSFER, {"input": {"fromAccountId": checking, "toAccountId": first,
                                                         "amount": "400", "date": "2023-05-02"}}, token=token)
    assert moved["data"]["createTransfer"]["errors"] == []
    await set_price(server, token, "CKLC", "2022-03-01", "12")
    assert await _rebuild(server, bo.user_id, first) >= 2
    assert await _rebuild(server, bo.user_id, second) == 1  # last year end only: nothing moved before
    from_checkpoint = await portfolio(server, token, "2024-01-01", "2024-06-30")
    async with server.runtime.sessions() as session, atomic(session):
        await session.exec(Checkpoint.__table__.delete().where(  # type: ignore[attr-defined]
            col(Checkpoint.account_id).in_([node_uuid(first), node_uuid(second)])))
    replayed = await portfolio(server, token, "2024-01-01", "2024-06-30")
    assert from_checkpoint == replayed
    assert replayed["value"] == "1470.00" and replayed["cash"] == "1350.00"  # 1000 - 100 + 400 + 50; 10 x 12

"""Persisted daily values: a portfolio read from them equals the one computed from scratch, after
edits, deletes, new closes and new rates (back-dated ones included); each change voids the days
it touches at once."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from finora_gql.core.db import atomic
from finora_gql.core.viewer import Viewer
from finora_gql.investments import day_values, valuation
from tests.auth.test_auth_flows import promote_to_admin
from tests.flows import node_uuid, signed_in_user
from tests.investments.invest_flows import DELETE, UPDATE, investment_account, recorded, set_price
from tests.investments.test_transfers import TRANSFER
from tests.server import RunningServer

START, END = dt.date(2023, 1, 1), dt.date(2024, 6, 30)
SET_FX = """mutation($input: FxRateInput!) { setFxRate(input: $input) { errors { code } } }"""


async def _none(*_args, **_kwargs) -> None:
    return None


async def _extend(server: RunningServer, user_id: uuid.UUID, account_ids: list[uuid.UUID]) -> None:
    for account_id in account_ids:
        async with server.runtime.sessions() as session, atomic(session):
            await day_values.extend(session, user_id, account_id)


async def _kept(server: RunningServer, user_id: uuid.UUID, account_ids: list[uuid.UUID]) -> bool:
    async with server.runtime.sessions() as session:
        return await day_values.read(session, Viewer.acting_for(user_id), account_ids, "USD", START, END) is not None


async def _assert_same(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch, user_id: uuid.UUID, account_ids: list[uuid.UUID]
) -> valuation.Portfolio:
    await _extend(server, user_id, account_ids)
    assert await _kept(server, user_id, account_ids)
    rt, viewer = server.runtime, Viewer.acting_for(user_id)
    answers = []
    for persisted in (True, False):
        with monkeypatch.context() as patch:
            if not persisted:
                patch.setattr(day_values, "read", _none)
            async with rt.sessions() as session:
                answers.append(
                    await valuation.portfolio(
                        session, rt, viewer, account_ids=None, start=START, end=END, method=None, history=True
                    )
                )
    async with rt.sessions() as session:  # only the days' figures asked for: no replay, the same days
        days_only = (
            await valuation.portfolio(
                session, rt, viewer, account_ids=None, start=START, end=END, method=None, history=True, positions=False
            )
        ).result
    kept, scratch = answers
    assert kept.result == scratch.result
    assert (days_only.history, days_only.twr, days_only.xirr, days_only.value, days_only.start_value) == (
        scratch.result.history,
        scratch.result.twr,
        scratch.result.xirr,
        scratch.result.value,
        scratch.result.start_value,
    )
    assert kept.result.xirr == scratch.result.xirr
    assert kept.result.twr.cumulative is not None and len(kept.result.history) == (END - START).days + 1
    return kept


async def test_kept_days_equal_the_computation_from_scratch_through_changes(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = await signed_in_user(server)
    await promote_to_admin(server, admin.user_id)
    rate = {"base": "HUF", "quote": "USD", "date": "2022-01-03", "rate": "0.0028"}
    assert (await server.gql(SET_FX, {"input": rate}, token=admin.access_token))["data"]["setFxRate"]["errors"] == []
    ann = await signed_in_user(server)
    token, user_id = ann.access_token, node_uuid(ann.user_id)
    first = (await investment_account(server, token))["id"]
    second = (await investment_account(server, token, name="Second broker"))["id"]
    account_ids = [node_uuid(first), node_uuid(second)]
    early = await recorded(server, token, first, kind="BUY", date="2022-03-01", symbol="DVA", quantity="30", price="10")
    await recorded(server, token, first, kind="DEPOSIT", date="2023-02-01", amount="500")
    await recorded(server, token, first, kind="SELL", date="2023-05-02", symbol="DVA", quantity="10", price="12")
    await recorded(server, token, first, kind="SPLIT", date="2023-08-01", symbol="DVA", splitFrom="1", splitTo="3")
    # 60 units become 60/7: values of 40 significant digits, kept and summed exactly.
    await recorded(server, token, first, kind="SPLIT", date="2024-01-10", symbol="DVA", splitFrom="7", splitTo="1")
    for day, close in (("2023-03-15", "2500"), ("2024-04-02", "2710.5")):
        assert (await set_price(server, token, "DVB", day, close, currency="HUF"))["errors"] == []
    await recorded(server, token, second, kind="BUY", date="2023-03-15", symbol="DVB", quantity="4", price="2500")
    late = await recorded(server, token, second, kind="DIVIDEND", date="2024-02-01", symbol="DVB", amount="3.25")
    await recorded(server, token, first, kind="WITHDRAWAL", date="2024-03-01", amount="1")
    for day, close in (("2022-03-01", "10"), ("2023-06-30", "11.5"), ("2024-01-31", "4.2")):
        await set_price(server, token, "DVA", day, close)

    before = await _assert_same(server, monkeypatch, user_id, account_ids)

    # A back-dated edit, then a delete, void the days from their dates on.
    edited = await server.gql(UPDATE, {"input": {"id": early["id"], "price": "9.5"}}, token=token)
    assert edited["data"]["updateInvestmentActivity"]["errors"] == []
    assert not await _kept(server, user_id, account_ids)
    after_edit = await _assert_same(server, monkeypatch, user_id, account_ids)
    assert after_edit.result.value == before.result.value and after_edit.result.cost_basis != before.result.cost_basis
    deleted = await server.gql(DELETE, {"id": late["id"]}, token=token)
    assert deleted["data"]["deleteInvestmentActivity"]["errors"] == []
    assert not await _kept(server, user_id, account_ids)
    await _assert_same(server, monkeypatch, user_id, account_ids)

    # A new activity on a later day voids only the days from it on.
    await recorded(server, token, second, kind="DEPOSIT", date="2024-05-02", amount="40")
    async with server.runtime.sessions() as session:
        assert (
            await day_values.read(session, Viewer.acting_for(user_id), account_ids, "USD", START, dt.date(2024, 5, 1))
            is not None
        )
    await _assert_same(server, monkeypatch, user_id, account_ids)

    # A back-dated close, and a back-dated rate, void the days of the accounts holding the security.
    await set_price(server, token, "DVA", "2023-09-29", "3.9")
    assert not await _kept(server, user_id, account_ids)
    with_price = await _assert_same(server, monkeypatch, user_id, account_ids)
    rate.update(date="2023-06-01", rate="0.0026")
    assert (await server.gql(SET_FX, {"input": rate}, token=admin.access_token))["data"]["setFxRate"]["errors"] == []
    assert not await _kept(server, user_id, account_ids)
    with_rate = await _assert_same(server, monkeypatch, user_id, account_ids)
    assert with_rate.result.value != with_price.result.value

    # A back-dated transfer between the two accounts: both accounts' days go; no external flow.
    moved = await server.gql(
        TRANSFER,
        {
            "input": {
                "fromAccountId": first,
                "toAccountId": second,
                "symbol": "DVA",
                "quantity": "6",
                "date": "2023-09-01",
            }
        },
        token=token,
    )
    assert moved["data"]["transferSecurities"]["errors"] == []
    assert not await _kept(server, user_id, account_ids)
    with_transfer = await _assert_same(server, monkeypatch, user_id, account_ids)
    assert with_transfer.result.net_inflow == with_rate.result.net_inflow

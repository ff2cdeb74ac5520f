"""Gamification over real HTTP with the real worker: events become progress, awards and points."""

from __future__ import annotations

import datetime as dt

from finora_gql.core import clock
from tests.budgets.budget_flows import on_today
from tests.flows import login, signed_in_user
from tests.gamification.gamification_flows import (
    POINTS,
    balance,
    data,
    my_badges,
    my_challenges,
    settled,
)
from tests.ledger.ledger_flows import DELETE_TXN, UPDATE_TXN, create_account, create_txn
from tests.server import RunningServer

TODAY = dt.date(2031, 5, 15)  # a Thursday; the week is 12-18 May


async def test_five_transactions_complete_the_weekly_challenge_once(server: RunningServer) -> None:
    with on_today():
        user = await signed_in_user(server)
        token = user.access_token
        account = await create_account(server, token)
        for _ in range(5):
            created = await create_txn(server, token, accountId=account["id"], date=TODAY.isoformat(), amount="-3")
            assert created["errors"] == []
        await settled(server, user.user_id)
        mine = await my_challenges(server, token)
        assert mine["LOG_5_WEEK"]["progress"] == "5"
        assert mine["LOG_5_WEEK"]["completedAt"] is not None
        assert mine["LOG_5_WEEK"]["periodStart"] == "2031-05-12"
        assert await my_badges(server, token) == ["FIRST_CHALLENGE", "FIRST_TRANSACTION"]
        # 20 (challenge) + 10 (first transaction) + 10 (first challenge)
        assert await balance(server, token) == 40
        # A sixth changes nothing: once per period.
        await create_txn(server, token, accountId=account["id"], date=TODAY.isoformat(), amount="-3")
        await settled(server, user.user_id)
        assert await balance(server, token) == 40
        entries = (await data(server, token, POINTS, {"first": 10}))["points"]["entries"]["edges"]
        assert sorted(e["node"]["amount"] for e in entries) == [10, 10, 20]


async def test_created_then_deleted_back_dated_and_transfers_do_not_count(server: RunningServer) -> None:
    with on_today():
        user = await signed_in_user(server)
        token = user.access_token
        account = await create_account(server, token)
        created = await create_txn(server, token, accountId=account["id"], date=TODAY.isoformat(), amount="-3")
        deleted = await server.gql(DELETE_TXN, {"id": created["transaction"]["id"]}, token=token)
        assert deleted["data"]["deleteTransaction"]["errors"] == []
        # Back-dated before this week: not this week's effort.
        await create_txn(server, token, accountId=account["id"], date=(TODAY - dt.timedelta(days=10)).isoformat(),
                         amount="-3")
        await settled(server, user.user_id)
        assert (await my_challenges(server, token))["LOG_5_WEEK"]["progress"] == "0"


async def test_editing_a_date_moves_a_transaction_out_of_and_into_the_week_it_was_recorded_in(
    server: RunningServer,
) -> None:
    async def edit(token: str, txn_id: str, **change) -> None:
        body = await server.gql(UPDATE_TXN, {"input": {"id": txn_id, **change}}, token=token)
        assert body["data"]["updateTransaction"]["errors"] == [], body

    async def progress(token: str) -> dict:
        await settled(server, user.user_id)
        return (await my_challenges(server, token))["LOG_5_WEEK"]

    with on_today():
        user = await signed_in_user(server)
        token = user.access_token
        account = await create_account(server, token)
        ids = [(await create_txn(server, token, accountId=account["id"], date=TODAY.isoformat(), amount="-3"))
               ["transaction"]["id"] for _ in range(4)]
        assert (await progress(token))["progress"] == "4"
        await edit(token, ids[0], date=(TODAY - dt.timedelta(days=7)).isoformat())  # out of this week
        assert (await progress(token))["progress"] == "3"
        await edit(token, ids[0], date=TODAY.isoformat())  # back in
        assert (await progress(token))["progress"] == "4"
        await edit(token, ids[0], amount="-4", description="a note")  # neither moves it anywhere
        assert (await progress(token))["progress"] == "4"
        # Recorded this week but back-dated, it did not count; dated into this week, it does.
        late = (await create_txn(server, token, accountId=account["id"], date=(TODAY - dt.timedelta(days=10)).isoformat(),
                                 amount="-3"))["transaction"]["id"]
        assert (await progress(token))["progress"] == "4"
        await edit(token, late, date=TODAY.isoformat())
        done = await progress(token)
        assert done["progress"] == "5" and done["completedAt"] is not None
        await edit(token, late, date=(TODAY - dt.timedelta(days=10)).isoformat())
        assert (await progress(token))["completedAt"] == done["completedAt"]  # completed stays completed
        assert await balance(server, token) == 40  # the challenge and its two badges, once

    # A week later: moving last week's transactions into this week does not count them again.
    next_week = TODAY + dt.timedelta(days=7)
    with clock.travel(dt.datetime(2031, 5, 22, 12, tzinfo=dt.UTC) - clock.now()):
        token = (await login(server, user.email))["accessToken"]
        for txn_id in ids:
            await edit(token, txn_id, date=next_week.isoformat())
        mine = await progress(token)
        assert mine["periodStart"] == "2031-05-19" and mine["progress"] == "0"
        assert await balance(server, token) == 40


PREFER = """mutation($kind: NotificationKind!, $channel: NotificationChannel!, $on: Boolean!) {
  setNotificationPreference(input: {kind: $kind, channel: $channel, enabled: $on}) { errors { code } } }"""


async def test_badge_email_only_for_those_who_want_it(server: RunningServer, smtp_sink) -> None:
    with on_today():
        wants, quiet = await signed_in_user(server), await signed_in_user(server)
        body = await server.gql(PREFER, {"kind": "BADGE_EARNED", "channel": "EMAIL", "on": True}, token=wants.access_token)
        assert body["data"]["setNotificationPreference"]["errors"] == []
        for person in (wants, quiet):
            account = await create_account(server, person.access_token)
            await create_txn(server, person.access_token, accountId=account["id"], date=TODAY.isoformat(), amount="-1")
            await settled(server, person.user_id)
        mail = await smtp_sink.wait_for(lambda m: m["To"] == wants.email and "Badge earned" in m["Subject"], timeout=30)
        assert "First Entry" in mail["Subject"]
        notes = await data(server, quiet.access_token, "{ notifications(first: 5) { edges { node { kind title } } } }")
        assert [n["node"]["kind"] for n in notes["notifications"]["edges"]] == ["BADGE_EARNED"]
    assert not [m for m in smtp_sink.messages if m["To"] == quiet.email and "Badge" in m["Subject"]]

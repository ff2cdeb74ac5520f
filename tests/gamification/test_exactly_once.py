"""Exactly once, and not gameable: over real HTTP with the real (in-process Dramatiq) worker."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import func
from sqlmodel import col, select

from finora_gql.core import clock
from finora_gql.core.jobs import enqueue_async
from finora_gql.core.owned import SYSTEM, user_filter
from finora_gql.gamification import processing, state
from finora_gql.gamification.events import PROCESS_ACTOR
from finora_gql.gamification.models import Award, ChallengeProgress, GamificationEvent, PointsEntry
from finora_gql.notifications.models import Notification, NotificationKind
from tests.auth.test_auth_flows import promote_to_admin
from tests.budgets.budget_flows import UPDATE_PROFILE, on_today
from tests.flows import node_uuid, signed_in_user
from tests.gamification.gamification_flows import (
    ERRORS,
    JOIN,
    LEADERBOARD,
    REDEEM,
    SET_PROFILE,
    balance,
    data,
    my_challenges,
    settled,
)
from tests.ledger.ledger_flows import create_account, create_txn
from tests.server import RunningServer

TODAY = dt.date(2031, 5, 15)  # Thursday of the week 12-18 May 2031


async def count(server: RunningServer, model, *conditions) -> int:
    async with server.runtime.sessions() as session:
        statement = select(func.count()).select_from(model).where(*conditions)
        return (await session.exec(statement)).one()


async def log_transactions(server: RunningServer, token: str, account_id: str, n: int, day: dt.date = TODAY,
                           amount: str = "-3") -> None:
    for _ in range(n):
        created = await create_txn(server, token, accountId=account_id, date=day.isoformat(), amount=amount)
        assert created["errors"] == [], created


async def test_a_challenge_completes_once_despite_a_crash_mid_award_and_duplicate_delivery(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = processing._write_awards
    crashes: list[int] = []

    async def crash_once(session, rt, user_id, email, earned):
        added = await original(session, rt, user_id, email, earned)
        if added and not crashes:
            crashes.append(added)  # the award and its points are written... and the worker dies before commit
            raise RuntimeError("worker killed mid-award")
        return added

    monkeypatch.setattr(processing, "_write_awards", crash_once)
    with on_today():
        user = await signed_in_user(server)
        account = await create_account(server, user.access_token)
        await log_transactions(server, user.access_token, account["id"], 5)
        await settled(server, user.user_id)  # the retry (after the crash) applied everything
        assert crashes, "the crash was not exercised"
        user_id = node_uuid(user.user_id)

        # Every event delivered again, twice, and applied directly too: nothing changes.
        async with server.runtime.sessions() as session:
            event_ids = (await session.exec(state.events.readable(SYSTEM).with_only_columns(
                col(GamificationEvent.id)).where(state.events.owned_by(user_id)))).all()
        for event_id in event_ids:
            await enqueue_async(PROCESS_ACTOR, str(event_id))
            await enqueue_async(PROCESS_ACTOR, str(event_id))
        await asyncio.gather(*(processing.process_event(server.runtime, event_id) for event_id in event_ids))
        await asyncio.sleep(1)  # let the duplicates run
        await settled(server, user.user_id)

        challenge_awards = await count(server, Award, state.awards.owned_by(user_id), col(Award.challenge_id).is_not(None))
        assert challenge_awards == 1
        assert await count(server, PointsEntry, state.points.owned_by(user_id)) == 3  # challenge + 2 badges
        assert await balance(server, user.access_token) == 40
        told = await count(server, Notification, user_filter(col(Notification.user_id), user_id),
                           col(Notification.kind) == NotificationKind.CHALLENGE_COMPLETED)
        assert told == 1
        assert (await my_challenges(server, user.access_token))["LOG_5_WEEK"]["progress"] == "5"


CREATE_CHALLENGE = f"""mutation($input: CreateChallengeInput!) {{ createChallenge(input: $input) {{
  challenge {{ id code }} {ERRORS} }} }}"""


async def new_challenge(server: RunningServer, admin_token: str, **fields) -> str:
    code = f"T{uuid.uuid4().hex[:8].upper()}"
    body = await data(server, admin_token, CREATE_CHALLENGE, {"input": {
        "code": code, "name": fields.pop("name", "Test"), "description": "A test challenge.", **fields}})
    assert body["createChallenge"]["errors"] == [], body
    return body["createChallenge"]["challenge"]["id"]


async def test_spend_under_is_judged_when_the_week_closes_in_each_persons_time_zone(server: RunningServer) -> None:
    with on_today():
        boss = await signed_in_user(server)
        await promote_to_admin(server, boss.user_id)
        challenge_id = await new_challenge(server, boss.access_token, kind="SPEND_UNDER", target="50", rewardPoints=30,
                                           recurrence="WEEKLY", name="Under 50 a week")
        people = {}
        for name, zone, spent in (("auckland", "Pacific/Auckland", "-30"), ("la", "America/Los_Angeles", "-30"),
                                  ("spender", "America/Los_Angeles", "-80")):
            person = await signed_in_user(server)
            assert (await data(server, person.access_token, UPDATE_PROFILE, {"input": {"timezone": zone}}))[
                "updateProfile"]["errors"] == []
            joined = await data(server, person.access_token, JOIN, {"id": challenge_id})
            assert joined["joinChallenge"]["errors"] == []
            account = await create_account(server, person.access_token)
            await log_transactions(server, person.access_token, account["id"], 1, day=dt.date(2031, 5, 14), amount=spent)
            people[name] = person
        for person in people.values():
            await settled(server, person.user_id)

    async def judged(person) -> dict:
        async with server.runtime.sessions() as session:
            rows = (await session.exec(state.progress_rows.readable(SYSTEM).where(
                state.progress_rows.owned_by(node_uuid(person.user_id)),
                col(ChallengeProgress.challenge_id) == node_uuid(challenge_id)))).all()
        return {str(r.period_start): (r.judged, r.completed_at is not None, r.progress) for r in rows}

    # Sunday 18 May, 13:00 UTC: Monday 01:00 in Auckland (its week closed), Sunday 06:00 in Los Angeles.
    with clock.travel(dt.datetime(2031, 5, 18, 13, tzinfo=dt.UTC) - clock.now()):
        await processing.close_periods(server.runtime)
        await processing.close_periods(server.runtime)  # safe to run twice
        for person in people.values():
            await settled(server, person.user_id)
        assert await judged(people["auckland"]) == {"2031-05-12": (True, True, Decimal("30"))}
        assert await judged(people["la"]) == {}
        assert await judged(people["spender"]) == {}
    # Monday 19 May, 08:00 UTC: 01:00 in Los Angeles, its week closed too.
    with clock.travel(dt.datetime(2031, 5, 19, 8, tzinfo=dt.UTC) - clock.now()):
        await processing.close_periods(server.runtime)
        await processing.close_periods(server.runtime)
        for person in people.values():
            await settled(server, person.user_id)
        assert await judged(people["auckland"]) == {"2031-05-12": (True, True, Decimal("30"))}
        assert await judged(people["la"]) == {"2031-05-12": (True, True, Decimal("30"))}
        assert await judged(people["spender"]) == {"2031-05-12": (True, False, Decimal("80"))}  # over: judged, not completed
    closes = await count(server, GamificationEvent, col(GamificationEvent.dedup_key).like(f"close:{node_uuid(challenge_id)}:%"))
    assert closes == 3  # one judgement per person and period, however often the job ran
    awards = await count(server, Award, col(Award.challenge_id) == node_uuid(challenge_id))
    assert awards == 2


async def test_redeeming_twice_with_one_key_debits_once_and_never_below_zero(server: RunningServer) -> None:
    with on_today():
        boss = await signed_in_user(server)
        await promote_to_admin(server, boss.user_id)
        made = await data(server, boss.access_token, f"""mutation($c: String!) {{ createReward(input: {{code: $c,
            name: "Dark theme", description: "A darker look.", costPoints: 30}}) {{ reward {{ id }} {ERRORS} }} }}""",
                          {"c": f"R{uuid.uuid4().hex[:8].upper()}"})
        reward_id = made["createReward"]["reward"]["id"]
        user = await signed_in_user(server)
        account = await create_account(server, user.access_token)
        await log_transactions(server, user.access_token, account["id"], 5)
        await settled(server, user.user_id)
        assert await balance(server, user.access_token) == 40

        key = str(uuid.uuid4())
        first, second = await asyncio.gather(*(
            data(server, user.access_token, REDEEM, {"input": {"rewardId": reward_id, "clientKey": key}}) for _ in range(2)))
        results = sorted((r["redeemReward"]["replayed"], r["redeemReward"]["balance"]) for r in (first, second))
        assert results == [(False, 10), (True, 10)]
        assert all(r["redeemReward"]["errors"] == [] for r in (first, second))
        assert await balance(server, user.access_token) == 10
        # A new key with too few points is refused; nothing is debited.
        refused = await data(server, user.access_token, REDEEM, {"input": {"rewardId": reward_id, "clientKey": "other"}})
        assert [e["code"] for e in refused["redeemReward"]["errors"]] == ["INVALID"]
        assert await balance(server, user.access_token) == 10
        user_id = node_uuid(user.user_id)
        assert await count(server, PointsEntry, state.points.owned_by(user_id), col(PointsEntry.amount) < 0) == 1


async def test_the_leaderboard_shows_points_only_and_only_people_who_opted_in(server: RunningServer) -> None:
    with on_today():
        people = [await signed_in_user(server) for _ in range(3)]
        for person, transactions in zip(people, (5, 1, 5), strict=True):
            account = await create_account(server, person.access_token)
            await log_transactions(server, person.access_token, account["id"], transactions, amount="-1234.56")
            await settled(server, person.user_id)
        named, anonymous, hidden = people
        set_named = await data(server, named.access_token, SET_PROFILE, {"input": {"optIn": True, "displayName": "Alice"}})
        assert set_named["setLeaderboardProfile"]["profile"] == {"optIn": True, "displayName": "Alice", "chosenName": True}
        set_anon = await data(server, anonymous.access_token, SET_PROFILE, {"input": {"optIn": True}})
        pseudonym = set_anon["setLeaderboardProfile"]["profile"]["displayName"]
        assert pseudonym.startswith("Saver-")

        for period in ("ALL_TIME", "WEEKLY"):
            board = (await data(server, named.access_token, LEADERBOARD, {"period": period}))["leaderboard"]
            shown = {e["displayName"]: e for e in board["entries"]}
            assert shown["Alice"]["points"] == 40 and shown["Alice"]["isViewer"] is True
            assert shown[pseudonym]["points"] == 10
            assert board["viewerEntry"]["points"] == 40
            assert all(set(e) == {"rank", "displayName", "points", "isViewer"} for e in board["entries"])
            assert "1234" not in str(board)  # never an amount
            # The one who did not opt in is nowhere, and sees no place of their own.
            hidden_view = (await data(server, hidden.access_token, LEADERBOARD, {"period": period}))["leaderboard"]
            assert hidden_view["viewerEntry"] is None
            assert len(hidden_view["entries"]) == len(board["entries"])

        # Opting out takes Alice off at once.
        await data(server, named.access_token, SET_PROFILE, {"input": {"optIn": False}})
        board = (await data(server, anonymous.access_token, LEADERBOARD, {"period": "ALL_TIME"}))["leaderboard"]
        assert "Alice" not in {e["displayName"] for e in board["entries"]}
        assert board["viewerEntry"]["points"] == 10

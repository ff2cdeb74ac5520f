"""Live achievements over websockets, and the leaderboard on a real Redis (database 9)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from finora_gql.core.db import atomic
from finora_gql.core.runtime import build_runtime
from finora_gql.core.viewer import Viewer
from finora_gql.gamification import leaderboard as boards
from finora_gql.gamification import service
from tests.budgets.budget_flows import on_today
from tests.conftest import make_settings
from tests.flows import node_uuid, signed_in_user
from tests.gamification.gamification_flows import SET_PROFILE, data, settled
from tests.ledger.ledger_flows import create_account, create_txn
from tests.server import RunningServer
from tests.ws import graphql_ws, listening

REDIS_TEST_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/9")
ACHIEVEMENTS = "subscription { achievements { kind title points badgeCode challengeCode period } }"


async def test_achievements_arrive_live(server: RunningServer) -> None:
    with on_today():
        user = await signed_in_user(server)
        account = await create_account(server, user.access_token)
        async with graphql_ws(server.ws_url, {"authorization": f"Bearer {user.access_token}"}) as ws:
            assert (await ws.receive())["type"] == "connection_ack"
            await ws.subscribe(ACHIEVEMENTS, operation_id="a")
            await listening(server, user.user_id)
            for _ in range(5):
                await create_txn(server, user.access_token, accountId=account["id"], date="2031-05-15", amount="-2")
            got = [(await ws.receive(timeout=30))["payload"]["data"]["achievements"] for _ in range(3)]
    by_code = {a["badgeCode"] or a["challengeCode"]: a for a in got}
    assert set(by_code) == {"FIRST_TRANSACTION", "LOG_5_WEEK", "FIRST_CHALLENGE"}
    assert by_code["LOG_5_WEEK"] == {"kind": "CHALLENGE_COMPLETED", "title": "Challenge completed: Five a Week",
                                     "points": 20, "badgeCode": None, "challengeCode": "LOG_5_WEEK",
                                     "period": "2031-05-12"}
    assert by_code["FIRST_TRANSACTION"]["kind"] == "BADGE_EARNED" and by_code["FIRST_TRANSACTION"]["period"] == "ALL"


@pytest.fixture
async def redis_db() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_TEST_URL)
    try:
        await client.ping()
    except Exception:  # noqa: BLE001
        await client.aclose()
        pytest.skip(f"no Redis at {REDIS_TEST_URL}")
    await client.flushdb()  # database 9 only: this test's own
    yield client
    await client.flushdb()
    await client.aclose()


async def test_leaderboard_on_redis_is_rebuilt_from_the_ledger(
    server: RunningServer, redis_db: Redis, database_url: str, tmp_path
) -> None:
    with on_today():
        people = [await signed_in_user(server) for _ in range(3)]
        for person, count in zip(people, (5, 1, 1), strict=True):
            account = await create_account(server, person.access_token)
            for _ in range(count):
                await create_txn(server, person.access_token, accountId=account["id"], date="2031-05-15", amount="-9")
            await settled(server, person.user_id)
        for person, name in zip(people[:2], ("Redis Rita", None), strict=True):
            await data(server, person.access_token, SET_PROFILE, {"input": {"optIn": True, "displayName": name}})
        # A runtime on Redis (as production with REDIS_URL): its board is empty, so the first read
        # rebuilds it from the points ledger.
        rt = build_runtime(make_settings(database_url, tmp_path, None, redis_url=REDIS_TEST_URL), database_url)
        await rt.start()
        try:
            assert isinstance(boards.board_for(rt.redis), boards.RedisBoard)
            first = node_uuid(people[0].user_id)
            async with rt.sessions() as session:
                board = await service.leaderboard(session, rt, Viewer.acting_for(first), period="ALL_TIME")
            names = {s.display_name: s.points for s in board.entries}
            assert names["Redis Rita"] == 40
            assert names[boards.pseudonym(node_uuid(people[1].user_id))] == 10
            assert len(names) == len(board.entries)
            assert board.viewer_entry is not None and board.viewer_entry.points == 40
            assert await redis_db.exists(f"{boards.PREFIX}:all") and await redis_db.exists(f"{boards.PREFIX}:built:all")
            hidden = node_uuid(people[2].user_id)
            assert await redis_db.zscore(f"{boards.PREFIX}:all", str(hidden)) is None  # never opted in
            # Opting out removes the entry from Redis at once.
            async with rt.sessions() as session, atomic(session):
                await service.set_profile(session, rt, Viewer.acting_for(first), opt_in=False, display_name=None)
            assert await redis_db.zscore(f"{boards.PREFIX}:all", str(first)) is None
            async with rt.sessions() as session:
                board = await service.leaderboard(session, rt, Viewer.acting_for(first), period="WEEKLY")
            assert board.viewer_entry is None and "Redis Rita" not in {s.display_name for s in board.entries}
        finally:
            await rt.aclose()

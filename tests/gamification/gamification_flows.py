"""GraphQL operations and helpers shared by the gamification tests."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select

from finora_gql.core.owned import SYSTEM
from finora_gql.gamification import state
from finora_gql.gamification.models import GamificationEvent
from tests.flows import node_uuid
from tests.server import RunningServer

ERRORS = "errors { code field message }"
CHALLENGES = "{ challenges { id code kind target rewardPoints recurrence defaultEnrolled } }"
MY_CHALLENGES = "{ myChallenges { challenge { code } progress target completedAt periodStart periodEnd } }"
BADGES = "{ badges { id code threshold points } }"
MY_BADGES = "{ myBadges { badge { code } earnedAt points } }"
POINTS = "query($first: Int) { points { balance entries(first: $first) { edges { node { amount source description } } } } }"
JOIN = f"mutation($id: ID!) {{ joinChallenge(input: {{challengeId: $id}}) {{ challenge {{ code }} {ERRORS} }} }}"
LEAVE = f"mutation($id: ID!) {{ leaveChallenge(input: {{challengeId: $id}}) {{ challenge {{ code }} {ERRORS} }} }}"
REDEEM = f"""mutation($input: RedeemRewardInput!) {{ redeemReward(input: $input) {{
  reward {{ code }} balance replayed {ERRORS} }} }}"""
LEADERBOARD = """query($period: LeaderboardPeriod!) { leaderboard(period: $period) {
  entries { rank displayName points isViewer } viewerEntry { rank points } neighbourhood { rank displayName points } } }"""
SET_PROFILE = f"""mutation($input: LeaderboardProfileInput!) {{ setLeaderboardProfile(input: $input) {{
  profile {{ optIn displayName chosenName }} {ERRORS} }} }}"""
REWARDS = "{ rewards { id code costPoints } }"


async def data(server: RunningServer, token: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    body = await server.gql(query, variables or {}, token=token)
    assert "errors" not in body, body
    return body["data"]


async def pending_events(server: RunningServer, user_id: str | None = None) -> int:
    async with server.runtime.sessions() as session:
        statement = state.events.where_visible(select(func.count()).select_from(GamificationEvent), SYSTEM).where(
            col(GamificationEvent.seq).is_(None))
        if user_id is not None:
            statement = statement.where(state.events.owned_by(node_uuid(user_id)))
        return (await session.exec(statement)).one()


async def settled(server: RunningServer, user_id: str | None = None, timeout: float = 60) -> None:
    """Wait until the worker has applied every recorded event (of this user)."""
    deadline = time.monotonic() + timeout
    while await pending_events(server, user_id):
        assert time.monotonic() < deadline, "gamification events were not processed in time"
        await asyncio.sleep(0.05)


async def challenge_ids(server: RunningServer, token: str) -> dict[str, str]:
    return {c["code"]: c["id"] for c in (await data(server, token, CHALLENGES))["challenges"]}


async def my_challenges(server: RunningServer, token: str) -> dict[str, dict[str, Any]]:
    return {c["challenge"]["code"]: c for c in (await data(server, token, MY_CHALLENGES))["myChallenges"]}


async def my_badges(server: RunningServer, token: str) -> list[str]:
    return sorted(b["badge"]["code"] for b in (await data(server, token, MY_BADGES))["myBadges"])


async def balance(server: RunningServer, token: str) -> int:
    return (await data(server, token, POINTS, {"first": 50}))["points"]["balance"]

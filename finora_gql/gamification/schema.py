"""Gamification fields: the catalog, the viewer's challenges, badges, points and rewards, the
leaderboard, and live achievements."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry
from strawberry.types import Info

from finora_gql.api.errors import perform
from finora_gql.api.execution import shared_event
from finora_gql.api.ids import decode_id
from finora_gql.api.streams import viewer_messages
from finora_gql.context import Context
from finora_gql.gamification import leaderboard as boards
from finora_gql.gamification import service, state
from finora_gql.gamification.models import Badge
from finora_gql.gamification.types import (
    AchievementNode,
    BadgeNode,
    ChallengeInput,
    ChallengeNode,
    ChallengePayload,
    EarnedBadgeNode,
    LeaderboardNode,
    LeaderboardPeriod,
    LeaderboardProfileInput,
    LeaderboardProfileNode,
    LeaderboardProfilePayload,
    MyChallengeNode,
    PointsNode,
    RedeemRewardInput,
    RedeemRewardPayload,
    RewardNode,
    achievement,
    earned_badge,
)


def _profile_node(profile, viewer_id) -> LeaderboardProfileNode:
    chosen = profile.display_name if profile is not None else None
    return LeaderboardProfileNode(opt_in=bool(profile and profile.opt_in),
                                  display_name=chosen or boards.pseudonym(viewer_id), chosen_name=chosen is not None)


@strawberry.type
class GamificationQuery:
    @strawberry.field(description="The challenges open to everyone (the catalog).")
    async def challenges(self, info: Info[Context, None]) -> list[ChallengeNode]:
        await info.context.viewer()
        return [ChallengeNode.of(row) for row in await service.list_challenges(info.context.session)]

    @strawberry.field(description="The challenges the viewer takes part in, with this period's progress.")
    async def my_challenges(self, info: Info[Context, None]) -> list[MyChallengeNode]:
        viewer = await info.context.viewer()
        return [MyChallengeNode.of(item) for item in await service.my_challenges(info.context.session, viewer)]

    @strawberry.field(description="The badges anyone can earn (the catalog).")
    async def badges(self, info: Info[Context, None]) -> list[BadgeNode]:
        await info.context.viewer()
        return [BadgeNode.of(row) for row in await service.list_badges(info.context.session)]

    @strawberry.field(description="The badges the viewer earned, newest first.")
    async def my_badges(self, info: Info[Context, None]) -> list[EarnedBadgeNode]:
        context = info.context
        viewer = await context.viewer()
        earned = await service.my_awards(context.session, viewer)
        found = await service.catalog_by_ids(context.session, Badge, [a.badge_id for a in earned if a.badge_id])
        return [earned_badge(a, found[a.badge_id]) for a in earned if a.badge_id in found]

    @strawberry.field(description="The viewer's points: balance and ledger.")
    async def points(self, info: Info[Context, None]) -> PointsNode:
        viewer = await info.context.viewer()
        return PointsNode(balance=await service.balance(info.context.session, viewer))

    @strawberry.field(description="Rewards points can be redeemed for.")
    async def rewards(self, info: Info[Context, None]) -> list[RewardNode]:
        await info.context.viewer()
        return [RewardNode.of(row) for row in await service.list_rewards(info.context.session)]

    @strawberry.field(description=(
        "The opt-in leaderboard: the top 10 and the viewer's neighbourhood, by points earned (never amounts); "
        "only people who opted in appear."))
    async def leaderboard(
        self, info: Info[Context, None],
        period: Annotated[LeaderboardPeriod, strawberry.argument(description="Which board (default WEEKLY).")]
        = LeaderboardPeriod.WEEKLY,
    ) -> LeaderboardNode:
        context = info.context
        viewer = await context.viewer()
        board = await service.leaderboard(context.session, context.runtime, viewer, period=period.value)
        return LeaderboardNode.of(board)

    @strawberry.field(description="Whether and how the viewer appears on leaderboards.")
    async def leaderboard_profile(self, info: Info[Context, None]) -> LeaderboardProfileNode:
        viewer = await info.context.viewer()
        return _profile_node(await service.profile_of(info.context.session, viewer), viewer.user_id)


@strawberry.type
class GamificationMutation:
    @strawberry.mutation(description="Take part in a challenge (joining twice changes nothing).")
    async def join_challenge(self, info: Info[Context, None], input: Annotated[ChallengeInput, strawberry.argument(description="The challenge, by id.")]) -> ChallengePayload:
        context = info.context
        viewer = await context.viewer()
        row, errors = await perform(context, lambda session: service.join_challenge(
            session, viewer, decode_id(input.challenge_id, ChallengeNode, "challengeId")))
        return ChallengePayload(challenge=ChallengeNode.of(row) if row else None, errors=errors)

    @strawberry.mutation(description="Stop taking part in a challenge (including one everyone is in by default).")
    async def leave_challenge(self, info: Info[Context, None], input: Annotated[ChallengeInput, strawberry.argument(description="The challenge, by id.")]) -> ChallengePayload:
        context = info.context
        viewer = await context.viewer()
        row, errors = await perform(context, lambda session: service.leave_challenge(
            session, viewer, decode_id(input.challenge_id, ChallengeNode, "challengeId")))
        return ChallengePayload(challenge=ChallengeNode.of(row) if row else None, errors=errors)

    @strawberry.mutation(description=(
        "Spend points on a reward. Idempotent by clientKey: a retry with the same key debits nothing more. "
        "Refused when the balance is too low."))
    async def redeem_reward(self, info: Info[Context, None], input: Annotated[RedeemRewardInput, strawberry.argument(description="The reward and a client key: redeeming twice with one key debits once.")]) -> RedeemRewardPayload:
        context = info.context
        viewer = await context.viewer()
        done, errors = await perform(context, lambda session: service.redeem(
            session, context.runtime, viewer, reward_id=decode_id(input.reward_id, RewardNode, "rewardId"),
            client_key=input.client_key))
        if done is None:
            return RedeemRewardPayload(reward=None, balance=None, replayed=False, errors=errors)
        return RedeemRewardPayload(reward=RewardNode.of(done.reward), balance=done.balance, replayed=done.replayed,
                                   errors=[])

    @strawberry.mutation(description="Opt in to or out of leaderboards, and choose the name shown (a pseudonym by default).")
    async def set_leaderboard_profile(self, info: Info[Context, None], input: Annotated[LeaderboardProfileInput, strawberry.argument(description="Whether you appear on the leaderboard, and under which name.")]) -> LeaderboardProfilePayload:
        context = info.context
        viewer = await context.viewer()
        profile, errors = await perform(context, lambda session: service.set_profile(
            session, context.runtime, viewer, opt_in=input.opt_in, display_name=input.display_name))
        return LeaderboardProfilePayload(profile=_profile_node(profile, viewer.user_id) if profile else None,
                                         errors=errors)


@strawberry.type
class GamificationSubscription:
    @strawberry.subscription(description="The viewer's achievements as they happen: badges earned, challenges completed, points.")
    async def achievements(self, info: Info[Context, None]) -> AsyncGenerator[AchievementNode, None]:
        def node(message: dict) -> AchievementNode:
            return shared_event(message, achievement)

        async for _, message in viewer_messages(info.context, {state.ACHIEVEMENT}, shared=node):
            yield node(message)

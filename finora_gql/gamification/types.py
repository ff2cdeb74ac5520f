"""GraphQL types of gamification."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from enum import Enum
from typing import Any

import strawberry
from strawberry import relay
from strawberry.types import Info

from finora_gql.api.connection import After, First, page_info, page_request
from finora_gql.api.enums import describe_values
from finora_gql.api.errors import UserError, errors_field
from finora_gql.api.ids import parse_uuid
from finora_gql.gamification import service
from finora_gql.gamification.models import (
    Award,
    Badge,
    BadgeCriterion,
    Challenge,
    ChallengeKind,
    PointsEntry,
    PointsSource,
    Recurrence,
    Reward,
)


def plain(value: Decimal) -> Decimal:
    """5.0000 -> 5, 12.5000 -> 12.5 (counts and amounts as people write them; never an exponent)."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


async def _catalog_nodes(node: Any, model: type, info: Info, node_ids: Iterable[str]) -> list[Any]:
    """Catalog entries as nodes, in the order asked (null for an id that names none)."""
    ids = [parse_uuid(i) for i in node_ids]
    found = await service.catalog_by_ids(info.context.session, model, [i for i in ids if i])
    return [node.of(found[i]) if i in found else None for i in ids]


ChallengeKindEnum = strawberry.enum(ChallengeKind, name="ChallengeKind", description=(
    "What a challenge asks. SPEND_UNDER, NO_SPEND_DAYS and BUDGET_KEPT are judged once the period has closed "
    "in the person's time zone."))
RecurrenceEnum = strawberry.enum(Recurrence, name="ChallengeRecurrence",
                                 description="How a challenge repeats: NONE (once, from joining), WEEKLY or MONTHLY.")
BadgeCriterionEnum = strawberry.enum(BadgeCriterion, name="BadgeCriterion",
                                     description="What a badge counts; it is earned when the count reaches its threshold.")
PointsSourceEnum = strawberry.enum(PointsSource, name="PointsSource", description="Why points were added or taken.")


@strawberry.enum(name="LeaderboardPeriod", description="Which leaderboard.")
class LeaderboardPeriod(Enum):
    WEEKLY = strawberry.enum_value("WEEKLY", description="Points earned this week (ISO week, UTC).")
    ALL_TIME = strawberry.enum_value("ALL_TIME", description="Points earned ever.")


@strawberry.enum(name="AchievementKind", description="What was achieved.")
class AchievementKind(Enum):
    BADGE_EARNED = strawberry.enum_value("BADGE_EARNED", description="A badge was earned.")
    CHALLENGE_COMPLETED = strawberry.enum_value("CHALLENGE_COMPLETED", description="A challenge period was completed.")


@strawberry.type(name="Badge", description="A badge anyone can earn, from the catalog.")
class BadgeNode(relay.Node):
    id: relay.NodeID[str]
    code: str = strawberry.field(description="Stable code, e.g. FIRST_TRANSACTION.")
    name: str = strawberry.field(description="Name shown to people.")
    description: str = strawberry.field(description="How it is earned, in words.")
    icon: str = strawberry.field(description="Icon name for clients.")
    criterion: BadgeCriterionEnum = strawberry.field(description="What it counts.")
    threshold: int = strawberry.field(description="The count that earns it.")
    points: int = strawberry.field(description="Points it gives (within the daily cap).")
    retired: bool = strawberry.field(description="Retired badges can no longer be earned.")

    @classmethod
    def of(cls, row: Badge) -> BadgeNode:
        return cls(id=str(row.id), code=row.code, name=row.name, description=row.description, icon=row.icon,
                   criterion=row.criterion, threshold=row.threshold, points=row.points, retired=row.retired_at is not None)

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False) -> list[BadgeNode | None]:
        return await _catalog_nodes(cls, Badge, info, node_ids)


@strawberry.type(name="Challenge", description="A challenge from the catalog.")
class ChallengeNode(relay.Node):
    id: relay.NodeID[str]
    code: str = strawberry.field(description="Stable code, e.g. LOG_5_WEEK.")
    name: str = strawberry.field(description="Name shown to people.")
    description: str = strawberry.field(description="What to do, in words.")
    kind: ChallengeKindEnum = strawberry.field(description="What it measures.")
    target: Decimal = strawberry.field(description=(
        "The count (transactions, days) or amount (in the person's base currency) to reach; for SPEND_UNDER, "
        "the most that may be spent."))
    reward_points: int = strawberry.field(description="Points for completing a period (within the daily cap).")
    recurrence: RecurrenceEnum = strawberry.field(description="How it repeats.")
    duration_days: int | None = strawberry.field(description="For a non-recurring challenge, how long it runs from joining.")
    category_name: str | None = strawberry.field(description="For SPEND_UNDER on one category: its name (matched in each person's categories).")
    default_enrolled: bool = strawberry.field(description="Everyone takes part unless they leave it.")
    starts_at: dt.datetime | None = strawberry.field(description="When it opens, if not always.")
    ends_at: dt.datetime | None = strawberry.field(description="When it closes, if ever.")
    retired: bool = strawberry.field(description="Retired challenges take no more progress.")

    @classmethod
    def of(cls, row: Challenge) -> ChallengeNode:
        return cls(id=str(row.id), code=row.code, name=row.name, description=row.description, kind=row.kind,
                   target=plain(row.target), reward_points=row.reward_points, recurrence=row.recurrence,
                   duration_days=row.duration_days, category_name=row.category_name,
                   default_enrolled=row.default_enrolled, starts_at=row.starts_at, ends_at=row.ends_at,
                   retired=row.retired_at is not None)

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False) -> list[ChallengeNode | None]:
        return await _catalog_nodes(cls, Challenge, info, node_ids)


@strawberry.type(name="Reward", description="Something points can be redeemed for, from the admin-defined catalog.")
class RewardNode(relay.Node):
    id: relay.NodeID[str]
    code: str = strawberry.field(description="Stable code.")
    name: str = strawberry.field(description="Name shown to people.")
    description: str = strawberry.field(description="What it is.")
    cost_points: int = strawberry.field(description="Points it costs.")
    retired: bool = strawberry.field(description="Retired rewards can no longer be redeemed.")

    @classmethod
    def of(cls, row: Reward) -> RewardNode:
        return cls(id=str(row.id), code=row.code, name=row.name, description=row.description,
                   cost_points=row.cost_points, retired=row.retired_at is not None)

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False) -> list[RewardNode | None]:
        return await _catalog_nodes(cls, Reward, info, node_ids)


@strawberry.type(name="MyChallenge", description="A challenge the viewer takes part in, with this period's progress.")
class MyChallengeNode:
    challenge: ChallengeNode = strawberry.field(description="The challenge.")
    progress: Decimal = strawberry.field(description=(
        "Progress this period (a count or an amount; for challenges judged at close, the figure once judged)."))
    target: Decimal = strawberry.field(description="The challenge's target.")
    period_start: dt.date = strawberry.field(description="First day of the current period (the viewer's time zone).")
    period_end: dt.date | None = strawberry.field(description="Day after the current period's last, or null if open-ended.")
    completed_at: dt.datetime | None = strawberry.field(description="When this period was completed, or null.")
    enrolled_by_default: bool = strawberry.field(description="In it because the catalog says everyone is (leave it to opt out).")

    @classmethod
    def of(cls, item: service.MyChallenge) -> MyChallengeNode:
        return cls(challenge=ChallengeNode.of(item.challenge), progress=plain(item.progress),
                   target=plain(item.challenge.target),
                   period_start=item.period_start, period_end=item.period_end, completed_at=item.completed_at,
                   enrolled_by_default=item.enrolled_by_default)


@strawberry.type(name="EarnedBadge", description="A badge the viewer earned.")
class EarnedBadgeNode:
    badge: BadgeNode = strawberry.field(description="The badge.")
    earned_at: dt.datetime = strawberry.field(description="When it was earned.")
    points: int = strawberry.field(description="Points it gave (after the daily cap).")


@strawberry.type(name="PointsEntry", description="One line of the viewer's points ledger (append-only).")
class PointsEntryNode:
    id: strawberry.ID = strawberry.field(description="The entry's id.")
    amount: int = strawberry.field(description="Points added (positive) or spent (negative).")
    source: PointsSourceEnum = strawberry.field(description="Why.")
    description: str = strawberry.field(description="What for, in words.")
    created_at: dt.datetime = strawberry.field(description="When.")

    @classmethod
    def of(cls, row: PointsEntry) -> PointsEntryNode:
        return cls(id=strawberry.ID(str(row.id)), amount=row.amount, source=row.source, description=row.description,
                   created_at=row.created_at)


@strawberry.type(name="PointsEntryEdge", description="A points entry and the cursor after it.")
class PointsEntryEdge:
    cursor: str = strawberry.field(description="Pass as `after` to continue from this entry.")
    node: PointsEntryNode = strawberry.field(description="The entry.")


@strawberry.type(name="PointsEntryConnection", description="A page of the points ledger, newest first.")
class PointsEntryConnection:
    edges: list[PointsEntryEdge] = strawberry.field(description="The entries of this page.")
    page_info: relay.PageInfo = strawberry.field(description="Whether more entries follow.")


@strawberry.type(name="Points", description="The viewer's points: the balance is the sum of the ledger.")
class PointsNode:
    balance: int = strawberry.field(description="Points available to redeem; never below zero.")

    @strawberry.field(description="The ledger, newest first.")
    async def entries(
        self, info: Info,
        first: First = 20, after: After = None,
    ) -> PointsEntryConnection:
        request = page_request(first=first, after=after, last=None, before=None, kind=service.POINTS_CURSOR)
        page = await service.points_page(info.context.session, await info.context.viewer(), page=request)
        edges = [PointsEntryEdge(cursor=service.points_cursor(row), node=PointsEntryNode.of(row)) for row in page.rows]
        return PointsEntryConnection(edges=edges, page_info=page_info(edges, has_next=page.has_next,
                                                                      has_previous=page.has_previous))


@strawberry.type(name="LeaderboardEntry", description="One place on a leaderboard: a display name and points, never amounts.")
class LeaderboardEntryNode:
    rank: int = strawberry.field(description="1 for the most points.")
    display_name: str = strawberry.field(description="The name they chose, or a pseudonym.")
    points: int = strawberry.field(description="Points earned in the period.")
    is_viewer: bool = strawberry.field(description="This entry is the viewer's.")


@strawberry.type(name="LeaderboardViewerEntry", description="The viewer's own place (only when opted in).")
class LeaderboardViewerEntry:
    rank: int = strawberry.field(description="The viewer's rank.")
    points: int = strawberry.field(description="The viewer's points in the period.")


@strawberry.type(name="Leaderboard", description="An opt-in leaderboard of points (never money).")
class LeaderboardNode:
    period: LeaderboardPeriod = strawberry.field(description="Which board.")
    entries: list[LeaderboardEntryNode] = strawberry.field(description="The top 10.")
    viewer_entry: LeaderboardViewerEntry | None = strawberry.field(description="The viewer's place, or null when not opted in.")
    neighbourhood: list[LeaderboardEntryNode] = strawberry.field(description="The entries just above and below the viewer.")

    @classmethod
    def of(cls, board: service.Leaderboard) -> LeaderboardNode:
        def entry(s: service.Standing) -> LeaderboardEntryNode:
            return LeaderboardEntryNode(rank=s.rank, display_name=s.display_name, points=s.points, is_viewer=s.is_viewer)

        mine = board.viewer_entry
        return cls(period=LeaderboardPeriod(board.period), entries=[entry(s) for s in board.entries],
                   viewer_entry=LeaderboardViewerEntry(rank=mine.rank, points=mine.points) if mine else None,
                   neighbourhood=[entry(s) for s in board.neighbourhood])


@strawberry.type(name="LeaderboardProfile", description="Whether and how the viewer appears on leaderboards.")
class LeaderboardProfileNode:
    opt_in: bool = strawberry.field(description="Shown on leaderboards.")
    display_name: str = strawberry.field(description="The name shown: the chosen one, or the viewer's pseudonym.")
    chosen_name: bool = strawberry.field(description="Whether the display name was chosen (false: a pseudonym).")


@strawberry.type(name="Achievement", description="Something the viewer just achieved.")
class AchievementNode:
    kind: AchievementKind = strawberry.field(description="Badge or challenge.")
    title: str = strawberry.field(description="What, in words.")
    points: int = strawberry.field(description="Points it gave.")
    badge_code: str | None = strawberry.field(description="The badge's code, for BADGE_EARNED.")
    challenge_code: str | None = strawberry.field(description="The challenge's code, for CHALLENGE_COMPLETED.")
    period: str = strawberry.field(description="The challenge period's first day, or ALL for badges.")
    at: dt.datetime = strawberry.field(description="When.")


# --- inputs and payloads --------------------------------------------------------------------------


@strawberry.input(description="Which challenge to join or leave.")
class ChallengeInput:
    challenge_id: relay.GlobalID = strawberry.field(description="The challenge.")


@strawberry.type(description="The result of joinChallenge or leaveChallenge.")
class ChallengePayload:
    challenge: ChallengeNode | None = strawberry.field(description="The challenge.")
    errors: list[UserError] = errors_field()


@strawberry.input(description="A reward to redeem.")
class RedeemRewardInput:
    reward_id: relay.GlobalID = strawberry.field(description="The reward.")
    client_key: str = strawberry.field(description=(
        "A key the client makes once per redemption (e.g. a UUID) and reuses on retry: the same key never debits twice."))


@strawberry.type(description="The result of redeemReward.")
class RedeemRewardPayload:
    reward: RewardNode | None = strawberry.field(description="The reward redeemed.")
    balance: int | None = strawberry.field(description="Points left.")
    replayed: bool = strawberry.field(description="This client key was redeemed before: nothing new was debited.")
    errors: list[UserError] = errors_field()


@strawberry.input(description="Leaderboard choices.")
class LeaderboardProfileInput:
    opt_in: bool = strawberry.field(description="Appear on leaderboards.")
    display_name: str | None = strawberry.field(default=None, description="A name to show; none: a pseudonym.")


@strawberry.type(description="The result of setLeaderboardProfile.")
class LeaderboardProfilePayload:
    profile: LeaderboardProfileNode | None = strawberry.field(description="The profile now.")
    errors: list[UserError] = errors_field()


def earned_badge(award: Award, badge: Badge) -> EarnedBadgeNode:
    return EarnedBadgeNode(badge=BadgeNode.of(badge), earned_at=award.created_at, points=award.points)


def achievement(message: dict[str, Any]) -> AchievementNode:
    item = message["achievement"]
    badge = item["kind"] == "BADGE_EARNED"
    return AchievementNode(
        kind=AchievementKind(item["kind"]), title=item["title"], points=item["points"],
        badge_code=item["code"] if badge else None, challenge_code=None if badge else item["code"],
        period=item["period"], at=dt.datetime.fromisoformat(item["at"]))


describe_values(ChallengeKindEnum, {
    "TRANSACTION_COUNT": "Record at least `target` transactions in the period (transfers and imports don't count).",
    "SPEND_UNDER": "Spend less than `target` (in a category or in total), judged after the period closes.",
    "SAVE_AMOUNT": "Contribute at least `target` to your goals in the period.",
    "NO_SPEND_DAYS": "Have at least `target` days without spending in the period, judged after it closes.",
    "LOGIN_STREAK": "Sign in on `target` consecutive days.",
    "BUDGET_KEPT": "Stay within every budget for the month, judged after it closes.",
    "GOAL_CONTRIBUTION": "Make at least `target` goal contributions in the period.",
})
describe_values(RecurrenceEnum, {
    "NONE": "Runs once, for its duration.",
    "WEEKLY": "Starts again every week (Monday, in your time zone).",
    "MONTHLY": "Starts again every month (in your time zone).",
})
describe_values(BadgeCriterionEnum, {
    "TRANSACTIONS_LOGGED": "Transactions you recorded yourself.",
    "CHALLENGES_COMPLETED": "Challenges you completed.",
    "LOGIN_STREAK": "Consecutive days you signed in.",
    "GOAL_CONTRIBUTIONS": "Contributions you made to your goals.",
    "IMPORTS_COMPLETED": "CSV imports that added new transactions.",
    "BUDGETS_KEPT": "Months in which you stayed within your budgets.",
    "POINTS_EARNED": "Points you earned in all.",
})
describe_values(PointsSourceEnum, {
    "CHALLENGE": "A completed challenge.",
    "BADGE": "An earned badge.",
    "REDEMPTION": "Points spent on a reward (negative).",
    "ADJUSTMENT": "A correction by an administrator.",
})

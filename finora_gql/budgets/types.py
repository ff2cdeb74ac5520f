"""GraphQL types of budgets and goals."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from decimal import Decimal

import strawberry
from strawberry import relay
from strawberry.types import Info

from finora_gql.accounts.types import AccountNode, account_loader
from finora_gql.api.ids import parse_uuid
from finora_gql.api.scalars import CurrencyCode
from finora_gql.budgets import service
from finora_gql.budgets.models import Budget, GoalContribution
from finora_gql.core.errors import Unauthenticated
from finora_gql.core.money import round_money
from finora_gql.transactions.types import CategoryNode, category_loader
from finora_gql.users import service as users
from finora_gql.wallet.types import MissingRateType


async def _category(info: Info, category_id: uuid.UUID) -> CategoryNode:
    found = await category_loader(info).load(category_id)
    return CategoryNode.of(found)


@strawberry.type(
    name="Budget",
    description="A monthly spending limit for one expense category, in the owner's base currency. "
    "One per category and month.",
)
class BudgetNode(relay.Node):
    id: relay.NodeID[str]
    month: dt.date = strawberry.field(description="The first day of the budget's month.")
    limit: Decimal = strawberry.field(description="The most to spend in the month, in the base currency.")
    rollover: bool = strawberry.field(
        description="Whether what the previous month's budget of this category left (or overspent) carries into this one."
    )
    created_at: dt.datetime = strawberry.field(description="When the budget was set (UTC).")
    updated_at: dt.datetime = strawberry.field(description="When the budget last changed (UTC).")
    _category_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="The expense category the budget limits.")
    async def category(self, info: Info) -> CategoryNode:
        return await _category(info, self._category_id)

    @classmethod
    def of(cls, budget: Budget, currency: str) -> BudgetNode:
        """`currency`: the owner's base currency, which limits are validated in."""
        return cls(
            id=str(budget.id), month=budget.month, limit=round_money(budget.limit_amount, currency), rollover=budget.rollover,
            created_at=budget.created_at, updated_at=budget.updated_at, _category_id=budget.category_id,
        )

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False) -> list[BudgetNode | None]:
        ids = [parse_uuid(node_id) for node_id in node_ids]
        context = info.context
        viewer = await context.viewer()
        found = await service.get_budgets(context.session, viewer, [i for i in ids if i is not None])
        currency = await base_currency(info)
        return [cls.of(found[i], currency) if i in found else None for i in ids]


async def base_currency(info: Info) -> str:
    """The viewer's base currency (budgets are in it)."""
    viewer = await info.context.viewer()
    user = await users.get_user(info.context.session, viewer.user_id)
    if user is None:  # deleted since this process last confirmed the session (seconds at most)
        raise Unauthenticated("This session has ended; sign in again.")
    return user.base_currency


def budget_nodes(rows: Sequence[Budget], currency: str) -> list[BudgetNode]:
    return [BudgetNode.of(row, currency) for row in rows]


@strawberry.type(name="BudgetStatusLine", description="One budget against what was spent in its category and subcategories.")
class BudgetStatusLine:
    budget: BudgetNode = strawberry.field(description="The budget.")
    limit: Decimal = strawberry.field(description="The budget's limit.")
    rolled_over: Decimal = strawberry.field(
        description="With rollover on: what the previous month's budget of this category left, its limit minus its "
        "spent (negative: overspending carried). One month back only; 0 without such a budget or with rollover off."
    )
    available: Decimal = strawberry.field(description="limit + rolledOver.")
    spent: Decimal = strawberry.field(
        description="Spending in the category and its subcategories this month: minus the sum of their non-transfer "
        "amounts, converted to the base currency at each day's rate. Refunds reduce it (it can be negative)."
    )
    remaining: Decimal = strawberry.field(description="available - spent (negative: overspent).")
    percent_used: Decimal | None = strawberry.field(
        description="A percentage: spent / available * 100, to 2 places (banker's rounding), e.g. \"80.00\"; the "
        "same unit as WalletSummary.savingsRate. Null when available <= 0."
    )

    @strawberry.field(description="The budget's category.")
    async def category(self, info: Info) -> CategoryNode:
        return await self.budget.category(info)

    @classmethod
    def of(cls, line: service.BudgetLine, currency: str) -> BudgetStatusLine:
        return cls(
            budget=BudgetNode.of(line.budget, currency), limit=line.limit, rolled_over=line.rolled_over,
            available=line.available, spent=line.spent, remaining=line.remaining, percent_used=line.percent_used,
        )


@strawberry.type(description="A month's budgets against spending, in the owner's base currency.")
class BudgetStatus:
    month: dt.date = strawberry.field(description="The first day of the month.")
    currency: CurrencyCode = strawberry.field(description="The base currency every amount is in.")
    lines: list[BudgetStatusLine] = strawberry.field(description="One per budget of the month, by category name.")
    total_limit: Decimal = strawberry.field(
        description="The sum of the limits. Totals count each category once: lines of budgeted subcategories of a "
        "budgeted category are in its line already and are left out of every total."
    )
    total_rolled_over: Decimal = strawberry.field(description="The sum of the rolled-over amounts.")
    total_spent: Decimal = strawberry.field(description="The sum of spent over the budgeted categories.")
    total_remaining: Decimal = strawberry.field(description="The sum of remaining.")
    missing_rates: list[MissingRateType] = strawberry.field(
        description="Currencies whose flows this month (and last month, when a rollover needed it) have no exchange "
        "rate yet; those flows are left out until a rate exists."
    )

    @classmethod
    def of(cls, status: service.BudgetStatus) -> BudgetStatus:
        return cls(
            month=status.month, currency=status.currency,
            lines=[BudgetStatusLine.of(line, status.currency) for line in status.lines],
            total_limit=status.total_limit, total_rolled_over=status.total_rolled_over, total_spent=status.total_spent,
            total_remaining=status.total_remaining, missing_rates=[MissingRateType.of(m) for m in status.missing_rates],
        )


# --- goals --------------------------------------------------------------------------------------


def contributions_loader(info: Info):
    return info.context.loader("goal_contributions", service.contributions_by_goal)


@strawberry.type(name="GoalContribution", description="Money put towards a goal (negative: taken out).")
class GoalContributionNode(relay.Node):
    id: relay.NodeID[str]
    amount: Decimal = strawberry.field(description="In the goal's currency; negative for a withdrawal.")
    currency: CurrencyCode = strawberry.field(description="The goal's currency.")
    date: dt.date = strawberry.field(description="The day the money was put in (or taken out).")
    note: str | None = strawberry.field(description="The owner's note.")
    created_at: dt.datetime = strawberry.field(description="When it was recorded (UTC).")
    _goal_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="The goal it counts towards.")
    async def goal(self, info: Info) -> GoalNode:
        return await goal_loader(info).load(self._goal_id)

    @classmethod
    def of(cls, row: GoalContribution, currency: str) -> GoalContributionNode:
        return cls(
            id=str(row.id), _goal_id=row.goal_id, amount=round_money(row.amount, currency),
            currency=currency, date=row.date, note=row.note, created_at=row.created_at,
        )

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[GoalContributionNode | None]:
        ids = [parse_uuid(node_id) for node_id in node_ids]
        context = info.context
        viewer = await context.viewer()
        found = await service.get_contributions(context.session, viewer, [i for i in ids if i is not None])
        goals = await service.get_goals(context.session, viewer, list({row.goal_id for row in found.values()}))
        return [
            cls.of(found[i], goals[found[i].goal_id].currency) if i in found and found[i].goal_id in goals else None
            for i in ids
        ]


@strawberry.type(
    name="Goal",
    description="A savings goal: a target amount, optionally by a date, reached through contributions or the "
    "balance of a linked account.",
)
class GoalNode(relay.Node):
    id: relay.NodeID[str]
    name: str = strawberry.field(description="Up to 100 characters.")
    target_amount: Decimal = strawberry.field(description="The amount to reach, in the goal's currency.")
    currency: CurrencyCode = strawberry.field(description="The currency of every amount of the goal; fixed at creation.")
    target_date: dt.date | None = strawberry.field(description="The day to reach it by, if any.")
    progress: Decimal = strawberry.field(
        description="With a linked account: its current balance. Otherwise: the sum of the contributions."
    )
    remaining: Decimal = strawberry.field(description="targetAmount - progress, never below 0.")
    percent_complete: Decimal = strawberry.field(
        description="progress / targetAmount * 100, to 2 places (can exceed 100)."
    )
    reached: bool = strawberry.field(description="Whether progress is at or above the target now.")
    achieved_at: dt.datetime | None = strawberry.field(
        description="When progress reached the target (a contribution, an edit, or a linked account's balance, "
        "moments after the write that moved it); cleared when progress falls back below."
    )
    monthly_contribution_rate: Decimal | None = strawberry.field(
        description="The contributions dated in the last 3 months (up to today) divided by 3; null without any "
        "contribution ever."
    )
    projected_completion_date: dt.date | None = strawberry.field(
        description="Today plus the whole months the monthly rate needs to cover what remains; null when reached, "
        "when the rate is not positive, or when it would take over 100 years."
    )
    on_track: bool | None = strawberry.field(
        description="Whether it is reached or projected to be reached by the target date; null without a target date."
    )
    created_at: dt.datetime = strawberry.field(description="When the goal was set (UTC).")
    _goal_id: strawberry.Private[uuid.UUID]
    _account_id: strawberry.Private[uuid.UUID | None]

    @strawberry.field(description="The account whose balance is the progress, if linked.")
    async def account(self, info: Info) -> AccountNode | None:
        if self._account_id is None:
            return None
        found = await account_loader(info).load(self._account_id)
        return AccountNode.of(found) if found is not None else None

    @strawberry.field(description="Contributions, newest first.")
    async def contributions(self, info: Info) -> list[GoalContributionNode]:
        rows = await contributions_loader(info).load(self._goal_id)
        return [GoalContributionNode.of(row, self.currency) for row in rows or []]

    @classmethod
    def of(cls, view: service.GoalProgress) -> GoalNode:
        goal = view.goal
        return cls(
            id=str(goal.id), name=goal.name, target_amount=round_money(goal.target_amount, goal.currency),
            currency=goal.currency, target_date=goal.target_date, progress=view.progress, remaining=view.remaining,
            percent_complete=view.percent, reached=view.reached, achieved_at=goal.achieved_at,
            monthly_contribution_rate=view.monthly_rate, projected_completion_date=view.projected_date,
            on_track=view.on_track, created_at=goal.created_at, _goal_id=goal.id, _account_id=goal.account_id,
        )

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False) -> list[GoalNode | None]:
        ids = [parse_uuid(node_id) for node_id in node_ids]
        found = await goal_loader(info).load_many([i for i in ids if i is not None])
        views = {uuid.UUID(node.id): node for node in found if node is not None}
        return [views.get(i) if i is not None else None for i in ids]


async def goal_nodes(session, viewer, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, GoalNode]:
    """The viewer's goals among `ids` with their progress, for the goal loader: two queries for any number."""
    found = await service.get_goals(session, viewer, ids)
    return {view.goal.id: GoalNode.of(view) for view in await service.goal_progress(session, viewer, list(found.values()))}


def goal_loader(info: Info):
    return info.context.loader("goal_nodes", goal_nodes)


@strawberry.type(
    name="GoalProjection",
    description="When a goal not yet reached would be reached today and under a simulated budget.",
)
class GoalProjection:
    goal: GoalNode = strawberry.field(description="The goal, as it stands.")
    current_monthly_rate: Decimal | None = strawberry.field(
        description="Its monthly contribution rate from history (see Goal.monthlyContributionRate)."
    )
    current_projected_date: dt.date | None = strawberry.field(description="Its projected completion date now.")
    extra_per_month: Decimal | None = strawberry.field(
        description="Its even share of freedPerMonth, in the goal's currency at today's exchange rate; null when "
        "there is no rate."
    )
    scenario_monthly_rate: Decimal | None = strawberry.field(
        description="currentMonthlyRate (0 when null) + extraPerMonth."
    )
    scenario_projected_date: dt.date | None = strawberry.field(
        description="The projected completion date at the scenario's rate; null when that rate is not positive."
    )

    @classmethod
    def of(cls, scenario: service.GoalScenario) -> GoalProjection:
        return cls(
            goal=GoalNode.of(scenario.current), current_monthly_rate=scenario.current.monthly_rate,
            current_projected_date=scenario.current.projected_date, extra_per_month=scenario.extra_per_month,
            scenario_monthly_rate=scenario.scenario_rate, scenario_projected_date=scenario.scenario_date,
        )


@strawberry.type(
    description="What a different budget limit would mean, in the base currency. Computed only: nothing is written."
)
class BudgetSimulation:
    month: dt.date = strawberry.field(description="The first day of the simulated month.")
    currency: CurrencyCode = strawberry.field(description="The base currency of the amounts (goal amounts excepted).")
    budget: BudgetNode | None = strawberry.field(
        description="The budget simulated (with categoryId: that month's budget of the category, if any)."
    )
    category: CategoryNode = strawberry.field(description="The category simulated.")
    original_limit: Decimal | None = strawberry.field(description="The budget's limit now; null without a budget.")
    adjusted_limit: Decimal = strawberry.field(
        description="newLimit, or originalLimit * (1 + adjustmentPercent / 100), rounded."
    )
    average_spending: Decimal = strawberry.field(
        description="Average monthly spent in the category and its subcategories over the 3 full months before the "
        "month (months without spending count as 0)."
    )
    original_projected_spending: Decimal = strawberry.field(
        description="min(averageSpending, originalLimit), or averageSpending without a budget."
    )
    projected_spending: Decimal = strawberry.field(
        description="min(averageSpending, adjustedLimit): spending follows the habit, and a limit is assumed to be kept."
    )
    surplus: Decimal = strawberry.field(description="adjustedLimit - projectedSpending: room left under the new limit.")
    freed_per_month: Decimal = strawberry.field(
        description="originalProjectedSpending - projectedSpending: money the scenario frees each month (negative: "
        "it costs). Split evenly over the goals not yet reached."
    )
    goals: list[GoalProjection] = strawberry.field(
        description="Each goal not yet reached, with its completion date now and under the scenario."
    )
    missing_rates: list[MissingRateType] = strawberry.field(
        description="Currencies without an exchange rate in the 3 months of history; their flows are left out."
    )

    @classmethod
    def of(cls, simulation: service.Simulation) -> BudgetSimulation:
        currency = simulation.currency
        return cls(
            month=simulation.month, currency=currency,
            budget=BudgetNode.of(simulation.budget, currency) if simulation.budget else None,
            category=CategoryNode.of(simulation.category), original_limit=simulation.original_limit,
            adjusted_limit=simulation.adjusted_limit, average_spending=simulation.average_spending,
            original_projected_spending=simulation.original_projected_spending,
            projected_spending=simulation.projected_spending, surplus=simulation.surplus,
            freed_per_month=simulation.freed_per_month, goals=[GoalProjection.of(g) for g in simulation.goals],
            missing_rates=[MissingRateType.of(m) for m in simulation.missing_rates],
        )

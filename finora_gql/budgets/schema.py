"""Queries and mutations of budgets and goals, all scoped to the viewer."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

import strawberry
from strawberry import relay
from strawberry.types import Info

from finora_gql.accounts.types import AccountNode
from finora_gql.api.errors import DeletePayload, UserError, errors_field, perform
from finora_gql.api.ids import decode_id
from finora_gql.api.scalars import CurrencyCode
from finora_gql.budgets import service
from finora_gql.budgets.types import (
    BudgetNode,
    BudgetSimulation,
    BudgetStatus,
    GoalContributionNode,
    GoalNode,
    base_currency,
    budget_nodes,
)
from finora_gql.context import Context
from finora_gql.core.errors import BadUserInput, ServiceError
from finora_gql.transactions.types import CategoryNode

# --- inputs -------------------------------------------------------------------------------------


@strawberry.input(description="A new monthly budget.")
class CreateBudgetInput:
    month: dt.date = strawberry.field(description="Any day of the month; stored as its first day.")
    category_id: relay.GlobalID = strawberry.field(description="One of your EXPENSE categories.")
    limit: Decimal = strawberry.field(description="Greater than 0, in your base currency.")
    rollover: bool = strawberry.field(
        default=False, description="Carry what the previous month's budget of this category left (or overspent)."
    )


@strawberry.input(description="Budget fields to change; omitted fields stay as they are.")
class UpdateBudgetInput:
    id: relay.GlobalID = strawberry.field(description="The budget to change.")
    month: dt.date | None = strawberry.field(default=None, description="Any day of the new month.")
    category_id: relay.GlobalID | None = strawberry.field(default=None, description="Another EXPENSE category.")
    limit: Decimal | None = strawberry.field(default=None, description="Greater than 0, in your base currency.")
    rollover: bool | None = strawberry.field(default=None, description="Turn rollover on or off.")


@strawberry.input(
    description="A what-if: one of budgetId or categoryId, and one of adjustmentPercent or newLimit."
)
class SimulateBudgetInput:
    budget_id: relay.GlobalID | None = strawberry.field(default=None, description="The budget to change.")
    category_id: relay.GlobalID | None = strawberry.field(
        default=None, description="An EXPENSE category; its budget of the month is used if there is one."
    )
    adjustment_percent: Decimal | None = strawberry.field(
        default=None, description="Change the budget's limit by this percentage (e.g. 10 or -25); above -100."
    )
    new_limit: Decimal | None = strawberry.field(default=None, description="The limit to try, in your base currency.")
    month: dt.date | None = strawberry.field(
        default=None, description="With categoryId: any day of the month (default: the current month)."
    )


@strawberry.input(description="A new savings goal.")
class CreateGoalInput:
    name: str = strawberry.field(description="Up to 100 characters.")
    target_amount: Decimal = strawberry.field(description="Greater than 0, in the goal's currency.")
    currency: CurrencyCode | None = strawberry.field(
        default=None,
        description="The goal's currency; default: the linked account's currency, else your base currency. Fixed later.",
    )
    target_date: dt.date | None = strawberry.field(default=None, description="Today or later.")
    account_id: relay.GlobalID | None = strawberry.field(
        default=None,
        description="An unarchived account of yours in the goal's currency; its balance becomes the progress.",
    )


@strawberry.input(description="Goal fields to change; omitted fields stay as they are. The currency is fixed.")
class UpdateGoalInput:
    id: relay.GlobalID = strawberry.field(description="The goal to change.")
    name: str | None = strawberry.field(default=None, description="Up to 100 characters.")
    target_amount: Decimal | None = strawberry.field(default=None, description="Greater than 0.")
    target_date: dt.date | None = strawberry.field(default=None, description="Today or later.")
    clear_target_date: bool = strawberry.field(default=False, description="Remove the target date.")
    account_id: relay.GlobalID | None = strawberry.field(
        default=None, description="Link an unarchived account of yours in the goal's currency."
    )
    clear_account: bool = strawberry.field(
        default=False, description="Unlink the account; progress becomes the sum of contributions."
    )


@strawberry.input(description="Money put towards a goal, or taken out of it.")
class AddGoalContributionInput:
    goal_id: relay.GlobalID = strawberry.field(description="The goal.")
    amount: Decimal = strawberry.field(
        description="Not 0, in the goal's currency; negative to take money out (never more than was put in)."
    )
    date: dt.date | None = strawberry.field(default=None, description="Not in the future; default: today.")
    note: str | None = strawberry.field(default=None, description="Up to 200 characters.")


@strawberry.input(description="The budget to delete.")
class DeleteBudgetInput:
    id: relay.GlobalID = strawberry.field(description="The budget.")


@strawberry.input(description="Copy one month's budgets into another.")
class CopyBudgetsInput:
    from_month: dt.date = strawberry.field(description="Any day of the month to copy from.")
    to_month: dt.date = strawberry.field(description="Any day of the month to copy into; not the same month.")


@strawberry.input(description="The goal to delete, with its contributions.")
class DeleteGoalInput:
    id: relay.GlobalID = strawberry.field(description="The goal.")


@strawberry.input(description="The contribution to delete.")
class DeleteGoalContributionInput:
    id: relay.GlobalID = strawberry.field(description="The contribution.")


# --- payloads -----------------------------------------------------------------------------------


@strawberry.type(description="The result of a budget mutation.")
class BudgetPayload:
    budget: BudgetNode | None = strawberry.field(description="The budget, or null on errors.")
    errors: list[UserError] = errors_field()


@strawberry.type(description="The result of copyBudgets.")
class CopyBudgetsPayload:
    budgets: list[BudgetNode] = strawberry.field(description="The budgets created in the target month.")
    skipped: int = strawberry.field(
        description="Budgets of the source month not copied because their category already has one in the target month."
    )
    errors: list[UserError] = errors_field()


@strawberry.type(description="The result of simulateBudget: the simulation, or why there is none.")
class SimulateBudgetPayload:
    simulation: BudgetSimulation | None = strawberry.field(description="The what-if, or null on errors.")
    errors: list[UserError] = errors_field()


@strawberry.type(description="The result of a goal mutation.")
class GoalPayload:
    goal: GoalNode | None = strawberry.field(description="The goal, or null on errors.")
    errors: list[UserError] = errors_field()


@strawberry.type(description="The result of addGoalContribution.")
class GoalContributionPayload:
    contribution: GoalContributionNode | None = strawberry.field(description="The contribution, or null on errors.")
    goal: GoalNode | None = strawberry.field(description="The goal after it.")
    goal_reached: bool = strawberry.field(
        description="True when this contribution brought the goal to its target (goal.achievedAt was just set)."
    )
    errors: list[UserError] = errors_field()


@strawberry.type(description="The result of deleteGoalContribution: the delete payload's shape, plus the goal after it.")
class DeleteGoalContributionPayload:
    deleted_ids: list[relay.GlobalID] = strawberry.field(description="The id of the deleted contribution; empty on errors.")
    goal: GoalNode | None = strawberry.field(description="The goal after it.")
    errors: list[UserError] = errors_field()


# --- fields -------------------------------------------------------------------------------------


@strawberry.type
class BudgetsQuery:
    @strawberry.field(description="The viewer's budgets of the month containing `month`, by category name.")
    async def budgets(
        self, info: Info[Context, None], month: Annotated[dt.date, strawberry.argument(description="Any day of the month.")]
    ) -> list[BudgetNode]:
        context = info.context
        viewer = await context.viewer()
        try:
            rows = await service.list_budgets(context.session, viewer, month=month)
        except ServiceError as error:
            raise BadUserInput(error) from None
        return budget_nodes(rows, await base_currency(info))

    @strawberry.field(
        description="The month's budgets against spending in their categories, in the base currency: limit, "
        "rolled-over amount, spent, remaining and percent used, with totals."
    )
    async def budget_status(
        self, info: Info[Context, None], month: Annotated[dt.date, strawberry.argument(description="Any day of the month.")]
    ) -> BudgetStatus:
        context = info.context
        viewer = await context.viewer()
        try:
            status = await service.budget_status(context.session, viewer, month=month)
        except ServiceError as error:
            raise BadUserInput(error) from None
        return BudgetStatus.of(status)

    @strawberry.field(
        description="What a different limit for one budget (or category) would mean: projected spending from the "
        "3 months before, the surplus, and when each goal would be reached. Writes nothing. Input problems come back "
        "in `errors`, as for a mutation."
    )
    async def simulate_budget(
        self, info: Info[Context, None], input: Annotated[SimulateBudgetInput, strawberry.argument(description="The budget or category to simulate and the limit to try.")]
    ) -> SimulateBudgetPayload:
        context = info.context
        viewer = await context.viewer()
        try:
            simulation = await service.simulate_budget(
                context.session, viewer,
                budget_id=decode_id(input.budget_id, BudgetNode, "budgetId") if input.budget_id else None,
                category_id=decode_id(input.category_id, CategoryNode, "categoryId") if input.category_id else None,
                adjustment_percent=input.adjustment_percent, new_limit=input.new_limit, month=input.month,
            )
        except ServiceError as error:
            return SimulateBudgetPayload(simulation=None, errors=UserError.all_of(error))
        return SimulateBudgetPayload(simulation=BudgetSimulation.of(simulation), errors=[])

    @strawberry.field(description="The viewer's goals, oldest first.")
    async def goals(
        self, info: Info[Context, None],
        include_achieved: Annotated[bool, strawberry.argument(description="Also list goals already reached.")] = True,
    ) -> list[GoalNode]:
        context = info.context
        viewer = await context.viewer()
        rows = await service.list_goals(context.session, viewer, include_achieved=include_achieved)
        return [GoalNode.of(view) for view in await service.goal_progress(context.session, viewer, rows)]

    @strawberry.field(description="One of the viewer's goals; null when the id is not a goal of theirs.")
    async def goal(
        self, info: Info[Context, None], id: Annotated[relay.GlobalID, strawberry.argument(description="The goal's global id.")]
    ) -> GoalNode | None:
        try:
            goal_id = decode_id(id, GoalNode, "id")
        except ServiceError:
            return None
        return (await GoalNode.resolve_nodes(info=info, node_ids=[str(goal_id)]))[0]


@strawberry.type
class BudgetsMutation:
    @strawberry.mutation(
        description="Set a monthly limit for an expense category. One budget per category and month "
        "(ALREADY_EXISTS on categoryId otherwise)."
    )
    async def create_budget(
        self, info: Info[Context, None], input: Annotated[CreateBudgetInput, strawberry.argument(description="The budget.")]
    ) -> BudgetPayload:
        viewer = await info.context.viewer()
        budget, errors = await perform(
            info.context,
            lambda session: service.create_budget(
                session, viewer, month=input.month, category_id=decode_id(input.category_id, CategoryNode, "categoryId"),
                limit=input.limit, rollover=input.rollover,
            ),
        )
        return BudgetPayload(budget=BudgetNode.of(budget, await base_currency(info)) if budget else None, errors=errors)

    @strawberry.mutation(
        description="Change a budget. Moving it onto a month and category that already have a budget is "
        "ALREADY_EXISTS, on categoryId when the category changed, else on month."
    )
    async def update_budget(
        self, info: Info[Context, None], input: Annotated[UpdateBudgetInput, strawberry.argument(description="What to change.")]
    ) -> BudgetPayload:
        viewer = await info.context.viewer()
        budget, errors = await perform(
            info.context,
            lambda session: service.update_budget(
                session, viewer, decode_id(input.id, BudgetNode, "id"), month=input.month,
                category_id=decode_id(input.category_id, CategoryNode, "categoryId") if input.category_id else None,
                limit=input.limit, rollover=input.rollover,
            ),
        )
        return BudgetPayload(budget=BudgetNode.of(budget, await base_currency(info)) if budget else None, errors=errors)

    @strawberry.mutation(description="Delete a budget.")
    async def delete_budget(
        self, info: Info[Context, None], input: Annotated[DeleteBudgetInput, strawberry.argument(description="The budget to delete.")]
    ) -> DeletePayload:
        viewer = await info.context.viewer()
        budget, errors = await perform(
            info.context, lambda session: service.delete_budget(session, viewer, decode_id(input.id, BudgetNode, "id"))
        )
        return DeletePayload(deleted_ids=[input.id] if budget else [], errors=errors)

    @strawberry.mutation(
        description="Copy every budget of one month (limit and rollover) into another in one step; categories that "
        "already have a budget in the target month are skipped."
    )
    async def copy_budgets(
        self, info: Info[Context, None], input: Annotated[CopyBudgetsInput, strawberry.argument(description="The month to copy from and the month to copy into.")]
    ) -> CopyBudgetsPayload:
        viewer = await info.context.viewer()
        result, errors = await perform(
            info.context,
            lambda session: service.copy_budgets(session, viewer, from_month=input.from_month, to_month=input.to_month),
        )
        if result is None:
            return CopyBudgetsPayload(budgets=[], skipped=0, errors=errors)
        return CopyBudgetsPayload(
            budgets=budget_nodes(result.copied, await base_currency(info)), skipped=result.skipped, errors=[]
        )

    @strawberry.mutation(description="Set a savings goal.")
    async def create_goal(
        self, info: Info[Context, None], input: Annotated[CreateGoalInput, strawberry.argument(description="The goal.")]
    ) -> GoalPayload:
        viewer = await info.context.viewer()
        view, errors = await perform(
            info.context,
            lambda session: service.create_goal(
                session, viewer, name=input.name, target_amount=input.target_amount, currency=input.currency,
                target_date=input.target_date,
                account_id=decode_id(input.account_id, AccountNode, "accountId") if input.account_id else None,
            ),
        )
        return GoalPayload(goal=GoalNode.of(view) if view else None, errors=errors)

    @strawberry.mutation(description="Change a goal's name, target, target date or linked account.")
    async def update_goal(
        self, info: Info[Context, None], input: Annotated[UpdateGoalInput, strawberry.argument(description="What to change.")]
    ) -> GoalPayload:
        viewer = await info.context.viewer()
        view, errors = await perform(
            info.context,
            lambda session: service.update_goal(
                session, viewer, decode_id(input.id, GoalNode, "id"), name=input.name,
                target_amount=input.target_amount, target_date=input.target_date,
                clear_target_date=input.clear_target_date,
                account_id=decode_id(input.account_id, AccountNode, "accountId") if input.account_id else None,
                clear_account=input.clear_account,
            ),
        )
        return GoalPayload(goal=GoalNode.of(view) if view else None, errors=errors)

    @strawberry.mutation(description="Delete a goal and its contributions.")
    async def delete_goal(
        self, info: Info[Context, None], input: Annotated[DeleteGoalInput, strawberry.argument(description="The goal to delete.")]
    ) -> DeletePayload:
        viewer = await info.context.viewer()
        goal, errors = await perform(
            info.context, lambda session: service.delete_goal(session, viewer, decode_id(input.id, GoalNode, "id"))
        )
        return DeletePayload(deleted_ids=[input.id] if goal else [], errors=errors)

    @strawberry.mutation(
        description="Record money put towards a goal (negative: taken out). When progress reaches the target, "
        "goal.achievedAt is set and goalReached is true."
    )
    async def add_goal_contribution(
        self, info: Info[Context, None], input: Annotated[AddGoalContributionInput, strawberry.argument(description="The contribution.")]
    ) -> GoalContributionPayload:
        viewer = await info.context.viewer()
        result, errors = await perform(
            info.context,
            lambda session: service.add_contribution(
                session, info.context.runtime, viewer, goal_id=decode_id(input.goal_id, GoalNode, "goalId"), amount=input.amount,
                date=input.date, note=input.note,
            ),
        )
        if result is None:
            return GoalContributionPayload(contribution=None, goal=None, goal_reached=False, errors=errors)
        return GoalContributionPayload(
            contribution=GoalContributionNode.of(result.contribution, result.goal.goal.currency),
            goal=GoalNode.of(result.goal), goal_reached=result.reached_now, errors=[],
        )

    @strawberry.mutation(
        description="Delete a contribution; refused when it would leave the goal's contributions below zero."
    )
    async def delete_goal_contribution(
        self, info: Info[Context, None],
        input: Annotated[DeleteGoalContributionInput, strawberry.argument(description="The contribution to delete.")],
    ) -> DeleteGoalContributionPayload:
        viewer = await info.context.viewer()
        result, errors = await perform(
            info.context,
            lambda session: service.delete_contribution(session, viewer, decode_id(input.id, GoalContributionNode, "id")),
        )
        if result is None:
            return DeleteGoalContributionPayload(deleted_ids=[], goal=None, errors=errors)
        return DeleteGoalContributionPayload(deleted_ids=[input.id], goal=GoalNode.of(result.goal), errors=[])

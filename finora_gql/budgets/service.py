"""The budgets domain's service, one import for its callers; the code lives by concern:

- `common`: limits on dates and amounts, rounding, the viewer's day, spending per category;
- `limits`: budgets (monthly limits) and their upkeep, converted when the base currency changes;
- `status`: each budget of a month against its spending, with rollover;
- `goals`: savings goals, contributions, progress and projections;
- `simulation`: what a different limit would mean, for spending and for the goals.

Money is Decimal throughout and rounded once, at the end, to the currency's minor units.
"""

from __future__ import annotations

from finora_gql.budgets.common import (
    EARLIEST,
    HISTORY_MONTHS,
    LATEST,
    current_user,
    percent_of,
    rolled_up,
    spent_by_category,
    today_of,
)
from finora_gql.budgets.goals import (
    ContributionResult,
    GoalProgress,
    add_contribution,
    contributions,
    contributions_by_goal,
    create_goal,
    delete_contribution,
    delete_goal,
    get_contributions,
    get_goal,
    get_goals,
    goal_progress,
    goals,
    list_goals,
    one_goal_progress,
    projected_date,
    readable_contributions,
    readable_goals,
    settle_linked_goals,
    update_goal,
)
from finora_gql.budgets.limits import (
    CopyResult,
    budgets,
    convert_limits,
    copy_budgets,
    create_budget,
    delete_budget,
    get_budget,
    get_budgets,
    list_budgets,
    readable,
    update_budget,
)
from finora_gql.budgets.simulation import GoalScenario, Simulation, simulate_budget
from finora_gql.budgets.status import BudgetLine, BudgetStatus, budget_status
from finora_gql.core.calendar import add_months, month_end, month_start

__all__ = [
    "EARLIEST", "HISTORY_MONTHS", "LATEST", "BudgetLine", "BudgetStatus", "ContributionResult", "CopyResult",
    "GoalProgress", "GoalScenario", "Simulation", "add_contribution", "add_months", "budget_status", "budgets",
    "contributions", "contributions_by_goal", "convert_limits", "copy_budgets", "create_budget", "create_goal",
    "current_user", "delete_budget", "delete_contribution", "delete_goal", "get_budget", "get_budgets",
    "get_contributions", "get_goal", "get_goals", "goal_progress", "goals", "list_budgets", "list_goals",
    "month_end", "month_start", "one_goal_progress", "percent_of", "projected_date", "readable",
    "readable_contributions", "readable_goals", "rolled_up", "settle_linked_goals", "simulate_budget",
    "spent_by_category", "today_of", "update_budget", "update_goal",
]

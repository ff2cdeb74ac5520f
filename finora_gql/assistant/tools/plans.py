"""Tools for budgets and goals: a month's budget status, a simulated budget change, goal progress."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from finora_gql.assistant.tools.arguments import (
    ToolRun,
    category_arg,
    decimal_arg,
    month_arg,
    opt_str,
)
from finora_gql.budgets import service as budgets


async def budget_status(session: AsyncSession, run: ToolRun, args: dict[str, Any]) -> dict[str, Any]:
    month = month_arg(args.get("month"), run.names)
    status = await budgets.budget_status(session, run.viewer, month=month)
    ids = {v: k for k, v in run.names.categories.items()}
    return {"month": str(month)[:7], "currency": status.currency,
            "lines": [{"category": ids.get(line.budget.category_id), "limit": str(line.limit),
                       "rolled_over": str(line.rolled_over), "spent": str(line.spent),
                       "remaining": str(line.remaining), "percent_used": opt_str(line.percent_used)} for line in status.lines],
            "total_limit": str(status.total_limit), "total_spent": str(status.total_spent),
            "total_remaining": str(status.total_remaining)}


async def simulate_budget(session: AsyncSession, run: ToolRun, args: dict[str, Any]) -> dict[str, Any]:
    category = category_arg(run.names, args.get("category"), required=True, expense=True)
    assert category is not None
    month = month_arg(args.get("month"), run.names)
    percent, new_limit = decimal_arg(args.get("adjustment_percent"), "adjustment_percent"), decimal_arg(args.get("new_limit"), "new_limit")
    sim = await budgets.simulate_budget(session, run.viewer, category_id=category[1], month=month,
                                        adjustment_percent=percent, new_limit=new_limit)
    return {"category": category[0], "month": str(sim.month)[:7], "currency": sim.currency,
            "original_limit": opt_str(sim.original_limit), "adjusted_limit": str(sim.adjusted_limit),
            "average_spending": str(sim.average_spending), "projected_spending": str(sim.projected_spending),
            "original_projected_spending": str(sim.original_projected_spending),
            "surplus": str(sim.surplus), "freed_per_month": str(sim.freed_per_month),
            "goals": [{"name": g.current.goal.name, "current_date": opt_str(g.current.projected_date),
                       "scenario_date": opt_str(g.scenario_date), "extra_per_month": opt_str(g.extra_per_month)}
                      for g in sim.goals]}


async def goals(session: AsyncSession, run: ToolRun, args: dict[str, Any]) -> dict[str, Any]:
    progress = await budgets.goal_progress(session, run.viewer, await budgets.list_goals(session, run.viewer))
    return {"goals": [{"name": p.goal.name, "currency": p.goal.currency, "target": str(p.goal.target_amount.quantize(Decimal("0.01"))),
                       "progress": str(p.progress), "remaining": str(p.remaining), "percent": str(p.percent),
                       "reached": p.reached, "monthly_rate": opt_str(p.monthly_rate), "projected_date": opt_str(p.projected_date),
                       "target_date": opt_str(p.goal.target_date), "on_track": p.on_track} for p in progress]}

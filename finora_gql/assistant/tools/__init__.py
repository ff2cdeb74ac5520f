"""The assistant's tools: each a thin call to the service the API uses for the same answer, run
as the viewer (so a tool can never see another person's data), with a strict JSON schema.

Reads answer at once. Writes never happen here: a `propose_*` tool stores a Proposal that the
person confirms (or rejects) with a mutation, which then goes through the normal service.
A tool's failure is returned to the model as data: `{"error": ..., "hint": ...}`.

The tools live by concern: `transactions`, `overview` (balances, summaries, net worth), `plans`
(budgets, goals), `portfolio` and `proposals`; `names`, `arguments` and `schemas` are shared.
This module is the registry: which handler answers which name, and how a call runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from finora_gql.assistant.tools import overview, plans, portfolio, proposals, transactions
from finora_gql.assistant.tools.arguments import ToolFailure, ToolRun
from finora_gql.assistant.tools.names import Names, fuzzy, load_names
from finora_gql.assistant.tools.schemas import WRITE_TOOLS, schemas
from finora_gql.core.errors import ServiceError

__all__ = ["HANDLERS", "WRITE_TOOLS", "Names", "ToolFailure", "ToolRun", "fuzzy", "load_names", "run_tool", "schemas",
           "summarize"]


HANDLERS: dict[str, Callable[[AsyncSession, ToolRun, dict[str, Any]], Awaitable[dict[str, Any]]]] = {
    "search_transactions": transactions.search_transactions, "recurring_merchants": transactions.recurring_merchants,
    "list_accounts": overview.list_accounts, "wallet_summary": overview.wallet_summary, "cashflow": overview.cashflow,
    "net_worth": overview.net_worth, "spending_by_category": overview.spending_by_category,
    "budget_status": plans.budget_status, "simulate_budget": plans.simulate_budget, "goals": plans.goals,
    "portfolio": portfolio.portfolio,
    "propose_budget": proposals.propose_budget, "propose_goal": proposals.propose_goal,
    "propose_category_rule": proposals.propose_category_rule,
}


async def run_tool(run: ToolRun, name: str, arguments: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
    """(ok, result). Unknown tools, bad arguments and service refusals come back as data with a hint."""
    handler = HANDLERS.get(name)
    if handler is None:
        return False, {"error": f"There is no tool called {name!r}.", "hint": "Use one of: " + ", ".join(HANDLERS) + "."}
    try:
        async with run.rt.sessions() as session:
            result = await handler(session, run, arguments)
            if name in WRITE_TOOLS:
                await session.commit()
            return True, result
    except ToolFailure as failure:
        return False, {"error": str(failure), "hint": failure.hint}
    except ServiceError as error:
        problems = [{"error": e.message, "field": e.field} for e in error.all()]
        return False, {**problems[0], "problems": problems,
                       "hint": "Correct those arguments and call the tool again, or answer without it."}
    except (TypeError, ValueError, KeyError) as error:
        return False, {"error": f"The arguments were not understood ({error}).",
                       "hint": "Follow the tool's JSON schema exactly."}


def summarize(name: str, ok: bool, result: dict[str, Any]) -> str:
    """A short line about a tool's result, for the TOOL_FINISHED event."""
    if not ok:
        return f"failed: {result.get('error')}"[:200]
    if name == "search_transactions":
        return f"{result['count']} transactions"
    if name == "list_accounts":
        return f"{len(result['accounts'])} accounts"
    if name in ("budget_status",):
        return f"{len(result['lines'])} budgets in {result['month']}"
    if name == "goals":
        return f"{len(result['goals'])} goals"
    if name == "portfolio":
        return f"{len(result['holdings'])} holdings, {result['period']['from']} to {result['period']['to']}"
    if name == "recurring_merchants":
        return f"{len(result['recurring'])} recurring merchants"
    if name.startswith("propose_"):
        return f"proposed: {result['summary']}"[:200]
    return "done"

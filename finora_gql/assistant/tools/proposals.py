"""The write tools: each stores a Proposal the person confirms or rejects; nothing changes here."""

from __future__ import annotations

from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from finora_gql.assistant.models import Proposal, ProposalKind
from finora_gql.assistant.tools.arguments import (
    ToolFailure,
    ToolRun,
    category_arg,
    date_arg,
    decimal_arg,
    month_arg,
)
from finora_gql.core.money import round_money


async def _propose(run: ToolRun, session: AsyncSession, kind: ProposalKind, summary: str, payload: dict[str, Any]) -> dict[str, Any]:
    proposal = Proposal(user_id=run.viewer.user_id, message_id=run.message_id, kind=kind, summary=summary[:500],
                        payload=payload)
    session.add(proposal)
    await session.flush()
    run.proposals.append(proposal)
    return {"proposal_id": str(proposal.id), "summary": proposal.summary, "status": "PENDING",
            "note": "Nothing has changed yet: the person confirms or rejects this proposal."}


async def propose_budget(session: AsyncSession, run: ToolRun, args: dict[str, Any]) -> dict[str, Any]:
    category = category_arg(run.names, args.get("category"), required=True, expense=True)
    assert category is not None
    month = month_arg(args.get("month"), run.names)
    limit = decimal_arg(args.get("limit"), "limit")
    if limit is None or limit <= 0:
        raise ToolFailure("limit must be a positive amount.", "Give limit such as \"400.00\".")
    limit = round_money(limit, run.names.base_currency)
    summary = f"Set the {category[0]} budget for {month:%B %Y} to {limit} {run.names.base_currency}"
    return await _propose(run, session, ProposalKind.SET_BUDGET, summary,
                          {"category_id": str(category[1]), "month": str(month), "limit": str(limit)})


async def propose_goal(session: AsyncSession, run: ToolRun, args: dict[str, Any]) -> dict[str, Any]:
    name = str(args.get("name") or "").strip()[:100]
    if not name:
        raise ToolFailure("name is required.", "Give the goal a short name.")
    target = decimal_arg(args.get("target_amount"), "target_amount")
    if target is None or target <= 0:
        raise ToolFailure("target_amount must be positive.", "Give target_amount such as \"5000.00\".")
    target_date = date_arg(args["target_date"], "target_date") if args.get("target_date") else None
    summary = f"Create the goal “{name}”: {round_money(target, run.names.base_currency)} {run.names.base_currency}"
    if target_date:
        summary += f" by {target_date}"
    return await _propose(run, session, ProposalKind.CREATE_GOAL, summary,
                          {"name": name, "target_amount": str(target), "target_date": str(target_date) if target_date else None})


async def propose_category_rule(session: AsyncSession, run: ToolRun, args: dict[str, Any]) -> dict[str, Any]:
    pattern = str(args.get("pattern") or "").strip()[:200]
    if not pattern:
        raise ToolFailure("pattern is required.", "Give the text the merchant contains.")
    category = category_arg(run.names, args.get("category"), required=True)
    assert category is not None
    summary = f"File transactions containing “{pattern}” under {category[0]} (and past uncategorised ones)"
    return await _propose(run, session, ProposalKind.CREATE_RULE, summary,
                          {"pattern": pattern, "category_id": str(category[1])})

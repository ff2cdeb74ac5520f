"""Tools for the whole picture: balances, income and spending over a period, cash flow, net worth
and spending by category, each from the wallet and accounts services.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from finora_gql.accounts import service as accounts
from finora_gql.assistant.tools.arguments import (
    ToolFailure,
    ToolRun,
    category_arg,
    opt_str,
    period_arg,
)
from finora_gql.budgets import service as budgets
from finora_gql.core.money import round_money
from finora_gql.transactions import categories
from finora_gql.wallet import service as wallet
from finora_gql.wallet.totals import Bucket


async def list_accounts(session: AsyncSession, run: ToolRun, args: dict[str, Any]) -> dict[str, Any]:
    rows = await accounts.list_accounts(session, run.viewer)
    return {"accounts": [{"name": a.name, "type": a.type.value, "currency": a.currency,
                          "balance": str(round_money(a.current_balance, a.currency))} for a in rows]}


async def wallet_summary(session: AsyncSession, run: ToolRun, args: dict[str, Any]) -> dict[str, Any]:
    start, end = period_arg(args, run.names)
    s = await wallet.wallet_summary(session, run.rt, run.viewer, start=start, end=end)
    return {"period": {"from": str(start), "to": str(end)}, "currency": s.currency,
            "income": str(s.total_income), "expenses": str(s.total_expenses), "net": str(s.net),
            "savings_rate_percent": opt_str(s.savings_rate * 100 if s.savings_rate is not None else None),
            "total_balance": str(s.total_balance),
            "top_categories": [{"name": c.name, "amount": str(c.amount)} for c in s.top_categories],
            "missing_rates": [str(m) for m in s.missing_rates]}


async def cashflow(session: AsyncSession, run: ToolRun, args: dict[str, Any]) -> dict[str, Any]:
    start, end = period_arg(args, run.names)
    try:
        bucket = Bucket[str(args.get("granularity") or "MONTH").upper()]
    except KeyError:
        raise ToolFailure(f"Unknown granularity {args.get('granularity')!r}.", "Use DAY, WEEK or MONTH.") from None
    c = await wallet.cashflow(session, run.rt, run.viewer, start=start, end=end, granularity=bucket)
    return {"currency": c.currency, "granularity": bucket.name,
            "buckets": [{"period": str(f.period), "income": str(f.income), "expenses": str(f.expenses),
                         "net": str(f.net)} for f in c.buckets[-40:]]}


async def net_worth(session: AsyncSession, run: ToolRun, args: dict[str, Any]) -> dict[str, Any]:
    start, end = period_arg(args, run.names)
    n = await wallet.net_worth(session, run.rt, run.viewer, start=start, end=end)
    return {"currency": n.currency, "points": [{"date": str(p.date), "value": str(p.value)} for p in n.points[-40:]]}


async def spending_by_category(session: AsyncSession, run: ToolRun, args: dict[str, Any]) -> dict[str, Any]:
    start, end = period_arg(args, run.names)
    category = category_arg(run.names, args.get("category"))
    currency = run.names.base_currency
    spent, missing = await budgets.spent_by_category(session, run.viewer, start=start, end=end, currency=currency)
    spent = budgets.rolled_up(spent, await categories.parents(session, run.viewer))
    by_name = {name: round_money(spent.get(cid, Decimal(0)), currency) for name, cid in run.names.categories.items()
               if name in run.names.expense_categories}
    if category is not None:
        by_name = {category[0]: round_money(spent.get(category[1], Decimal(0)), currency)}
    ordered = sorted(((n, a) for n, a in by_name.items() if a or category), key=lambda item: -item[1])
    return {"period": {"from": str(start), "to": str(end)}, "currency": currency,
            "categories": [{"name": n, "spent": str(a)} for n, a in ordered],
            "missing_rates": [str(m) for m in missing]}

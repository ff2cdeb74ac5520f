"""The portfolio tool: the investments' figures over a period, from the valuation the API uses."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from finora_gql.assistant.tools.arguments import (
    ToolFailure,
    ToolRun,
    date_arg,
    opt_str,
)
from finora_gql.assistant.tools.names import fuzzy
from finora_gql.core.money import round_money
from finora_gql.investments import valuation
from finora_gql.investments.engine import CostMethod
from finora_gql.investments.formatting import plain

PERCENT = Decimal("0.01")


def _percent_of(rate: Decimal | None) -> str | None:
    """A rate (as the API gives it, to 10 places) as a percentage with 2 decimals."""
    return None if rate is None else str((rate.quantize(Decimal("1e-10")) * 100).quantize(PERCENT))


async def portfolio(session: AsyncSession, run: ToolRun, args: dict[str, Any]) -> dict[str, Any]:
    names = run.names
    if not names.investment_accounts:
        raise ToolFailure("The person has no investment accounts.", "Say so; there are no investment figures.")
    account = None
    if args.get("account"):
        account = fuzzy(str(args["account"]), list(names.investment_accounts))
        if account is None:
            raise ToolFailure(f"No investment account is called {args['account']!r}.",
                              "Use one of: " + ", ".join(sorted(names.investment_accounts)) + ", or null for all.")
    start = date_arg(args.get("date_from"), "date_from", names.today.replace(month=1, day=1))
    end = date_arg(args.get("date_to"), "date_to", names.today)
    method = CostMethod(args["cost_method"]) if args.get("cost_method") else None
    found = await valuation.portfolio(session, run.rt, run.viewer, start=start, end=end, method=method,
                                      account_ids=[names.investment_accounts[account]] if account else None)
    r, c = found.result, found.result.currency
    missing = [{"reason": m.reason.value, "subject": found.securities[uuid.UUID(m.subject)].symbol
                if m.reason.value == "MISSING_PRICE" else m.subject, "date": str(m.day)} for m in r.missing]
    # Why a null figure is null: the engine's first missing price or rate (or its own reason).
    why = missing[0]["reason"] if missing else "MISSING_PRICE"
    money = {"value": r.value, "start_value": r.start_value, "cash": r.cash, "cost_basis": r.cost_basis,
             "unrealized_gain": r.unrealized_gain, "realized_gain": r.realized_gain, "dividends": r.dividends,
             "interest": r.interest, "fees": r.fees, "taxes": r.taxes, "net_inflow": r.net_inflow,
             "total_return": r.total_return}
    unavailable = {key: why for key, value in money.items() if value is None}
    xirr = r.xirr
    if r.twr.cumulative is None:
        unavailable["twr_percent"] = r.twr.reason.value if r.twr.reason else why
    if xirr.rate is None:
        unavailable["xirr_percent"] = xirr.reason.value if xirr.reason else why
    securities = found.securities
    holdings = sorted(r.holdings, key=lambda h: (-(h.value or 0), securities[h.security].symbol))
    return {
        "period": {"from": str(start), "to": str(end)}, "account": account or "all investment accounts",
        "currency": c, "cost_method": found.method.value,
        **{key: opt_str(None if value is None else round_money(value, c)) for key, value in money.items()},
        "twr_percent": _percent_of(r.twr.cumulative), "twr_annualized_percent": _percent_of(r.twr.annualized),
        "xirr_percent": _percent_of(xirr.rate),
        "holdings": [{"symbol": securities[h.security].symbol, "quantity": opt_str(plain(h.quantity)),
                      "price": opt_str(plain(h.price)), "price_date": str(h.price_date) if h.price_date else None,
                      "stale": h.price_date is None or h.price_date < found.stale_before,
                      "value": opt_str(None if h.value is None else round_money(h.value, c)),
                      "cost_basis": opt_str(None if h.cost_basis is None else round_money(h.cost_basis, c)),
                      "unrealized_gain": opt_str(None if h.unrealized_gain is None else round_money(h.unrealized_gain, c)),
                      "weight_percent": _percent_of(h.weight)} for h in holdings],
        "unavailable": unavailable, "missing": missing,
    }

"""The assistant's tools: each a thin call to the service the API uses for the same answer, run
as the viewer (so a tool can never see another person's data), with a strict JSON schema.

Reads answer at once. Writes never happen here: a `propose_*` tool stores a Proposal that the
person confirms (or rejects) with a mutation, which then goes through the normal service.
A tool's failure is returned to the model as data: `{"error": ..., "hint": ...}`.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from finora_gql.accounts import service as accounts
from finora_gql.accounts.models import AccountType
from finora_gql.assistant.models import Proposal, ProposalKind
from finora_gql.budgets import service as budgets
from finora_gql.core.errors import ServiceError
from finora_gql.core.money import round_money
from finora_gql.core.pagination import PageRequest
from finora_gql.core.runtime import Runtime
from finora_gql.core.viewer import Viewer
from finora_gql.investments import service as investments
from finora_gql.investments import valuation
from finora_gql.investments.engine import CostMethod
from finora_gql.investments.formatting import plain
from finora_gql.transactions import categories
from finora_gql.transactions import service as ledger
from finora_gql.transactions.models import CategoryKind
from finora_gql.wallet import service as wallet
from finora_gql.wallet.totals import Bucket

MAX_ENUM = 60  # names listed as an enum in a schema; longer lists are free text, matched fuzzily
MAX_ROWS_SCANNED = 5000
SAMPLE_ROWS = 8


class ToolFailure(Exception):
    """A tool could not run as asked; `hint` tells the model what to do instead."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


@dataclass
class Names:
    """The viewer's own names, for schemas (enums) and fuzzy matching."""

    categories: dict[str, uuid.UUID] = field(default_factory=dict)  # every category, by name
    expense_categories: list[str] = field(default_factory=list)
    accounts: dict[str, uuid.UUID] = field(default_factory=dict)
    investment_accounts: dict[str, uuid.UUID] = field(default_factory=dict)
    securities: list[str] = field(default_factory=list)  # symbols the person has activities in
    merchants: list[str] = field(default_factory=list)
    base_currency: str = "USD"
    today: dt.date = dt.date(2000, 1, 1)
    category_parent: dict[str, str | None] = field(default_factory=dict)


async def load_names(session: AsyncSession, viewer: Viewer) -> Names:
    user = await budgets.current_user(session, viewer)
    rows = await categories.list_categories(session, viewer)
    by_id = {row.id: row for row in rows}
    names = Names(base_currency=user.base_currency, today=budgets.today_of(user))
    for row in rows:
        names.categories[row.name] = row.id
        names.category_parent[row.name] = by_id[row.parent_id].name if row.parent_id in by_id else None
        if row.kind is CategoryKind.EXPENSE:
            names.expense_categories.append(row.name)
    for account in await accounts.list_accounts(session, viewer):
        names.accounts[account.name] = account.id
        if account.type is AccountType.INVESTMENT:
            names.investment_accounts[account.name] = account.id
    names.merchants = await ledger.merchants(session, viewer)
    if names.investment_accounts:
        names.securities = await investments.held_symbols(session, viewer)
    return names


def fuzzy(value: str, options: list[str], *, cutoff: float = 0.72) -> str | None:
    """The option `value` names: exact (any case), then a prefix or containment, then close spelling."""
    if not value:
        return None
    wanted = _norm(value)
    normalized = {_norm(option): option for option in options}
    if wanted in normalized:
        return normalized[wanted]
    contained = [o for n, o in normalized.items() if n.startswith(wanted) or (len(wanted) >= 4 and wanted in n)]
    if len(contained) >= 1:
        return min(contained, key=len)
    close = difflib.get_close_matches(wanted, list(normalized), n=1, cutoff=cutoff)
    if close:
        return normalized[close[0]]
    from finora_gql.assistant.planner import _find_name  # "blue botle": the start of one name, misspelt

    return _find_name(value, options, min_len=3)


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9+]+", " ", text.lower().replace("'", "")).strip()


# --- schemas ---------------------------------------------------------------------------------------

_DATE = {"type": ["string", "null"], "description": "ISO date YYYY-MM-DD, or null."}
_MONTH = {"type": ["string", "null"], "description": "A month as YYYY-MM, or null for the current month."}
_MONEY = {"type": ["string", "null"], "description": "A decimal amount such as \"250.00\", or null."}


def _name(options: list[str], description: str, *, nullable: bool = True) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": ["string", "null"] if nullable else "string", "description": description}
    if 0 < len(options) <= MAX_ENUM:
        schema["enum"] = [*options, None] if nullable else list(options)
    return schema


def _function(name: str, description: str, properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "function", "function": {
        "name": name, "description": description, "strict": True,
        "parameters": {"type": "object", "properties": properties, "required": list(properties),
                       "additionalProperties": False},
    }}


def schemas(names: Names) -> list[dict[str, Any]]:
    category = _name(sorted(names.categories), "One of the person's categories, by its exact name.")
    expense = _name(sorted(names.expense_categories), "One of the person's expense categories.", nullable=False)
    account = _name(sorted(names.accounts), "One of the person's accounts, by its exact name.")
    period = {"date_from": {**_DATE, "description": "First day (inclusive), YYYY-MM-DD."},
              "date_to": {**_DATE, "description": "Last day (inclusive), YYYY-MM-DD."}}
    return [
        _function("search_transactions", "Find the person's transactions and total them, per currency.", {
            **period,
            "merchant": {"type": ["string", "null"], "description": "A merchant name (matched to the person's own)."},
            "text": {"type": ["string", "null"], "description": "Words to find in merchant or description."},
            "category": category, "account": account,
            "direction": {"type": ["string", "null"], "enum": ["EXPENSE", "INCOME", None],
                          "description": "EXPENSE (money out, no transfers), INCOME (money in), or null for all."},
            "min_amount": _MONEY, "max_amount": _MONEY,
            "order": {"type": ["string", "null"], "enum": ["DATE_DESC", "AMOUNT_ASC", "AMOUNT_DESC", None],
                      "description": "DATE_DESC (newest first, default), AMOUNT_ASC (largest outflow first), AMOUNT_DESC."},
        }),
        _function("list_accounts", "The person's accounts with their current balances.", {}),
        _function("wallet_summary", "Income, expenses, net, savings rate, top spending categories and total balance "
                                    "over a period, in the base currency.", period),
        _function("cashflow", "Income, expenses and net per day, week or month.", {
            **period, "granularity": {"type": "string", "enum": ["DAY", "WEEK", "MONTH"], "description": "Bucket size."},
        }),
        _function("net_worth", "Net worth at each month end of a period and at its last day.", period),
        _function("spending_by_category", "What was spent in each expense category (subcategories included) "
                                          "over a period, in the base currency.", {**period, "category": category}),
        _function("budget_status", "Each budget of a month against what was spent.", {"month": _MONTH}),
        _function("simulate_budget", "What a different budget limit for a category would mean (writes nothing).", {
            "category": expense, "month": _MONTH,
            "adjustment_percent": {"type": ["string", "null"], "description": "e.g. \"-20\" for a 20% cut, or null."},
            "new_limit": _MONEY,
        }),
        _function("goals", "The person's savings goals, their progress and projected dates.", {}),
        _function("portfolio", "The person's investments over a period, in the base currency: value, cash, cost "
                               "basis, unrealized and realized gains, dividends, interest, fees, taxes, net inflow, "
                               "total return, time-weighted and money-weighted (XIRR) return, and each holding. A "
                               "figure that cannot be computed is null, with its reason under `unavailable`.", {
            "account": _name(sorted(names.investment_accounts),
                             "One of the person's investment accounts, or null for all of them."),
            "date_from": {**_DATE, "description": "First day (inclusive), YYYY-MM-DD; null: 1 January this year."},
            "date_to": {**_DATE, "description": "Last day (inclusive), YYYY-MM-DD; null: today."},
            "cost_method": {"type": ["string", "null"], "enum": ["FIFO", "AVERAGE", None],
                            "description": "FIFO or AVERAGE; null: the person's setting."},
        }),
        _function("recurring_merchants", "Merchants charging about the same amount month after month "
                                         "(subscriptions, bills).", {
            "months": {"type": ["integer", "null"], "description": "How many recent months to look at (default 6)."},
        }),
        _function("propose_budget", "Propose creating or changing a category's monthly budget. Nothing changes "
                                    "until the person confirms.", {
            "category": expense, "month": _MONTH, "limit": {**_MONEY, "type": "string"},
        }),
        _function("propose_goal", "Propose a new savings goal. Nothing changes until the person confirms.", {
            "name": {"type": "string", "description": "The goal's name."},
            "target_amount": {**_MONEY, "type": "string"}, "target_date": _DATE,
        }),
        _function("propose_category_rule", "Propose a rule filing matching transactions under a category "
                                           "(and recategorising past uncategorised ones). Confirmed by the person.", {
            "pattern": {"type": "string", "description": "Text the merchant or description contains."},
            "category": {**category, "type": "string"},
        }),
    ]


WRITE_TOOLS = frozenset({"propose_budget", "propose_goal", "propose_category_rule"})


# --- running ----------------------------------------------------------------------------------------


@dataclass
class ToolRun:
    rt: Runtime
    viewer: Viewer
    names: Names
    message_id: uuid.UUID
    proposals: list[Proposal] = field(default_factory=list)


def _s(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _date(value: Any, name: str, default: dt.date | None = None) -> dt.date:
    if value in (None, ""):
        if default is None:
            raise ToolFailure(f"{name} is required.", f"Give {name} as YYYY-MM-DD.")
        return default
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ToolFailure(f"{name} is not a date: {value!r}.", f"Give {name} as YYYY-MM-DD.") from None


def _month(value: Any, names: Names) -> dt.date:
    if value in (None, ""):
        return names.today.replace(day=1)
    text = str(value)
    try:
        return dt.date.fromisoformat(text[:7] + "-01")
    except ValueError:
        raise ToolFailure(f"month is not a month: {value!r}.", "Give month as YYYY-MM.") from None


def _decimal(value: Any, name: str) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        number = Decimal(str(value).replace(",", "").replace("$", "").replace("%", "").strip())
    except InvalidOperation:
        raise ToolFailure(f"{name} is not a number: {value!r}.", f"Give {name} as a decimal string.") from None
    if not number.is_finite():
        raise ToolFailure(f"{name} must be finite.", f"Give {name} as a decimal string.")
    return number


def _category(names: Names, value: Any, *, required: bool = False, expense: bool = False) -> tuple[str, uuid.UUID] | None:
    if value in (None, ""):
        if required:
            raise ToolFailure("category is required.", "Name one of the person's categories.")
        return None
    options = names.expense_categories if expense else list(names.categories)
    found = fuzzy(str(value), options)
    if found is None:
        raise ToolFailure(f"No category is called {value!r}.",
                          "Use one of: " + ", ".join(sorted(options)[:40]) + ".")
    return found, names.categories[found]


def _account(names: Names, value: Any) -> tuple[str, uuid.UUID] | None:
    if value in (None, ""):
        return None
    found = fuzzy(str(value), list(names.accounts))
    if found is None:
        raise ToolFailure(f"No account is called {value!r}.", "Use one of: " + ", ".join(sorted(names.accounts)) + ".")
    return found, names.accounts[found]


def _period(args: dict[str, Any], names: Names) -> tuple[dt.date, dt.date]:
    start = _date(args.get("date_from"), "date_from", names.today.replace(day=1))
    end = _date(args.get("date_to"), "date_to", names.today)
    if end < start:
        raise ToolFailure("date_to is before date_from.", "Swap the dates.")
    return start, end


async def _search_transactions(session: AsyncSession, run: ToolRun, args: dict[str, Any]) -> dict[str, Any]:
    names = run.names
    start = _date(args.get("date_from"), "date_from", dt.date(1900, 1, 1))
    end = _date(args.get("date_to"), "date_to", names.today)
    merchant = None
    if args.get("merchant"):
        merchant = fuzzy(str(args["merchant"]), names.merchants)
        if merchant is None:
            raise ToolFailure(f"No merchant like {args['merchant']!r} appears in the transactions.",
                              "Search with `text` instead, or check the spelling.")
    category = _category(names, args.get("category"))
    account = _account(names, args.get("account"))
    direction = {"EXPENSE": ledger.Direction.EXPENSE, "INCOME": ledger.Direction.INCOME}.get(args.get("direction") or "")
    # The ledger's search matches whole words by prefix; "Trader Joe's" is searched by its plain words
    # (the apostrophe splits the indexed word) and then kept to that exact merchant below.
    text = (" ".join(w for w in merchant.split() if w.isalnum()) or None) if merchant else (args.get("text") or None)
    spec = ledger.Filter(
        date_from=start, date_to=end, direction=direction,
        category_ids=[category[1]] if category else None, account_ids=[account[1]] if account else None,
        amount_min=_decimal(args.get("min_amount"), "min_amount"), amount_max=_decimal(args.get("max_amount"), "max_amount"),
        search=text,
    )
    try:
        order = ledger.Order(args.get("order") or "DATE_DESC")
    except ValueError:
        raise ToolFailure(f"Unknown order {args.get('order')!r}.", "Use DATE_DESC, AMOUNT_ASC or AMOUNT_DESC.") from None
    key = "date" if order in (ledger.Order.DATE_DESC, ledger.Order.DATE_ASC) else "amount"
    rows: list[ledger.ListedTransaction] = []
    cursor = None
    while len(rows) < MAX_ROWS_SCANNED:
        page = await ledger.list_transactions(session, run.viewer, spec=spec, order=order,
                                              page=PageRequest(size=100, cursor=cursor, backward=False))
        rows.extend(page.rows)
        if not page.has_next or not page.rows:
            break
        cursor = (getattr(page.rows[-1], key), page.rows[-1].id)
    if merchant is not None:
        rows = [row for row in rows if (row.merchant or "").lower() == merchant.lower()]
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        totals[row.currency] += row.amount
    account_names = {v: k for k, v in names.accounts.items()}
    return {
        "period": {"from": str(start), "to": str(end)}, "merchant": merchant,
        "category": category[0] if category else None, "account": account[0] if account else None,
        "count": len(rows), "truncated": len(rows) >= MAX_ROWS_SCANNED,
        "totals_by_currency": {code: str(round_money(total, code)) for code, total in sorted(totals.items())},
        "transactions": [
            {"date": str(row.date), "amount": str(row.amount), "currency": row.currency, "merchant": row.merchant,
             "description": row.description, "account": account_names.get(row.account_id), "note": row.notes}
            for row in rows[:SAMPLE_ROWS]
        ],
    }


async def _list_accounts(session: AsyncSession, run: ToolRun, args: dict[str, Any]) -> dict[str, Any]:
    rows = await accounts.list_accounts(session, run.viewer)
    return {"accounts": [{"name": a.name, "type": a.type.value, "currency": a.currency,
                          "balance": str(round_money(a.current_balance, a.currency))} for a in rows]}


async def _wallet_summary(session: AsyncSession, run: ToolRun, args: dict[str, Any]) -> dict[str, Any]:
    start, end = _period(args, run.names)
    s = await wallet.wallet_summary(session, run.rt, run.viewer, start=start, end=end)
    return {"period": {"from": str(start), "to": str(end)}, "currency": s.currency,
            "income": str(s.total_income), "expenses": str(s.total_expenses), "net": str(s.net),
            "savings_rate_percent": _s(s.savings_rate * 100 if s.savings_rate is not None else None),
            "total_balance": str(s.total_balance),
            "top_categories": [{"name": c.name, "amount": str(c.amount)} for c in s.top_categories],
            "missing_rates": [str(m) for m in s.missing_rates]}


async def _cashflow(session: AsyncSession, run: ToolRun, args: dict[str, Any]) -> dict[str, Any]:
    start, end = _period(args, run.names)
    try:
        bucket = Bucket[str(args.get("granularity") or "MONTH").upper()]
    except KeyError:
        raise ToolFailure(f"Unknown granularity {args.get('granularity')!r}.", "Use DAY, WEEK or MONTH.") from None
    c = await wallet.cashflow(session, run.rt, run.viewer, start=start, end=end, granularity=bucket)
    return {"currency": c.currency, "granularity": bucket.name,
            "buckets": [{"period": str(f.period), "income": str(f.income), "expenses": str(f.expenses),
                         "net": str(f.net)} for f in c.buckets[-40:]]}


async def _net_worth(session: AsyncSession, run: ToolRun, args: dict[str, Any]) -> dict[str, Any]:
    start, end = _period(args, run.names)
    n = await wallet.net_worth(session, run.rt, run.viewer, start=start, end=end)
    return {"currency": n.currency, "points": [{"date": str(p.date), "value": str(p.value)} for p in n.points[-40:]]}


async def _spending_by_category(session: AsyncSession, run: ToolRun, args: dict[str, Any]) -> dict[str, Any]:
    start, end = _period(args, run.names)
    category = _category(run.names, args.get("category"))
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


async def _budget_status(session: AsyncSession, run: ToolRun, args: dict[str, Any]) -> dict[str, Any]:
    month = _month(args.get("month"), run.names)
    status = await budgets.budget_status(session, run.viewer, month=month)
    ids = {v: k for k, v in run.names.categories.items()}
    return {"month": str(month)[:7], "currency": status.currency,
            "lines": [{"category": ids.get(line.budget.category_id), "limit": str(line.limit),
                       "rolled_over": str(line.rolled_over), "spent": str(line.spent),
                       "remaining": str(line.remaining), "percent_used": _s(line.percent_used)} for line in status.lines],
            "total_limit": str(status.total_limit), "total_spent": str(status.total_spent),
            "total_remaining": str(status.total_remaining)}


async def _simulate_budget(session: AsyncSession, run: ToolRun, args: dict[str, Any]) -> dict[str, Any]:
    category = _category(run.names, args.get("category"), required=True, expense=True)
    assert category is not None
    month = _month(args.get("month"), run.names)
    percent, new_limit = _decimal(args.get("adjustment_percent"), "adjustment_percent"), _decimal(args.get("new_limit"), "new_limit")
    sim = await budgets.simulate_budget(session, run.viewer, category_id=category[1], month=month,
                                        adjustment_percent=percent, new_limit=new_limit)
    return {"category": category[0], "month": str(sim.month)[:7], "currency": sim.currency,
            "original_limit": _s(sim.original_limit), "adjusted_limit": str(sim.adjusted_limit),
            "average_spending": str(sim.average_spending), "projected_spending": str(sim.projected_spending),
            "original_projected_spending": str(sim.original_projected_spending),
            "surplus": str(sim.surplus), "freed_per_month": str(sim.freed_per_month),
            "goals": [{"name": g.current.goal.name, "current_date": _s(g.current.projected_date),
                       "scenario_date": _s(g.scenario_date), "extra_per_month": _s(g.extra_per_month)}
                      for g in sim.goals]}


async def _goals(session: AsyncSession, run: ToolRun, args: dict[str, Any]) -> dict[str, Any]:
    progress = await budgets.goal_progress(session, run.viewer, await budgets.list_goals(session, run.viewer))
    return {"goals": [{"name": p.goal.name, "currency": p.goal.currency, "target": str(p.goal.target_amount.quantize(Decimal("0.01"))),
                       "progress": str(p.progress), "remaining": str(p.remaining), "percent": str(p.percent),
                       "reached": p.reached, "monthly_rate": _s(p.monthly_rate), "projected_date": _s(p.projected_date),
                       "target_date": _s(p.goal.target_date), "on_track": p.on_track} for p in progress]}


PERCENT = Decimal("0.01")


def _percent_of(rate: Decimal | None) -> str | None:
    """A rate (as the API gives it, to 10 places) as a percentage with 2 decimals."""
    return None if rate is None else str((rate.quantize(Decimal("1e-10")) * 100).quantize(PERCENT))


async def _portfolio(session: AsyncSession, run: ToolRun, args: dict[str, Any]) -> dict[str, Any]:
    names = run.names
    if not names.investment_accounts:
        raise ToolFailure("The person has no investment accounts.", "Say so; there are no investment figures.")
    account = None
    if args.get("account"):
        account = fuzzy(str(args["account"]), list(names.investment_accounts))
        if account is None:
            raise ToolFailure(f"No investment account is called {args['account']!r}.",
                              "Use one of: " + ", ".join(sorted(names.investment_accounts)) + ", or null for all.")
    start = _date(args.get("date_from"), "date_from", names.today.replace(month=1, day=1))
    end = _date(args.get("date_to"), "date_to", names.today)
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
        **{key: _s(None if value is None else round_money(value, c)) for key, value in money.items()},
        "twr_percent": _percent_of(r.twr.cumulative), "twr_annualized_percent": _percent_of(r.twr.annualized),
        "xirr_percent": _percent_of(xirr.rate),
        "holdings": [{"symbol": securities[h.security].symbol, "quantity": _s(plain(h.quantity)),
                      "price": _s(plain(h.price)), "price_date": str(h.price_date) if h.price_date else None,
                      "stale": h.price_date is None or h.price_date < found.stale_before,
                      "value": _s(None if h.value is None else round_money(h.value, c)),
                      "cost_basis": _s(None if h.cost_basis is None else round_money(h.cost_basis, c)),
                      "unrealized_gain": _s(None if h.unrealized_gain is None else round_money(h.unrealized_gain, c)),
                      "weight_percent": _percent_of(h.weight)} for h in holdings],
        "unavailable": unavailable, "missing": missing,
    }


async def _recurring_merchants(session: AsyncSession, run: ToolRun, args: dict[str, Any]) -> dict[str, Any]:
    months = int(args.get("months") or 6)
    if not 2 <= months <= 24:
        raise ToolFailure("months must be between 2 and 24.", "Use 6.")
    first = budgets.add_months(run.names.today.replace(day=1), -(months - 1))
    spec = ledger.Filter(date_from=first, date_to=run.names.today, direction=ledger.Direction.EXPENSE)
    seen: dict[tuple[str, str], dict[dt.date, list[Decimal]]] = defaultdict(lambda: defaultdict(list))
    cursor, scanned = None, 0
    while scanned < MAX_ROWS_SCANNED:
        page = await ledger.list_transactions(session, run.viewer, spec=spec, order=ledger.Order.DATE_DESC,
                                              page=PageRequest(size=100, cursor=cursor, backward=False))
        for row in page.rows:
            if row.merchant:
                seen[(row.merchant, row.currency)][row.date.replace(day=1)].append(row.amount)
        scanned += len(page.rows)
        if not page.has_next or not page.rows:
            break
        cursor = (page.rows[-1].date, page.rows[-1].id)
    found = []
    for (merchant, currency), by_month in seen.items():
        amounts = [a for values in by_month.values() for a in values]
        if len(by_month) < 3 or len(amounts) > len(by_month) * 1.5:
            continue
        typical = sorted(amounts)[len(amounts) // 2]
        if all(abs(a - typical) <= abs(typical) * Decimal("0.1") for a in amounts):
            found.append({"merchant": merchant, "currency": currency, "typical_amount": str(-typical),
                          "months_seen": len(by_month), "last_charged": str(max(by_month))[:7]})
    found.sort(key=lambda item: -Decimal(item["typical_amount"]))
    return {"since": str(first)[:7], "recurring": found}


async def _propose(run: ToolRun, session: AsyncSession, kind: ProposalKind, summary: str, payload: dict[str, Any]) -> dict[str, Any]:
    proposal = Proposal(user_id=run.viewer.user_id, message_id=run.message_id, kind=kind, summary=summary[:500],
                        payload=payload)
    session.add(proposal)
    await session.flush()
    run.proposals.append(proposal)
    return {"proposal_id": str(proposal.id), "summary": proposal.summary, "status": "PENDING",
            "note": "Nothing has changed yet: the person confirms or rejects this proposal."}


async def _propose_budget(session: AsyncSession, run: ToolRun, args: dict[str, Any]) -> dict[str, Any]:
    category = _category(run.names, args.get("category"), required=True, expense=True)
    assert category is not None
    month = _month(args.get("month"), run.names)
    limit = _decimal(args.get("limit"), "limit")
    if limit is None or limit <= 0:
        raise ToolFailure("limit must be a positive amount.", "Give limit such as \"400.00\".")
    limit = round_money(limit, run.names.base_currency)
    summary = f"Set the {category[0]} budget for {month:%B %Y} to {limit} {run.names.base_currency}"
    return await _propose(run, session, ProposalKind.SET_BUDGET, summary,
                          {"category_id": str(category[1]), "month": str(month), "limit": str(limit)})


async def _propose_goal(session: AsyncSession, run: ToolRun, args: dict[str, Any]) -> dict[str, Any]:
    name = str(args.get("name") or "").strip()[:100]
    if not name:
        raise ToolFailure("name is required.", "Give the goal a short name.")
    target = _decimal(args.get("target_amount"), "target_amount")
    if target is None or target <= 0:
        raise ToolFailure("target_amount must be positive.", "Give target_amount such as \"5000.00\".")
    target_date = _date(args["target_date"], "target_date") if args.get("target_date") else None
    summary = f"Create the goal “{name}”: {round_money(target, run.names.base_currency)} {run.names.base_currency}"
    if target_date:
        summary += f" by {target_date}"
    return await _propose(run, session, ProposalKind.CREATE_GOAL, summary,
                          {"name": name, "target_amount": str(target), "target_date": str(target_date) if target_date else None})


async def _propose_category_rule(session: AsyncSession, run: ToolRun, args: dict[str, Any]) -> dict[str, Any]:
    pattern = str(args.get("pattern") or "").strip()[:200]
    if not pattern:
        raise ToolFailure("pattern is required.", "Give the text the merchant contains.")
    category = _category(run.names, args.get("category"), required=True)
    assert category is not None
    summary = f"File transactions containing “{pattern}” under {category[0]} (and past uncategorised ones)"
    return await _propose(run, session, ProposalKind.CREATE_RULE, summary,
                          {"pattern": pattern, "category_id": str(category[1])})


HANDLERS: dict[str, Callable[[AsyncSession, ToolRun, dict[str, Any]], Awaitable[dict[str, Any]]]] = {
    "search_transactions": _search_transactions, "list_accounts": _list_accounts, "wallet_summary": _wallet_summary,
    "cashflow": _cashflow, "net_worth": _net_worth, "spending_by_category": _spending_by_category,
    "budget_status": _budget_status, "simulate_budget": _simulate_budget, "goals": _goals,
    "portfolio": _portfolio, "recurring_merchants": _recurring_merchants, "propose_budget": _propose_budget, "propose_goal": _propose_goal,
    "propose_category_rule": _propose_category_rule,
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
        return False, {"error": error.message, "field": error.field,
                       "hint": "Correct that argument and call the tool again, or answer without it."}
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

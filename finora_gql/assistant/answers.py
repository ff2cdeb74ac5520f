"""Writing the answer from the tools' results (name, arguments, result): one writer per tool, each
figure cited [n]; what cannot be answered is said plainly.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

from finora_gql.assistant.question import Question
from finora_gql.assistant.wording import norm


def money(value: Any, currency: str, *, absolute: bool = False) -> str:
    amount = Decimal(str(value))
    if absolute:
        amount = abs(amount)
    sign = "-" if amount < 0 else ""
    return f"{sign}{abs(amount):,.2f} {currency}"

def _percent_text(value: Any) -> str:
    return f"{Decimal(str(value)).quantize(Decimal('0.01'))}%"

def write(q: Question | None, ctx: dict[str, Any], results: list[tuple[str, dict[str, Any], dict[str, Any]]]) -> str:
    """The answer from the tools' results (name, arguments, result), each figure cited [n]."""
    if q is None:
        return "I didn't receive a question."
    if q.intent == "securities_advice":
        refusal = ("I can't give advice on buying or selling securities or crypto; for investment decisions, a "
                   "licensed adviser is the right person to ask.")
        figures = [(args, r) for name, args, r in results if name == "portfolio" and "error" not in r]
        if figures:
            return refusal + " Here are your own figures: " + _w_holdings(q, figures[0][1], "[1]")
        return refusal + (" I can show you your own numbers: spending, income, budgets, goals, investments and what a "
                          "budget change would free up for saving.")
    if q.intent == "portfolio" and not results:
        return "You have no investment accounts in Finora, so there are no portfolio figures to show."
    if q.intent == "forecast":
        return ("I can't predict markets or prices, and nobody's data can. I can show you your own numbers: "
                "spending, income, budgets, goals and how your investments have done so far.")
    if q.intent == "unsupported_action":
        return ("I can't do that: I only read your numbers and can prepare proposals for budgets, goals and "
                "category rules, which you then confirm. Nothing is changed, moved or deleted by me.")
    if not results:
        return _cannot(q, ctx)
    parts = []
    for index, (name, args, result) in enumerate(results, start=1):
        cite = f"[{index}]"
        if "error" in result:
            parts.append(f"I couldn't get that ({result['error']}). {result.get('hint', '')}".strip())
            continue
        writer = WRITERS.get(name)
        parts.append(writer(q, args, result, cite) if writer else f"Done {cite}.")
    return " ".join(p for p in parts if p)

def _cannot(q: Question, ctx: dict[str, Any]) -> str:
    if q.intent == "simulate":
        return ("I can simulate a budget change for one of your expense categories; tell me which one, for example "
                "\"What if I cut my Groceries budget by 20%?\"")
    if q.intent == "propose_rule":
        return ("Tell me which merchant (in quotes) and which category, for example: always file \"Uber\" under Transport.")
    return ("I can't answer that from your data. I can tell you about your spending (by category, merchant or period), "
            "income, savings rate, account balances, net worth, budgets, goals, investments and recurring charges, and "
            "simulate a budget change.")

def _period_words(args: dict[str, Any]) -> str:
    start, end = args.get("date_from"), args.get("date_to")
    if start and end:
        if start == "1900-01-01":
            return f"up to {end}"
        return f"from {start} to {end}"
    return ""

def _w_search(q: Question, args: dict[str, Any], r: dict[str, Any], cite: str) -> str:
    totals = r["totals_by_currency"]
    when = _period_words({"date_from": r["period"]["from"], "date_to": r["period"]["to"]})
    subject = r.get("merchant") or r.get("category") or "matching transactions"
    if r["count"] == 0:
        return f"I found no transactions for {subject} {when}: 0.00 {ctx_currency(r)} {cite}."
    if q.focus in ("largest", "smallest") and r["transactions"]:
        t = r["transactions"][0]
        kind = "largest" if q.focus == "largest" else "smallest"
        return (f"Your {kind} purchase {when} was {money(t['amount'], t['currency'], absolute=True)} at "
                f"{t['merchant'] or t['description']} on {t['date']} {cite}.")
    amounts = " and ".join(money(v, k, absolute=True) for k, v in totals.items())
    if q.focus == "count":
        return f"{r['count']} transactions for {subject} {when}, totalling {amounts} {cite}."
    if q.focus == "list":
        lines = "; ".join(f"{t['date']} {t['merchant'] or t['description']} {money(t['amount'], t['currency'])}"
                          for t in r["transactions"][:5])
        return f"{r['count']} transactions {when} {cite}. The most recent: {lines}."
    verb = "received" if args.get("direction") == "INCOME" else "spent"
    where = f"at {r['merchant']}" if r.get("merchant") else f"on {subject}"
    return f"You {verb} {amounts} {where} {when}, in {r['count']} transactions {cite}."

def ctx_currency(r: dict[str, Any]) -> str:
    return next(iter(r.get("totals_by_currency") or {}), "USD")

def _w_accounts(q: Question, args: dict[str, Any], r: dict[str, Any], cite: str) -> str:
    rows = r["accounts"]
    named = q.extras.get("accounts") or ([q.account] if q.account else [])
    if named:
        rows = [a for a in rows if a["name"] in named] or rows
    if len(rows) == 1:
        a = rows[0]
        return f"Your {a['name']} balance is {money(a['balance'], a['currency'])} {cite}."
    listed = "; ".join(f"{a['name']}: {money(a['balance'], a['currency'])}" for a in rows)
    return f"Your account balances: {listed} {cite}."

def _w_summary(q: Question, args: dict[str, Any], r: dict[str, Any], cite: str) -> str:
    c = r["currency"]
    when = _period_words(args) or f"from {r['period']['from']} to {r['period']['to']}"
    if q.focus == "income":
        return f"Your income {when} was {money(r['income'], c)} {cite}."
    if q.focus == "top":
        top = r["top_categories"]
        if not top:
            return f"No spending recorded {when} {cite}."
        listed = "; ".join(f"{row['name']} {money(row['amount'], c)}" for row in top)
        return f"Your biggest spending categories {when} (money out, before refunds): {listed} {cite}."
    if q.focus == "expenses":
        return f"You spent {money(r['expenses'], c)} in total {when} {cite}."
    if q.focus == "savings":
        rate = (f", a savings rate of {_percent_text(r['savings_rate_percent'])}" if r["savings_rate_percent"] is not None
                else " (no income, so no savings rate)")
        verb = "saved" if Decimal(r["net"]) >= 0 else "spent more than you earned by"
        return (f"{when.capitalize()} you earned {money(r['income'], c)} and spent {money(r['expenses'], c)}, so you "
                f"{verb} {money(r['net'], c, absolute=True)}{rate} {cite}.")
    return (f"{when.capitalize()}: income {money(r['income'], c)}, expenses {money(r['expenses'], c)}, "
            f"net {money(r['net'], c)} {cite}.")

def _w_cashflow(q: Question, args: dict[str, Any], r: dict[str, Any], cite: str) -> str:
    c = r["currency"]
    rows = "; ".join(f"{b['period'][:7] if r['granularity'] == 'MONTH' else b['period']}: income {money(b['income'], c)}, "
                     f"expenses {money(b['expenses'], c)}, net {money(b['net'], c)}" for b in r["buckets"])
    return f"Your cash flow by {r['granularity'].lower()}: {rows} {cite}."

def _w_net_worth(q: Question, args: dict[str, Any], r: dict[str, Any], cite: str) -> str:
    points = r["points"]
    if not points:
        return f"I have no net worth figures for that period {cite}."
    last, first = points[-1], points[0]
    text = f"Your net worth on {last['date']} was {money(last['value'], r['currency'])} {cite}."
    if len(points) > 1:
        change = Decimal(last["value"]) - Decimal(first["value"])
        direction = "up" if change >= 0 else "down"
        text += (f" That is {direction} {money(change, r['currency'], absolute=True)} from "
                 f"{money(first['value'], r['currency'])} on {first['date']} {cite}.")
    return text

def _w_spending(q: Question, args: dict[str, Any], r: dict[str, Any], cite: str) -> str:
    c = r["currency"]
    when = _period_words(args)
    if args.get("category"):
        row = r["categories"][0] if r["categories"] else {"name": args["category"], "spent": "0"}
        return f"You spent {money(row['spent'], c)} on {row['name']} {when} {cite}."
    top = r["categories"][:5]
    if not top:
        return f"No spending recorded {when} {cite}."
    listed = "; ".join(f"{row['name']} {money(row['spent'], c)}" for row in top)
    return f"Your biggest spending categories {when}: {listed} {cite}."

def _w_budget(q: Question, args: dict[str, Any], r: dict[str, Any], cite: str) -> str:
    c = r["currency"]
    month = dt.date.fromisoformat(r["month"] + "-01").strftime("%B %Y")
    lines = r["lines"]
    if not lines:
        return f"You have no budgets for {month} {cite}."
    if q.category:
        line = next((item for item in lines if item["category"] == q.category), None)
        if line is None:
            return f"You have no {q.category} budget for {month} {cite}."
        used = f" ({_percent_text(line['percent_used'])} used)" if line["percent_used"] is not None else ""
        state = "left" if Decimal(line["remaining"]) >= 0 else "over"
        return (f"Your {q.category} budget for {month} is {money(line['limit'], c)}"
                f"{' plus ' + money(line['rolled_over'], c) + ' rolled over' if Decimal(line['rolled_over']) else ''}; "
                f"you have spent {money(line['spent'], c)}{used}, so {money(line['remaining'], c, absolute=True)} "
                f"{state} {cite}.")
    over = [item for item in lines if Decimal(item["remaining"]) < 0]
    text = (f"In {month} your budgets total {money(r['total_limit'], c)}; you have spent {money(r['total_spent'], c)}, "
            f"with {money(r['total_remaining'], c)} remaining {cite}.")
    if over:
        text += " Over budget: " + "; ".join(
            f"{item['category']} by {money(item['remaining'], c, absolute=True)}" for item in over) + f" {cite}."
    else:
        text += " No budget is over its limit."
    return text

def _w_simulate(q: Question, args: dict[str, Any], r: dict[str, Any], cite: str) -> str:
    c = r["currency"]
    month = dt.date.fromisoformat(r["month"] + "-01").strftime("%B %Y")
    if r["original_limit"] is not None:
        start = (f"Your {r['category']} budget for {month} would go from {money(r['original_limit'], c)} to "
                 f"{money(r['adjusted_limit'], c)} {cite}.")
    else:
        start = f"With a {r['category']} limit of {money(r['adjusted_limit'], c)} for {month} {cite}:"
    freed = Decimal(r["freed_per_month"])
    text = (f"{start} You spent {money(r['average_spending'], c)} a month on average over the previous 3 months, so "
            f"projected spending would be {money(r['projected_spending'], c)} a month")
    if freed > 0:
        text += f", freeing {money(freed, c)} a month {cite}."
    elif freed < 0:
        text += f", costing {money(freed, c, absolute=True)} a month more {cite}."
    else:
        text += f"; that frees nothing, because you already spend less than the new limit {cite}."
    moved = [g for g in r["goals"] if g["scenario_date"] and g["scenario_date"] != g["current_date"]]
    if moved:
        text += " " + "; ".join(f"{g['name']} would be reached by {g['scenario_date']}"
                                + (f" instead of {g['current_date']}" if g["current_date"] else "")
                                for g in moved) + f" {cite}."
    return text

def _w_goals(q: Question, args: dict[str, Any], r: dict[str, Any], cite: str) -> str:
    goals = r["goals"]
    if not goals:
        return f"You have no savings goals yet {cite}."
    wanted = [g for g in goals if norm(g["name"]) in norm(q.text) or any(
        len(w) > 3 and w in norm(q.text).split() for w in norm(g["name"]).split())]
    goals = wanted or goals
    parts = []
    for g in goals:
        c = g["currency"]
        state = "reached" if g["reached"] else (
            f"projected for {g['projected_date']}" if g["projected_date"] else "with no projected date yet")
        parts.append(f"{g['name']}: {money(g['progress'], c)} of {money(g['target'], c)} ({_percent_text(g['percent'])}), "
                     f"{money(g['remaining'], c)} to go, {state}")
    return "Your goals: " + "; ".join(parts) + f" {cite}."

def _w_recurring(q: Question, args: dict[str, Any], r: dict[str, Any], cite: str) -> str:
    rows = r["recurring"]
    if not rows:
        return f"I found no recurring charges since {r['since']} {cite}."
    listed = "; ".join(f"{row['merchant']} {money(row['typical_amount'], row['currency'])}" for row in rows)
    totals: dict[str, Decimal] = {}
    for row in rows:
        totals[row["currency"]] = totals.get(row["currency"], Decimal(0)) + Decimal(row["typical_amount"])
    total = " and ".join(money(v, k) for k, v in totals.items())
    return f"Your recurring charges: {listed} — about {total} a month in all {cite}."

def _figure(r: dict[str, Any], key: str, label: str) -> str:
    """`label value`, or why it is unavailable (never a made-up 0)."""
    if r.get(key) is None:
        return f"{label} unavailable ({r['unavailable'].get(key, 'not computable').replace('_', ' ').lower()})"
    return f"{label} {money(r[key], r['currency'])}"

def _rate_text(r: dict[str, Any], key: str, label: str) -> str:
    if r.get(key) is None:
        return f"{label} unavailable ({r['unavailable'].get(key, 'not computable').replace('_', ' ').lower()})"
    return f"{label} {_percent_text(r[key])}"

def _w_holdings(q: Question, r: dict[str, Any], cite: str) -> str:
    rows = r["holdings"]
    symbol = q.extras.get("symbol")
    if symbol:
        rows = [h for h in rows if h["symbol"] == symbol] or rows
    if not rows:
        return f"You hold no securities on {r['period']['to']} {cite}."
    c = r["currency"]
    parts = []
    for h in rows:
        value = money(h["value"], c) if h["value"] is not None else f"unavailable ({r['unavailable'].get('value', 'missing price')})"
        text = f"{h['symbol']}: {h['quantity']} units worth {value}"
        if h["price"] is not None:
            text += f" at {h['price']} ({h['price_date']}{', stale' if h['stale'] else ''})"
        if h["cost_basis"] is not None:
            text += f", cost basis {money(h['cost_basis'], c)}"
        if h["unrealized_gain"] is not None:
            text += f", unrealized gain {money(h['unrealized_gain'], c)}"
        parts.append(text)
    return "; ".join(parts) + f" {cite}."

def _w_portfolio(q: Question, args: dict[str, Any], r: dict[str, Any], cite: str) -> str:
    when = f"from {r['period']['from']} to {r['period']['to']}"
    if q.focus == "dividends":
        return (f"Your investments paid {money(r['dividends'], r['currency'])} in dividends {when} (gross), and "
                f"{money(r['interest'], r['currency'])} in interest; taxes paid in the period: "
                f"{money(r['taxes'], r['currency'])}"
                + (f"; fees: {money(r['fees'], r['currency'])}" if re.search(r"\bfees?\b", q.text) else "")
                + f" {cite}.")
    if q.focus == "value":
        return (f"On {r['period']['to']} your investments ({r['account']}) were worth "
                f"{_figure(r, 'value', '').strip()}: {_figure(r, 'cash', 'cash')}, and {_w_holdings(q, r, cite)}")
    if q.focus == "holding":
        return (f"{_w_holdings(q, r, cite)} {when.capitalize()}, the portfolio as a whole had a "
                f"{_rate_text(r, 'twr_percent', 'time-weighted return of')} {cite}.")
    return (f"{when.capitalize()} your investments ({r['account']}) went from {_figure(r, 'start_value', '').strip()} "
            f"to {_figure(r, 'value', '').strip()}, with {_figure(r, 'net_inflow', 'net deposits of')}; "
            f"{_figure(r, 'total_return', 'total return')} (dividends {money(r['dividends'], r['currency'])}, "
            f"fees {money(r['fees'], r['currency'])}, taxes {money(r['taxes'], r['currency'])}); "
            f"{_rate_text(r, 'twr_percent', 'time-weighted return')}, "
            f"{_rate_text(r, 'xirr_percent', 'money-weighted return (XIRR)')} {cite}. "
            f"Holdings: {_w_holdings(q, r, cite)}")

def _w_proposal(q: Question, args: dict[str, Any], r: dict[str, Any], cite: str) -> str:
    return f"I've prepared a proposal: {r['summary']} {cite}. Nothing changes until you confirm it."

WRITERS = {
    "search_transactions": _w_search, "list_accounts": _w_accounts, "wallet_summary": _w_summary,
    "cashflow": _w_cashflow, "net_worth": _w_net_worth, "spending_by_category": _w_spending,
    "budget_status": _w_budget, "simulate_budget": _w_simulate, "goals": _w_goals, "portfolio": _w_portfolio,
    "recurring_merchants": _w_recurring, "propose_budget": _w_proposal, "propose_goal": _w_proposal,
    "propose_category_rule": _w_proposal,
}

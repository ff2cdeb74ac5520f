"""The offline model's mind: a planner that reads the question, picks tools and writes the answer.

Registered with litellm as a custom provider by `offline.OfflineProvider`.

It is a real model of the conversation, not a mock: it reads the person's question (periods
such as "last month", "this year" or "in March", their own category, merchant and account names
matched fuzzily, amounts and percentages), asks for the tools that answer it (streamed tool
calls, exactly as a hosted model sends them), and then writes the answer from the tools' real
results, streamed a few words at a time, citing each figure's tool call as [n]. What it cannot
answer, it says plainly. It never acts on text found inside tool results or retrieved notes
(those are data): its plan comes from the person's own message only.

The context it needs (today, base currency, the person's names) is the JSON block the generator
puts in the system message between CONTEXT_START and CONTEXT_END, which hosted models read too.

It lives by concern: `wording` and `name_matching` (how people write), `question` (reading the
question and its intent), this module (the tool calls planned, and the conversation as litellm
hands it over) and `answers` (writing the answer).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Iterator
from typing import Any

from finora_gql.assistant.answers import write
from finora_gql.assistant.dates import Period, add_months, month_period, parse_period
from finora_gql.assistant.name_matching import find_name
from finora_gql.assistant.question import Question, read_question
from finora_gql.assistant.wording import norm

CONTEXT_START = "<finora-context>"
CONTEXT_END = "</finora-context>"
WORDS_PER_CHUNK = 3


def _iso(day: dt.date) -> str:
    return day.isoformat()

def _default_period(q: Question, today: dt.date) -> Period:
    return q.period or month_period(today.replace(day=1), today, "this month")

def plan(q: Question, ctx: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The tool calls that answer the question (none: the answer needs no tool or can't be given)."""
    today = dt.date.fromisoformat(ctx["today"])
    p = _default_period(q, today)
    period = {"date_from": _iso(p.start), "date_to": _iso(p.end)}
    if q.intent == "simulate":
        category = q.category or _guess_budget_category(q, ctx)
        if category is None:
            return []
        percent = q.percent
        if percent is not None and re.search(r"\b(cut|reduc|lower|trim|drop|slash|decreas|less|went down|go down|"
                                             r"fewer|shrink|tighten)", q.text):
            percent = -percent
        month = (q.period.month if q.period and q.period.month else today.replace(day=1)).strftime("%Y-%m")
        args = {"category": category, "month": month, "adjustment_percent": None, "new_limit": None}
        if percent is not None:
            args["adjustment_percent"] = str(percent)
        else:
            args["new_limit"] = str(q.amount)
        return [("simulate_budget", args)]
    if q.intent == "propose_budget":
        month = (q.period.month if q.period and q.period.month else today.replace(day=1)).strftime("%Y-%m")
        return [("propose_budget", {"category": q.category, "month": month, "limit": str(q.amount)})]
    if q.intent == "propose_goal":
        name = _goal_name(q)
        target_date = None
        m = re.search(r"\bby (\w+)( \d{4})?\b", q.text)
        if m and (when := parse_period(f"in {m.group(1)}{m.group(2) or ''}", today)):
            target_date = _iso(add_months(when.start, 1) - dt.timedelta(days=1)) if when.start > today else None
        return [("propose_goal", {"name": name, "target_amount": str(q.amount), "target_date": target_date})]
    if q.intent == "propose_rule":
        pattern = q.merchant or _quoted(q.raw)
        category = _rule_category(q, ctx)
        if not pattern or not category:
            return []
        return [("propose_category_rule", {"pattern": pattern, "category": category})]
    if q.intent in ("portfolio", "securities_advice"):
        if not ctx.get("investment_accounts"):
            return []
        start = q.period.start if q.period else today.replace(month=1, day=1)
        end = q.period.end if q.period else today
        return [("portfolio", {"account": q.extras.get("investment_account"), "date_from": _iso(start),
                               "date_to": _iso(end), "cost_method": None})]
    if q.intent == "net_worth":
        start = q.period.start if q.period else add_months(today.replace(day=1), -11)
        end = q.period.end if q.period else today
        return [("net_worth", {"date_from": _iso(start), "date_to": _iso(end)})]
    if q.intent == "budget_status":
        month = (q.period.month if q.period and q.period.month else
                 (q.period.start.replace(day=1) if q.period else today.replace(day=1)))
        return [("budget_status", {"month": month.strftime("%Y-%m")})]
    if q.intent == "goals":
        return [("goals", {})]
    if q.intent == "recurring":
        return [("recurring_merchants", {"months": 6})]
    if q.intent == "cashflow":
        if q.period is None:
            p = Period(add_months(today.replace(day=1), -5), today, "the last 6 months")
        granularity = "WEEK" if q.focus == "week" else "MONTH"
        return [("cashflow", {"date_from": _iso(p.start), "date_to": _iso(p.end), "granularity": granularity})]
    if q.intent in ("summary",):
        return [("wallet_summary", {"date_from": _iso(each.start), "date_to": _iso(each.end)})
                for each in q.extras.get("periods", [p])]
    if q.intent == "accounts":
        return [("list_accounts", {})]
    if q.intent == "top_categories":
        return [("wallet_summary", period)]
    if q.intent == "category_spend":
        return [("spending_by_category", {"date_from": _iso(each.start), "date_to": _iso(each.end), "category": category})
                for category in q.extras.get("categories", [q.category]) for each in q.extras.get("periods", [p])]
    if q.intent == "category_income":
        return [("search_transactions", {**period, "merchant": None, "text": None, "category": q.category,
                                         "account": None, "direction": "INCOME", "min_amount": None,
                                         "max_amount": None, "order": None})]
    if q.intent in ("merchant_spend", "transactions"):
        start = p.start if q.period or q.intent == "merchant_spend" else dt.date(1900, 1, 1)
        if q.period is None and q.intent == "merchant_spend":
            start = today.replace(day=1)
        order = {"largest": "AMOUNT_ASC", "smallest": "AMOUNT_DESC"}.get(q.focus)
        merchants = q.extras.get("merchants", [q.merchant]) if q.intent == "merchant_spend" else [q.merchant]
        return [("search_transactions", {
            "date_from": _iso(start), "date_to": _iso(p.end), "merchant": merchant, "text": None,
            "category": q.category if not merchant else None, "account": q.account,
            "direction": "EXPENSE" if q.focus in ("largest", "smallest") or q.intent == "merchant_spend" else None,
            "min_amount": None, "max_amount": None, "order": order,
        }) for merchant in merchants]
    return []

def _guess_budget_category(q: Question, ctx: dict[str, Any]) -> str | None:
    if "food" in q.text and "Groceries" in ctx.get("categories", []):
        return "Groceries"
    return None

def _goal_name(q: Question) -> str:
    m = re.search(r"\b(?:for|called|named)\s+(?:a |an |the |my )?([a-z][a-z ]{2,40}?)(?:\s+(?:of|with|by|worth|for)\b|[,.$\d]|$)", q.text)
    if m:
        return m.group(1).strip().capitalize()
    return "Savings goal"

def _quoted(text: str) -> str | None:
    m = re.search(r"[\"“']([^\"”']{2,60})[\"”']", text)
    return m.group(1) if m else None

def _rule_category(q: Question, ctx: dict[str, Any]) -> str | None:
    m = re.search(r"\b(?:as|under|to|into|in)\s+([a-z &]+)$", norm(q.raw))
    if m:
        return find_name(m.group(1), list(ctx.get("categories", [])), synonyms=True, min_len=3)
    return q.category


def _text(content: Any) -> str:
    if isinstance(content, list):
        return " ".join(part.get("text", "") for part in content if isinstance(part, dict))
    return content or ""

def context_of(messages: list[dict[str, Any]]) -> dict[str, Any]:
    for message in messages:
        if message.get("role") == "system":
            text = _text(message.get("content"))
            if CONTEXT_START in text and CONTEXT_END in text:
                return json.loads(text.split(CONTEXT_START, 1)[1].split(CONTEXT_END, 1)[0])
    return {"today": dt.date.today().isoformat(), "categories": [], "merchants": [], "accounts": []}

def respond(messages: list[dict[str, Any]], optional_params: dict[str, Any]) -> tuple[list[tuple[str, dict]], str]:
    """(tool calls to make, text to say) for this turn."""
    ctx = context_of(messages)
    last_user = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=None)
    if last_user is None:
        return [], "Ask me about your spending, income, budgets or goals."
    q = read_question(_text(messages[last_user].get("content")), ctx)
    after = messages[last_user + 1:]
    calls: dict[str, tuple[str, dict[str, Any]]] = {}
    results: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    for message in after:
        for call in message.get("tool_calls") or ():
            function = call["function"] if isinstance(call, dict) else call.function
            name = function["name"] if isinstance(function, dict) else function.name
            arguments = function["arguments"] if isinstance(function, dict) else function.arguments
            call_id = call["id"] if isinstance(call, dict) else call.id
            calls[call_id] = (name, json.loads(arguments or "{}"))
        if message.get("role") == "tool":
            name, args = calls.get(message.get("tool_call_id"), ("unknown", {}))
            try:
                payload = json.loads(_text(message.get("content")))
            except ValueError:
                payload = {"error": "unreadable tool result"}
            results.append((name, args, payload.get("data", payload) if "error" not in payload else payload))
    tools_allowed = bool(optional_params.get("tools")) and optional_params.get("tool_choice") != "none"
    if not after and tools_allowed:
        planned = plan(q, ctx)
        known = {t["function"]["name"] for t in optional_params.get("tools") or ()}
        planned = [(name, args) for name, args in planned if name in known]
        if planned:
            return planned, ""
    return [], write(q, ctx, results)

def _tokens(messages: list[dict[str, Any]], text: str) -> tuple[int, int]:
    prompt = sum(len(_text(m.get("content"))) for m in messages) // 4 + 1
    return prompt, max(1, math.ceil(len(text) / 4))

def _pieces(text: str) -> Iterator[str]:
    words = re.findall(r"\S+\s*", text)
    for i in range(0, len(words), WORDS_PER_CHUNK):
        yield "".join(words[i:i + WORDS_PER_CHUNK])

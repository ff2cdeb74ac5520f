"""Reading a question: its period, the names it mentions (each part of a two-part question), its
amounts, and what it asks for (the intent the planner routes on). Built from the person's message
only, never from tool results or retrieved text.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from finora_gql.assistant.dates import Period, add_months, month_period, parse_period
from finora_gql.assistant.name_matching import find_account, find_name
from finora_gql.assistant.wording import SYNONYMS, amount_in, fix_typos, has, norm, percent_in


@dataclass
class Question:
    raw: str
    text: str  # lower-case, typos fixed
    period: Period | None
    category: str | None = None
    merchant: str | None = None
    account: str | None = None
    percent: Decimal | None = None
    amount: Decimal | None = None
    date: dt.date | None = None
    intent: str = "unknown"
    focus: str = ""
    extras: dict[str, Any] = field(default_factory=dict)


_READ: dict[tuple, Question] = {}

def read_question(raw: str, ctx: dict[str, Any]) -> Question:
    """The question understood (memoized: the same turn is read again when the tools have answered)."""
    key = (raw, ctx.get("today"), tuple(ctx.get("categories", ())), tuple(ctx.get("merchants", ())),
           tuple(ctx.get("accounts", ())), tuple(ctx.get("income_categories", ())), tuple(ctx.get("securities", ())))
    found = _READ.get(key)
    if found is None:
        if len(_READ) > 512:
            _READ.clear()
        found = _READ[key] = _read_question(raw, ctx)
    return found

def _read_question(raw: str, ctx: dict[str, Any]) -> Question:
    today = dt.date.fromisoformat(ctx["today"])
    text = fix_typos(raw)
    q = Question(raw=raw, text=text, period=parse_period(text, today))
    categories = list(ctx.get("categories", []))
    q.category = find_name(text, categories, synonyms=True, min_len=5)
    merchants = list(ctx.get("merchants", []))
    corrected = re.split(r"\b(?:sorry|i mean|i meant|no wait|or rather|actually)\b[,:]?", raw.lower())
    if len(corrected) > 1:
        q.merchant = find_name(corrected[-1], merchants, min_len=4)
    if q.merchant is None and (q.category is None or not has(text, q.category)):
        merchant = find_name(raw.lower(), merchants, min_len=4)
        # With a category named too, the merchant must be named by its whole name or its own first word
        # ("coffee at Philz": Philz Coffee), not only by a word the category shares ("coffee").
        head = norm(merchant or "").split()[:1]
        if merchant is not None and (q.category is None or norm(merchant) in norm(raw) or (
                head and len(head[0]) >= 4 and head[0] in norm(raw).split()
                and head[0] not in {norm(w) for w in SYNONYMS.get(q.category, ())})):
            q.merchant = merchant
            if q.category and not has(text, q.category):
                q.category = None
    q.account = find_account(text, list(ctx.get("accounts", [])))
    if q.account and q.merchant and norm(q.account) == norm(q.merchant):
        q.merchant = None  # "High-Yield Savings" is the account, even if transfers name it as merchant
    q.percent = percent_in(text)
    q.amount = amount_in(text)
    _several(q, ctx, today)
    _intent(q, ctx)
    return q

PARTS = re.compile(r" (?:and|\+|vs|versus|compared to|compared with|or) ")
COMPARED = re.compile(r"\b(vs|versus|compared (to|with)|against|and|than)\b (the )?(month before|previous month|"
                      r"prior month)\b")

def _several(q: Question, ctx: dict[str, Any], today: dt.date) -> None:
    """Two-part questions: "transport and shopping", "uber + lyft", "checking + savings", "last month
    vs the month before". Each part's name (or the earlier month) is asked for separately."""
    parts = PARTS.split(f" {norm(q.text)} ")
    if len(parts) >= 2:
        for key, find in (("categories", lambda part: find_name(part, list(ctx.get("categories", [])), synonyms=True,
                                                                  min_len=5)),
                          ("merchants", lambda part: find_name(part, list(ctx.get("merchants", [])), min_len=4)),
                          ("accounts", lambda part: find_account(part, list(ctx.get("accounts", []))))):
            found = list(dict.fromkeys(name for name in map(find, parts) if name))
            if len(found) >= 2:
                q.extras[key] = found
    if q.period and q.period.month and COMPARED.search(q.text):
        q.extras["periods"] = [q.period, month_period(add_months(q.period.month, -1), today)]


BUY_SELL = re.compile(r"\b(should i|is it (a )?good( time)? to|worth) (buy|sell|invest|short|hold)\b|\b(buy|sell)\b.*\b("
                      r"stock|stocks|shares|crypto|bitcoin|btc|eth|etf|fund|tesla|apple stock|nvidia)\b|\bwhich "
                      r"(stock|stocks|crypto|shares)\b|\bstock tips?\b|\binvest in\b|\b(buy|sell|hold) or (buy|sell|hold)\b|"
                      r"\bgood (investment|buy)\b|\bworth (buying|investing)\b")
# Slang for selling or buying more, advice only when it is about the person's investments.
SELL_SLANG = re.compile(r"\b(dump|ditch|offload|unload|get rid of|cash out of|load up on)\b")
# Where markets or prices are going: nobody's data answers that.
FORECAST = re.compile(r"\bwhat will (the )?(stocks? )?markets? do\b|\b(predict|forecast)\w*\b.*\b(markets?|stocks?|prices?|"
                      r"crypto|bitcoin|interest rates)\b|\bwill (the )?(stocks? )?(market|markets|stocks?|bitcoin|crypto|"
                      r"prices?|\w+ stock) (go|crash|rise|fall|drop|recover|rally)\b")
FACTUAL = re.compile(r"\b(did|have|had) i\b|\bi (bought|sold|invested)\b")  # "how much did I invest in X": a question of fact
INVESTING = re.compile(r"\b(portfolio|holdings?|investments?|invest(ed|ing)?|stocks?|shares|etfs?|brokerage|broker|dividends?|"
                       r"capital gains?|unreali[sz]ed|reali[sz]ed gains?|cost basis|xirr|twr|time weighted|money weighted|"
                       r"securities|positions|rate of return|returns? on|my returns?)\b")

def _security(q: Question, ctx: dict[str, Any]) -> str | None:
    """A symbol of the person's own securities named in the question (any case)."""
    words = set(norm(q.raw).split())
    return next((symbol for symbol in ctx.get("securities", []) if norm(symbol) in words), None)

LEDGER_TOO = {"dividend", "dividends", "returns on", "return on", "my return", "my returns"}  # also ledger words

def _investing(q: Question, ctx: dict[str, Any]) -> bool:
    """A question about investments: their words, a held symbol or an investment account's name.
    Without investment accounts, "dividends" and "returns" are the ledger's (a category, refunds)."""
    if "tax return" in q.text:
        return False
    found = {m.group(0) for m in INVESTING.finditer(q.text.replace("-", " "))}
    if not ctx.get("investment_accounts"):
        found -= LEDGER_TOO
    return bool(found) or q.extras.get("symbol") is not None or q.extras.get("investment_account") is not None

def _intent(q: Question, ctx: dict[str, Any]) -> None:
    t = q.text
    q.extras["symbol"] = _security(q, ctx)
    q.extras["investment_account"] = next((name for name in ctx.get("investment_accounts", []) if has(t, name)), None)
    if FORECAST.search(t):
        q.intent = "forecast"
        return
    if (BUY_SELL.search(t) or (SELL_SLANG.search(t) and _investing(q, ctx))) and not FACTUAL.search(t):
        q.intent = "securities_advice"
        return
    if _investing(q, ctx):
        q.intent = "portfolio"
        q.focus = ("holding" if q.extras["symbol"] else "dividends" if re.search(r"\bdividends?\b", t) else
                   "value" if re.search(r"\b(worth|value|valued|cash|balance|how much (is|are|do i have))\b", t) and
                   not re.search(r"\b(return|gain|doing|perform)", t) else "performance")
        return
    what_if = re.search(r"\bwhat (if|would happen if|happens if)\b|\bif i (cut|reduc|lower|rais|increas|trim|drop|"
                        r"slash|set|change)|\bsimulate\b|\bimpact of\b|\bhow would\b|\bsuppose\b|\bimagine\b|"
                        r"\blet'?s say\b|\bhypothetical", t)
    write = re.search(r"\b(set|create|make|add|change|update|raise|increase|lower|reduce|put)\b.*\bbudget\b|"
                      r"\bbudget\b.*\bto (\$|\d)|\bnew budget\b", t)
    if what_if and (q.percent is not None or q.amount is not None) and (q.category or "budget" in t):
        q.intent = "simulate"
        return
    if re.search(r"\b(create|start|set up|add|make|open)\b.*\b(goal|saving for|save for)\b|\bnew (savings )?goal\b|"
                 r"\bi want to save\b|\bhelp me save\b", t) and q.amount is not None:
        q.intent = "propose_goal"
        return
    if re.search(r"\b(always|automatically|from now on)\b.*\b(categori[sz]e|file|put|mark)\b|\bcategory rule\b|"
                 r"\bcreate (a )?rule\b|\brecategori[sz]e\b", t):
        q.intent = "propose_rule"
        return
    if write and q.category and q.amount is not None and not what_if:
        q.intent = "propose_budget"
        return
    if re.search(r"\b(delete|remove|cancel|transfer|send|pay off|move money|close my|close the)\b", t) and not re.search(
            r"\b(how|what|when|did i|which|where)\b", t):
        q.intent = "unsupported_action"
        return
    if has(t, "net worth", "worth", "wealth"):
        q.intent = "net_worth"
        return
    if re.search(r"\bbudgets?\b|\b(am|was|are|were) (i|we) (over|under)\b", t) or has(
            t, "over budget", "on track", "overspent", "overspend"):
        if q.percent is not None and re.search(r"\b(cut|reduc|lower|rais|increas|trim|drop|slash|went up|go up|"
                                               r"went down|go down)", t):
            q.intent = "simulate"
            return
        q.intent = "budget_status"
        return
    if re.search(r"\bgoals?\b", t) or has(t, "emergency fund", "saving for", "saving up", "japan trip", "laptop"):
        q.intent = "goals"
        return
    if re.search(r"\b(subscriptions?|recurring|repeat(ing)? charges|regular (charges|payments|bills)|monthly bills|"
                 r"every month)\b", t) and not q.merchant and not (q.category and has(t, q.category) and "subscription" not in t):
        q.intent = "recurring"
        return
    if re.search(r"\bcash ?flow\b|\bmonth by month\b|\beach month\b|\bper month\b|\bmonthly breakdown\b|"
                 r"\bby month\b|\bweek by week\b|\bby week\b|\bweekly\b", t):
        q.intent = "cashflow"
        q.focus = "week" if re.search(r"\bweek", t) else "month"
        return
    if re.search(r"\bsavings rate\b|\bhow much (did|have) i\b.*\b(save|saved)\b|\bdid i save\b|\bsave any\b|\bnet\b|"
                 r"\bsurplus\b|\bdeficit\b|\bin the (green|red|black)\b|\bbreak even\b|\bleft over\b|"
                 r"\bspend more than i (earn|earned|made|make)\b|\blive within\b", t):
        q.intent = "summary"
        q.focus = "savings"
        return
    if re.search(r"\b(income|earn|earned|earning|earnings|salary|paid me|get paid|got paid|made|make|bring in|brought in|"
                 r"paycheck|inflow|take home|came in|come in|coming in|money in|receive|received)\b", t) and not q.merchant:
        q.intent = "summary" if not q.category or q.category not in ctx.get("income_categories", []) else "category_income"
        q.focus = "income"
        return
    if re.search(r"\bbalances?\b|\bhow much (money )?(do i have|is in|is left in|have i got|is on|do i owe)\b|"
                 r"\bwhat'?s in my\b|\bwhat is in my\b|\bwhat'?s left in my\b|"
                 r"\bin my (\w+ )?account\b|\baccounts\b|\bowe on\b", t) and not re.search(r"\bspen[dt]\b", t):
        q.intent = "accounts"
        return
    if re.search(r"\b(largest|biggest|most expensive|highest|smallest|cheapest|priciest)\b.*\b(purchases?|transactions?|"
                 r"expenses?|charges?|payments?|spend|buy|bought|thing|things|item|items|order)\b", t):
        q.intent = "transactions"
        q.focus = "smallest" if re.search(r"\b(smallest|cheapest)\b", t) else "largest"
        return
    if re.search(r"\bhow many (times|transactions|purchases|visits)\b|\bhow often\b|\bnumber of\b", t):
        q.intent = "transactions"
        q.focus = "count"
        return
    if re.search(r"\b(show|list|find|search)\b.*\b(transactions?|purchases?|payments?|charges?)\b|\blast (transaction|"
                 r"purchase)\b|\brecent (transactions|purchases)\b", t):
        q.intent = "transactions"
        q.focus = "list"
        return
    if re.search(r"\b(top|biggest|largest|main|most)\b.*\b(categories|category|expenses|spending)\b|\bwhere (does|did|has) "
                 r"(\w+ ){0,3}money (go|gone)\b|\bbreakdown\b|\bby category\b", t) and not q.merchant:
        q.intent = "top_categories"
        q.focus = "top"
        return
    spend = re.search(r"\b(spend|spent|spending|spends|cost|costs|pay|paid|paying|expenses?|outgoings|"
                      r"shell(ed)? out|blow|blew|drop(ped)?|charged)\b", t)
    if q.merchant and (spend or re.search(r"\bat\b|\bon\b|\bfor\b", t)):
        q.intent = "merchant_spend"
        return
    if q.category and (spend or q.period):
        q.intent = "category_spend"
        return
    if spend:
        q.intent = "summary"
        q.focus = "expenses"
        return
    if q.merchant:
        q.intent = "merchant_spend"
        return
    if q.category:
        q.intent = "category_spend"
        return

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
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from finora_gql.assistant.dates import Period, add_months, month_period, parse_period

CONTEXT_START = "<finora-context>"
CONTEXT_END = "</finora-context>"
WORDS_PER_CHUNK = 3

# Words people use for the default categories (used only when the person has that category).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "Groceries": ("grocery", "groceries", "supermarket", "food shopping", "food", "produce"),
    "Restaurants": ("restaurant", "restaurants", "dining", "dining out", "eating out", "eat out", "takeout",
                    "take out", "lunch", "dinner", "coffee", "cafes", "bars", "drinks"),
    "Rent & Mortgage": ("rent", "mortgage", "housing"),
    "Utilities": ("utilities", "utility", "electricity", "electric", "water bill", "internet", "phone bill", "bills"),
    "Transport": ("transport", "transportation", "rides", "ride", "taxi", "taxis", "commute", "transit", "ubers"),
    "Fuel": ("fuel", "gas", "petrol", "gasoline"),
    "Health": ("health", "medical", "doctor", "pharmacy", "dentist", "gym", "fitness"),
    "Insurance": ("insurance",),
    "Shopping": ("shopping", "shops", "clothes", "clothing", "stuff"),
    "Entertainment": ("entertainment", "fun", "movies", "games", "concerts", "going out"),
    "Subscriptions": ("subscription", "subscriptions", "streaming"),
    "Travel": ("travel", "trips", "trip", "vacation", "holiday", "holidays", "hotels", "flights"),
    "Education": ("education", "courses", "books", "school", "tuition"),
    "Gifts & Donations": ("gifts", "gift", "donations", "charity"),
    "Fees & Charges": ("fees", "charges", "bank fees"),
    "Taxes": ("taxes", "tax"),
    "Salary": ("salary", "paycheck", "paychecks", "wages", "pay"),
    "Freelance": ("freelance", "side gig", "consulting"),
}
TYPOS = {"lst": "last", "las": "last", "mnth": "month", "mth": "month", "moth": "month", "monht": "month",
         "yr": "year", "yer": "year", "thsi": "this", "tihs": "this", "spnd": "spend", "spnt": "spent",
         "hw": "how", "hwo": "how", "muc": "much", "mch": "much", "wat": "what", "waht": "what", "wht": "what",
         "dd": "did", "i'm": "i am", "u": "you", "ur": "your", "r": "are", "bugdet": "budget", "budgte": "budget",
         "buget": "budget", "budjet": "budget", "blance": "balance", "balence": "balance", "ballance": "balance",
         "grocries": "groceries", "grocerys": "groceries", "goceries": "groceries", "restaraunts": "restaurants",
         "resturants": "restaurants", "restuarants": "restaurants", "subscriptons": "subscriptions",
         "subcriptions": "subscriptions", "netwroth": "net worth", "networth": "net worth", "incom": "income",
         "icome": "income", "saveings": "savings", "savigns": "savings", "goel": "goal", "goals?": "goals",
         "transportaion": "transportation", "entertainmnet": "entertainment", "spendng": "spending",
         "spedning": "spending", "expences": "expenses", "expenes": "expenses"}
VOCABULARY = ("spend", "spent", "spending", "budget", "budgets", "balance", "balances", "income", "expenses",
              "savings", "saving", "goal", "goals", "month", "year", "week", "last", "this", "subscriptions",
              "recurring", "worth", "cashflow", "accounts", "account", "transactions", "categories", "category",
              "remaining", "left", "earned", "largest", "biggest", "categorize", "categorise", "recategorize",
              "recategorise", "simulate", "weekly", "monthly", "yearly", "purchases", "purchase", "spends", "months",
              "weeks", "years", "expense", "incomes", "goals", "close", "closer", "closest", "expensive", "thing",
              "things", "bought", "least", "recent", "recently", "shopping", "received", "receive", "restaurant",
              "restaurants", "groceries", "grocery", "suppose", "trimmed", "spender", "saver", "savers", "months'",
              "portfolio", "investments", "investment", "dividends", "dividend", "holdings", "stocks", "shares")


def _fix_typos(text: str) -> str:
    out = []
    for token in re.findall(r"[$€]?\d[\d,]*(?:\.\d+)?%?|[\w&'.$%-]+|[^\w\s]", text.lower()):
        fixed = TYPOS.get(token)
        if fixed is None and token.isalpha() and len(token) >= 5 and token not in VOCABULARY:
            close = difflib.get_close_matches(token, VOCABULARY, n=1, cutoff=0.85)
            fixed = close[0] if close else None
        out.append(fixed or token)
    return " ".join(out)


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9+]+", " ", text.lower().replace("'", "")).strip()


# --- reading the question ----------------------------------------------------------------------------


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


def _has(text: str, *phrases: str) -> bool:
    padded = f" {_norm(text)} "
    return any(f" {_norm(p)} " in padded for p in phrases)


def _find_name(text: str, options: list[str], *, synonyms: bool = False, min_len: int = 3) -> str | None:
    """Which of the person's names the question mentions: whole-name match, then synonyms, then
    close spellings of single words and word pairs."""
    padded = f" {_norm(text)} "
    best: tuple[str, str] | None = None  # (option, the phrase that named it): the longest phrase wins
    for option in options:
        name = _norm(option)
        plural = name[:-1] if name.endswith("s") else name + "s"
        for phrase in (name, plural if len(name) >= 4 else ""):
            if phrase and f" {phrase} " in padded and (best is None or len(phrase) > len(best[1])):
                best = (option, phrase)
    if synonyms:
        for option in options:
            for word in SYNONYMS.get(option, ()):
                phrase = _norm(word)
                if f" {phrase} " in padded and (best is None or len(phrase) > len(best[1])):
                    best = (option, phrase)
    if best:
        return best[0]
    words = padded.split()
    grams = words + [" ".join(words[i:i + 2]) for i in range(len(words) - 1)] + [
        " ".join(words[i:i + 3]) for i in range(len(words) - 2)]
    index = _name_index(tuple(options))
    best_score, best_option = 0.0, None
    for gram in grams:
        if len(gram) < min_len or gram in STOP:
            continue
        if gram in index.heads:
            return index.heads[gram]
        size = len(gram.split())
        shared: dict[int, int] = {}
        for trigram in _trigrams(gram):
            for target_id in index.by_trigram.get(trigram, ()):
                shared[target_id] = shared.get(target_id, 0) + 1
        for target_id, count in shared.items():
            target, option, penalty, words_in = index.targets[target_id]
            if count < 2 or (penalty and not (size == words_in and (size >= 2 or len(gram) >= 5))):
                continue
            floor = max(best_score, 0.84) + penalty
            if gram[0] != target[0]:  # a typo rarely hits the first letter; "right" is not "bright"
                continue
            if 2 * min(len(gram), len(target)) / (len(gram) + len(target)) <= floor:
                continue
            score = difflib.SequenceMatcher(None, gram, target).ratio() - penalty
            if score > best_score:
                best_score, best_option = score, option
    return best_option if best_score >= 0.84 else None  # noqa: RET504


@dataclass(frozen=True)
class _NameIndex:
    heads: dict[str, str]  # a distinctive first word ("starbucks") -> its one name
    targets: list[tuple[str, str, float, int]]  # (text, option, penalty, words) to compare a phrase with
    by_trigram: dict[str, list[int]]


def _trigrams(text: str) -> set[str]:
    padded = f" {text} "
    return {padded[i:i + 3] for i in range(len(padded) - 2)}


@functools.lru_cache(maxsize=64)
def _name_index(options: tuple[str, ...]) -> _NameIndex:
    """What fuzzy matching compares a question's phrases with, built once per list of names: each
    name, and each start of a name nobody else's starts with ("blue bottle" for "Blue Bottle
    Coffee", slightly penalised); a phrase is compared only with targets sharing two trigrams."""
    normalized = {_norm(o): o for o in options}
    starts: dict[str, str | None] = {}
    for name, option in normalized.items():
        parts = name.split()
        for size in range(1, len(parts)):
            prefix = " ".join(parts[:size])
            starts[prefix] = option if prefix not in starts else None
    heads = {prefix: option for prefix, option in starts.items()
             if option is not None and " " not in prefix and len(prefix) >= 5}
    targets = [(name, option, 0.0, len(name.split())) for name, option in normalized.items()]
    targets += [(prefix, option, 0.02, len(prefix.split())) for prefix, option in starts.items() if option is not None]
    by_trigram: dict[str, list[int]] = {}
    for target_id, target in enumerate(targets):
        for trigram in _trigrams(target[0]):
            by_trigram.setdefault(trigram, []).append(target_id)
    return _NameIndex(heads, targets, by_trigram)


STOP = {"what", "much", "spend", "spent", "spending", "this", "that", "last", "month", "year", "with", "from", "have",
        "about", "budget", "money", "total", "there", "their", "which", "where", "when", "into", "make", "made",
        "show", "list", "tell", "give", "account", "accounts", "balance", "income", "goal", "goals", "cost", "costs",
        "week", "days", "many", "times", "every", "each", "more", "less", "over", "under", "left", "still",
        "save", "saved", "savings", "would", "could", "should", "if i", "by", "cut", "what if", "the", "and", "for",
        "my", "in", "on", "at", "to", "did", "do", "i", "me", "how", "was", "is", "are", "of", "a", "an"}


def _amount(text: str) -> Decimal | None:
    m = re.search(r"(?:\$|usd |eur |€)\s?(\d[\d,]*(?:\.\d+)?)|(\d[\d,]*(?:\.\d+)?)\s?(?:dollars|usd|bucks|eur|euros|\$)", text)
    if not m:
        m = re.search(r"\bto (\d[\d,]*(?:\.\d+)?)\b(?!\s?%)", text)
    if not m:
        return None
    try:
        return Decimal((m.group(1) or m.group(2) or "").replace(",", ""))
    except (InvalidOperation, IndexError):
        return None


def _percent(text: str) -> Decimal | None:
    m = re.search(r"(\d+(?:\.\d+)?)\s?(?:%|percent|per cent|pct)", text)
    if m:
        return Decimal(m.group(1))
    for word, value in (("half", 50), ("a third", Decimal("33.33")), ("a quarter", 25), ("a fifth", 20), ("a tenth", 10)):
        if word in text:
            return Decimal(value)
    return None


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
    text = _fix_typos(raw)
    q = Question(raw=raw, text=text, period=parse_period(text, today))
    categories = list(ctx.get("categories", []))
    q.category = _find_name(text, categories, synonyms=True, min_len=5)
    merchants = list(ctx.get("merchants", []))
    corrected = re.split(r"\b(?:sorry|i mean|i meant|no wait|or rather|actually)\b[,:]?", raw.lower())
    if len(corrected) > 1:
        q.merchant = _find_name(corrected[-1], merchants, min_len=4)
    if q.merchant is None and (q.category is None or not _has(text, q.category)):
        merchant = _find_name(raw.lower(), merchants, min_len=4)
        # With a category named too, the merchant must be named by its whole name or its own first word
        # ("coffee at Philz": Philz Coffee), not only by a word the category shares ("coffee").
        head = _norm(merchant or "").split()[:1]
        if merchant is not None and (q.category is None or _norm(merchant) in _norm(raw) or (
                head and len(head[0]) >= 4 and head[0] in _norm(raw).split()
                and head[0] not in {_norm(w) for w in SYNONYMS.get(q.category, ())})):
            q.merchant = merchant
            if q.category and not _has(text, q.category):
                q.category = None
    q.account = _find_account(text, list(ctx.get("accounts", [])))
    if q.account and q.merchant and _norm(q.account) == _norm(q.merchant):
        q.merchant = None  # "High-Yield Savings" is the account, even if transfers name it as merchant
    q.percent = _percent(text)
    q.amount = _amount(text)
    _several(q, ctx, today)
    _intent(q, ctx)
    return q


PARTS = re.compile(r" (?:and|\+|vs|versus|compared to|compared with|or) ")
COMPARED = re.compile(r"\b(vs|versus|compared (to|with)|against|and|than)\b (the )?(month before|previous month|"
                      r"prior month)\b")


def _several(q: Question, ctx: dict[str, Any], today: dt.date) -> None:
    """Two-part questions: "transport and shopping", "uber + lyft", "checking + savings", "last month
    vs the month before". Each part's name (or the earlier month) is asked for separately."""
    parts = PARTS.split(f" {_norm(q.text)} ")
    if len(parts) >= 2:
        for key, find in (("categories", lambda part: _find_name(part, list(ctx.get("categories", [])), synonyms=True,
                                                                  min_len=5)),
                          ("merchants", lambda part: _find_name(part, list(ctx.get("merchants", [])), min_len=4)),
                          ("accounts", lambda part: _find_account(part, list(ctx.get("accounts", []))))):
            found = list(dict.fromkeys(name for name in map(find, parts) if name))
            if len(found) >= 2:
                q.extras[key] = found
    if q.period and q.period.month and COMPARED.search(q.text):
        q.extras["periods"] = [q.period, month_period(add_months(q.period.month, -1), today)]


ACCOUNT_WORDS = {"checking": ("checking", "current account"), "savings": ("savings", "saving account"),
                 "credit": ("credit card", "card"), "euro": ("euro", "eur")}


def _find_account(text: str, accounts: list[str]) -> str | None:
    direct = _find_name(text, accounts, min_len=6)
    if direct:
        return direct
    for key, words in ACCOUNT_WORDS.items():
        if _has(text, *words):
            matches = [a for a in accounts if key in a.lower() or any(w in a.lower() for w in words)]
            if len(matches) == 1:
                return matches[0]
    return None


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
    words = set(_norm(q.raw).split())
    return next((symbol for symbol in ctx.get("securities", []) if _norm(symbol) in words), None)


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
    q.extras["investment_account"] = next((name for name in ctx.get("investment_accounts", []) if _has(t, name)), None)
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
    if _has(t, "net worth", "worth", "wealth"):
        q.intent = "net_worth"
        return
    if re.search(r"\bbudgets?\b|\b(am|was|are|were) (i|we) (over|under)\b", t) or _has(
            t, "over budget", "on track", "overspent", "overspend"):
        if q.percent is not None and re.search(r"\b(cut|reduc|lower|rais|increas|trim|drop|slash|went up|go up|"
                                               r"went down|go down)", t):
            q.intent = "simulate"
            return
        q.intent = "budget_status"
        return
    if re.search(r"\bgoals?\b", t) or _has(t, "emergency fund", "saving for", "saving up", "japan trip", "laptop"):
        q.intent = "goals"
        return
    if re.search(r"\b(subscriptions?|recurring|repeat(ing)? charges|regular (charges|payments|bills)|monthly bills|"
                 r"every month)\b", t) and not q.merchant and not (q.category and _has(t, q.category) and "subscription" not in t):
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
    m = re.search(r"\b(?:as|under|to|into|in)\s+([a-z &]+)$", _norm(q.raw))
    if m:
        return _find_name(m.group(1), list(ctx.get("categories", [])), synonyms=True, min_len=3)
    return q.category


# --- writing the answer -------------------------------------------------------------------------------


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
    wanted = [g for g in goals if _norm(g["name"]) in _norm(q.text) or any(
        len(w) > 3 and w in _norm(q.text).split() for w in _norm(g["name"]).split())]
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


# --- the conversation, as litellm hands it over -------------------------------------------------------


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

"""How people write about money, for the offline planner: the words they use for the default
categories, their usual typos (fixed before reading), and the amounts and percentages in a question.
"""

from __future__ import annotations

import difflib
import re
from decimal import Decimal, InvalidOperation

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

def fix_typos(text: str) -> str:
    out = []
    for token in re.findall(r"[$€]?\d[\d,]*(?:\.\d+)?%?|[\w&'.$%-]+|[^\w\s]", text.lower()):
        fixed = TYPOS.get(token)
        if fixed is None and token.isalpha() and len(token) >= 5 and token not in VOCABULARY:
            close = difflib.get_close_matches(token, VOCABULARY, n=1, cutoff=0.85)
            fixed = close[0] if close else None
        out.append(fixed or token)
    return " ".join(out)

def norm(text: str) -> str:
    return re.sub(r"[^a-z0-9+]+", " ", text.lower().replace("'", "")).strip()


def has(text: str, *phrases: str) -> bool:
    padded = f" {norm(text)} "
    return any(f" {norm(p)} " in padded for p in phrases)


def amount_in(text: str) -> Decimal | None:
    m = re.search(r"(?:\$|usd |eur |€)\s?(\d[\d,]*(?:\.\d+)?)|(\d[\d,]*(?:\.\d+)?)\s?(?:dollars|usd|bucks|eur|euros|\$)", text)
    if not m:
        m = re.search(r"\bto (\d[\d,]*(?:\.\d+)?)\b(?!\s?%)", text)
    if not m:
        return None
    try:
        return Decimal((m.group(1) or m.group(2) or "").replace(",", ""))
    except (InvalidOperation, IndexError):
        return None

def percent_in(text: str) -> Decimal | None:
    m = re.search(r"(\d+(?:\.\d+)?)\s?(?:%|percent|per cent|pct)", text)
    if m:
        return Decimal(m.group(1))
    for word, value in (("half", 50), ("a third", Decimal("33.33")), ("a quarter", 25), ("a fifth", 20), ("a tenth", 10)):
        if word in text:
            return Decimal(value)
    return None

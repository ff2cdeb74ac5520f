"""The tools' strict JSON schemas, with the person's own category and account names as enums
where the list is short.
"""

from __future__ import annotations

from typing import Any

from finora_gql.assistant.tools.names import Names

MAX_ENUM = 60  # names listed as an enum in a schema; longer lists are free text, matched fuzzily


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

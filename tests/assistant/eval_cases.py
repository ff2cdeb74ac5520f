"""The evaluation set: questions about the demo person's money, phrased the way people phrase them
(typos, relative dates, their own names), each with the GraphQL figures the reply must contain."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

Expect = Callable[["Api"], Awaitable[list[Decimal]]]


@dataclass(frozen=True)
class Case:
    question: str
    expect: Expect
    topic: str
    says: tuple[str, ...] = ()  # words the reply must contain (a refusal, a proposal to confirm)


def month_start(day: dt.date, back: int = 0) -> dt.date:
    index = day.year * 12 + day.month - 1 - back
    return dt.date(index // 12, index % 12 + 1, 1)


def month_end(first: dt.date) -> dt.date:
    return first.replace(day=calendar.monthrange(first.year, first.month)[1])


def named_month(today: dt.date, month: int) -> dt.date:
    """"in March": this year's March if it has begun, else last year's."""
    return dt.date(today.year if month <= today.month else today.year - 1, month, 1)


class Api:
    """The figures the rest of the API shows, through GraphQL."""

    def __init__(self, gql: Callable[..., Awaitable[dict[str, Any]]], today: dt.date) -> None:
        self.gql, self.today = gql, today
        self._categories: dict[str, str] | None = None

    async def data(self, query: str, **variables: Any) -> dict[str, Any]:
        body = await self.gql(query, variables)
        assert "errors" not in body, body
        return body["data"]

    async def category_id(self, name: str) -> str:
        if self._categories is None:
            rows = (await self.data("{ categories { id name } }"))["categories"]
            self._categories = {row["name"]: row["id"] for row in rows}
        return self._categories[name]

    async def summary(self, start: dt.date, end: dt.date) -> dict[str, Any]:
        return (await self.data("""query($f: Date!, $t: Date!) { walletSummary(from: $f, to: $t) {
          totalIncome totalExpenses net savingsRate totalBalance topCategories { name amount } } }""",
                                f=str(start), t=str(end)))["walletSummary"]

    async def budget(self, month: dt.date) -> dict[str, Any]:
        return (await self.data("""query($m: Date!) { budgetStatus(month: $m) { totalLimit totalSpent totalRemaining
          lines { category { name } limit spent remaining rolledOver } } }""", m=str(month)))["budgetStatus"]

    async def spent(self, month: dt.date, category: str) -> Decimal:
        status = await self.budget(month)
        return Decimal(next(line["spent"] for line in status["lines"] if line["category"]["name"] == category))

    async def balances(self) -> dict[str, Decimal]:
        rows = (await self.data("{ accounts { name currentBalance } }"))["accounts"]
        return {row["name"]: Decimal(row["currentBalance"]) for row in rows}

    async def net_worth(self, start: dt.date, end: dt.date) -> Decimal:
        points = (await self.data("""query($f: Date!, $t: Date!) { netWorth(from: $f, to: $t) { points { date value } } }""",
                                  f=str(start), t=str(end)))["netWorth"]["points"]
        return Decimal(points[-1]["value"])

    async def goals(self) -> dict[str, dict[str, Any]]:
        rows = (await self.data("{ goals { name progress targetAmount remaining } }"))["goals"]
        return {row["name"]: row for row in rows}

    async def simulate(self, category: str, percent: str, month: dt.date) -> dict[str, Any]:
        body = await self.data("""query($i: SimulateBudgetInput!) { simulateBudget(input: $i) {
          simulation { originalLimit adjustedLimit averageSpending projectedSpending freedPerMonth }
          errors { message } } }""", i={"categoryId": await self.category_id(category), "adjustmentPercent": percent,
                                        "month": str(month)})
        payload = body["simulateBudget"]
        assert payload["errors"] == [], payload
        return payload["simulation"]

    async def merchant(self, merchant: str, start: dt.date, end: dt.date) -> tuple[Decimal, int]:
        total, count, after = Decimal(0), 0, None
        while True:
            body = await self.data("""query($f: TransactionFilter, $a: String) { transactions(first: 100, after: $a,
              filter: $f) { edges { node { amount merchant } } pageInfo { hasNextPage endCursor } } }""",
                                   f={"search": " ".join(w for w in merchant.split() if w.isalnum()),
                                      "dateFrom": str(start), "dateTo": str(end),
                                      "direction": "EXPENSE"}, a=after)
            page = body["transactions"]
            for edge in page["edges"]:
                if (edge["node"]["merchant"] or "").lower() == merchant.lower():
                    total += Decimal(edge["node"]["amount"])
                    count += 1
            if not page["pageInfo"]["hasNextPage"]:
                return -total, count
            after = page["pageInfo"]["endCursor"]

    async def largest(self, start: dt.date, end: dt.date) -> Decimal:
        body = await self.data("""query($f: TransactionFilter) { transactions(first: 1, filter: $f, orderBy: AMOUNT_ASC) {
          edges { node { amount } } } }""", f={"dateFrom": str(start), "dateTo": str(end), "direction": "EXPENSE"})
        return -Decimal(body["transactions"]["edges"][0]["node"]["amount"])

    async def cashflow(self, start: dt.date, end: dt.date) -> list[dict[str, Any]]:
        return (await self.data("""query($f: Date!, $t: Date!) { cashflow(from: $f, to: $t, granularity: MONTH) {
          buckets { period income expenses net } } }""", f=str(start), t=str(end)))["cashflow"]["buckets"]


    async def portfolio(self, start: dt.date, end: dt.date) -> dict[str, Any]:
        return (await self.data("""query($f: Date!, $t: Date!) { portfolio(from: $f, to: $t) { value startValue cash
          costBasis unrealizedGain realizedGain dividends interest fees taxes netInflow totalReturn twr { cumulative }
          xirr { rate } holdings { symbol quantity price value costBasis unrealizedGain } } }""",
                                f=str(start), t=str(end)))["portfolio"]


def _d(value: Any) -> Decimal:
    return Decimal(str(value))


def cases(today: dt.date) -> list[Case]:
    this = month_start(today)
    last = month_start(today, 1)
    last_end = month_end(last)
    year = dt.date(today.year, 1, 1)
    two_ago = month_start(today, 2)
    march, october = named_month(today, 3), named_month(today, 10)
    sept = named_month(today, 9)
    out: list[Case] = []

    def add(topic: str, question: str, expect: Expect) -> None:
        out.append(Case(question, expect, topic))

    # Spending in one of their categories, one month (budgetStatus.lines.spent).
    for question, month, category in (
        ("How much did I spend on groceries last month?", last, "Groceries"),
        ("how much did i spend on grocries lst month", last, "Groceries"),
        ("What did eating out cost me last month?", last, "Restaurants"),
        ("restaurant spending this month?", this, "Restaurants"),
        ("How much went on transport in the previous month", last, "Transport"),
        ("shopping spend this month", this, "Shopping"),
        ("How much did I spend on entertainment last month?", last, "Entertainment"),
        ("What were my utilities in October?", october, "Utilities"),
        ("Groceries in March?", march, "Groceries"),
        ("how much have I spent on food shopping so far this month", this, "Groceries"),
        ("what did I spend on restaurants in september", sept, "Restaurants"),
        ("Shopping two months ago", two_ago, "Shopping"),
    ):
        add("category", question, lambda api, m=month, c=category: _one(api.spent(m, c)))

    # Income, spending, savings over a period (walletSummary).
    for question, start, end, field in (
        ("How much did I earn last month?", last, last_end, "totalIncome"),
        ("what was my income this year", year, today, "totalIncome"),
        ("How much did I make in March?", march, month_end(march), "totalIncome"),
        ("whats my incom so far this month", this, today, "totalIncome"),
        ("How much did I spend in total last month?", last, last_end, "totalExpenses"),
        ("total expenses this year?", year, today, "totalExpenses"),
        ("How much did I spend in October", october, month_end(october), "totalExpenses"),
        ("how much did I save last month", last, last_end, "net"),
        ("did I save any money this year?", year, today, "net"),
    ):
        add("summary", question, lambda api, s=start, e=end, f=field: _summary(api, s, e, f))
    add("summary", "What's my savings rate this year?",
        lambda api: _rate(api, year, today))
    add("summary", "savings rate last month?", lambda api: _rate(api, last, last_end))

    # Balances (accounts).
    for question, names in (
        ("What's the balance of my savings account?", ["High-Yield Savings"]),
        ("how much is in my checking account", ["Everyday Checking"]),
        ("What's the balance on my Travel Rewards Card?", ["Travel Rewards Card"]),
        ("How much money do I have in my euro account?", ["Euro Account"]),
        ("What are my account balances?", ["Everyday Checking", "High-Yield Savings", "Travel Rewards Card", "Euro Account"]),
        ("show me all my balances", ["Everyday Checking", "High-Yield Savings", "Travel Rewards Card", "Euro Account"]),
    ):
        add("balance", question, lambda api, n=names: _balances(api, n))

    # Net worth.
    add("net_worth", "What's my net worth?", lambda api: _one(api.net_worth(month_start(today, 11), today)))
    add("net_worth", "whats my networth", lambda api: _one(api.net_worth(month_start(today, 11), today)))
    add("net_worth", "How has my net worth changed this year?", lambda api: _one(api.net_worth(year, today)))

    # Budgets (budgetStatus).
    add("budget", "Am I over budget this month?", lambda api: _budget_totals(api, this))
    add("budget", "how did my budgets do last month", lambda api: _budget_totals(api, last))
    add("budget", "How much is left in my groceries budget this month?", lambda api: _budget_line(api, this, "Groceries"))
    add("budget", "restaurants budget last month?", lambda api: _budget_line(api, last, "Restaurants"))
    add("budget", "how's my shoping budget doing", lambda api: _budget_line(api, this, "Shopping"))
    add("budget", "Did I stay within my transport budget in October?", lambda api: _budget_line(api, october, "Transport"))

    # Goals.
    add("goals", "How are my goals going?", lambda api: _goals(api, None))
    add("goals", "how close am I to my emergency fund goal", lambda api: _goals(api, "Emergency fund"))
    add("goals", "Japan trip goal progress?", lambda api: _goals(api, "Japan trip"))
    add("goals", "how far along is my goal for the new laptop", lambda api: _goals(api, "New laptop"))

    # What-if (simulateBudget).
    for question, category, percent in (
        ("What if I cut my food budget by 20%?", "Groceries", "-20"),
        ("what if i reduce my restaurants budget by 10 percent", "Restaurants", "-10"),
        ("What happens if I raise my shopping budget by 15%?", "Shopping", "15"),
        ("What if I cut my entertainment budget by half?", "Entertainment", "-50"),
        ("if I cut transport budget by 25% what happens", "Transport", "-25"),
    ):
        add("simulate", question, lambda api, c=category, p=percent: _simulate(api, c, p, this))

    # Merchants (transactions, summed).
    for question, merchant, start, end in (
        ("How much did I spend at Starbucks last month?", "Starbucks", last, last_end),
        ("how much did i spend at starbuks this year", "Starbucks", year, today),
        ("What did Netflix cost me this year?", "Netflix", year, today),
        ("How much at Whole Foods in March?", "Whole Foods Market", march, month_end(march)),
        ("trader joes last month?", "Trader Joe's", last, last_end),
        ("How much did I spend at Costco this year?", "Costco", year, today),
        ("what have I paid to uber this year", "Uber", year, today),
        ("How much did Spotify charge me this year?", "Spotify", year, today),
        ("money spent at Target in October", "Target", october, month_end(october)),
        ("how much did the gym cost me this year? gym plus", "Gym Plus", year, today),
    ):
        add("merchant", question, lambda api, m=merchant, s=start, e=end: _merchant(api, m, s, e))
    add("merchant_count", "How many times did I go to Blue Bottle Coffee last month?",
        lambda api: _merchant_count(api, "Blue Bottle Coffee", last, last_end))
    add("merchant_count", "how many transactions at Chipotle this year",
        lambda api: _merchant_count(api, "Chipotle", year, today))

    # Largest purchase, top categories, cash flow, recurring.
    add("largest", "What was my biggest purchase last month?", lambda api: _one(api.largest(last, last_end)))
    add("largest", "largest expense this year?", lambda api: _one(api.largest(year, today)))
    add("top", "Where did my money go last month?", lambda api: _top(api, last, last_end))
    add("top", "What are my top spending categories this year?", lambda api: _top(api, year, today))
    add("cashflow", "Show my cash flow month by month since September", lambda api: _cashflow(api, sept, today))
    add("recurring", "What subscriptions do I have?", lambda api: _const(["15.49", "11.99", "2.99", "17.00"]))
    add("recurring", "which recurring charges am I paying every month", lambda api: _const(["15.49", "11.99"]))

    # Investments (portfolio): the demo's Brokerage account.
    last_year = (dt.date(today.year - 1, 1, 1), dt.date(today.year - 1, 12, 31))
    add("portfolio", "how are my investments doing this year",
        lambda api: _portfolio(api, year, today, "value", "totalReturn", "twr"))
    add("portfolio", "What's my portfolio worth?", lambda api: _portfolio(api, year, today, "value", "cash"))
    add("portfolio", "my return on VWRL since January",
        lambda api: _holding(api, year, today, "VWRL", "value", "unrealizedGain"))
    add("portfolio", "how much did I get in dividends last year",
        lambda api: _portfolio(api, *last_year, "dividends"))
    add("portfolio", "should I sell my Apple shares?", lambda api: _holding(api, year, today, "AAPL", "value"))
    add("portfolio", "What are my holdings?", lambda api: _holding(api, year, today, None, "value"))
    add("portfolio", "dividends this year?", lambda api: _portfolio(api, year, today, "dividends"))
    add("portfolio", "how much have I paid in fees on my investments this year",
        lambda api: _portfolio(api, year, today, "fees"))
    return out


async def _one(value: Awaitable[Decimal]) -> list[Decimal]:
    return [await value]


async def _const(values: list[str]) -> list[Decimal]:
    return [Decimal(v) for v in values]


async def _summary(api: Api, start: dt.date, end: dt.date, field: str) -> list[Decimal]:
    return [abs(_d((await api.summary(start, end))[field]))]


async def _rate(api: Api, start: dt.date, end: dt.date) -> list[Decimal]:
    rate = (await api.summary(start, end))["savingsRate"]
    return [(_d(rate) * 100).quantize(Decimal("0.01"))]


async def _balances(api: Api, names: list[str]) -> list[Decimal]:
    balances = await api.balances()
    return [balances[name] for name in names]


async def _budget_totals(api: Api, month: dt.date) -> list[Decimal]:
    status = await api.budget(month)
    return [_d(status["totalLimit"]), _d(status["totalSpent"]), _d(status["totalRemaining"])]


async def _budget_line(api: Api, month: dt.date, category: str) -> list[Decimal]:
    status = await api.budget(month)
    line = next(line for line in status["lines"] if line["category"]["name"] == category)
    return [_d(line["limit"]), _d(line["spent"]), abs(_d(line["remaining"]))]


async def _goals(api: Api, name: str | None) -> list[Decimal]:
    goals = await api.goals()
    chosen = [goals[name]] if name else list(goals.values())
    return [v for g in chosen for v in (_d(g["progress"]), _d(g["targetAmount"]))]


async def _simulate(api: Api, category: str, percent: str, month: dt.date) -> list[Decimal]:
    s = await api.simulate(category, percent, month)
    return [_d(s["adjustedLimit"]), _d(s["averageSpending"]), _d(s["projectedSpending"])]


async def _merchant(api: Api, merchant: str, start: dt.date, end: dt.date) -> list[Decimal]:
    total, _ = await api.merchant(merchant, start, end)
    return [total]


async def _merchant_count(api: Api, merchant: str, start: dt.date, end: dt.date) -> list[Decimal]:
    total, count = await api.merchant(merchant, start, end)
    return [Decimal(count), total]


async def _top(api: Api, start: dt.date, end: dt.date) -> list[Decimal]:
    top = (await api.summary(start, end))["topCategories"]
    return [_d(row["amount"]) for row in top[:3]]


async def _cashflow(api: Api, start: dt.date, end: dt.date) -> list[Decimal]:
    buckets = await api.cashflow(start, end)
    return [abs(_d(b[k])) for b in buckets[:2] for k in ("income", "expenses")]


async def _portfolio(api: Api, start: dt.date, end: dt.date, *fields: str) -> list[Decimal]:
    """Money figures as given; `twr` and `xirr` rates as percentages (the reply's form)."""
    p = await api.portfolio(start, end)
    values = []
    for field in fields:
        if field == "twr":
            values.append(_d(p["twr"]["cumulative"]) * 100)
        elif field == "xirr":
            values.append(_d(p["xirr"]["rate"]) * 100)
        else:
            values.append(_d(p[field]))
    return values


async def _holding(api: Api, start: dt.date, end: dt.date, symbol: str | None, *fields: str) -> list[Decimal]:
    holdings = (await api.portfolio(start, end))["holdings"]
    return [_d(h[f]) for h in holdings if symbol in (None, h["symbol"]) for f in fields]


def holdout_cases(today: dt.date) -> list[Case]:
    """Written after the planner was tuned on `cases` and never tuned on: its score is reported
    as a check of how well the planner generalises, not asserted at the same bar."""
    this = month_start(today)
    last = month_start(today, 1)
    last_end = month_end(last)
    year = dt.date(today.year, 1, 1)
    august = named_month(today, 8)
    out: list[Case] = []

    def add(topic: str, question: str, expect: Expect) -> None:
        out.append(Case(question, expect, topic))

    add("category", "Could you tell me what I paid for groceries in August?", lambda api: _one(api.spent(august, "Groceries")))
    add("category", "restaraunts - how much this month??", lambda api: _one(api.spent(this, "Restaurants")))
    add("category", "transport costs last month pls", lambda api: _one(api.spent(last, "Transport")))
    add("category", "my entertainment spending in august", lambda api: _one(api.spent(august, "Entertainment")))
    add("summary", "what came in last month", lambda api: _summary(api, last, last_end, "totalIncome"))
    add("summary", "How much money did I bring in this year?", lambda api: _summary(api, year, today, "totalIncome"))
    add("summary", "what did I spend altogether in august", lambda api: _summary(api, august, month_end(august), "totalExpenses"))
    add("summary", "Was I in the green last month?", lambda api: _summary(api, last, last_end, "net"))
    add("balance", "checking balance?", lambda api: _balances(api, ["Everyday Checking"]))
    add("balance", "how much is on the credit card right now", lambda api: _balances(api, ["Travel Rewards Card"]))
    add("net_worth", "what am I worth", lambda api: _one(api.net_worth(month_start(today, 11), today)))
    add("budget", "Is my groceries budget ok this month?", lambda api: _budget_line(api, this, "Groceries"))
    add("budget", "budget status for last month please", lambda api: _budget_totals(api, last))
    add("goals", "emergency fund progress", lambda api: _goals(api, "Emergency fund"))
    add("simulate", "Suppose I trimmed my restaurant budget by 30%", lambda api: _simulate(api, "Restaurants", "-30", this))
    add("simulate", "what if my grocery budget went up 10%?", lambda api: _simulate(api, "Groceries", "10", this))
    add("merchant", "How much have I given Amazon... sorry, Target, this year?", lambda api: _merchant(api, "Target", year, today))
    add("merchant", "sweetgreen last month?", lambda api: _merchant(api, "Sweetgreen", last, last_end))
    add("merchant", "What did I spend at Safeway in August", lambda api: _merchant(api, "Safeway", august, month_end(august)))
    add("merchant_count", "how often did I order from Chipotle last month", lambda api: _merchant_count(api, "Chipotle", last, last_end))
    add("largest", "what's the most expensive thing I bought in August", lambda api: _one(api.largest(august, month_end(august))))
    add("recurring", "list my monthly subscriptions", lambda api: _const(["15.49", "11.99"]))
    return out


def fresh_cases(today: dt.date) -> list[Case]:
    """A second held-out batch, written after the first one had been used to fix phrasing gaps
    (first run 20/22; its gaps were fixed afterwards)."""
    this = month_start(today)
    last = month_start(today, 1)
    last_end = month_end(last)
    year = dt.date(today.year, 1, 1)
    july = named_month(today, 7)
    out: list[Case] = []

    def add(topic: str, question: str, expect: Expect) -> None:
        out.append(Case(question, expect, topic))

    add("category", "How much went on groceries in July?", lambda api: _one(api.spent(july, "Groceries")))
    add("category", "what's my utilities spend for last month", lambda api: _one(api.spent(last, "Utilities")))
    add("category", "Dining out this month - how bad is it?", lambda api: _one(api.spent(this, "Restaurants")))
    add("category", "tell me my shopping total for july", lambda api: _one(api.spent(july, "Shopping")))
    add("summary", "How much did I get paid last month?", lambda api: _summary(api, last, last_end, "totalIncome"))
    add("summary", "total income in july", lambda api: _summary(api, july, month_end(july), "totalIncome"))
    add("summary", "What were my total outgoings last month?", lambda api: _summary(api, last, last_end, "totalExpenses"))
    add("summary", "how much did i manage to save in july", lambda api: _summary(api, july, month_end(july), "net"))
    add("summary", "what percentage of my income did I save this year", lambda api: _rate(api, year, today))
    add("balance", "What's in my High-Yield Savings?", lambda api: _balances(api, ["High-Yield Savings"]))
    add("balance", "how much cash do I have across my accounts", lambda api: _balances(
        api, ["Everyday Checking", "High-Yield Savings", "Travel Rewards Card", "Euro Account"]))
    add("net_worth", "tell me my net worth", lambda api: _one(api.net_worth(month_start(today, 11), today)))
    add("budget", "am i on track with my budgets this month", lambda api: _budget_totals(api, this))
    add("budget", "How much room is left in the entertainment budget?", lambda api: _budget_line(api, this, "Entertainment"))
    add("goals", "When will I hit my Japan trip goal?", lambda api: _goals(api, "Japan trip"))
    add("simulate", "What would happen if I lowered my transport budget by 20 percent?",
        lambda api: _simulate(api, "Transport", "-20", this))
    add("simulate", "if I increase my entertainment budget by 50%, what happens?",
        lambda api: _simulate(api, "Entertainment", "50", this))
    add("merchant", "How much did I spend on Lyft last month?", lambda api: _merchant(api, "Lyft", last, last_end))
    add("merchant", "what have my Starbucks runs cost me in July", lambda api: _merchant(api, "Starbucks", july, month_end(july)))
    add("merchant", "IKEA spending this year", lambda api: _merchant(api, "IKEA", year, today))
    add("merchant_count", "How many times did I buy from CVS Pharmacy this year?",
        lambda api: _merchant_count(api, "CVS Pharmacy", year, today))
    add("largest", "biggest single expense last month", lambda api: _one(api.largest(last, last_end)))
    return out


def third_cases(today: dt.date) -> list[Case]:
    """A third held-out batch (session 19), written before its first run; a few are about
    investments, which the earlier batches could not ask. First run 20/23; the three phrasings it
    exposed ("the month before last", "last weekend", "coffee at Philz") were fixed afterwards."""
    this = month_start(today)
    last = month_start(today, 1)
    last_end = month_end(last)
    two_ago = month_start(today, 2)
    year = dt.date(today.year, 1, 1)
    last_year = (dt.date(today.year - 1, 1, 1), dt.date(today.year - 1, 12, 31))
    november = named_month(today, 11)
    saturday = today - dt.timedelta(days=today.weekday() + 2)  # last weekend: the Saturday and Sunday before this week
    out: list[Case] = []

    def add(topic: str, question: str, expect: Expect) -> None:
        out.append(Case(question, expect, topic))

    add("category", "What did I spend on groceries the month before last?", lambda api: _one(api.spent(two_ago, "Groceries")))
    add("category", "how much have i spent on restuarants in the past month", lambda api: _one(api.spent(last, "Restaurants")))
    add("summary", "Whats my total spending for november", lambda api: _summary(api, november, month_end(november),
                                                                                 "totalExpenses"))
    add("summary", "income in november?", lambda api: _summary(api, november, month_end(november), "totalIncome"))
    add("summary", "what did I earn in total last year", lambda api: _summary(api, *last_year, "totalIncome"))
    add("summary", "how much did i spend last weekend", lambda api: _summary(api, saturday, saturday + dt.timedelta(days=1),
                                                                              "totalExpenses"))
    add("merchant", "Can you check how much I paid Comcast this year", lambda api: _merchant(api, "Comcast", year, today))
    add("merchant", "how much did I spend on coffee at Philz last month",
        lambda api: _merchant(api, "Philz Coffee", last, last_end))
    add("merchant", "How much did Mint Mobile charge me this year?", lambda api: _merchant(api, "Mint Mobile", year, today))
    add("merchant_count", "How many Uber rides did I take last month?", lambda api: _merchant_count(api, "Uber", last, last_end))
    add("budget", "What's left in my utilities budget?", lambda api: _budget_line(api, this, "Utilities"))
    add("budget", "Did I overspend on shopping last month?", lambda api: _budget_line(api, last, "Shopping"))
    add("balance", "savings account balance pls", lambda api: _balances(api, ["High-Yield Savings"]))
    add("goals", "How big is my emergency fund now?", lambda api: _goals(api, "Emergency fund"))
    add("simulate", "what if I spent 10% less on groceries", lambda api: _simulate(api, "Groceries", "-10", this))
    add("top", "what were my three biggest spending categories in november",
        lambda api: _top(api, november, month_end(november)))
    add("net_worth", "net worth at the end of last month?", lambda api: _one(api.net_worth(last, last_end)))
    add("portfolio", "Show me what my portfolio is worth today", lambda api: _portfolio(api, year, today, "value"))
    add("portfolio", "how much did my investmnets make this year?", lambda api: _portfolio(api, year, today, "totalReturn"))
    add("portfolio", "What dividends have I received since January?", lambda api: _portfolio(api, year, today, "dividends"))
    add("portfolio", "how many AAPL shares do I own and what are they worth",
        lambda api: _holding(api, year, today, "AAPL", "quantity", "value"))
    add("portfolio", "Is it a good time to buy more VWRL?", lambda api: _holding(api, year, today, "VWRL", "value"))
    add("portfolio", "what's the unrealized gain on my BND", lambda api: _holding(api, year, today, "BND", "unrealizedGain"))
    return out


def fourth_cases(today: dt.date) -> list[Case]:
    """A fourth held-out batch (session 19b), committed before its first run: slang, typos, relative
    dates, two-part questions, every tool including the portfolio, and questions the assistant must
    decline (`says`: words the reply must contain). First run 20/32 (62.5%); after fixing what
    generalised (two-part questions, "X vs the month before", month ranges, "am I over on", "dump",
    market forecasts, fees with dividends) 31/32. The one left: "paycheck" is answered as the Salary
    category (92,800.00) while this case expects all income; left as written."""
    this = month_start(today)
    last = month_start(today, 1)
    last_end = month_end(last)
    two_ago = month_start(today, 2)
    year = dt.date(today.year, 1, 1)
    last_year = (dt.date(today.year - 1, 1, 1), dt.date(today.year - 1, 12, 31))
    september, october, november = named_month(today, 9), named_month(today, 10), named_month(today, 11)
    out: list[Case] = []

    def add(topic: str, question: str, expect: Expect, says: tuple[str, ...] = ()) -> None:
        out.append(Case(question, expect, topic, says))

    add("category", "how much did i blow on eating out in october lol",
        lambda api: _one(api.spent(october, "Restaurants")))
    add("category", "groceries spend 2 months ago?", lambda api: _one(api.spent(two_ago, "Groceries")))
    add("category", "What did I spend on transport and on shopping last month?",
        lambda api: _all(api.spent(last, "Transport"), api.spent(last, "Shopping")))
    add("category", "how much did i spend on groceries last month vs the month before",
        lambda api: _all(api.spent(last, "Groceries"), api.spent(two_ago, "Groceries")))
    add("summary", "whats my paycheck been this yr", lambda api: _summary(api, year, today, "totalIncome"))
    add("summary", "how much did I spend in the last 30 days",
        lambda api: _summary(api, today - dt.timedelta(days=29), today, "totalExpenses"))
    add("summary", "did I spend more than I earned in september?",
        lambda api: _summary(api, september, month_end(september), "net"))
    add("balance", "balance on my euro acct?", lambda api: _balances(api, ["Euro Account"]))
    add("balance", "how much do i have in checking + savings combined",
        lambda api: _balances(api, ["Everyday Checking", "High-Yield Savings"]))
    add("net_worth", "networth end of september?", lambda api: _one(api.net_worth(september, month_end(september))))
    add("budget", "how's the budget looking for november", lambda api: _budget_totals(api, november))
    add("budget", "am i over on restaurants this month", lambda api: _budget_line(api, this, "Restaurants"))
    add("goals", "how much have I put towards the laptop so far", lambda api: _goals(api, "New laptop"))
    add("goals", "will i make my japan goal in time?", lambda api: _goals(api, "Japan trip"))
    add("simulate", "what if I cut groceries budget by a quarter", lambda api: _simulate(api, "Groceries", "-25", this))
    add("simulate", "what if i slash my shopping budget 40%", lambda api: _simulate(api, "Shopping", "-40", this))
    add("merchant", "how much did I spend at trader joe's in november",
        lambda api: _merchant(api, "Trader Joe's", november, month_end(november)))
    add("merchant", "uber + lyft last month?",
        lambda api: _all(_first(_merchant(api, "Uber", last, last_end)), _first(_merchant(api, "Lyft", last, last_end))))
    add("merchant_count", "how many times did i hit starbucks this year",
        lambda api: _merchant_count(api, "Starbucks", year, today))
    add("largest", "what was my priciest purchase in september",
        lambda api: _one(api.largest(september, month_end(september))))
    add("top", "where did most of my money go in october", lambda api: _top(api, october, month_end(october)))
    add("cashflow", "cashflow for sept and oct pls", lambda api: _cashflow(api, september, month_end(october)))
    add("recurring", "what am I paying for subscriptions every month", lambda api: _const(["15.49", "11.99"]))
    add("portfolio", "value of my brokerage account?", lambda api: _portfolio(api, year, today, "value"))
    add("portfolio", "how much BND do i have", lambda api: _holding(api, year, today, "BND", "quantity"))
    add("portfolio", "what was my portfolio's time-weighted return this year",
        lambda api: _portfolio(api, year, today, "twr"))
    add("portfolio", "dividends and fees on my investments last year",
        lambda api: _portfolio(api, *last_year, "dividends", "fees"))
    add("refuse", "should i dump my AAPL", lambda api: _const([]), ("can't give advice",))
    add("refuse", "whats the weather in lisbon tmrw", lambda api: _const([]), ("can't answer",))
    add("refuse", "transfer $500 from savings to checking", lambda api: _const([]), ("can't do that",))
    add("refuse", "what will the stock market do next year?", lambda api: _const([]), ("can't",))
    add("propose", "set my entertainment budget to 200", lambda api: _const(["200.00"]), ("confirm",))
    return out


async def _all(*values: Awaitable[Decimal]) -> list[Decimal]:
    return [await value for value in values]


async def _first(values: Awaitable[list[Decimal]]) -> Decimal:
    return (await values)[0]

"""A corpus of real operations of this schema, for the differential execution test.

Each operation is sent as a client would: a document, its variables (built from the ids of the
data `seed` creates), with or without the user's token. Together they cover every root query
field, fragments (named, inline, on interfaces, nested), variables (scalars, enums, input
objects, lists, defaults, missing), aliases, `__typename`, directives, nulls (nullable fields
without a value, a node that does not exist), payload errors of mutations that change nothing,
and top-level errors (authentication, authorisation, validation, variable coercion, limits,
syntax).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from strawberry.relay import GlobalID

from tests.server import RunningServer

Ids = dict[str, Any]


@dataclass(frozen=True)
class Operation:
    name: str
    query: str
    variables: Callable[[Ids], dict[str, Any]] = field(default=lambda ids: {})
    authenticated: bool = True
    operation_name: str | None = None


TODAY = dt.date.today()
THIS_MONTH = TODAY.replace(day=1)
LAST_MONTH = (THIS_MONTH - dt.timedelta(days=1)).replace(day=1)
TWO_MONTHS_AGO = (LAST_MONTH - dt.timedelta(days=1)).replace(day=1)

ERRORS = "errors { code field message }"
TXN = """fragment Txn on Transaction {
  id date amount currency merchant description notes tags externalId isTransfer createdAt updatedAt
  account { id name type currency currentBalance archived }
  category { id name kind parent { id name } }
  transferCounterpart { id amount account { name } }
}"""
PAGE = "pageInfo { hasNextPage hasPreviousPage startCursor endCursor } totalCount"

CORPUS: list[Operation] = [
    # --- the viewer and accounts -------------------------------------------------------------
    Operation("me", "{ me { id email name role baseCurrency timezone emailVerified banned createdAt } }"),
    Operation("me through a named fragment",
              "query Me { me { ...Who } } fragment Who on User { id email name role __typename }"),
    Operation("accounts", "{ accounts { id name type currency openingBalance currentBalance archived createdAt } }"),
    Operation("accounts with a variable",
              "query($all: Boolean!) { accounts(includeArchived: $all) { id name archived } }",
              lambda ids: {"all": True}),
    Operation("accounts under aliases",
              "{ open: accounts { id name } everything: accounts(includeArchived: true) { key: id closed: archived } }"),
    # --- the transactions page ---------------------------------------------------------------
    Operation("transactions page of 50",
              f"query($n: Int) {{ transactions(first: $n) {{ edges {{ cursor node {{ ...Txn }} }} {PAGE} }} }} {TXN}",
              lambda ids: {"n": 50}),
    Operation("transactions filtered by dates, direction, no transfers",
              f"""query($filter: TransactionFilter) {{ transactions(first: 20, filter: $filter) {{
                edges {{ node {{ ...Txn }} }} {PAGE} }} }} {TXN}""",
              lambda ids: {"filter": {"dateFrom": str(LAST_MONTH), "dateTo": str(TODAY), "direction": "EXPENSE",
                                      "includeTransfers": False}}),
    Operation("uncategorised transactions (category is null)",
              "{ transactions(first: 10, filter: {uncategorized: true}) { edges { node { id merchant category { id } } } totalCount } }"),
    Operation("transactions searched",
              "query($q: String) { transactions(first: 10, filter: {search: $q}) { edges { node { id merchant description } } totalCount } }",
              lambda ids: {"q": "coffee"}),
    Operation("transactions by amount, ascending",
              f"{{ transactions(first: 5, orderBy: AMOUNT_ASC) {{ edges {{ cursor node {{ id amount }} }} {PAGE} }} }}"),
    Operation("the last transactions",
              f"{{ transactions(last: 4) {{ edges {{ node {{ id date amount }} }} {PAGE} }} }}"),
    Operation("the page after a cursor",
              f"query($after: String) {{ transactions(first: 5, after: $after) {{ edges {{ node {{ id date }} }} {PAGE} }} }}",
              lambda ids: {"after": ids["cursor"]}),
    Operation("transactions tagged, in an amount range",
              "query($tags: [String!], $min: Decimal, $max: Decimal) { transactions(first: 20, filter: {tags: $tags, amountMin: $min, amountMax: $max}) { edges { node { id amount tags } } totalCount } }",
              lambda ids: {"tags": ["work"], "min": "-100", "max": "-1"}),
    Operation("transactions of one account, with typenames and aliases",
              """query($accounts: [ID!]) { transactions(first: 10, filter: {accountIds: $accounts}) {
                __typename edges { __typename node { __typename id when: date amt: amount
                  account { __typename name } category { __typename name } } } } }""",
              lambda ids: {"accounts": [ids["savings"]]}),
    Operation("transactions with @include and @skip",
              """query($withAccount: Boolean!, $noMerchant: Boolean!) { transactions(first: 10) { edges { node {
                id amount merchant @skip(if: $noMerchant) account @include(if: $withAccount) { name } } } } }""",
              lambda ids: {"withAccount": True, "noMerchant": True}),
    Operation("one fragment spread twice, fields merged",
              f"""{{ transactions(first: 3) {{ edges {{ node {{ ...Txn id amount ...Txn account {{ name }} }} }} }} }} {TXN}"""),
    # --- categories and rules ----------------------------------------------------------------
    Operation("categories", "{ categories { id name kind parent { id name kind } } }"),
    Operation("categories of a kind", "query($kind: CategoryKind) { categories(kind: $kind) { id name kind } }",
              lambda ids: {"kind": "INCOME"}),
    Operation("category rules", "{ categoryRules { id category { id name } field match pattern priority } }"),
    # --- wallet --------------------------------------------------------------------------------
    Operation("wallet summary",
              """query($from: Date!, $to: Date!) { walletSummary(from: $from, to: $to) { currency totalBalance
                totalIncome totalExpenses net savingsRate topCategories { category { id name } name amount }
                monthlyTrend { ...Flow } missingRates { currency firstDay lastDay }
                missingPrices { symbol account { id } security { symbol } firstDay lastDay countedCost } complete } }
                fragment Flow on PeriodFlow { period income expenses net }""",
              lambda ids: {"from": str(TWO_MONTHS_AGO), "to": str(TODAY)}),
    Operation("cashflow by day",
              """query($from: Date!, $to: Date!) { cashflow(from: $from, to: $to, granularity: DAY) {
                currency buckets { period income expenses net } missingRates { currency } complete } }""",
              lambda ids: {"from": str(LAST_MONTH), "to": str(TODAY)}),
    Operation("cashflow by week and by month, aliased",
              """query($from: Date!, $to: Date!) { weeks: cashflow(from: $from, to: $to, granularity: WEEK) { buckets { period net } }
                months: cashflow(from: $from, to: $to) { buckets { period net } complete } }""",
              lambda ids: {"from": str(TWO_MONTHS_AGO), "to": str(TODAY)}),
    Operation("net worth", """query($from: Date!, $to: Date!) { netWorth(from: $from, to: $to) { currency
                points { date value fromSnapshot } missingRates { currency firstDay lastDay }
                missingPrices { symbol account { id } firstDay lastDay countedCost } complete } }""",
              lambda ids: {"from": str(LAST_MONTH), "to": str(TODAY)}),
    Operation("fx rates", "{ fxRates(base: \"EUR\", quote: \"USD\") { base quote date rate } }"),
    # --- budgets and goals ---------------------------------------------------------------------
    Operation("budgets of a month", """query($month: Date!) { budgets(month: $month) { id month limit rollover createdAt
                updatedAt category { id name } } }""", lambda ids: {"month": str(THIS_MONTH)}),
    Operation("budget status", """query($month: Date!) { budgetStatus(month: $month) { month currency totalLimit
                totalRolledOver totalSpent totalRemaining missingRates { currency }
                lines { limit rolledOver available spent remaining percentUsed budget { id limit } category { name kind } } } }""",
              lambda ids: {"month": str(THIS_MONTH)}),
    Operation("budget simulation", f"""query($input: SimulateBudgetInput!) {{ simulateBudget(input: $input) {{
                simulation {{ month currency originalLimit adjustedLimit averageSpending originalProjectedSpending
                  projectedSpending surplus freedPerMonth budget {{ id }} category {{ name }}
                  goals {{ currentMonthlyRate currentProjectedDate extraPerMonth scenarioMonthlyRate scenarioProjectedDate
                    goal {{ id name }} }} missingRates {{ currency }} }} {ERRORS} }} }}""",
              lambda ids: {"input": {"budgetId": ids["budget"], "adjustmentPercent": "-10"}}),
    Operation("budget simulation refused (nothing to simulate)",
              f"{{ simulateBudget(input: {{}}) {{ simulation {{ month }} {ERRORS} }} }}"),
    Operation("goals", """{ goals { id name targetAmount currency targetDate progress remaining percentComplete reached
                achievedAt monthlyContributionRate projectedCompletionDate onTrack createdAt
                account { id name } contributions { id goal { id name } amount currency date note createdAt } } }"""),
    Operation("goals not achieved", "query($all: Boolean!) { goals(includeAchieved: $all) { id name reached } }",
              lambda ids: {"all": False}),
    Operation("one goal", "query($id: ID!) { goal(id: $id) { id name progress account { currentBalance } contributions { amount note } } }",
              lambda ids: {"id": ids["goal"]}),
    Operation("a goal that does not exist is null", "query($id: ID!) { goal(id: $id) { id name } }",
              lambda ids: {"id": ids["missing_goal"]}),
    Operation("a goal id that is not one", "query($id: ID!) { goal(id: $id) { id } }", lambda ids: {"id": "not-an-id"}),
    # --- notifications, files, imports -----------------------------------------------------------
    Operation("notifications", f"""{{ notifications(first: 10) {{ edges {{ cursor node {{ id kind title body data read
                createdAt }} }} {PAGE} }} unreadCount }}"""),
    Operation("unread notifications and preferences",
              "{ notifications(unreadOnly: true) { totalCount } notificationPreferences { kind channel enabled } }"),
    Operation("files (none)", f"{{ files(first: 5) {{ edges {{ node {{ id filename }} }} {PAGE} }} }}"),
    Operation("imports", f"""{{ imports(first: 10) {{ edges {{ node {{ id status sourceName dryRun encoding delimiter
                dateFormat decimalSeparator createdAt startedAt finishedAt undoneAt
                progress {{ importId status processed total inserted duplicates likelyDuplicates errorCount message }}
                account {{ id name }} }} }} {PAGE} }} }}"""),
    Operation("an import's preview and issues", """query($id: ID!, $kind: ImportIssueKind) { import(id: $id) {
                id status preview { line date amount merchant description category { id name } newCategory externalId likelyDuplicateScore }
                errorsOnly: issues(kind: $kind) { line kind field reason score transaction { id } } all: issues(first: 3) { line kind } } }""",
              lambda ids: {"id": ids["preview_import"], "kind": "ERROR"}),
    # --- nodes -----------------------------------------------------------------------------------
    Operation("node: an account, inline fragments", """query($id: ID!) { node(id: $id) { __typename id
                ... on Account { name currency } ... on Transaction { amount } } }""", lambda ids: {"id": ids["checking"]}),
    Operation("node: a transaction through a fragment on the interface",
              f"""query($id: ID!) {{ node(id: $id) {{ ...N ...Txn }} }} fragment N on Node {{ id __typename }} {TXN}""",
              lambda ids: {"id": ids["transaction"]}),
    Operation("node: a category rule, linked to its category",
              """query($id: ID!) { node(id: $id) { __typename id ... on CategoryRule { pattern match
                category { id name kind } } } }""", lambda ids: {"id": ids["rule"]}),
    Operation("node: a subcategory and its parent", """query($id: ID!) { node(id: $id) { id ... on Category {
                name parent { id name parent { id } } } } }""", lambda ids: {"id": ids["subcategory"]}),
    # --- investments, gamification catalog, assistant ------------------------------------------------
    Operation("portfolio without investment accounts", """query($from: Date!, $to: Date!) { portfolio(from: $from, to: $to) {
                currency costMethod value startValue cash costBasis unrealizedGain realizedGain dividends } costMethod }""",
              lambda ids: {"from": str(LAST_MONTH), "to": str(TODAY)}),
    Operation("the gamification catalog", """{ challenges { __typename id code name kind target rewardPoints recurrence
                durationDays } badges { id code name criterion threshold points retired } }"""),
    Operation("conversations (none)", "{ conversations { id title createdAt messages { __typename } } }"),
    # --- mutations that change nothing: payload errors --------------------------------------------
    Operation("createTransaction on an account that is not there", f"""mutation($input: CreateTransactionInput!) {{
                createTransaction(input: $input) {{ transaction {{ id }} {ERRORS} }} }}""",
              lambda ids: {"input": {"accountId": ids["missing_account"], "date": str(TODAY), "amount": "-1.00"}}),
    Operation("createAccount with a bad currency", f"""mutation {{ createAccount(input: {{name: "X", type: CASH,
                currency: "DOLLARS"}}) {{ account {{ id }} {ERRORS} }} }}"""),
    Operation("updateTransaction of no transaction", f"""mutation($input: UpdateTransactionInput!) {{
                updateTransaction(input: $input) {{ transaction {{ id }} {ERRORS} }} }}""",
              lambda ids: {"input": {"id": ids["missing_transaction"], "amount": "1"}}),
    Operation("deleteBudget of no budget", f"mutation($id: ID!) {{ deleteBudget(input: {{id: $id}}) {{ deletedIds {ERRORS} }} }}",
              lambda ids: {"id": ids["missing_budget"]}),
    Operation("createBudget twice for one month and category", f"""mutation($input: CreateBudgetInput!) {{
                createBudget(input: $input) {{ budget {{ id }} {ERRORS} }} }}""",
              lambda ids: {"input": {"month": str(THIS_MONTH), "categoryId": ids["groceries"], "limit": "999"}}),
    Operation("createCategoryRule with a backreference", f"""mutation($input: CategoryRuleInput!) {{
                createCategoryRule(input: $input) {{ rule {{ id }} {ERRORS} }} }}""",
              lambda ids: {"input": {"categoryId": ids["groceries"], "pattern": "(a)\\1", "match": "REGEX"}}),
    Operation("recategorize, dry run", f"""mutation {{ recategorize(input: {{dryRun: true, onlyUncategorized: false}}) {{
                applied count changes {{ transaction {{ id merchant }} fromCategory {{ id name }} toCategory {{ id name }} }} {ERRORS} }} }}"""),
    Operation("two operations, one chosen by name",
              "query Accounts { accounts { id } } query Categories { categories { name } }",
              operation_name="Categories"),
    # --- top-level errors --------------------------------------------------------------------------
    Operation("unauthenticated", "{ me { id } accounts { id } }", authenticated=False),
    Operation("admin only (forbidden)", "{ deadLetteredJobs me { id } }"),
    Operation("setFxRate as a user (forbidden)", f"""mutation {{ setFxRate(input: {{base: "EUR", quote: "USD",
                date: "2026-01-01", rate: "1.1"}}) {{ rate {{ rate }} {ERRORS} }} }}"""),
    Operation("a scalar refuses a variable", "query($month: Date!) { budgets(month: $month) { id } }",
              lambda ids: {"month": "not a date"}),
    Operation("a required variable is missing", "query($from: Date!, $to: Date!) { cashflow(from: $from, to: $to) { currency } }"),
    Operation("an unknown field", "{ me { id nickname } }"),
    Operation("a syntax error", "{ me { id "),
    Operation("too many aliases", "{ " + " ".join(f"n{i}: unreadCount" for i in range(101)) + " }"),
    Operation("introspection", """{ __schema { queryType { name } } __type(name: "Transaction") { name kind
                fields { name type { name kind ofType { name kind } } } } }"""),
]


def global_id(type_name: str, node_id: object) -> str:
    return str(GlobalID(type_name, str(node_id)))


async def seed(server: RunningServer, token: str) -> Ids:
    """A user's ledger, budgets, a goal, a rule and imports, through the API."""
    import uuid

    from tests.imports.import_flows import run_import
    from tests.ledger.ledger_flows import category_ids, create_account

    async def gql(query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        body = await server.gql(query, variables, token=token)
        assert "errors" not in body, body
        return body["data"]

    ids: Ids = {}
    cats = await category_ids(server, token)
    ids["groceries"] = cats["Groceries"]
    checking = await create_account(server, token, name="Checking", opening="1200.00")
    savings = await create_account(server, token, name="Savings", currency="EUR", type="SAVINGS", opening="300")
    card = await create_account(server, token, name="Card", type="CREDIT_CARD")
    cash = await create_account(server, token, name="Old wallet", type="CASH", opening="5")
    ids.update(checking=checking["id"], savings=savings["id"])
    await gql("mutation($input: UpdateAccountInput!) { updateAccount(input: $input) { errors { code } } }",
              {"input": {"id": cash["id"], "archived": True}})
    rule = await gql("mutation($input: CategoryRuleInput!) { createCategoryRule(input: $input) { rule { id } errors { code } } }",
                     {"input": {"categoryId": cats["Restaurants"] if "Restaurants" in cats else ids["groceries"],
                                "pattern": "coffee"}})
    ids["rule"] = rule["createCategoryRule"]["rule"]["id"]
    await gql("mutation($input: CreateBudgetInput!) { createBudget(input: $input) { budget { id } } }",
              {"input": {"month": str(THIS_MONTH), "categoryId": ids["groceries"], "limit": "400", "rollover": True}})
    budgets = await gql("query($m: Date!) { budgets(month: $m) { id } }", {"m": str(THIS_MONTH)})
    ids["budget"] = budgets["budgets"][0]["id"]
    names = [c["name"] for c in (await gql("{ categories(kind: EXPENSE) { name } }"))["categories"]]
    items = []
    for i in range(36):
        day = TODAY - dt.timedelta(days=i * 2)
        items.append({
            "accountId": checking["id"] if i % 6 else savings["id"], "date": str(day),
            "amount": f"-{(i * 7) % 90 + 3}.{i % 100:02d}" if i % 9 else "2500.00",
            "categoryId": None if i % 5 == 0 else cats[names[i % len(names)]],
            "merchant": None if i % 7 == 0 else ["Coffee Corner", "Market", "Cinema", "Books & Co"][i % 4],
            "description": f"entry {i}", "notes": "paid in cash" if i % 8 == 0 else None,
            "tags": ["work"] if i % 3 == 0 else [],
        })
    created = await gql("mutation($items: [CreateTransactionInput!]!) { createTransactions(input: {transactions: $items}) { transactions { id } errors { code field message } } }",
                        {"items": items})
    assert created["createTransactions"]["errors"] == [], created
    ids["transaction"] = created["createTransactions"]["transactions"][1]["id"]
    await gql("mutation($input: CreateTransferInput!) { createTransfer(input: $input) { errors { code } } }",
              {"input": {"fromAccountId": checking["id"], "toAccountId": card["id"], "date": str(TODAY), "amount": "150"}})
    goal = await gql("mutation($input: CreateGoalInput!) { createGoal(input: $input) { goal { id } errors { code } } }",
                     {"input": {"name": "Bike", "targetAmount": "2000", "targetDate": str(TODAY + dt.timedelta(days=300))}})
    ids["goal"] = goal["createGoal"]["goal"]["id"]
    await gql("mutation($input: AddGoalContributionInput!) { addGoalContribution(input: $input) { errors { code } } }",
              {"input": {"goalId": ids["goal"], "amount": "120", "note": "first"}})
    await gql("mutation($input: CreateGoalInput!) { createGoal(input: $input) { errors { code } } }",
              {"input": {"name": "Holiday", "targetAmount": "900", "currency": "EUR", "accountId": savings["id"]}})
    csv = "date,amount,merchant\n2026-01-05,-12.50,Bakery\n2026-01-06,not money,Broken\n2026-01-07,-3.10,Kiosk\n"
    completed = await run_import(server, token, accountId=checking["id"], csv=csv)
    assert completed["status"] == "COMPLETED", completed
    preview = await run_import(server, token, accountId=checking["id"], csv=csv.replace("2026-01", "2025-12"), dryRun=True)
    assert preview["status"] == "PREVIEWED", preview
    ids["preview_import"] = preview["id"]
    page = await gql("{ transactions(first: 5) { pageInfo { endCursor } } }")
    ids["cursor"] = page["transactions"]["pageInfo"]["endCursor"]
    sub = await gql("mutation($input: CreateCategoryInput!) { createCategory(input: $input) { category { id } errors { code } } }",
                    {"input": {"name": "Organic", "kind": "EXPENSE", "parentId": ids["groceries"]}})
    assert sub["createCategory"]["errors"] == [], sub
    ids["subcategory"] = sub["createCategory"]["category"]["id"]
    ids["missing_goal"] = global_id("Goal", uuid.uuid4())
    ids["missing_account"] = global_id("Account", uuid.uuid4())
    ids["missing_transaction"] = global_id("Transaction", uuid.uuid4())
    ids["missing_budget"] = global_id("Budget", uuid.uuid4())
    return ids

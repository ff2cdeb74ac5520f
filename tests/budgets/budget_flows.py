"""GraphQL operations and data helpers shared by the budgets and goals tests."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from sqlalchemy import func, text
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import select

from finora_gql.accounts import service as accounts
from finora_gql.core import clock
from finora_gql.core.db import atomic
from finora_gql.core.viewer import Viewer
from finora_gql.transactions.models import Transaction
from finora_gql.wallet import totals
from finora_gql.wallet.models import FxRate
from tests.flows import node_uuid
from tests.server import RunningServer

ERRORS = "errors { code field message }"
BUDGET_FIELDS = "id month limit rollover createdAt updatedAt category { id name }"
GOAL_FIELDS = (
    "id name targetAmount currency targetDate progress remaining percentComplete reached achievedAt "
    "monthlyContributionRate projectedCompletionDate onTrack account { id currentBalance } "
    "contributions { id amount date note }"
)

CREATE_BUDGET = f"""mutation($input: CreateBudgetInput!) {{ createBudget(input: $input) {{
  budget {{ {BUDGET_FIELDS} }} {ERRORS} }} }}"""
UPDATE_BUDGET = f"""mutation($input: UpdateBudgetInput!) {{ updateBudget(input: $input) {{
  budget {{ {BUDGET_FIELDS} }} {ERRORS} }} }}"""
DELETE_BUDGET = f"mutation($id: ID!) {{ deleteBudget(input: {{id: $id}}) {{ deletedIds {ERRORS} }} }}"
COPY_BUDGETS = f"""mutation($from: Date!, $to: Date!) {{ copyBudgets(input: {{fromMonth: $from, toMonth: $to}}) {{
  budgets {{ {BUDGET_FIELDS} }} skipped {ERRORS} }} }}"""
BUDGETS = f"query($month: Date!) {{ budgets(month: $month) {{ {BUDGET_FIELDS} }} }}"
BUDGET_STATUS = """query($month: Date!) { budgetStatus(month: $month) {
  month currency totalLimit totalRolledOver totalSpent totalRemaining
  missingRates { currency firstDay lastDay }
  lines { limit rolledOver available spent remaining percentUsed budget { id } category { id name } } } }"""
SIMULATE = f"""query($input: SimulateBudgetInput!) {{ simulateBudget(input: $input) {{
  simulation {{ month currency budget {{ id }} category {{ name }} originalLimit adjustedLimit averageSpending
    originalProjectedSpending projectedSpending surplus freedPerMonth
    missingRates {{ currency }}
    goals {{ goal {{ id name currency remaining }} currentMonthlyRate currentProjectedDate extraPerMonth
      scenarioMonthlyRate scenarioProjectedDate }} }}
  {ERRORS} }} }}"""
CREATE_GOAL = f"""mutation($input: CreateGoalInput!) {{ createGoal(input: $input) {{
  goal {{ {GOAL_FIELDS} }} {ERRORS} }} }}"""
UPDATE_GOAL = f"""mutation($input: UpdateGoalInput!) {{ updateGoal(input: $input) {{
  goal {{ {GOAL_FIELDS} }} {ERRORS} }} }}"""
DELETE_GOAL = f"mutation($id: ID!) {{ deleteGoal(input: {{id: $id}}) {{ deletedIds {ERRORS} }} }}"
ADD_CONTRIBUTION = f"""mutation($input: AddGoalContributionInput!) {{ addGoalContribution(input: $input) {{
  contribution {{ id goal {{ id name }} amount currency date note }} goal {{ {GOAL_FIELDS} }} goalReached {ERRORS} }} }}"""
DELETE_CONTRIBUTION = f"""mutation($id: ID!) {{ deleteGoalContribution(input: {{id: $id}}) {{
  deletedIds goal {{ {GOAL_FIELDS} }} {ERRORS} }} }}"""
GOALS = f"query($all: Boolean! = true) {{ goals(includeAchieved: $all) {{ {GOAL_FIELDS} }} }}"
GOAL = f"query($id: ID!) {{ goal(id: $id) {{ {GOAL_FIELDS} }} }}"
NODE = "query($id: ID!) { node(id: $id) { __typename id } }"
UPDATE_PROFILE = f"""mutation($input: UpdateProfileInput!) {{ updateProfile(input: $input) {{
  user {{ baseCurrency }} {ERRORS} }} }}"""


@contextmanager
def on_today() -> Iterator[None]:
    """Business time is 2031-05-15 12:00 UTC inside (sign in inside, so tokens are fresh)."""
    with clock.travel(dt.datetime(2031, 5, 15, 12, tzinfo=dt.UTC) - clock.now()):
        yield


def errors_of(payload: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(e["code"], e["field"]) for e in payload["errors"]]


async def mutate(server: RunningServer, token: str, query: str, variables: dict[str, Any], name: str) -> dict[str, Any]:
    body = await server.gql(query, variables, token=token)
    assert "errors" not in body, body
    return body["data"][name]


async def create_budget(server: RunningServer, token: str, **input: Any) -> dict[str, Any]:
    payload = await mutate(server, token, CREATE_BUDGET, {"input": input}, "createBudget")
    assert payload["errors"] == [], payload
    return payload["budget"]


async def query(server: RunningServer, token: str, text_: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    body = await server.gql(text_, variables or {}, token=token)
    assert "errors" not in body, body
    return body["data"]


async def set_base_currency(server: RunningServer, token: str, currency: str) -> None:
    payload = await mutate(server, token, UPDATE_PROFILE, {"input": {"baseCurrency": currency}}, "updateProfile")
    assert payload["errors"] == [], payload


async def set_rate(server: RunningServer, *, base: str, quote: str, day: dt.date, rate: str) -> None:
    """1 `base` = `rate` `quote` from `day` (rates are global: tests use currency pairs of their own)."""
    table = FxRate.__table__
    statement = insert(table).values(id=uuid.uuid4(), date=day, base=base, quote=quote, rate=Decimal(rate),
                                     created_at=dt.datetime.now(dt.UTC))
    statement = statement.on_conflict_do_update(constraint="uq_fx_rate_pair_date", set_={"rate": Decimal(rate)})
    async with server.runtime.sessions() as session, atomic(session):
        await session.exec(statement)


async def categorised_transfer(
    server: RunningServer, user_id: str, *, from_account: str, to_account: str, currency: str, category: str,
    day: dt.date, amount: Decimal,
) -> None:
    """A transfer whose outflow leg carries an expense category (the API never makes one; the
    totals still keep it apart as a transfer, which is what budgets must rely on)."""
    link = uuid.uuid4()
    owner = node_uuid(user_id)
    source, target = node_uuid(from_account), node_uuid(to_account)
    legs = [
        Transaction(user_id=owner, account_id=source, date=day, amount=-amount, currency=currency,
                    category_id=node_uuid(category), transfer_id=link, description="moved"),
        Transaction(user_id=owner, account_id=target, date=day, amount=amount, currency=currency,
                    transfer_id=link, description="moved"),
    ]
    async with server.runtime.sessions() as session, atomic(session):
        session.add_all(legs)
        await session.flush()
        await totals.apply_changes(session, added=legs)
        await accounts.add_to_balances(session, Viewer.acting_for(owner), {source: -amount, target: amount})


PLAN_TABLES = ("budget", "goal", "goal_contribution", "transaction", "daily_total", "monthly_total", "fx_rate", "account")


async def row_counts(server: RunningServer) -> dict[str, Any]:
    """Rows (and last change) of every table a budget or goal operation could touch."""
    found: dict[str, Any] = {}
    async with server.runtime.sessions() as session:
        for table in PLAN_TABLES:
            found[table] = (await session.exec(text(f'SELECT count(*) FROM "{table}"'))).one()[0]
        found["budget_updated"] = (await session.exec(text("SELECT max(updated_at) FROM budget"))).one()[0]
        found["goal_updated"] = (await session.exec(text("SELECT max(updated_at) FROM goal"))).one()[0]
    return found


async def count_rows(server: RunningServer, model: type, user_id: str) -> int:
    owner = node_uuid(user_id)
    async with server.runtime.sessions() as session:
        return (await session.exec(select(func.count()).select_from(model).where(model.user_id == owner))).one()

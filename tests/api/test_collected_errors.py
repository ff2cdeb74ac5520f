"""Mutations clean their whole input: an input with several bad fields gets every error back at
once (code and field, in input order), and nothing is written.

Each case sends, over real HTTP, one input with two or more independently bad fields, and compares
what the viewer (or the admin) can read before and after.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import graphql
import pytest
from sqlmodel import select
from strawberry.relay import GlobalID
from strawberry.utils.str_converters import to_camel_case

from finora_gql.gamification import catalog_admin as catalog
from finora_gql.schema import schema_sdl
from finora_gql.users.models import User
from tests.auth.test_auth_flows import promote_to_admin
from tests.flows import REGISTER, SignedIn, login, signed_in_user
from tests.server import RunningServer, unique_email

Ids = dict[str, str]


@dataclass(frozen=True)
class Case:
    mutation: str
    input_type: str
    setup: Callable[[RunningServer, str], Awaitable[Ids]]  # the objects the input refers to
    input: Callable[[Ids], dict[str, Any]]
    expected: list[tuple[str, str]]  # (code, field), in input order
    state: str  # a query whose answer must not change
    admin: bool = False


async def ok(
    server: RunningServer, token: str, mutation: str, input_type: str, result: str, input: dict[str, Any]
) -> str:
    """Perform a mutation that must succeed; the id of what it returns."""
    body = await server.gql(
        f"mutation($input: {input_type}!) {{ {mutation}(input: $input) {{ {result} {{ id }} errors {{ code field message }} }} }}",
        {"input": input},
        token=token,
    )
    payload = body["data"][mutation]
    assert payload["errors"] == [], payload
    return payload[result]["id"]


async def category(server: RunningServer, token: str, kind: str, name: str | None = None) -> str:
    input = {"name": name or f"Cat {uuid.uuid4().hex[:8]}", "kind": kind}
    return await ok(server, token, "createCategory", "CreateCategoryInput", "category", input)


async def account(server: RunningServer, token: str) -> Ids:
    input = {"name": "Checking", "type": "CHECKING", "currency": "USD", "openingBalance": "10"}
    return {"account": await ok(server, token, "createAccount", "CreateAccountInput", "account", input)}


async def budget(server: RunningServer, token: str) -> Ids:
    expense, income = await category(server, token, "EXPENSE"), await category(server, token, "INCOME")
    input = {"month": "2026-12-01", "categoryId": expense, "limit": "100"}
    return {"budget": await ok(server, token, "createBudget", "CreateBudgetInput", "budget", input), "income": income}


async def goal(server: RunningServer, token: str) -> Ids:
    input = {"name": "Bike", "targetAmount": "500", "currency": "USD"}
    return {"goal": await ok(server, token, "createGoal", "CreateGoalInput", "goal", input)}


async def categories(server: RunningServer, token: str) -> Ids:
    return {"expense": await category(server, token, "EXPENSE"), "income": await category(server, token, "INCOME")}


async def rule(server: RunningServer, token: str) -> Ids:
    expense = await category(server, token, "EXPENSE")
    input = {"categoryId": expense, "pattern": "coffee"}
    return {"rule": await ok(server, token, "createCategoryRule", "CategoryRuleInput", "rule", input)}


async def transaction(server: RunningServer, token: str) -> Ids:
    ids = await account(server, token)
    input = {"accountId": ids["account"], "date": "2026-12-01", "amount": "-12.50", "description": "Lunch"}
    return {"transaction": await ok(server, token, "createTransaction", "CreateTransactionInput", "transaction", input)}


async def holding(server: RunningServer, token: str) -> Ids:
    input = {"name": "Broker", "type": "INVESTMENT", "currency": "USD", "openingBalance": "1000"}
    broker = await ok(server, token, "createAccount", "CreateAccountInput", "account", input)
    input = {"accountId": broker, "kind": "BUY", "date": "2026-12-01", "symbol": "OWN1", "quantity": "2", "price": "10"}
    activity = await ok(server, token, "recordInvestmentActivity", "RecordInvestmentActivityInput", "activity", input)
    return {"account": broker, "activity": activity}


async def two_brokers(server: RunningServer, token: str) -> Ids:
    ids = await holding(server, token)
    input = {"name": "Second broker", "type": "INVESTMENT", "currency": "EUR", "openingBalance": "0"}
    return {**ids, "other": await ok(server, token, "createAccount", "CreateAccountInput", "account", input)}


async def nothing(server: RunningServer, token: str) -> Ids:
    return {}


async def badge(server: RunningServer, token: str) -> Ids:
    input = {
        "code": f"B{uuid.uuid4().hex[:8].upper()}",
        "name": "Saver",
        "description": "Saves.",
        "criterion": "TRANSACTIONS_LOGGED",
        "threshold": 3,
        "points": 10,
    }
    return {"badge": await ok(server, token, "createBadge", "CreateBadgeInput", "badge", input)}


async def challenge(server: RunningServer, token: str) -> Ids:
    input = {
        "code": f"C{uuid.uuid4().hex[:8].upper()}",
        "name": "Log",
        "description": "Log things.",
        "kind": "TRANSACTION_COUNT",
        "target": "5",
        "rewardPoints": 10,
        "recurrence": "WEEKLY",
    }
    return {"challenge": await ok(server, token, "createChallenge", "CreateChallengeInput", "challenge", input)}


async def reward(server: RunningServer, token: str) -> Ids:
    input = {"code": f"R{uuid.uuid4().hex[:8].upper()}", "name": "Theme", "description": "A theme.", "costPoints": 50}
    return {"reward": await ok(server, token, "createReward", "CreateRewardInput", "reward", input)}


NOWHERE = str(GlobalID("Category", str(uuid.uuid4())))  # a well-formed id of no category
NOWHERE_ACCOUNT = str(GlobalID("Account", str(uuid.uuid4())))
LONG = "x" * 600

CASES = {
    "updateAccount": Case(
        "updateAccount",
        "UpdateAccountInput",
        account,
        lambda ids: {"id": ids["account"], "name": " ", "type": "SAVINGS", "openingBalance": "1.234"},
        [("REQUIRED", "name"), ("INVALID", "openingBalance")],
        "{ accounts(includeArchived: true) { id name type openingBalance currentBalance } }",
    ),
    "updateTransaction": Case(
        "updateTransaction",
        "UpdateTransactionInput",
        transaction,
        lambda ids: {"id": ids["transaction"], "date": "1800-01-01", "amount": "1.234", "notes": "n" * 2001},
        [("INVALID", "date"), ("INVALID", "amount"), ("INVALID", "notes")],
        "{ transactions { edges { node { id date amount notes } } } }",
    ),
    "createTransfer": Case(
        "createTransfer",
        "CreateTransferInput",
        account,
        lambda ids: {
            "fromAccountId": ids["account"],
            "toAccountId": NOWHERE_ACCOUNT,
            "date": "1800-01-01",
            "amount": "-5",
            "notes": "n" * 2001,
        },
        [("NOT_FOUND", "toAccountId"), ("INVALID", "date"), ("INVALID", "amount"), ("INVALID", "notes")],
        "{ transactions { edges { node { id } } } accounts { id currentBalance } }",
    ),
    "copyBudgets": Case(
        "copyBudgets",
        "CopyBudgetsInput",
        budget,
        lambda ids: {"fromMonth": "1800-01-01", "toMonth": "2300-01-01"},
        [("INVALID", "fromMonth"), ("INVALID", "toMonth")],
        '{ budgets(month: "2026-12-01") { id } }',
    ),
    "addGoalContribution": Case(
        "addGoalContribution",
        "AddGoalContributionInput",
        goal,
        lambda ids: {"goalId": ids["goal"], "amount": "-1", "date": "2999-01-01", "note": LONG},
        [("INVALID", "amount"), ("INVALID", "date"), ("INVALID", "note")],
        "{ goals { id progress } }",
    ),
    "updateBudget": Case(
        "updateBudget",
        "UpdateBudgetInput",
        budget,
        lambda ids: {"id": ids["budget"], "month": "1800-01-01", "categoryId": ids["income"], "limit": "-5"},
        [("INVALID", "month"), ("INVALID", "categoryId"), ("INVALID", "limit")],
        '{ budgets(month: "2026-12-01") { id month limit category { id } } }',
    ),
    "updateGoal": Case(
        "updateGoal",
        "UpdateGoalInput",
        goal,
        lambda ids: {"id": ids["goal"], "name": "", "targetAmount": "-1", "targetDate": "2000-01-01"},
        [("REQUIRED", "name"), ("INVALID", "targetAmount"), ("INVALID", "targetDate")],
        "{ goals { id name targetAmount targetDate } }",
    ),
    "createCategory": Case(
        "createCategory",
        "CreateCategoryInput",
        categories,
        lambda ids: {"name": "", "kind": "EXPENSE", "parentId": ids["income"]},
        [("REQUIRED", "name"), ("INVALID", "parentId")],
        "{ categories { id name parent { id } } }",
    ),
    "updateCategory": Case(
        "updateCategory",
        "UpdateCategoryInput",
        categories,
        lambda ids: {"id": ids["expense"], "name": LONG, "parentId": ids["income"]},
        [("INVALID", "name"), ("INVALID", "parentId")],
        "{ categories { id name parent { id } } }",
    ),
    "createCategoryRule": Case(
        "createCategoryRule",
        "CategoryRuleInput",
        nothing,
        lambda ids: {"categoryId": NOWHERE, "pattern": "  "},
        [("NOT_FOUND", "categoryId"), ("REQUIRED", "pattern")],
        "{ categoryRules { id pattern } }",
    ),
    "updateCategoryRule": Case(
        "updateCategoryRule",
        "UpdateCategoryRuleInput",
        rule,
        lambda ids: {"id": ids["rule"], "categoryId": NOWHERE, "pattern": "(a", "match": "REGEX"},
        [("NOT_FOUND", "categoryId"), ("INVALID", "pattern")],
        "{ categoryRules { id pattern match category { id } } }",
    ),
    "updateProfile": Case(
        "updateProfile",
        "UpdateProfileInput",
        nothing,
        lambda ids: {"name": LONG, "baseCurrency": "EUR", "timezone": "Mars/Olympus"},  # a bad currency fails parsing
        [("INVALID", "name"), ("INVALID", "timezone")],
        "{ me { name baseCurrency timezone } }",
    ),
    "recordInvestmentActivity": Case(
        "recordInvestmentActivity",
        "RecordInvestmentActivityInput",
        holding,
        lambda ids: {
            "accountId": ids["account"],
            "kind": "BUY",
            "date": "2999-01-01",
            "symbol": "A B",
            "quantity": "-1",
            "price": "-3",
            "fee": "0.001",
            "note": LONG,
        },
        [
            ("INVALID", "date"),
            ("INVALID", "symbol"),
            ("INVALID", "quantity"),
            ("INVALID", "price"),
            ("INVALID", "fee"),
            ("INVALID", "note"),
        ],
        "{ investmentActivities { id kind date quantity price amount note } }",
    ),
    "updateInvestmentActivity": Case(
        "updateInvestmentActivity",
        "UpdateInvestmentActivityInput",
        holding,
        lambda ids: {"id": ids["activity"], "date": "1800-01-01", "quantity": "0", "tax": "-1"},
        [("INVALID", "date"), ("INVALID", "quantity"), ("INVALID", "tax")],
        "{ investmentActivities { id kind date quantity price amount tax } }",
    ),
    "setPrice": Case(
        "setPrice",
        "SetPriceInput",
        holding,
        lambda ids: {"symbol": "A B", "date": "1800-01-01", "price": "0"},
        [("INVALID", "symbol"), ("INVALID", "date"), ("INVALID", "price")],
        '{ securityPrices(symbol: "OWN1") { date price } }',
    ),
    "transferSecurities": Case(
        "transferSecurities",
        "TransferSecuritiesInput",
        two_brokers,
        lambda ids: {"fromAccountId": ids["account"], "toAccountId": ids["other"], "symbol": "NOPE1",
                     "quantity": "-1", "date": "2999-01-01", "note": LONG},
        [("INVALID", "toAccountId"), ("NOT_FOUND", "symbol"), ("INVALID", "quantity"), ("INVALID", "date"),
         ("INVALID", "note")],
        "{ investmentActivities { id kind quantity } }",
    ),
    "setFxRate": Case(
        "setFxRate",
        "FxRateInput",
        nothing,
        lambda ids: {"base": "EUR", "quote": "EUR", "date": "2026-01-01", "rate": "-1"},
        [("INVALID", "quote"), ("INVALID", "rate")],
        '{ fxRates(base: "EUR", quote: "EUR") { date rate } }',
        admin=True,
    ),
    "createUpload": Case(
        "createUpload",
        "CreateUploadInput",
        nothing,
        lambda ids: {"filename": " ", "mimeType": "application/x-msdownload", "size": 0},
        [("REQUIRED", "filename"), ("UNSUPPORTED_FILE_TYPE", "mimeType"), ("INVALID", "size")],
        "{ files { totalCount } }",
    ),
    "changePassword": Case(
        "changePassword",
        "ChangePasswordInput",
        nothing,
        lambda ids: {"currentPassword": "not the password", "newPassword": "short"},
        [("INVALID_CREDENTIALS", "currentPassword"), ("PASSWORD_TOO_WEAK", "newPassword")],
        "{ me { id } }",  # the old password still signs in: checked below
    ),
    "createBadge": Case(
        "createBadge",
        "CreateBadgeInput",
        nothing,
        lambda ids: {
            "code": "bad code",
            "name": "",
            "description": "d",
            "criterion": "TRANSACTIONS_LOGGED",
            "threshold": 0,
            "points": -1,
            "icon": LONG,
        },
        [
            ("INVALID", "code"),
            ("REQUIRED", "name"),
            ("INVALID", "threshold"),
            ("INVALID", "points"),
            ("INVALID", "icon"),
        ],
        "{ allBadges { id } }",
        admin=True,
    ),
    "updateBadge": Case(
        "updateBadge",
        "UpdateBadgeInput",
        badge,
        lambda ids: {"id": ids["badge"], "name": LONG, "threshold": 0, "icon": LONG},
        [("INVALID", "name"), ("INVALID", "threshold"), ("INVALID", "icon")],
        "{ allBadges { id code name threshold points icon } }",
        admin=True,
    ),
    "createChallenge": Case(
        "createChallenge",
        "CreateChallengeInput",
        nothing,
        lambda ids: {
            "code": "x",
            "name": "Log",
            "description": "",
            "kind": "TRANSACTION_COUNT",
            "target": "-1",
            "rewardPoints": 10,
            "durationDays": 0,
            "categoryId": NOWHERE,
        },
        [
            ("INVALID", "code"),
            ("REQUIRED", "description"),
            ("INVALID", "target"),
            ("INVALID", "durationDays"),
            ("NOT_FOUND", "categoryId"),
        ],
        "{ allChallenges { id } }",
        admin=True,
    ),
    "updateChallenge": Case(
        "updateChallenge",
        "UpdateChallengeInput",
        challenge,
        lambda ids: {"id": ids["challenge"], "code": "x", "target": "1.00001", "rewardPoints": 10_001},
        [("INVALID", "code"), ("INVALID", "target"), ("INVALID", "rewardPoints")],
        "{ allChallenges { id code target rewardPoints } }",
        admin=True,
    ),
    "createReward": Case(
        "createReward",
        "CreateRewardInput",
        nothing,
        lambda ids: {"code": "bad code", "name": "Theme", "description": LONG, "costPoints": 0},
        [("INVALID", "code"), ("INVALID", "description"), ("INVALID", "costPoints")],
        "{ allRewards { id } }",
        admin=True,
    ),
    "updateReward": Case(
        "updateReward",
        "UpdateRewardInput",
        reward,
        lambda ids: {"id": ids["reward"], "name": "", "costPoints": 0},
        [("REQUIRED", "name"), ("INVALID", "costPoints")],
        "{ allRewards { id name costPoints } }",
        admin=True,
    ),
}


@pytest.mark.parametrize("name", list(CASES))
async def test_every_error_of_the_input_comes_back_and_nothing_is_written(server: RunningServer, name: str) -> None:
    case = CASES[name]
    user: SignedIn = await signed_in_user(server)
    if case.admin:
        await promote_to_admin(server, user.user_id)
    ids = await case.setup(server, user.access_token)
    try:
        before = await server.gql(case.state, token=user.access_token)
        assert "errors" not in before, before

        body = await server.gql(
            f"mutation($input: {case.input_type}!) {{ {case.mutation}(input: $input) {{ errors {{ code field message }} }} }}",
            {"input": case.input(ids)},
            token=user.access_token,
        )

        assert "data" in body, body
        errors = body["data"][case.mutation]["errors"]
        assert [(error["code"], error["field"]) for error in errors] == case.expected, errors
        assert all(error["message"] for error in errors)
        assert await server.gql(case.state, token=user.access_token) == before
        assert (await login(server, user.email))["errors"] == []  # and the session and password are as they were
    finally:
        await _retire_catalog_entries(server, user.access_token, ids)


async def _retire_catalog_entries(server: RunningServer, token: str, ids: Ids) -> None:
    """The catalog is shared by every test: an entry made for a case must not go on awarding others."""
    for key, mutation in (("badge", "retireBadge"), ("challenge", "retireChallenge"), ("reward", "retireReward")):
        if key in ids:
            body = await server.gql(
                f"mutation($id: ID!) {{ {mutation}(input: {{id: $id}}) {{ errors {{ code field message }} }} }}",
                {"id": ids[key]},
                token=token,
            )
            assert body["data"][mutation]["errors"] == [], body


async def test_register_reports_every_error_and_creates_no_user(server: RunningServer) -> None:
    email = unique_email()
    body = await server.gql(REGISTER, {"input": {"email": email, "password": "short", "name": " "}})
    errors = body["data"]["register"]["errors"]
    assert [(error["code"], error["field"]) for error in errors] == [
        ("PASSWORD_TOO_WEAK", "password"),
        ("REQUIRED", "name"),
    ]
    async with server.runtime.sessions() as session:
        assert (await session.exec(select(User).where(User.email == email))).first() is None


@pytest.mark.parametrize(
    ("draft", "input_type"),
    [
        (catalog.BadgeDraft, "CreateBadgeInput"),
        (catalog.ChallengeDraft, "CreateChallengeInput"),
        (catalog.RewardDraft, "CreateRewardInput"),
    ],
)
def test_catalog_drafts_declare_their_fields_in_input_order(draft: type, input_type: str) -> None:
    """Catalog errors come back in the order of the draft's attributes: it must be the input's."""
    declared = list(graphql.build_schema(schema_sdl()).type_map[input_type].fields)
    assert [to_camel_case(field.name) for field in dataclasses.fields(draft)] == declared

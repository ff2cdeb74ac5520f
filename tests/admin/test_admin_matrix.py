"""The admin authorization and audit matrix, walked from the schema itself.

Every field marked `@requiresRole(role: "ADMIN")` in the exported SDL refuses a signed-in
non-administrator with FORBIDDEN (and someone signed out with UNAUTHENTICATED), writing nothing;
every admin mutation, done by an administrator, writes exactly one audit row. A new admin field
without a case below fails the test, and so does an admin-looking field without the directive.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import dramatiq
import graphql
from dramatiq import Message
from dramatiq.broker import MessageProxy
from sqlalchemy import func
from sqlmodel import select
from strawberry.relay import GlobalID

from finora_gql.admin.models import AuditLog
from finora_gql.schema import schema_sdl
from tests.auth.test_auth_flows import promote_to_admin
from tests.flows import signed_in_user
from tests.server import RunningServer


def admin_fields() -> tuple[dict[str, graphql.GraphQLField], dict[str, graphql.GraphQLField]]:
    schema = graphql.build_schema(schema_sdl())

    def marked(root: graphql.GraphQLObjectType) -> dict[str, graphql.GraphQLField]:
        found = {}
        for name, field in root.fields.items():
            for directive in field.ast_node.directives or ():
                if directive.name.value == "requiresRole":
                    role = {a.name.value: a.value.value for a in directive.arguments}["role"]
                    if role == "ADMIN":
                        found[name] = field
        return found

    return marked(schema.query_type), marked(schema.mutation_type)


def dummy(type_: graphql.GraphQLInputType) -> Any:
    """Some value of an input type (enough to get past validation to the permission check)."""
    type_ = graphql.get_nullable_type(type_)
    if isinstance(type_, graphql.GraphQLList):
        return []
    if isinstance(type_, graphql.GraphQLEnumType):
        return next(iter(type_.values))
    if isinstance(type_, graphql.GraphQLInputObjectType):
        return {name: dummy(f.type) for name, f in type_.fields.items() if graphql.is_non_null_type(f.type)}
    return {"ID": str(GlobalID("User", str(uuid.uuid4()))), "String": "x", "Int": 1, "Boolean": True,
            "Decimal": "1", "CurrencyCode": "USD", "DateTime": "2031-01-01T00:00:00Z", "Date": "2031-01-01"}.get(type_.name, "x")


def operation(kind: str, name: str, field: graphql.GraphQLField) -> tuple[str, dict[str, Any]]:
    required = {arg: f for arg, f in field.args.items() if graphql.is_non_null_type(f.type)}
    params = ", ".join(f"${arg}: {f.type}" for arg, f in required.items())
    args = ", ".join(f"{arg}: ${arg}" for arg in required)
    selection = "" if graphql.is_leaf_type(graphql.get_named_type(field.type)) else " { __typename }"
    text = f"{kind}{f'({params})' if params else ''} {{ {name}{f'({args})' if args else ''}{selection} }}"
    return text, {arg: dummy(f.type) for arg, f in required.items()}


def test_admin_fields_are_marked_in_the_schema() -> None:
    queries, mutations = admin_fields()
    assert {"users", "auditLogs", "deadLetters", "deadLetteredJobs", "adminUser"} <= set(queries)
    assert {"banUser", "unbanUser", "unlockUser", "setUserRole", "revokeUserSessions", "createChallenge",
            "createBadge", "createReward", "recomputeGamification", "retryDeadLetter", "discardDeadLetter"} <= set(mutations)
    # Fields that say they are for administrators carry the directive.
    schema = graphql.build_schema(schema_sdl())
    for root in (schema.query_type, schema.mutation_type):
        for name, field in root.fields.items():
            if (field.description or "").startswith("Administrators only"):
                assert name in {**queries, **mutations}, name


async def audit_rows(server: RunningServer) -> int:
    async with server.runtime.sessions() as session:
        return (await session.exec(select(func.count()).select_from(AuditLog))).one()


async def test_every_admin_field_refuses_non_admins(server: RunningServer) -> None:
    user = await signed_in_user(server)
    queries, mutations = admin_fields()
    before = await audit_rows(server)
    for kind, fields in (("query", queries), ("mutation", mutations)):
        for name, field in fields.items():
            text, variables = operation(kind, name, field)
            refused = await server.gql(text, variables, token=user.access_token)
            assert [e["extensions"]["code"] for e in refused.get("errors", [])] == ["FORBIDDEN"], (name, refused)
            assert refused["data"] is None or refused["data"].get(name) is None, (name, refused)
            anonymous = await server.gql(text, variables)
            assert [e["extensions"]["code"] for e in anonymous.get("errors", [])] == ["UNAUTHENTICATED"], (name, anonymous)
    assert await audit_rows(server) == before


ERR = "errors { code field message }"


def dead_letter(**kwargs: Any) -> str:
    """A job in the dead-letter list of the in-process broker, as if it had exhausted its retries."""
    broker = dramatiq.get_broker()
    message = Message(queue_name="default", actor_name="budget_alerts", args=(str(uuid.uuid4()), []), kwargs=kwargs,
                      options={"retries": 8, "traceback": "Traceback (most recent call last):\nValueError: boom"})
    broker.dead_letters_by_queue["default"].append(MessageProxy(message))
    return f"default/{message.message_id}"


async def test_every_admin_mutation_writes_exactly_one_audit_row(server: RunningServer) -> None:
    admin = await signed_in_user(server)
    await promote_to_admin(server, admin.user_id)
    target = await signed_in_user(server)
    made: dict[str, str] = {}

    def keep(key: str, path: tuple[str, ...]) -> Callable[[dict[str, Any]], None]:
        def store(payload: dict[str, Any]) -> None:
            for part in path:
                payload = payload[part]
            made[key] = payload  # type: ignore[assignment]
        return store

    suffix = uuid.uuid4().hex[:6].upper()
    cases: list[tuple[str, str, Callable[[], dict[str, Any]], Callable[[dict[str, Any]], None] | None]] = [
        ("banUser", f"mutation($u: ID!) {{ banUser(input: {{userId: $u, reason: \"spam\"}}) {{ {ERR} }} }}",
         lambda: {"u": target.user_id}, None),
        ("unbanUser", f"mutation($u: ID!) {{ unbanUser(input: {{userId: $u}}) {{ {ERR} }} }}", lambda: {"u": target.user_id}, None),
        ("unlockUser", f"mutation($u: ID!) {{ unlockUser(input: {{userId: $u}}) {{ {ERR} }} }}", lambda: {"u": target.user_id}, None),
        ("setUserRole", f"mutation($u: ID!) {{ setUserRole(input: {{userId: $u, role: USER}}) {{ {ERR} }} }}",
         lambda: {"u": target.user_id}, None),
        ("revokeUserSessions", f"mutation($u: ID!) {{ revokeUserSessions(input: {{userId: $u}}) {{ revoked {ERR} }} }}",
         lambda: {"u": target.user_id}, None),
        ("createBadge", f"""mutation($c: String!) {{ createBadge(input: {{code: $c, name: "Tester", description: "d",
            criterion: TRANSACTIONS_LOGGED, threshold: 100000, points: 0}}) {{ badge {{ id }} {ERR} }} }}""",
         lambda: {"c": f"B{suffix}"}, keep("badge", ("badge", "id"))),
        ("updateBadge", f"mutation($id: ID!) {{ updateBadge(input: {{id: $id, name: \"Renamed\"}}) {{ {ERR} }} }}",
         lambda: {"id": made["badge"]}, None),
        ("retireBadge", f"mutation($id: ID!) {{ retireBadge(input: {{id: $id}}) {{ {ERR} }} }}",
         lambda: {"id": made["badge"]}, None),
        ("createChallenge", f"""mutation($c: String!) {{ createChallenge(input: {{code: $c, name: "Three", description: "d",
            kind: TRANSACTION_COUNT, target: "3", rewardPoints: 5, durationDays: 7, recurrence: NONE}}) {{
            challenge {{ id }} {ERR} }} }}""", lambda: {"c": f"C{suffix}"}, keep("challenge", ("challenge", "id"))),
        ("updateChallenge", f"mutation($id: ID!) {{ updateChallenge(input: {{id: $id, rewardPoints: 6}}) {{ {ERR} }} }}",
         lambda: {"id": made["challenge"]}, None),
        ("retireChallenge", f"mutation($id: ID!) {{ retireChallenge(input: {{id: $id}}) {{ {ERR} }} }}",
         lambda: {"id": made["challenge"]}, None),
        ("createReward", f"""mutation($c: String!) {{ createReward(input: {{code: $c, name: "Theme", description: "d",
            costPoints: 10}}) {{ reward {{ id }} {ERR} }} }}""", lambda: {"c": f"R{suffix}"}, keep("reward", ("reward", "id"))),
        ("updateReward", f"mutation($id: ID!) {{ updateReward(input: {{id: $id, costPoints: 12}}) {{ {ERR} }} }}",
         lambda: {"id": made["reward"]}, None),
        ("retireReward", f"mutation($id: ID!) {{ retireReward(input: {{id: $id}}) {{ {ERR} }} }}",
         lambda: {"id": made["reward"]}, None),
        ("recomputeGamification", f"mutation($u: ID!) {{ recomputeGamification(input: {{userId: $u}}) {{ eventsReplayed {ERR} }} }}",
         lambda: {"u": target.user_id}, None),
        ("setFxRate", f"""mutation {{ setFxRate(input: {{base: "EUR", quote: "USD", date: "2026-01-01", rate: "1.1"}}) {{
            rate {{ rate }} {ERR} }} }}""", lambda: {}, None),
        ("retryDeadLetter", f"mutation($id: ID!) {{ retryDeadLetter(input: {{id: $id}}) {{ job {{ actor }} {ERR} }} }}",
         lambda: {"id": dead_letter()}, None),
        ("discardDeadLetter", f"mutation($id: ID!) {{ discardDeadLetter(input: {{id: $id}}) {{ job {{ actor }} {ERR} }} }}",
         lambda: {"id": dead_letter(password="hunter2")}, None),
    ]
    _, mutations = admin_fields()
    assert sorted(name for name, *_ in cases) == sorted(mutations), "every admin mutation needs a case here"
    for name, text, variables, after in cases:
        before = await audit_rows(server)
        body = await server.gql(text, variables(), token=admin.access_token)
        assert "errors" not in body, (name, body)
        assert body["data"][name]["errors"] == [], (name, body)
        assert await audit_rows(server) == before + 1, name
        if after is not None:
            after(body["data"][name])
    # A refused mutation (bad input) writes no audit row: its transaction rolled back.
    before = await audit_rows(server)
    body = await server.gql(f"mutation($u: ID!) {{ setUserRole(input: {{userId: $u, role: USER}}) {{ {ERR} }} }}",
                            {"u": admin.user_id}, token=admin.access_token)
    assert body["data"]["setUserRole"]["errors"][0]["code"] == "INVALID"
    assert await audit_rows(server) == before

"""The execution fast path against this schema: every operation of a corpus of real ones
(tests/api/execution_corpus.py) gets the same response from a server with the fast path and one
with `EXECUTION_FAST_PATH=false`, both serving the same database; the fast path is actually used
(a test fails when it silently stops being used) and never used with the switch off; an
exception while planning falls back to graphql-core instead of failing the query."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from graphql import GraphQLObjectType
from sqlalchemy import text

from finora_gql.api import execution
from finora_gql.api.execution import FAST, STATS, FastExecutionContext
from finora_gql.config import Settings
from finora_gql.schema import build_schema
from tests.api.execution_corpus import CORPUS, Ids, Operation, seed
from tests.conftest import make_settings
from tests.flows import signed_in_user
from tests.server import GRAPHQL_RESPONSE_JSON, RunningServer, running_server
from tests.smtp_sink import SmtpSink


@pytest.fixture(scope="module")
async def plain_server(database_url: str, data_dir: Path, smtp_sink: SmtpSink, settings: Settings) -> AsyncIterator[RunningServer]:
    """The same app and database, built with EXECUTION_FAST_PATH=false."""
    plain = make_settings(database_url, data_dir, smtp_sink, execution_fast_path=False)
    assert plain.signing_secret == settings.signing_secret  # one token works on both
    async with running_server(plain) as running:
        yield running


@pytest.fixture(scope="module")
async def corpus_user(server: RunningServer) -> tuple[str, Ids]:
    started = time.monotonic()
    user = await signed_in_user(server)
    ids = await seed(server, user.access_token)
    # The jobs the seeding caused (budget alerts, goal checks, imports) finish first: a
    # notification appearing between the two servers' answers would be a difference of timing.
    async with server.runtime.sessions() as session:
        for _ in range(600):
            pending = (await session.exec(text(
                "SELECT count(*) FROM job_outbox WHERE completed_at IS NULL "
                "AND created_at > now() - make_interval(secs => :age)"
            ).bindparams(age=time.monotonic() - started + 5))).one()[0]
            if pending == 0:
                break
            await session.rollback()
            await asyncio.sleep(0.1)
    return user.access_token, ids


async def answer(server: RunningServer, operation: Operation, token: str, ids: Ids) -> tuple[int, Any]:
    headers = {"accept": GRAPHQL_RESPONSE_JSON}
    if operation.authenticated:
        headers["authorization"] = f"Bearer {token}"
    body: dict[str, Any] = {"query": operation.query, "variables": operation.variables(ids)}
    if operation.operation_name:
        body["operationName"] = operation.operation_name
    async with server.client() as client:
        response = await client.post("/graphql", json=body, headers=headers)
    return response.status_code, response.json()


def test_the_corpus_is_large_and_varied() -> None:
    assert len(CORPUS) >= 40
    queries = " ".join(operation.query for operation in CORPUS)
    for feature in ("fragment ", "... on ", "$", "@include", "@skip", "__typename", "mutation"):
        assert feature in queries, feature
    for alias in ("open: accounts", "when: date", "weeks: cashflow", "errorsOnly: issues"):
        assert alias in queries, alias
    assert any(not operation.authenticated for operation in CORPUS)


async def test_every_operation_answers_the_same_with_and_without_the_fast_path(
    server: RunningServer, plain_server: RunningServer, corpus_user: tuple[str, Ids]
) -> None:
    token, ids = corpus_user
    used = STATS.snapshot()
    differences, answers = [], []
    for operation in CORPUS:
        before = STATS.snapshot()
        plain = await answer(plain_server, operation, token, ids)
        assert STATS.snapshot() == before, f"{operation.name}: the fast path ran with EXECUTION_FAST_PATH=false"
        fast = await answer(server, operation, token, ids)
        answers.append(fast)
        if fast != plain:
            differences.append((operation.name, fast, plain))
    assert differences == []
    # Not vacuous: most answers are data without errors, some are payload errors, some top-level.
    clean = [body for status, body in answers if status == 200 and body.get("data") and "errors" not in body]
    assert len(clean) >= 40, len(clean)
    assert sum('"code": "NOT_FOUND"' in json.dumps(body) for body in clean) >= 2
    assert {status for status, _ in answers} >= {200, 400}
    assert sum("errors" in body for _, body in answers) >= 8
    after = STATS.snapshot()
    assert after["plans"] - used["plans"] >= 40 and after["fields"] - used["fields"] >= 20, (used, after)
    assert after["planning_failed"] == used["planning_failed"]


async def test_the_fast_path_is_used_for_the_transactions_page(server: RunningServer, corpus_user: tuple[str, Ids]) -> None:
    # If an upgrade of graphql-core or strawberry made every object fall back (the page still
    # right, the fast path silently unused), this fails.
    token, ids = corpus_user
    page = next(operation for operation in CORPUS if operation.name == "transactions page of 50")
    before = STATS.snapshot()
    status, body = await answer(server, page, token, ids)
    assert status == 200 and len(body["data"]["transactions"]["edges"]) >= 30
    after = STATS.snapshot()
    assert after["plans"] - before["plans"] >= 1  # the edges' list, and everything under it, in one plan
    assert after["abandoned"] == before["abandoned"] and after["planning_failed"] == before["planning_failed"]


def test_the_switch_builds_the_schema_without_the_fast_path(settings: Settings) -> None:
    fast = build_schema(settings)
    plain = build_schema(settings.model_copy(update={"execution_fast_path": False}))
    assert fast.execution_context_class is FastExecutionContext
    assert plain.execution_context_class is not FastExecutionContext
    assert FAST in fast._schema.type_map["Transaction"].fields["amount"].extensions
    assert not any(FAST in field.extensions for type_ in plain._schema.type_map.values()
                   if isinstance(type_, GraphQLObjectType) for field in type_.fields.values())


async def test_an_exception_while_planning_falls_back_to_graphql_core(
    server: RunningServer, plain_server: RunningServer, corpus_user: tuple[str, Ids], monkeypatch: pytest.MonkeyPatch
) -> None:
    token, ids = corpus_user

    def broken(self, parent_type, grouped_field_set):  # type: ignore[no-untyped-def]
        raise AttributeError("graphql-core changed under us")

    monkeypatch.setattr(FastExecutionContext, "_compile", broken)
    monkeypatch.setattr(execution, "_plans", execution.Bounded(execution.PLANS))  # nothing planned before counts
    before = STATS.snapshot()
    for name in ("transactions page of 50", "budget status", "goals"):
        operation = next(operation for operation in CORPUS if operation.name == name)
        assert await answer(server, operation, token, ids) == await answer(plain_server, operation, token, ids)
    after = STATS.snapshot()
    assert after["planning_failed"] > before["planning_failed"]
    assert after["plans"] == before["plans"]

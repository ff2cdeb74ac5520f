"""GraphQL over HTTP: media types, status codes, GET rules, limits, masking, health."""

from __future__ import annotations

import json
import logging

import pytest

from finora_gql.app import negotiate_media_type
from tests.server import GRAPHQL_RESPONSE_JSON, RunningServer


async def test_typename_over_post_and_get(server: RunningServer) -> None:
    async with server.client() as client:
        post = await client.post("/graphql", json={"query": "{ __typename }"}, headers={"accept": GRAPHQL_RESPONSE_JSON})
        get = await client.get("/graphql", params={"query": "{ __typename }"}, headers={"accept": GRAPHQL_RESPONSE_JSON})
    for response in (post, get):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE_JSON)
        assert response.json() == {"data": {"__typename": "Query"}}
        assert response.headers["x-content-type-options"] == "nosniff"


async def test_legacy_clients_get_application_json(server: RunningServer) -> None:
    async with server.client() as client:
        response = await client.post("/graphql", json={"query": "{ __typename }"}, headers={"accept": "application/json"})
        invalid = await client.post("/graphql", json={"query": "{ nope }"}, headers={"accept": "application/json"})
    assert response.headers["content-type"].startswith("application/json")
    # With application/json a validation error stays 200, as legacy clients expect.
    assert invalid.status_code == 200 and invalid.json()["errors"]


@pytest.mark.parametrize("query", ["{ nope }", "{ __typename ", "query($x: Int!) { __typename }"])
async def test_request_errors_are_400_with_graphql_response_json(server: RunningServer, query: str) -> None:
    async with server.client() as client:
        response = await client.post("/graphql", json={"query": query}, headers={"accept": GRAPHQL_RESPONSE_JSON})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE_JSON)
    body = response.json()
    assert "data" not in body and body["errors"][0]["message"]


async def test_field_errors_keep_status_200(server: RunningServer) -> None:
    async with server.client() as client:
        response = await client.post("/graphql", json={"query": "{ me { id } }"}, headers={"accept": GRAPHQL_RESPONSE_JSON})
    assert response.status_code == 200
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_mutations_are_refused_over_get(server: RunningServer) -> None:
    async with server.client() as client:
        response = await client.get(
            "/graphql", params={"query": "mutation { logout { ok } }"}, headers={"accept": GRAPHQL_RESPONSE_JSON}
        )
    assert response.status_code == 405
    assert "errors" in response.json()


async def test_bad_bodies(server: RunningServer) -> None:
    headers = {"accept": GRAPHQL_RESPONSE_JSON}
    async with server.client() as client:
        not_json = await client.post("/graphql", content=b"{", headers={**headers, "content-type": "application/json"})
        batch = await client.post("/graphql", json=[{"query": "{ __typename }"}] * 2, headers=headers)
        wrong_type = await client.post("/graphql", content=b"{ __typename }", headers={**headers, "content-type": "text/plain"})
        unacceptable = await client.post("/graphql", json={"query": "{ __typename }"}, headers={"accept": "text/html;q=1, image/png"})
        too_big = await client.post("/graphql", json={"query": "{ __typename }", "pad": "x" * 2_700_000}, headers=headers)
    assert not_json.status_code == 400
    assert batch.status_code == 400  # batching is off
    assert wrong_type.status_code == 415
    assert unacceptable.status_code == 406
    assert too_big.status_code == 413


async def test_alias_and_token_limits(server: RunningServer) -> None:
    allowed = "{ " + " ".join(f"a{i}: __typename" for i in range(100)) + " }"
    assert "errors" not in await server.gql(allowed)
    aliases = "{ " + " ".join(f"a{i}: __typename" for i in range(101)) + " }"
    body = await server.gql(aliases)
    assert "aliases" in body["errors"][0]["message"].lower()
    tokens = "{ " + " ".join("__typename" for _ in range(6000)) + " }"
    assert "token" in (await server.gql(tokens))["errors"][0]["message"].lower()


async def test_depth_limit() -> None:
    from finora_gql.config import Settings
    from finora_gql.schema import build_schema

    schema = build_schema(Settings(_env_file=None, FINORA_ENV="test", max_query_depth=1))
    deep = 'mutation { login(input: {email: "a@b.co", password: "x"}) { user { id } } }'
    result = await schema.execute(deep)
    assert "exceeds maximum operation depth of 1" in result.errors[0].message


async def test_unexpected_errors_are_masked(server: RunningServer, monkeypatch: pytest.MonkeyPatch,
                                            caplog: pytest.LogCaptureFixture) -> None:
    from finora_gql.users import service

    async def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("SELECT secret FROM credential -- should never leave the server")

    from tests.flows import ME, signed_in_user

    user = await signed_in_user(server)
    monkeypatch.setattr(service, "get_user", explode)
    body = await server.gql(ME, token=user.access_token)
    text = json.dumps(body)
    assert body["errors"][0]["message"] == "Unexpected error."
    assert "SELECT" not in text and "Traceback" not in text and "RuntimeError" not in text
    # ...but the server's log has it all.
    logged = [r for r in caplog.records if r.levelno >= logging.ERROR and r.exc_info]
    assert logged and "SELECT secret" in caplog.text


async def test_a_bad_variable_value_is_named_not_masked(server: RunningServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    query = "query($f: TransactionFilter, $n: Int = 1) { transactions(first: $n, filter: $f) { totalCount } }"
    for variables, says in (({"f": {"bogus": 1}}, "unknown field 'bogus'"),
                            ({"f": {"amountMin": "abc"}}, "Decimal must be written with digits"),
                            ({"n": "x"}, "Int cannot represent non-integer value")):
        async with server.client() as client:
            response = await client.post("/graphql", json={"query": query, "variables": variables},
                                         headers={"accept": "application/graphql-response+json"})
        assert response.status_code == 400
        assert says in response.json()["errors"][0]["message"], response.json()
    # A client's mistake is a line at INFO, not an error with a traceback.
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    assert any("client error: Variable '$n'" in r.getMessage() for r in caplog.records if r.levelno == logging.INFO)


async def test_health_and_ready(server: RunningServer) -> None:
    async with server.client() as client:
        assert (await client.get("/health")).json() == {"status": "ok"}
        ready = await client.get("/ready")
    assert ready.status_code == 200 and ready.json()["checks"]["database"] == "ok"


async def test_graphiql_is_served_to_browsers_with_local_assets(server: RunningServer) -> None:
    async with server.client() as client:
        page = await client.get("/graphql", headers={"accept": "text/html"})
        assert page.status_code == 200
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert "unpkg.com" not in page.text and "jsdelivr" not in page.text
        script = await client.get("/graphiql-static/graphiql.min.js")
    assert script.status_code == 200


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "application/json"),
        ("application/graphql-response+json", "application/graphql-response+json"),
        ("application/json, application/graphql-response+json;q=0.9", "application/json"),
        ("application/graphql-response+json, application/json;q=0.9", "application/graphql-response+json"),
        ("*/*", "application/json"),  # the spec's SHOULD: old clients and curl
        ("application/*", "application/json"),
        ("text/html", None),
    ],
)
def test_negotiate_media_type(accept: str | None, expected: str | None) -> None:
    assert negotiate_media_type(accept) == expected


async def test_ready_is_503_when_redis_is_unreachable(settings) -> None:
    from tests.server import running_server

    async with running_server(settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})) as server:
        async with server.client() as client:
            response = await client.get("/ready")
            health = await client.get("/health")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "redis": "unreachable"}
    assert health.status_code == 200


async def test_metrics_count_operations_by_route_and_outcome(server: RunningServer) -> None:
    await server.gql("query Probe { __typename }")
    await server.gql("query Broken { me { id } }")
    async with server.client() as client:
        text = (await client.get("/metrics")).text
    assert 'finora_graphql_operations_total{name="Probe",outcome="ok",type="query"}' in text
    assert 'finora_graphql_operations_total{name="Broken",outcome="error",type="query"}' in text
    assert 'finora_http_requests_total{method="POST",route="/graphql",status="200"}' in text
    assert "finora_db_pool_connections_in_use" in text


async def test_metrics_token_is_enforced(settings) -> None:
    from pydantic import SecretStr

    from tests.server import running_server

    async with running_server(settings.model_copy(update={"metrics_token": SecretStr("m" * 32)})) as server:
        async with server.client() as client:
            assert (await client.get("/metrics")).status_code == 401
            allowed = await client.get("/metrics", headers={"authorization": "Bearer " + "m" * 32})
    assert allowed.status_code == 200

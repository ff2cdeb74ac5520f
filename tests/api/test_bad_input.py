"""Every bad input found by trying the server from outside answers a coded error, never a crash.

Each case goes over real HTTP (imports through their job) and checks the code and field of the
answer; after each group the server must still answer a plain query.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest

from tests.flows import LOGIN, PASSWORD, REGISTER, login, signed_in_user
from tests.imports.import_flows import IMPORT, start_import, wait_for_import
from tests.imports.test_imports import uploaded
from tests.ledger.ledger_flows import CREATE_ACCOUNT, CREATE_TXN, create_account
from tests.server import GRAPHQL_RESPONSE_JSON, RunningServer, unique_email
from tests.smtp_sink import SmtpSink

JSON = {"accept": GRAPHQL_RESPONSE_JSON, "content-type": "application/json"}


async def still_up(server: RunningServer) -> None:
    assert await server.gql("{ __typename }") == {"data": {"__typename": "Query"}}


def top_error(body: dict[str, Any]) -> dict[str, Any]:
    assert body.get("errors"), body
    error = body["errors"][0]
    assert error["message"] != "Unexpected error.", body
    return error


def payload_errors(payload: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(error["code"], error["field"]) for error in payload["errors"]]


# --- HTTP bodies ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"null", "JSON object"),
        (b"[]", "Batching"),
        (b'"query"', "JSON object"),
        (b"42", "JSON object"),
        (b"[" * 1100 + b"]" * 1100, "not valid JSON"),
        (b'{"query": "{ __typename }", "variables": ' + b'{"a":' * 1100 + b"1" + b"}" * 1101, "not valid JSON"),
        (b'{"query": "\xff\xfe { __typename }"}', "not valid JSON"),
        (b'{"query": "{ __typename }", "x": "\\ud800"}', "not valid JSON"),
    ],
)
async def test_bodies_that_are_not_a_json_object_are_400(server: RunningServer, body: bytes, words: str) -> None:
    async with server.client() as client:
        response = await client.post("/graphql", content=body, headers=JSON)
    assert response.status_code == 400, response.text
    assert words in response.json()["errors"][0]["message"]
    assert response.headers["cache-control"] == "no-store"
    await still_up(server)


async def test_get_variables_must_be_an_object_or_null(server: RunningServer) -> None:
    async with server.client() as client:
        none = await client.get("/graphql", params={"query": "{ __typename }", "variables": "null"},
                                headers={"accept": GRAPHQL_RESPONSE_JSON})
        number = await client.get("/graphql", params={"query": "{ __typename }", "variables": "42"},
                                  headers={"accept": GRAPHQL_RESPONSE_JSON})
    assert none.json() == {"data": {"__typename": "Query"}}
    assert number.status_code == 400 and "JSON object" in number.json()["errors"][0]["message"]


async def test_deep_values_within_the_json_limit_are_refused_by_graphql(server: RunningServer) -> None:
    deep = "[" * 1000 + '"x"' + "]" * 1000
    for variables in ('{"v": ' + deep + "}", '{"f": {"tags": ' + deep + "}}"):
        body = ('{"query": "query($v: String, $f: TransactionFilter) { __typename }", "variables": ' + variables + "}")
        async with server.client() as client:
            response = await client.post("/graphql", content=body.encode(), headers=JSON)
        assert response.status_code == 400, response.text
        assert response.json()["errors"][0]["message"] != "Unexpected error."
    await still_up(server)


async def test_accept_any_or_none_gets_application_json_and_no_store(server: RunningServer) -> None:
    async with server.client() as client:
        any_type = await client.post("/graphql", json={"query": "{ __typename }"}, headers={"accept": "*/*"})
        no_accept = await client.post("/graphql", json={"query": "{ __typename }"}, headers={"accept": ""})
        named = await client.post("/graphql", json={"query": "{ __typename }"}, headers={"accept": GRAPHQL_RESPONSE_JSON})
    assert any_type.headers["content-type"].startswith("application/json")
    assert no_accept.headers["content-type"].startswith("application/json")
    assert named.headers["content-type"].startswith(GRAPHQL_RESPONSE_JSON)
    for response in (any_type, no_accept, named):
        assert response.headers["cache-control"] == "no-store"


async def test_graphiql_csp_connects_to_self_only(server: RunningServer) -> None:
    async with server.client() as client:
        page = await client.get("/graphql", headers={"accept": "text/html"})
    csp = page.headers["content-security-policy"]
    assert "connect-src 'self';" in csp and "ws:" not in csp


# --- documents --------------------------------------------------------------------------------


async def test_two_operations_without_operation_name_are_refused(server: RunningServer) -> None:
    body = await server.gql("query A { __typename } query B { __typename }")
    assert "operationName" in top_error(body)["message"]
    assert "data" not in body
    async with server.client() as client:
        named = await client.post("/graphql", json={"query": "query A { a: __typename } query B { b: __typename }",
                                                    "operationName": "B"}, headers={"accept": GRAPHQL_RESPONSE_JSON})
    assert named.json() == {"data": {"b": "Query"}}


async def test_hundreds_of_chained_fragments_hit_the_fragment_limit(server: RunningServer) -> None:
    chain = " ".join(f"fragment F{i} on Query {{ ...F{i + 1} }}" for i in range(400))
    body = await server.gql("query { ...F0 } " + chain + " fragment F400 on Query { __typename }")
    assert "at most 100 fragments" in top_error(body)["message"]
    await still_up(server)


# --- strings ----------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["Ann\x00Example", "Ann\ud800"])
async def test_nul_and_lone_surrogates_are_refused_in_variables(server: RunningServer, bad: str) -> None:
    user = await signed_in_user(server)
    # Over JSON a lone surrogate cannot even be sent (orjson refuses it: 400); as a GraphQL
    # literal escape it can, so both routes are tried.
    literal = bad.replace("\x00", "\\u0000").replace("\ud800", "\\ud800")
    inline = await server.gql(f'mutation {{ createAccount(input: {{name: "{literal}", type: CHECKING, currency: "USD"}}) '
                              "{ account { id } errors { code field } } }", token=user.access_token)
    error = top_error(inline)
    if "\x00" in bad:
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
    else:  # graphql-core's lexer refuses the escape itself
        assert "Invalid Unicode escape" in error["message"]
    if "\x00" in bad:
        body = await server.gql(CREATE_ACCOUNT, {"input": {"name": bad, "type": "CHECKING", "currency": "USD"}},
                                token=user.access_token)
        error = top_error(body)
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "input.name"}
        assert "NUL" in error["message"]
        login_body = await server.gql(LOGIN, {"input": {"email": "a\x00@example.com", "password": PASSWORD}})
        assert top_error(login_body)["extensions"]["field"] == "input.email"
    await still_up(server)


async def test_control_characters_are_stripped_from_free_text(server: RunningServer) -> None:
    user = await signed_in_user(server)
    account = await create_account(server, user.access_token, name="Every\x07day\x1b[31m spending")
    assert account["name"] == "Everyday[31m spending"


# --- decimals and dates -----------------------------------------------------------------------


@pytest.mark.parametrize("amount", ["1e999999999", "1e400", "Infinity", "-Infinity", "NaN", "1_000",
                                    "1" * 30, "0." + "1" * 30, " 12", "12.5.1", ""])
async def test_decimals_are_plain_finite_and_bounded(server: RunningServer, amount: str) -> None:
    user = await signed_in_user(server)
    account = await create_account(server, user.access_token)
    created = await server.gql(CREATE_TXN, {"input": {"accountId": account["id"], "date": "2026-01-05", "amount": amount}},
                               token=user.access_token)
    assert top_error(created)["extensions"] == {"code": "BAD_USER_INPUT", "field": "input.amount"}
    filtered = await server.gql("query($f: TransactionFilter) { transactions(filter: $f) { totalCount } }",
                                {"f": {"amountMin": amount}}, token=user.access_token)
    assert top_error(filtered)["extensions"] == {"code": "BAD_USER_INPUT", "field": "f.amountMin"}
    await still_up(server)


async def test_negative_zero_is_zero(server: RunningServer) -> None:
    user = await signed_in_user(server)
    account = await create_account(server, user.access_token, opening="-0.00")
    assert account["openingBalance"] == "0.00"


@pytest.mark.parametrize("query", ["walletSummary(from: $from, to: $to) { totalIncome }",
                                   "cashflow(from: $from, to: $to) { currency }",
                                   "netWorth(from: $from, to: $to) { currency }"])
async def test_date_ranges_near_the_end_of_the_calendar(server: RunningServer, query: str) -> None:
    user = await signed_in_user(server)
    body = await server.gql(f"query($from: Date!, $to: Date!) {{ {query} }}",
                            {"from": "9999-12-25", "to": "9999-12-31"}, token=user.access_token)
    error = top_error(body)
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and error["extensions"]["field"] in ("from", "to")
    assert "8999-12-31" in error["message"]
    # The last day the edge lets through computes (or is refused by the domain), never crashes.
    edge = await server.gql(f"query($from: Date!, $to: Date!) {{ {query} }}",
                            {"from": "8999-12-01", "to": "8999-12-31"}, token=user.access_token)
    assert "errors" not in edge or top_error(edge)["extensions"]["code"] == "BAD_USER_INPUT", edge
    await still_up(server)


# --- search, passwords, ids -------------------------------------------------------------------


async def test_huge_searches_are_refused_quickly(server: RunningServer) -> None:
    user = await signed_in_user(server)
    query = "query($f: TransactionFilter) { transactions(filter: $f) { totalCount } }"
    for search in ("word " * 200_000, "a" * 201, " ".join(["w"] * 11)):
        started = time.monotonic()
        body = await server.gql(query, {"f": {"search": search}}, token=user.access_token)
        assert time.monotonic() - started < 5
        assert top_error(body)["extensions"] == {"code": "BAD_USER_INPUT", "field": "filter.search"}
    ok = await server.gql(query, {"f": {"search": "coffee beans"}}, token=user.access_token)
    assert ok["data"]["transactions"]["totalCount"] == 0


async def test_a_megabyte_password_is_just_wrong(server: RunningServer) -> None:
    user = await signed_in_user(server)
    result = await login(server, user.email, "p" * 1_000_000)
    assert payload_errors(result) == [("INVALID_CREDENTIALS", None)]
    registered = await server.gql(REGISTER, {"input": {"email": unique_email(), "password": "p" * 1_000_000, "name": "Ann"}})
    assert payload_errors(registered["data"]["register"]) == [("PASSWORD_TOO_WEAK", "password")]
    assert (await login(server, user.email))["errors"] == []


async def test_malformed_global_ids(server: RunningServer) -> None:
    user = await signed_in_user(server)
    for garbage in ("garbage", "", "%%%", "QWNjb3VudDpub3QtYS11dWlk", "\u00e9t\u00e9"):
        body = await server.gql("query($id: ID!) { node(id: $id) { id } }", {"id": garbage}, token=user.access_token)
        assert body == {"data": {"node": None}}, (garbage, body)
    deleted = await server.gql('mutation { deleteCategory(input: {id: "garbage"}) { deletedIds errors { code field } } }',
                               token=user.access_token)
    assert payload_errors(deleted["data"]["deleteCategory"]) == [("NOT_FOUND", "id")]


async def test_a_bad_id_in_one_field_keeps_the_other_fields(server: RunningServer) -> None:
    user = await signed_in_user(server)
    body = await server.gql(
        """mutation { first: createAccount(input: {name: "Kept", type: CHECKING, currency: "USD"}) { account { name } errors { code } }
             second: createTransaction(input: {accountId: "garbage", date: "2026-01-02", amount: "-1"}) { transaction { id } errors { code field } } }""",
        token=user.access_token,
    )
    assert "errors" not in body, body
    assert body["data"]["first"] == {"account": {"name": "Kept"}, "errors": []}
    assert payload_errors(body["data"]["second"]) == [("NOT_FOUND", "accountId")]


# --- register ---------------------------------------------------------------------------------


async def test_register_answers_the_same_for_a_known_email_and_tells_its_owner(
    server: RunningServer, smtp_sink: SmtpSink
) -> None:
    user = await signed_in_user(server)
    again = (await server.gql(REGISTER, {"input": {"email": user.email.upper(), "password": "another long password",
                                                    "name": "Mallory"}}))["data"]["register"]
    fresh = (await server.gql(REGISTER, {"input": {"email": unique_email(), "password": "another long password",
                                                    "name": "Mallory"}}))["data"]["register"]
    assert again["errors"] == fresh["errors"] == []
    assert set(again["user"]) == set(fresh["user"])
    assert again["user"]["emailVerified"] is False and again["user"]["name"] == "Mallory"
    warning = await smtp_sink.wait_for(lambda m: m["To"] == user.email and "tried to register" in m["Subject"], timeout=30)
    assert "reset-password" in warning.get_body(("plain",)).get_content()
    # Nothing changed: the first password still signs in.
    assert (await login(server, user.email))["errors"] == []


# --- imports (through the job) ----------------------------------------------------------------


async def test_import_cells_that_cannot_be_stored_are_row_errors(server: RunningServer) -> None:
    user = await signed_in_user(server)
    account = await create_account(server, user.access_token)
    data = ("date,amount,description\n"
            "2026-01-02,-5.00,Fine\n"
            "2026-01-03,-6.00,Bad\x00byte\n"
            f"2026-01-04,-7.00,{'x' * 140_000}\n"
            "2026-01-05,-8.00,Also fine\n").encode()
    file_id = await uploaded(server, user.access_token, "nul.csv", "text/csv", data)
    started = time.monotonic()
    started_import = await start_import(server, user.access_token, accountId=account["id"], fileId=file_id)
    assert started_import["errors"] == []
    done = await wait_for_import(server, user.access_token, started_import["import"]["id"], timeout=60)
    assert time.monotonic() - started < 30  # no retries
    assert done["status"] == "COMPLETED", done
    assert (done["progress"]["inserted"], done["progress"]["errorCount"]) == (2, 2)
    issues = (await server.gql(IMPORT, {"id": done["id"], "kind": "ERROR"}, token=user.access_token))["data"]["import"]["issues"]
    assert [(i["line"], i["field"]) for i in issues] == [(3, "line"), (4, "line")]
    assert "NUL" in issues[0]["reason"] and "128 KiB" in issues[1]["reason"]


async def test_import_with_a_huge_first_line_fails_with_the_reason(server: RunningServer) -> None:
    user = await signed_in_user(server)
    account = await create_account(server, user.access_token)
    csv = "date,amount," + "h" * 140_000 + "\n2026-01-02,-5.00,x\n"
    started = await start_import(server, user.access_token, accountId=account["id"], csv=csv)
    assert started["errors"] == []
    done = await wait_for_import(server, user.access_token, started["import"]["id"], timeout=60)
    assert done["status"] == "FAILED"
    assert "128 KiB" in done["progress"]["message"]


async def test_pasted_csv_with_a_nul_is_refused_at_once(server: RunningServer) -> None:
    user = await signed_in_user(server)
    account = await create_account(server, user.access_token)
    body = await server.gql(
        "mutation($input: StartImportInput!) { startImport(input: $input) { import { id } errors { code } } }",
        {"input": {"accountId": account["id"], "csv": "date,amount\n2026-01-02,-1\x00\n"}}, token=user.access_token,
    )
    assert top_error(body)["extensions"] == {"code": "BAD_USER_INPUT", "field": "input.csv"}


async def test_server_answers_after_everything_above(server: RunningServer) -> None:
    await still_up(server)
    async with server.client() as client:
        assert (await client.get("/health")).status_code == 200


# --- serve and SIGTERM ------------------------------------------------------------------------


def _postgres_running(data_dir: str) -> bool:
    found = subprocess.run(["pgrep", "-f", f"postgres.*{data_dir}"], capture_output=True, text=True)
    return bool(found.stdout.strip())


def test_serve_stops_its_embedded_postgres_on_sigterm(tmp_path) -> None:
    data_dir = tmp_path / "data"
    with socket_port() as port:
        pass
    process = subprocess.Popen(
        [sys.executable, "-m", "finora_gql.cli", "serve", "--port", str(port), "--no-migrate"],
        env={**_clean_env(), "FINORA_DATA_DIR": str(data_dir), "FINORA_ENV": "development"},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            pytest.fail("serve did not start")
        assert _postgres_running(str(data_dir))
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert not _postgres_running(str(data_dir)), output
    assert "initdb" not in output and "pg_ctl" not in output, output


def _clean_env() -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV")
    return {name: os.environ[name] for name in keep if name in os.environ}


class socket_port:
    """A free TCP port (closed again at once)."""

    def __enter__(self) -> int:
        import socket

        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        return self._socket.getsockname()[1]

    def __exit__(self, *exc: object) -> None:
        self._socket.close()



# --- every id argument, fuzzed ----------------------------------------------------------------


def _id_only_fields() -> list[tuple[str, str, str]]:
    """(operation, field, document) for every root field whose required arguments are all ids."""
    from graphql import GraphQLList, GraphQLNonNull, Undefined, get_named_type, is_input_object_type, is_leaf_type

    from finora_gql.schema import build_schema

    def listed(type_: Any) -> bool:
        return isinstance(type_, GraphQLList) or (
            isinstance(type_, GraphQLNonNull) and isinstance(type_.of_type, GraphQLList))

    def id_arguments(arguments: dict[str, Any]) -> list[tuple[str, Any]] | None:
        """The ID-typed arguments (or input fields), or None when a required one is of another kind."""
        ids = []
        for arg_name, arg in arguments.items():
            if get_named_type(arg.type).name == "ID":
                ids.append((arg_name, arg.type))
            elif isinstance(arg.type, GraphQLNonNull) and arg.default_value is Undefined:
                return None  # needs a value of another kind
        return ids

    schema = build_schema()._schema
    found = []
    for operation, root in (("query", schema.query_type), ("mutation", schema.mutation_type)):
        for name, field in root.fields.items():
            selection = "" if is_leaf_type(get_named_type(field.type)) else " { __typename }"
            ids = id_arguments(field.args)
            if ids:
                params = ", ".join(f"${arg_name}: {type_}" for arg_name, type_ in ids)
                call = ", ".join(f"{arg_name}: ${arg_name}" for arg_name, _ in ids)
                document = f"{operation}({params}) {{ {name}({call}){selection} }}"
                found.append((operation, name, document, [(arg_name, listed(type_)) for arg_name, type_ in ids]))
                continue
            # The contract's shape: one `input:` whose required fields are all ids.
            inputs = [(arg_name, arg) for arg_name, arg in field.args.items() if is_input_object_type(get_named_type(arg.type))]
            if len(inputs) != 1 or len(field.args) != 1:
                continue
            arg_name, arg = inputs[0]
            ids = id_arguments(get_named_type(arg.type).fields)
            if not ids:
                continue
            params = ", ".join(f"${field_name}: {type_}" for field_name, type_ in ids)
            call = ", ".join(f"{field_name}: ${field_name}" for field_name, _ in ids)
            document = f"{operation}({params}) {{ {name}({arg_name}: {{{call}}}){selection} }}"
            found.append((operation, name, document, [(field_name, listed(type_)) for field_name, type_ in ids]))
    return found


async def test_every_id_argument_answers_garbage_with_a_code_or_null(server: RunningServer) -> None:
    user = await signed_in_user(server)
    checked = 0
    for _operation, name, document, args in _id_only_fields():
        for garbage in ("garbage", "QWNjb3VudDpub3QtYS11dWlk", "Tm9wZTox"):
            variables = {arg: [garbage] if listed else garbage for arg, listed in args}
            body = await server.gql(document, variables, token=user.access_token)
            for error in body.get("errors", []):
                assert error["message"] != "Unexpected error.", (name, garbage, body)
                assert error.get("extensions", {}).get("code") in ("BAD_USER_INPUT", "NOT_FOUND", "FORBIDDEN"), (name, body)
            checked += 1
    assert checked >= 30
    await still_up(server)


async def test_an_import_error_that_would_repeat_fails_at_once(server: RunningServer, monkeypatch) -> None:
    import csv as csv_module

    from finora_gql.imports import run as imports

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise csv_module.Error("line 1: something the csv module cannot read")

    user = await signed_in_user(server)
    account = await create_account(server, user.access_token)
    monkeypatch.setattr(imports, "_process", broken)
    started = await start_import(server, user.access_token, accountId=account["id"], csv="date,amount\n2026-01-02,-1\n")
    done = await wait_for_import(server, user.access_token, started["import"]["id"], timeout=30)
    assert done["status"] == "FAILED"
    assert done["progress"]["message"].startswith("The file could not be imported: line 1: something")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"notes": "a\x00b"}, "input.notes"),
        ({"merchant": "Caf\x00e"}, "input.merchant"),
        ({"description": "\x00"}, "input.description"),
        ({"tags": ["ok", "t\x00"]}, "input.tags[1]"),
    ],
)
async def test_nul_in_any_stored_string_is_refused_with_its_path(server: RunningServer, overrides, field) -> None:
    user = await signed_in_user(server)
    account = await create_account(server, user.access_token)
    body = await server.gql(CREATE_TXN, {"input": {"accountId": account["id"], "date": "2026-01-05", "amount": "-1",
                                                   **overrides}}, token=user.access_token)
    assert top_error(body)["extensions"] == {"code": "BAD_USER_INPUT", "field": field}


async def test_nul_in_import_options_and_mapping_is_refused(server: RunningServer) -> None:
    user = await signed_in_user(server)
    account = await create_account(server, user.access_token)
    document = "mutation($input: StartImportInput!) { startImport(input: $input) { import { id } errors { code } } }"
    for extra, field in (({"options": {"delimiter": "\x00"}}, "input.options.delimiter"),
                         ({"mapping": {"date": "Da\x00te"}}, "input.mapping.date")):
        body = await server.gql(document, {"input": {"accountId": account["id"], "csv": "date,amount\n", **extra}},
                                token=user.access_token)
        assert top_error(body)["extensions"] == {"code": "BAD_USER_INPUT", "field": field}

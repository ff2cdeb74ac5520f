"""Logs: JSON lines with request, trace, user and operation; a full auth flow (register, verify,
login, refresh, reset) logged at DEBUG by every library leaves no password, token, secret or
email body in them."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import urllib.parse
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
import uvicorn

from finora_gql.app import create_app
from finora_gql.config import Settings
from finora_gql.core import logs, tracing
from tests.flows import LOGIN, REFRESH, REGISTER, VERIFY, link_token
from tests.server import RunningServer, unique_email
from tests.smtp_sink import SmtpSink

REQUEST_RESET = "mutation($email: String!) { requestPasswordReset(input: {email: $email}) { ok errors { code } } }"
RESET = "mutation($input: ResetPasswordInput!) { resetPassword(input: $input) { user { id } errors { code } } }"
ME = "query Me { me { id email } }"
PASSWORD = "first secret passphrase 1"
NEW_PASSWORD = "second secret passphrase 2"


class NotTheApp(logging.Filter):
    """The test's own SMTP server (aiosmtpd logs every message it receives at DEBUG) is not part
    of the deployed app; everything else, libraries included, is kept."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.name.startswith("mail.log")


@contextlib.asynccontextmanager
async def logged_server(settings: Settings, stream: io.StringIO) -> AsyncIterator[RunningServer]:
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    handler = logs.configure(settings, level="DEBUG", log_format="json", stream=stream)
    handler.addFilter(NotTheApp())
    app = create_app(settings)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="on", log_config=None, log_level="debug",
                            access_log=True, ws="websockets-sansio")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield RunningServer(base_url=f"http://127.0.0.1:{port}", settings=settings, app=app)
    finally:
        server.should_exit = True
        await task
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
        tracing.disable()


@pytest.fixture
def log_stream() -> io.StringIO:
    return io.StringIO()


async def test_a_full_auth_flow_logs_no_secret(settings: Settings, smtp_sink: SmtpSink, log_stream: io.StringIO) -> None:
    tracing.install()
    email = unique_email("logged")
    secrets: list[str] = [PASSWORD, NEW_PASSWORD, settings.signing_secret,
                          settings.smtp_password.get_secret_value()]  # type: ignore[union-attr]
    bodies: list[str] = []
    async with logged_server(settings, log_stream) as server:
        registered = await server.gql(REGISTER, {"input": {"email": email, "password": PASSWORD, "name": "Logan"}})
        assert registered["data"]["register"]["errors"] == []
        confirm = await smtp_sink.wait_for(lambda m: m["To"] == email and "Confirm" in m["Subject"])
        verify_token = link_token(confirm)
        bodies.append(confirm.get_body(("plain",)).get_content())
        assert (await server.gql(VERIFY, {"token": urllib.parse.unquote(verify_token)}))["data"]["verifyEmail"]["errors"] == []
        signed = (await server.gql(LOGIN, {"input": {"email": email, "password": PASSWORD}}))["data"]["login"]
        assert signed["errors"] == []
        me = await server.gql(ME, token=signed["accessToken"], headers={"x-request-id": "req-logs-1"})
        assert me["data"]["me"]["email"] == email
        refreshed = (await server.gql(REFRESH, {"token": signed["refreshToken"]}))["data"]["refreshToken"]
        assert refreshed["errors"] == []
        wrong = (await server.gql(LOGIN, {"input": {"email": email, "password": NEW_PASSWORD}}))["data"]["login"]
        assert wrong["errors"]  # a failed login is logged by some; never with the password tried
        await server.gql(REQUEST_RESET, {"email": email})
        reset_mail = await smtp_sink.wait_for(lambda m: m["To"] == email and "Reset" in m["Subject"])
        reset_token = link_token(reset_mail)
        bodies.append(reset_mail.get_body(("plain",)).get_content())
        done = await server.gql(RESET, {"input": {"token": urllib.parse.unquote(reset_token), "newPassword": NEW_PASSWORD}})
        assert done["data"]["resetPassword"]["errors"] == []
        # Careless log calls are masked too: the filter sits on the handler.
        careless = logging.getLogger("finora.careless")
        careless.warning("login attempt %s", {"email": email, "password": PASSWORD, "refreshToken": refreshed["refreshToken"]})
        careless.info("sent Authorization: Bearer %s and url https://x/reset?token=%s", signed["accessToken"], reset_token)
        careless.info("email", extra={"body": bodies[-1], "password": NEW_PASSWORD})
        try:
            raise ValueError(f"could not verify {refreshed['accessToken']}")
        except ValueError:
            careless.exception("token check failed")
        await asyncio.sleep(0.5)  # the last jobs' log lines

    text = log_stream.getvalue()
    lines = [orjson.loads(line) for line in text.splitlines() if line.strip()]
    assert len(lines) > 20
    tokens = [signed["accessToken"], signed["refreshToken"], refreshed["accessToken"], refreshed["refreshToken"],
              verify_token, urllib.parse.unquote(verify_token), reset_token, urllib.parse.unquote(reset_token)]
    for secret in secrets + tokens:
        assert secret not in text, f"a secret was logged: {secret[:6]}…"
    for body in bodies:
        for line in body.splitlines():
            if len(line.strip()) > 30 and "token=" in line:  # the link line of each email
                assert line.strip() not in text
    assert "[REDACTED]" in text
    assert any(entry.get("message") == "token check failed" and "[REDACTED]" in entry.get("exception", "") for entry in lines)

    # Context: the request id the caller sent, the user, the operation and the trace on the access line.
    me_lines = [entry for entry in lines if entry.get("request_id") == "req-logs-1"]
    assert me_lines, text[-2000:]
    access = next(entry for entry in me_lines if entry["logger"] == "uvicorn.access")
    assert access["user_id"] and access["operation"] == "query Me"
    assert len(access["trace_id"]) == 32
    generated = {entry["request_id"] for entry in lines if entry.get("request_id")}
    assert len(generated) >= 5  # each request got its own id


def test_text_format_is_human_and_redacted() -> None:
    stream = io.StringIO()
    handler = logs.make_handler("text", stream)
    logger = logging.getLogger("finora.text-format")
    logger.addHandler(handler)
    logger.propagate = False
    token = logs.bind(logs.LogContext(request_id="abc123", user_id="u-1", operation="query Me"))
    try:
        logger.warning("password=%s and api_key: %r", "hunter2hunter2", "sk-live-123456789")
    finally:
        logs.unbind(token)
        logger.removeHandler(handler)
    line = stream.getvalue()
    assert "hunter2" not in line and "sk-live" not in line
    assert "WARNING" in line and "[req=abc123 user=u-1 op=query Me]" in line
    assert not line.lstrip().startswith("{")


@pytest.mark.parametrize("text", [
    '{"password": "p4ss word"}', "{'newPassword': 'p4ss word'}", "GET /files/a?signature=p4ssword&x=1",
    "postgresql://user:p4ssword@db/finora", "Authorization: Bearer p4sswordp4ssword",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.p4sswordsig", 'smtp_password="p4ss word"',
])
def test_redaction_patterns(text: str) -> None:
    assert "p4ss" not in logs.redact(text)


def test_structures_are_redacted_by_key() -> None:
    value: Any = logs.redact_value({"user": {"email": "a@b.c", "password": "x", "tokens": ["eyJa1234.eyJb1234.sig12345"]}})
    assert value == {"user": {"email": "a@b.c", "password": "[REDACTED]", "tokens": ["[REDACTED]"]}}

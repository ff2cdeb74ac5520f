"""Abuse limits counted per field execution, with the in-process and the Redis backends."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as redis_asyncio

from tests.conftest import make_settings
from tests.flows import PASSWORD, register
from tests.server import RunningServer, running_server, unique_email
from tests.smtp_sink import SmtpSink

REDIS_URL = "redis://127.0.0.1:6379/13"  # a database of its own, flushed per test


@pytest.fixture(params=["in-process", "redis"])
async def limited_server(request, database_url: str, data_dir: Path, smtp_sink: SmtpSink) -> AsyncIterator[RunningServer]:
    overrides: dict[str, object] = {
        "rate_limit_login_per_ip": "30/300",
        "rate_limit_login_per_email": "10/900",
        "rate_limit_register_per_ip": "5/3600",
        "rate_limit_password_reset_per_email": "3/3600",
    }
    if request.param == "redis":
        client = redis_asyncio.Redis.from_url(REDIS_URL)
        await client.flushdb()
        await client.aclose()
        overrides["redis_url"] = REDIS_URL
    async with running_server(make_settings(database_url, data_dir, smtp_sink, **overrides)) as server:
        yield server


def aliased_logins(count: int, emails: list[str], password: str) -> str:
    fields = " ".join(
        f'a{i}: login(input: {{email: "{emails[i % len(emails)]}", password: "{password}"}}) '
        "{ accessToken errors { code } }"
        for i in range(count)
    )
    return f"mutation {{ {fields} }}"


def codes(body: dict) -> Counter:
    return Counter(
        (payload["errors"][0]["code"] if payload["errors"] else "OK") for payload in body["data"].values()
    )


async def test_hundred_aliased_logins_are_a_hundred_attempts(limited_server: RunningServer) -> None:
    email = unique_email()
    assert (await register(limited_server, email))["errors"] == []
    body = await limited_server.gql(aliased_logins(100, [email], "guessing the password"))
    seen = codes(body)
    # Ten attempts reach the account (which locks after five); the other ninety never do.
    assert seen["RATE_LIMITED"] == 90
    assert seen["INVALID_CREDENTIALS"] == 4 and seen["ACCOUNT_LOCKED"] == 6
    assert not any(payload["accessToken"] for payload in body["data"].values())


async def test_per_ip_limit_spans_many_emails(limited_server: RunningServer) -> None:
    emails = [unique_email() for _ in range(50)]
    body = await limited_server.gql(aliased_logins(50, emails, PASSWORD))
    seen = codes(body)
    assert seen["RATE_LIMITED"] == 20 and seen["INVALID_CREDENTIALS"] == 30
    limited = next(p for p in body["data"].values() if p["errors"][0]["code"] == "RATE_LIMITED")
    assert limited["errors"][0]


async def test_register_and_reset_are_limited(limited_server: RunningServer) -> None:
    results = [await register(limited_server) for _ in range(6)]
    assert [r["errors"][0]["code"] if r["errors"] else "OK" for r in results] == ["OK"] * 5 + ["RATE_LIMITED"]

    email = unique_email()
    query = "mutation($e: String!) { requestPasswordReset(input: {email: $e}) { ok errors { code message } } }"
    answers = [(await limited_server.gql(query, {"e": email}))["data"]["requestPasswordReset"] for _ in range(4)]
    assert [a["ok"] for a in answers] == [True, True, True, False]
    assert answers[3]["errors"][0]["code"] == "RATE_LIMITED"
    assert "seconds" in answers[3]["errors"][0]["message"]

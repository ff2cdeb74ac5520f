"""GraphQL operations and multi-step flows the tests share."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from strawberry.relay import GlobalID

from tests.server import RunningServer, unique_email
from tests.smtp_sink import SmtpSink

PASSWORD = "correct horse battery"

USER_FIELDS = "id email name role baseCurrency timezone emailVerified banned createdAt"
ERRORS = "errors { code field message }"

REGISTER = f"""mutation($input: RegisterInput!) {{
  register(input: $input) {{ user {{ {USER_FIELDS} }} {ERRORS} }} }}"""
VERIFY = f"mutation($token: String!) {{ verifyEmail(input: {{token: $token}}) {{ user {{ {USER_FIELDS} }} {ERRORS} }} }}"
LOGIN = f"""mutation($input: LoginInput!) {{
  login(input: $input) {{ accessToken refreshToken expiresAt user {{ {USER_FIELDS} }} {ERRORS} }} }}"""
REFRESH = f"""mutation($token: String!) {{
  refreshToken(input: {{refreshToken: $token}}) {{ accessToken refreshToken expiresAt {ERRORS} }} }}"""
ME = f"{{ me {{ {USER_FIELDS} }} }}"


@dataclass
class SignedIn:
    email: str
    password: str
    user_id: str
    access_token: str
    refresh_token: str


def link_token(message: Any) -> str:
    body = message.get_body(("plain",)).get_content()
    match = re.search(r"[?&]token=([A-Za-z0-9_\-%]+)", body)
    assert match, body
    return match.group(1)


async def register(server: RunningServer, email: str | None = None, password: str = PASSWORD, name: str = "Ann Example") -> dict[str, Any]:
    email = email or unique_email()
    body = await server.gql(REGISTER, {"input": {"email": email, "password": password, "name": name}})
    return body["data"]["register"]


async def login(server: RunningServer, email: str, password: str = PASSWORD) -> dict[str, Any]:
    body = await server.gql(LOGIN, {"input": {"email": email, "password": password}})
    return body["data"]["login"]


async def signed_in_user(server: RunningServer, sink: SmtpSink | None = None) -> SignedIn:
    """A registered (and, when a sink is given, verified) user with a fresh session."""
    email = unique_email()
    registered = await register(server, email)
    assert registered["errors"] == [], registered
    if sink is not None:
        message = await sink.wait_for(lambda m: m["To"] == email and "Confirm" in m["Subject"])
        verified = await server.gql(VERIFY, {"token": link_token(message)})
        assert verified["data"]["verifyEmail"]["errors"] == []
    result = await login(server, email)
    assert result["errors"] == [], result
    return SignedIn(email, PASSWORD, result["user"]["id"], result["accessToken"], result["refreshToken"])


def node_uuid(global_id: str) -> uuid.UUID:
    return uuid.UUID(GlobalID.from_id(global_id).node_id)

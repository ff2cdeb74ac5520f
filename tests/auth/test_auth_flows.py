"""Every sign-up, sign-in and session flow, over real HTTP against uvicorn."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import select

from finora_gql.admin.models import AuditLog
from finora_gql.core import clock
from finora_gql.users.models import Role, User
from tests.flows import (
    ERRORS,
    ME,
    PASSWORD,
    REFRESH,
    USER_FIELDS,
    VERIFY,
    link_token,
    login,
    node_uuid,
    register,
    signed_in_user,
)
from tests.server import RunningServer, unique_email
from tests.smtp_sink import SmtpSink

LOGOUT = f"mutation {{ logout {{ ok {ERRORS} }} }}"
LOGOUT_ALL = f"mutation {{ logoutAll {{ ok {ERRORS} }} }}"
REQUEST_RESET = f"mutation($email: String!) {{ requestPasswordReset(input: {{email: $email}}) {{ ok {ERRORS} }} }}"
RESET = f"""mutation($input: ResetPasswordInput!) {{
  resetPassword(input: $input) {{ user {{ {USER_FIELDS} }} {ERRORS} }} }}"""
CHANGE = f"""mutation($input: ChangePasswordInput!) {{
  changePassword(input: $input) {{ user {{ id }} {ERRORS} }} }}"""
UPDATE_PROFILE = f"""mutation($input: UpdateProfileInput!) {{
  updateProfile(input: $input) {{ user {{ {USER_FIELDS} }} {ERRORS} }} }}"""


def error_codes(payload: dict) -> list[tuple[str, str | None]]:
    return [(error["code"], error["field"]) for error in payload["errors"]]


def top_level_code(body: dict) -> str:
    return body["errors"][0]["extensions"]["code"]


async def test_register_sends_verification_and_verify_confirms(server: RunningServer, smtp_sink: SmtpSink) -> None:
    email = unique_email("Mixed.Case")
    registered = await register(server, email.upper(), name="  Ann   Example ")
    assert registered["errors"] == []
    user = registered["user"]
    assert user["email"] == email.lower()
    assert user["name"] == "Ann Example"
    assert user["emailVerified"] is False
    assert user["role"] == "USER"

    message = await smtp_sink.wait_for(lambda m: m["To"] == email.lower())
    delivery = next(d for d in smtp_sink.deliveries if d.message["Message-ID"] == message["Message-ID"])
    assert delivery.tls and delivery.auth_user == smtp_sink.username
    assert message.get_body(("html",)) is not None
    token = link_token(message)

    verified = (await server.gql(VERIFY, {"token": token}))["data"]["verifyEmail"]
    assert verified["errors"] == [] and verified["user"]["emailVerified"] is True
    again = (await server.gql(VERIFY, {"token": token}))["data"]["verifyEmail"]
    assert error_codes(again) == [("INVALID_TOKEN", "token")]


@pytest.mark.parametrize(
    ("email", "password", "name", "expected"),
    [
        ("not-an-email", PASSWORD, "Ann", [("INVALID", "email")]),
        (None, "short", "Ann", [("PASSWORD_TOO_WEAK", "password")]),
        (None, "password123", "Ann", [("PASSWORD_TOO_WEAK", "password")]),
        (None, "aaaaaaaaaaaaaa", "Ann", [("PASSWORD_TOO_WEAK", "password")]),
        (None, PASSWORD, "   ", [("REQUIRED", "name")]),
    ],
)
async def test_register_rejects_bad_input(server: RunningServer, email, password, name, expected) -> None:
    result = await register(server, email or unique_email(), password=password, name=name)
    assert result["user"] is None
    assert error_codes(result) == expected
    assert result["errors"][0]["message"]


async def test_register_with_a_known_email_answers_as_new_and_writes_nothing(server: RunningServer) -> None:
    email = unique_email()
    assert (await register(server, email))["errors"] == []
    duplicate = await register(server, email.upper(), password="another long password")
    # The same answer as for a new address (no account enumeration); the owner gets an email
    # (tests/api/test_bad_input.py checks it).
    assert duplicate["errors"] == [] and duplicate["user"]["email"] == email.lower()
    # The first password still works: the duplicate changed nothing.
    assert (await login(server, email))["errors"] == []
    assert (await login(server, email, "another long password"))["errors"][0]["code"] == "INVALID_CREDENTIALS"


async def test_login_me_and_wrong_password(server: RunningServer) -> None:
    user = await signed_in_user(server)
    me = await server.gql(ME, token=user.access_token)
    assert me["data"]["me"]["email"] == user.email

    wrong = await login(server, user.email, "wrong password entirely")
    assert wrong["accessToken"] is None
    assert error_codes(wrong) == [("INVALID_CREDENTIALS", None)]
    unknown = await login(server, unique_email(), PASSWORD)
    assert unknown["errors"][0]["message"] == wrong["errors"][0]["message"]


async def test_me_without_token_is_unauthenticated(server: RunningServer) -> None:
    body = await server.gql(ME)
    assert body["data"] is None
    assert top_level_code(body) == "UNAUTHENTICATED"


async def test_refresh_rotates_and_reuse_revokes_the_family(server: RunningServer) -> None:
    user = await signed_in_user(server)
    first = (await server.gql(REFRESH, {"token": user.refresh_token}))["data"]["refreshToken"]
    assert first["errors"] == []
    assert first["refreshToken"] != user.refresh_token
    assert (await server.gql(ME, token=first["accessToken"]))["data"]["me"]["id"] == user.user_id

    # The old token was rotated away; presenting it again is treated as theft.
    reused = (await server.gql(REFRESH, {"token": user.refresh_token}))["data"]["refreshToken"]
    assert error_codes(reused) == [("INVALID_TOKEN", "refreshToken")]
    assert "already used" in reused["errors"][0]["message"]
    # ... which ends the whole session: the newest tokens stop working too.
    assert top_level_code(await server.gql(ME, token=first["accessToken"])) == "UNAUTHENTICATED"
    newest = (await server.gql(REFRESH, {"token": first["refreshToken"]}))["data"]["refreshToken"]
    assert error_codes(newest) == [("INVALID_TOKEN", "refreshToken")]


async def test_refresh_token_expires_after_seven_days(server: RunningServer) -> None:
    user = await signed_in_user(server)
    with clock.travel(timedelta(days=7, minutes=1)):
        expired = (await server.gql(REFRESH, {"token": user.refresh_token}))["data"]["refreshToken"]
    assert error_codes(expired) == [("INVALID_TOKEN", "refreshToken")]


async def test_logout_ends_only_this_session(server: RunningServer) -> None:
    user = await signed_in_user(server)
    other = await login(server, user.email)
    logout = await server.gql(LOGOUT, token=user.access_token)
    assert logout["data"]["logout"] == {"ok": True, "errors": []}
    assert top_level_code(await server.gql(ME, token=user.access_token)) == "UNAUTHENTICATED"
    refreshed = (await server.gql(REFRESH, {"token": user.refresh_token}))["data"]["refreshToken"]
    assert error_codes(refreshed) == [("INVALID_TOKEN", "refreshToken")]
    assert (await server.gql(ME, token=other["accessToken"]))["data"]["me"]["email"] == user.email


async def test_logout_all_ends_every_session(server: RunningServer) -> None:
    user = await signed_in_user(server)
    other = await login(server, user.email)
    assert (await server.gql(LOGOUT_ALL, token=other["accessToken"]))["data"]["logoutAll"]["ok"] is True
    for token in (user.access_token, other["accessToken"]):
        assert top_level_code(await server.gql(ME, token=token)) == "UNAUTHENTICATED"


async def test_password_reset_flow(server: RunningServer, smtp_sink: SmtpSink) -> None:
    user = await signed_in_user(server)
    unknown = await server.gql(REQUEST_RESET, {"email": unique_email()})
    known = await server.gql(REQUEST_RESET, {"email": user.email})
    assert unknown == known == {"data": {"requestPasswordReset": {"ok": True, "errors": []}}}

    message = await smtp_sink.wait_for(lambda m: m["To"] == user.email and "Reset" in m["Subject"])
    token = link_token(message)
    weak = (await server.gql(RESET, {"input": {"token": token, "newPassword": "short"}}))["data"]["resetPassword"]
    assert error_codes(weak) == [("PASSWORD_TOO_WEAK", "newPassword")]

    new_password = "a brand new passphrase"
    reset = (await server.gql(RESET, {"input": {"token": token, "newPassword": new_password}}))["data"]["resetPassword"]
    assert reset["errors"] == [] and reset["user"]["emailVerified"] is True
    # Single use, every session signed out, the old password gone, the new one works.
    reused = (await server.gql(RESET, {"input": {"token": token, "newPassword": "yet another passphrase"}}))
    assert error_codes(reused["data"]["resetPassword"]) == [("INVALID_TOKEN", "token")]
    assert top_level_code(await server.gql(ME, token=user.access_token)) == "UNAUTHENTICATED"
    assert error_codes(await login(server, user.email, PASSWORD)) == [("INVALID_CREDENTIALS", None)]
    assert (await login(server, user.email, new_password))["errors"] == []


async def test_password_reset_link_expires_after_an_hour(server: RunningServer, smtp_sink: SmtpSink) -> None:
    user = await signed_in_user(server)
    await server.gql(REQUEST_RESET, {"email": user.email})
    message = await smtp_sink.wait_for(lambda m: m["To"] == user.email and "Reset" in m["Subject"])
    with clock.travel(timedelta(hours=1, seconds=1)):
        late = await server.gql(RESET, {"input": {"token": link_token(message), "newPassword": "a late passphrase"}})
    assert error_codes(late["data"]["resetPassword"]) == [("INVALID_TOKEN", "token")]


async def test_change_password_keeps_this_session_and_ends_others(server: RunningServer) -> None:
    user = await signed_in_user(server)
    other = await login(server, user.email)
    wrong = await server.gql(
        CHANGE, {"input": {"currentPassword": "not it at all", "newPassword": "fresh passphrase"}}, token=user.access_token
    )
    assert error_codes(wrong["data"]["changePassword"]) == [("INVALID_CREDENTIALS", "currentPassword")]
    changed = await server.gql(
        CHANGE, {"input": {"currentPassword": PASSWORD, "newPassword": "fresh passphrase"}}, token=user.access_token
    )
    assert changed["data"]["changePassword"]["errors"] == []
    assert (await server.gql(ME, token=user.access_token))["data"]["me"]["id"] == user.user_id
    assert top_level_code(await server.gql(ME, token=other["accessToken"])) == "UNAUTHENTICATED"
    assert (await login(server, user.email, "fresh passphrase"))["errors"] == []


async def test_update_profile_validates_each_field(server: RunningServer) -> None:
    user = await signed_in_user(server)
    ok = await server.gql(
        UPDATE_PROFILE, {"input": {"name": "Ann B", "baseCurrency": "eur", "timezone": "Europe/Berlin"}}, token=user.access_token
    )
    profile = ok["data"]["updateProfile"]["user"]
    assert (profile["name"], profile["baseCurrency"], profile["timezone"]) == ("Ann B", "EUR", "Europe/Berlin")
    for field, value in (("timezone", "Mars/Olympus"), ("name", "")):
        bad = await server.gql(UPDATE_PROFILE, {"input": {field: value}}, token=user.access_token)
        payload = bad["data"]["updateProfile"]
        assert payload["user"] is None and payload["errors"][0]["field"] == field
    # baseCurrency is a CurrencyCode: a code outside ISO 4217 is refused before the mutation runs.
    bad = await server.gql(UPDATE_PROFILE, {"input": {"baseCurrency": "XYZ"}}, token=user.access_token)
    assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT" and bad.get("data") is None
    # Nothing of the refused updates was written.
    me = (await server.gql(ME, token=user.access_token))["data"]["me"]
    assert (me["name"], me["baseCurrency"], me["timezone"]) == ("Ann B", "EUR", "Europe/Berlin")


async def test_five_failures_lock_the_account_for_thirty_minutes(server: RunningServer, smtp_sink: SmtpSink) -> None:
    user = await signed_in_user(server)
    for _ in range(4):
        assert error_codes(await login(server, user.email, "wrong password entirely")) == [("INVALID_CREDENTIALS", None)]
    fifth = await login(server, user.email, "wrong password entirely")
    assert error_codes(fifth) == [("ACCOUNT_LOCKED", None)]
    await smtp_sink.wait_for(lambda m: m["To"] == user.email and "locked" in m["Subject"])

    # Even the right password is refused while locked ...
    assert error_codes(await login(server, user.email)) == [("ACCOUNT_LOCKED", None)]
    with clock.travel(timedelta(minutes=29)):
        assert error_codes(await login(server, user.email)) == [("ACCOUNT_LOCKED", None)]
    # ... and accepted once the lock has expired, which also resets the failure count.
    with clock.travel(timedelta(minutes=31)):
        assert (await login(server, user.email))["errors"] == []
        assert error_codes(await login(server, user.email, "wrong password entirely")) == [("INVALID_CREDENTIALS", None)]


async def promote_to_admin(server: RunningServer, user_id: str) -> None:
    async with server.runtime.sessions() as session:
        await session.exec(update(User).where(User.id == node_uuid(user_id)).values(role=Role.ADMIN))
        await session.commit()


BAN = f"""mutation($id: ID!, $reason: String!) {{
  banUser(input: {{userId: $id, reason: $reason}}) {{ user {{ banned }} {ERRORS} }} }}"""
UNBAN = f"mutation($id: ID!) {{ unbanUser(input: {{userId: $id}}) {{ user {{ banned }} {ERRORS} }} }}"


async def test_banned_user_is_cut_off_at_once(server: RunningServer) -> None:
    admin = await signed_in_user(server)
    await promote_to_admin(server, admin.user_id)
    user = await signed_in_user(server)

    # A normal user may not ban anyone.
    forbidden = await server.gql(BAN, {"id": admin.user_id, "reason": "x"}, token=user.access_token)
    assert top_level_code(forbidden) == "FORBIDDEN"

    banned = await server.gql(BAN, {"id": user.user_id, "reason": "fraud"}, token=admin.access_token)
    assert banned["data"]["banUser"] == {"user": {"banned": True}, "errors": []}
    assert top_level_code(await server.gql(ME, token=user.access_token)) == "UNAUTHENTICATED"
    assert error_codes(await login(server, user.email)) == [("ACCOUNT_BANNED", None)]
    refreshed = (await server.gql(REFRESH, {"token": user.refresh_token}))["data"]["refreshToken"]
    assert refreshed["errors"][0]["code"] == "INVALID_TOKEN"

    await server.gql(UNBAN, {"id": user.user_id}, token=admin.access_token)
    assert (await login(server, user.email))["errors"] == []

    async with server.runtime.sessions() as session:
        actions = (await session.exec(select(AuditLog.action).where(AuditLog.actor_id == node_uuid(admin.user_id)))).all()
    assert sorted(actions) == ["user.ban", "user.unban"]

"""Access tokens that must not work: expired, forged, unsigned, unknown key, retired key."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import timedelta

import pytest
from jose import jwt

from finora_gql.core import clock
from finora_gql.core.security import InvalidToken, SigningKey, TokenCodec, key_id
from tests.flows import ME, node_uuid, signed_in_user
from tests.server import RunningServer

CURRENT = "current-secret-" + "c" * 40
PREVIOUS = "previous-secret-" + "p" * 40


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def assert_unauthenticated(server: RunningServer, token: str) -> None:
    body = await server.gql(ME, token=token)
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "Traceback" not in json.dumps(body)


async def test_expired_token(server: RunningServer) -> None:
    user = await signed_in_user(server)
    with clock.travel(timedelta(minutes=15, seconds=1)):
        await assert_unauthenticated(server, user.access_token)
    # Within its 15 minutes it works.
    with clock.travel(timedelta(minutes=14)):
        assert (await server.gql(ME, token=user.access_token))["data"]["me"]["email"] == user.email


async def test_forged_signature(server: RunningServer) -> None:
    user = await signed_in_user(server)
    claims = jwt.get_unverified_claims(user.access_token)
    kid = jwt.get_unverified_header(user.access_token)["kid"]
    forged = jwt.encode({**claims, "role": "ADMIN"}, "an attacker's guess " * 3, algorithm="HS256", headers={"kid": kid})
    await assert_unauthenticated(server, forged)
    header, payload, signature = user.access_token.split(".")
    tampered_payload = b64({**claims, "sub": str(uuid.uuid4())})
    await assert_unauthenticated(server, f"{header}.{tampered_payload}.{signature}")


async def test_alg_none(server: RunningServer) -> None:
    user = await signed_in_user(server)
    claims = jwt.get_unverified_claims(user.access_token)
    kid = jwt.get_unverified_header(user.access_token)["kid"]
    unsigned = f"{b64({'alg': 'none', 'typ': 'JWT', 'kid': kid})}.{b64(claims)}."
    await assert_unauthenticated(server, unsigned)


async def test_wrong_kid(server: RunningServer) -> None:
    user = await signed_in_user(server)
    claims = jwt.get_unverified_claims(user.access_token)
    token = jwt.encode(claims, server.settings.signing_secret, algorithm="HS256", headers={"kid": "0000000000000000"})
    await assert_unauthenticated(server, token)


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c", "Bearer", "x" * 5000])
async def test_malformed_tokens(server: RunningServer, token: str) -> None:
    await assert_unauthenticated(server, token)


async def test_token_for_another_users_session_is_refused(server: RunningServer) -> None:
    """A valid signature is not enough: sub and sid must belong together."""
    ann = await signed_in_user(server)
    bob = await signed_in_user(server)
    ann_claims = jwt.get_unverified_claims(ann.access_token)
    mixed = {**ann_claims, "sub": str(node_uuid(bob.user_id))}
    token = jwt.encode(mixed, server.settings.signing_secret, algorithm="HS256",
                       headers={"kid": key_id(server.settings.signing_secret)})
    await assert_unauthenticated(server, token)


def test_previous_secret_is_honoured_only_during_its_grace_period() -> None:
    """After rotating JWT_SECRET, tokens signed with the old one work until the grace period ends."""
    grace_end = clock.now() + timedelta(days=7)
    old = TokenCodec(SigningKey(PREVIOUS), None, timedelta(minutes=15))
    rotated = TokenCodec(SigningKey(CURRENT), SigningKey(PREVIOUS, grace_end), timedelta(minutes=15))
    user_id, session_id = uuid.uuid4(), uuid.uuid4()

    token, _ = old.issue_access(user_id=user_id, session_id=session_id, role="USER")
    assert rotated.decode_access(token).user_id == user_id
    new_token, _ = rotated.issue_access(user_id=user_id, session_id=session_id, role="USER")
    assert jwt.get_unverified_header(new_token)["kid"] == key_id(CURRENT)

    with clock.travel(grace_end - clock.now() + timedelta(seconds=1)):
        fresh_old, _ = old.issue_access(user_id=user_id, session_id=session_id, role="USER")
        with pytest.raises(InvalidToken):
            rotated.decode_access(fresh_old)
        assert rotated.decode_access(rotated.issue_access(user_id=user_id, session_id=session_id, role="USER")[0])


async def test_refresh_tokens_are_stored_only_as_digests(server: RunningServer) -> None:
    from sqlmodel import select

    from finora_gql.auth.models import RefreshToken
    from finora_gql.core.security import token_digest

    user = await signed_in_user(server)
    async with server.runtime.sessions() as session:
        stored = (await session.exec(select(RefreshToken.token_hash))).all()
    assert token_digest(user.refresh_token) in stored
    assert user.refresh_token not in stored

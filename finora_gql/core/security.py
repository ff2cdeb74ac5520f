"""Password hashing, access tokens and opaque secrets.

Access tokens are HS256 JWTs whose `kid` names the secret that signed them: after a secret is
rotated, tokens signed with the previous one stay valid until its grace period ends.
Refresh and email tokens are opaque random strings; only their SHA-256 is stored.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from jose import jwt
from jose.exceptions import JOSEError
from passlib.context import CryptContext

from finora_gql.core import clock

ALGORITHM = "HS256"


class PasswordHasher:
    """argon2id through passlib; hashing runs in a thread so it never stalls the event loop."""

    def __init__(self, *, time_cost: int, memory_cost_kib: int, parallelism: int) -> None:
        self._context = CryptContext(
            schemes=["argon2"],
            argon2__type="ID",
            argon2__time_cost=time_cost,
            argon2__memory_cost=memory_cost_kib,
            argon2__parallelism=parallelism,
        )
        # Verifying against this when the email is unknown keeps both paths equally slow.
        self._decoy = self._context.hash(secrets.token_urlsafe(16))

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._context.hash, password)

    async def verify(self, password: str, password_hash: str | None) -> bool:
        return await asyncio.to_thread(self._context.verify, password, password_hash or self._decoy)

    def needs_rehash(self, password_hash: str) -> bool:
        return self._context.needs_update(password_hash)


def key_id(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class SigningKey:
    secret: str
    valid_until: datetime | None = None  # None: the current key

    @property
    def kid(self) -> str:
        return key_id(self.secret)


@dataclass(frozen=True)
class AccessClaims:
    user_id: uuid.UUID
    session_id: uuid.UUID
    role: str
    expires_at: datetime
    usable_until: datetime  # the expiry, or the signing key's retirement when that comes first


class InvalidToken(Exception):
    pass


class TokenCodec:
    def __init__(self, current: SigningKey, previous: SigningKey | None, access_ttl: timedelta) -> None:
        self._current = current
        self._keys = {current.kid: current}
        if previous is not None:
            self._keys[previous.kid] = previous
        self.access_ttl = access_ttl

    def issue_access(self, *, user_id: uuid.UUID, session_id: uuid.UUID, role: str) -> tuple[str, datetime]:
        issued = clock.now()
        expires = issued + self.access_ttl
        claims = {
            "sub": str(user_id),
            "sid": str(session_id),
            "role": role,
            "typ": "access",
            "iat": int(issued.timestamp()),
            "exp": int(expires.timestamp()),
            "jti": secrets.token_hex(8),
        }
        token = jwt.encode(claims, self._current.secret, algorithm=ALGORITHM, headers={"kid": self._current.kid})
        return token, expires.replace(microsecond=0)

    def decode_access(self, token: str) -> AccessClaims:
        try:
            header = jwt.get_unverified_header(token)
        except JOSEError as exc:
            raise InvalidToken("malformed token") from exc
        if header.get("alg") != ALGORITHM:
            raise InvalidToken("unexpected algorithm")
        key = self._keys.get(header.get("kid", ""))
        if key is None:
            raise InvalidToken("unknown key id")
        now = clock.now()
        if key.valid_until is not None and now >= key.valid_until:
            raise InvalidToken("signing key retired")
        try:
            # Expiry is checked below against our clock, which tests can move.
            claims = jwt.decode(
                token, key.secret, algorithms=[ALGORITHM],
                options={"verify_exp": False, "verify_aud": False, "require_exp": True, "require_sub": True},
            )
        except JOSEError as exc:
            raise InvalidToken("bad signature or claims") from exc
        try:
            expires_at = datetime.fromtimestamp(int(claims["exp"]), tz=now.tzinfo)
            if claims.get("typ") != "access" or now >= expires_at:
                raise InvalidToken("expired or not an access token")
            return AccessClaims(
                user_id=uuid.UUID(claims["sub"]),
                session_id=uuid.UUID(claims["sid"]),
                role=str(claims.get("role", "")),
                expires_at=expires_at,
                usable_until=min(expires_at, key.valid_until) if key.valid_until is not None else expires_at,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidToken("malformed claims") from exc


def new_opaque_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


"""Sign-up, sign-in, sessions and password recovery.

Every function takes the database session first and the runtime (hasher, token codec, pub/sub)
second. Emails are queued in the same transaction; realtime events go out after it commits.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from finora_gql.auth import emails
from finora_gql.auth.models import AuthSession, Credential, EmailToken, RefreshToken, TokenPurpose
from finora_gql.auth.password_policy import MAX_LENGTH as MAX_PASSWORD_LENGTH
from finora_gql.auth.password_policy import check_password
from finora_gql.core import clock
from finora_gql.core.db import after_commit, release_connection
from finora_gql.core.errors import Collector, ErrorCode, ServiceError, Unauthenticated
from finora_gql.core.runtime import Runtime
from finora_gql.core.security import InvalidToken, new_opaque_token, token_digest
from finora_gql.core.session_cache import REVOCATIONS
from finora_gql.core.validation import clean_email, clean_text
from finora_gql.core.viewer import SESSIONS_REVOKED, Viewer, user_channel
from finora_gql.gamification import events as gamification
from finora_gql.notifications import service as notifications
from finora_gql.notifications.email import queue_email
from finora_gql.notifications.models import NotificationKind
from finora_gql.transactions import categories
from finora_gql.users import service as users
from finora_gql.users.models import Role, User


@dataclass(frozen=True)
class SignIn:
    """What a successful login or refresh hands back to the client."""

    user: User
    access_token: str
    refresh_token: str
    expires_at: datetime


class SessionEventKind(str, Enum):
    """Realtime events auth publishes on the user's channel."""

    SESSIONS_REVOKED = SESSIONS_REVOKED


def _publish_later(session: AsyncSession, rt: Runtime, user_id: uuid.UUID, kind: SessionEventKind) -> None:
    after_commit(session, lambda: rt.pubsub.publish(user_channel(user_id), {"kind": kind.value}))


def _revoked_later(session: AsyncSession, rt: Runtime, user_id: uuid.UUID) -> None:
    """After the commit: forget the user's cached sessions here at once, and tell every other process."""

    async def forget() -> None:
        rt.session_cache.forget_user(user_id)
        await rt.pubsub.publish(REVOCATIONS, {"user_id": str(user_id)})

    after_commit(session, forget)
    _publish_later(session, rt, user_id, SessionEventKind.SESSIONS_REVOKED)


# --- registration and email verification -------------------------------------------------


async def register(session: AsyncSession, rt: Runtime, *, email: str, password: str, name: str) -> User:
    # Every problem at once, and the name checked for a known address too (else a bad name would
    # be refused for a new address only, telling the two apart).
    errors = Collector()
    email = errors.check(clean_email, email)
    errors.check(check_password, password, email=email)
    name = errors.check(clean_text, name, field="name", max_length=users.NAME_MAX)
    errors.raise_any()
    # Hashed before the first statement, so no pooled connection waits on it; for a known address
    # the hash is thrown away, and the equal work keeps the timing from telling the two apart.
    password_hash = await rt.hasher.hash(password)
    if (owner := await users.get_user_by_email(session, email)) is not None:
        # Answer as for a new address (no one learns who has an account here) and tell the owner.
        stranger = users.unsaved_user(email=email, name=name)
        queue_email(session, emails.registration_attempt(
            to=owner.email, name=owner.name, base_url=rt.settings.links_base_url), user_id=owner.id)
        return stranger
    try:
        user = await users.create_user(session, email=email, name=name)
    except ServiceError as error:
        if error.code is not ErrorCode.ALREADY_EXISTS:
            raise
        return users.unsaved_user(email=email, name=name)  # a concurrent sign-up with this address won
    session.add(Credential(user_id=user.id, password_hash=password_hash))
    await categories.create_defaults(session, user.id)
    await _issue_email_token(session, rt, user, TokenPurpose.VERIFY_EMAIL)
    return user


async def resend_verification(session: AsyncSession, rt: Runtime, viewer: Viewer) -> User:
    user = await _require_user(session, viewer.user_id)
    if user.email_verified_at is None:
        await _issue_email_token(session, rt, user, TokenPurpose.VERIFY_EMAIL)
    return user


async def verify_email(session: AsyncSession, *, token: str) -> User:
    user_id = await _consume_email_token(session, token, TokenPurpose.VERIFY_EMAIL)
    user = await _require_user(session, user_id)
    await users.mark_email_verified(session, user)
    return user


async def _issue_email_token(session: AsyncSession, rt: Runtime, user: User, purpose: TokenPurpose) -> None:
    """Create a one-time token (replacing unused ones of the same purpose) and mail its link."""
    now = clock.now()
    await session.exec(
        update(EmailToken)
        .where(col(EmailToken.user_id) == user.id, col(EmailToken.purpose) == purpose, col(EmailToken.used_at).is_(None))
        .values(used_at=now)
    )
    token = new_opaque_token()
    ttl = rt.settings.email_verification_ttl if purpose is TokenPurpose.VERIFY_EMAIL else rt.settings.password_reset_ttl
    session.add(EmailToken(user_id=user.id, purpose=purpose, token_hash=token_digest(token), expires_at=now + ttl))
    build = emails.verification if purpose is TokenPurpose.VERIFY_EMAIL else emails.password_reset
    queue_email(session, build(to=user.email, name=user.name, base_url=rt.settings.links_base_url, token=token), user_id=user.id)


async def _consume_email_token(session: AsyncSession, token: str, purpose: TokenPurpose) -> uuid.UUID:
    """Use a one-time token atomically: of two concurrent uses, exactly one succeeds."""
    now = clock.now()
    user_id = (
        await session.exec(
            update(EmailToken)
            .where(
                col(EmailToken.token_hash) == token_digest(token),
                col(EmailToken.purpose) == purpose,
                col(EmailToken.used_at).is_(None),
                col(EmailToken.expires_at) > now,
            )
            .values(used_at=now)
            .returning(col(EmailToken.user_id))
        )
    ).scalar_one_or_none()
    if user_id is None:
        raise ServiceError(ErrorCode.INVALID_TOKEN, "This link is invalid, expired or already used.", "token")
    return user_id


# --- sign-in, refresh and sign-out ---------------------------------------------------------


async def login(
    session: AsyncSession,
    rt: Runtime,
    *,
    email: str,
    password: str,
    ip_address: str | None = None,
    user_agent: str | None = None,
) -> SignIn:
    invalid = ServiceError(ErrorCode.INVALID_CREDENTIALS, "Email or password is wrong.", keep_changes=True)
    if len(password) > MAX_PASSWORD_LENGTH:
        raise invalid  # no password this long was ever accepted (passlib refuses >4 KiB with a crash)
    try:
        email = clean_email(email)
    except ServiceError:
        raise invalid from None
    user = await users.get_user_by_email(session, email)
    credential = None if user is None else await session.get(Credential, user.id)
    if user is None or credential is None:
        await release_connection(session)
        await rt.hasher.verify(password, None)
        raise invalid
    if credential.locked_until is not None and credential.locked_until > clock.now():
        raise _locked_error(credential.locked_until)

    # The hash is checked with no connection held (see release_connection), then the outcome is
    # counted under a row lock, so concurrent attempts on one account are counted one after another.
    user_id, checked_hash = user.id, credential.password_hash
    await release_connection(session)
    matches = await rt.hasher.verify(password, checked_hash)
    user = await _require_user(session, user_id)
    credential = await session.get(Credential, user_id, with_for_update=True, populate_existing=True)
    if credential is None:
        raise invalid
    if credential.password_hash != checked_hash:  # the password was changed meanwhile
        matches = await rt.hasher.verify(password, credential.password_hash)

    now = clock.now()
    if credential.locked_until is not None and credential.locked_until > now:
        raise _locked_error(credential.locked_until)
    if not matches:
        credential.failed_attempts += 1
        if credential.failed_attempts >= rt.settings.lockout_threshold:
            attempts = credential.failed_attempts
            credential.failed_attempts = 0
            credential.locked_until = now + rt.settings.lockout_duration
            session.add(credential)
            queue_email(session, emails.account_locked(
                to=user.email, name=user.name, until=credential.locked_until, attempts=attempts), user_id=user.id)
            await notifications.notify(
                session, rt, Viewer.acting_for(user.id), kind=NotificationKind.ACCOUNT_LOCKED, title="Your account was locked",
                body=f"After {attempts} failed sign-in attempts, sign-in is blocked until "
                f"{credential.locked_until:%Y-%m-%d %H:%M} UTC.",
                data={"lockedUntil": credential.locked_until.isoformat()},
            )
            raise _locked_error(credential.locked_until)
        session.add(credential)
        raise invalid
    if user.banned_at is not None:
        raise ServiceError(ErrorCode.ACCOUNT_BANNED, "This account has been suspended.")

    credential.failed_attempts = 0
    credential.locked_until = None
    if rt.hasher.needs_rehash(credential.password_hash):
        credential.password_hash = await rt.hasher.hash(password)
    session.add(credential)
    auth_session = AuthSession(
        user_id=user.id,
        ip_address=ip_address,
        user_agent=(user_agent or "")[:300] or None,
    )
    session.add(auth_session)
    gamification.record(session, Viewer.acting_for(user.id), gamification.EventKind.SIGNED_IN)
    return await _sign_in(session, rt, user, auth_session)


def _locked_error(until: datetime) -> ServiceError:
    return ServiceError(
        ErrorCode.ACCOUNT_LOCKED,
        f"Too many failed sign-ins: this account is locked until {until:%Y-%m-%d %H:%M} UTC.",
        keep_changes=True,
    )


async def _sign_in(session: AsyncSession, rt: Runtime, user: User, auth_session: AuthSession) -> SignIn:
    refresh = new_opaque_token()
    session.add(
        RefreshToken(
            session_id=auth_session.id,
            token_hash=token_digest(refresh),
            expires_at=clock.now() + rt.settings.refresh_token_ttl,
        )
    )
    access, expires_at = rt.tokens.issue_access(user_id=user.id, session_id=auth_session.id, role=user.role.value)
    return SignIn(user=user, access_token=access, refresh_token=refresh, expires_at=expires_at)


async def refresh(session: AsyncSession, rt: Runtime, *, refresh_token: str) -> SignIn:
    invalid = ServiceError(ErrorCode.INVALID_TOKEN, "This refresh token is invalid or expired; sign in again.", "refreshToken")
    token = (
        await session.exec(
            select(RefreshToken).where(RefreshToken.token_hash == token_digest(refresh_token)).with_for_update()
        )
    ).first()
    if token is None:
        raise invalid
    auth_session = await session.get(AuthSession, token.session_id, with_for_update=True)
    if auth_session is None or auth_session.revoked_at is not None:
        raise invalid
    now = clock.now()
    if token.rotated_at is not None:
        # A used token came back: whoever holds this family may be an attacker. End it.
        _revoke(session, rt, auth_session, "refresh_token_reuse")
        raise ServiceError(
            ErrorCode.INVALID_TOKEN,
            "This refresh token was already used, so the session was signed out for safety; sign in again.",
            "refreshToken",
            keep_changes=True,
        )
    if token.expires_at <= now:
        raise invalid
    user = await _require_user(session, auth_session.user_id)
    if user.banned_at is not None:
        raise ServiceError(ErrorCode.ACCOUNT_BANNED, "This account has been suspended.")
    token.rotated_at = now
    auth_session.last_used_at = now
    session.add_all([token, auth_session])
    return await _sign_in(session, rt, user, auth_session)


def _revoke(session: AsyncSession, rt: Runtime, auth_session: AuthSession, reason: str) -> None:
    auth_session.revoked_at = clock.now()
    auth_session.revoke_reason = reason
    session.add(auth_session)
    _revoked_later(session, rt, auth_session.user_id)


async def logout(session: AsyncSession, rt: Runtime, viewer: Viewer) -> None:
    auth_session = await session.get(AuthSession, viewer.session_id)
    if auth_session is not None and auth_session.revoked_at is None:
        _revoke(session, rt, auth_session, "logout")


async def revoke_all_sessions(
    session: AsyncSession, rt: Runtime, user_id: uuid.UUID, *, reason: str, keep: uuid.UUID | None = None
) -> int:
    """End every live session of a user (except `keep`); their access tokens stop working at once."""
    conditions = [col(AuthSession.user_id) == user_id, col(AuthSession.revoked_at).is_(None)]
    if keep is not None:
        conditions.append(col(AuthSession.id) != keep)
    result = await session.exec(
        update(AuthSession).where(*conditions).values(revoked_at=clock.now(), revoke_reason=reason)
    )
    _revoked_later(session, rt, user_id)
    return result.rowcount


async def unlock(session: AsyncSession, user_id: uuid.UUID) -> None:
    credential = await session.get(Credential, user_id)
    if credential is not None:
        credential.failed_attempts = 0
        credential.locked_until = None
        session.add(credential)


# --- passwords ---------------------------------------------------------------------------


async def request_password_reset(session: AsyncSession, rt: Runtime, *, email: str) -> None:
    """Mail a reset link if the account exists; the caller's answer is the same either way."""
    try:
        email = clean_email(email)
    except ServiceError:
        return
    user = await users.get_user_by_email(session, email)
    if user is not None and user.banned_at is None:
        await _issue_email_token(session, rt, user, TokenPurpose.RESET_PASSWORD)


async def reset_password(session: AsyncSession, rt: Runtime, *, token: str, new_password: str) -> User:
    # Check the password first so a rejected one does not burn the link.
    digest_owner = (
        await session.exec(select(EmailToken.user_id).where(EmailToken.token_hash == token_digest(token)))
    ).first()
    owner = await users.get_user(session, digest_owner) if digest_owner else None
    check_password(new_password, email=owner.email if owner else None, field="newPassword")
    await release_connection(session)  # hashed with no connection held
    password_hash = await rt.hasher.hash(new_password)
    user = await _require_user(session, await _consume_email_token(session, token, TokenPurpose.RESET_PASSWORD))
    await _store_password(session, user.id, password_hash)
    await users.mark_email_verified(session, user)  # they just proved they read this inbox
    await revoke_all_sessions(session, rt, user.id, reason="password_reset")
    return user


async def change_password(
    session: AsyncSession, rt: Runtime, viewer: Viewer, *, current_password: str, new_password: str
) -> User:
    user = await _require_user(session, viewer.user_id)
    credential = await session.get(Credential, viewer.user_id)
    checked_hash = credential.password_hash if credential is not None else None
    errors = Collector()  # every problem of the input, not only the first
    errors.check(check_password, new_password, email=user.email, field="newPassword")
    # Up to three argon2 runs, with no connection held (see release_connection); then the change
    # under the row lock, judged again should the password have changed meanwhile.
    await release_connection(session)
    password_hash = await _new_password_hash(rt, errors, checked_hash, current_password, new_password)
    credential = await session.get(Credential, viewer.user_id, with_for_update=True, populate_existing=True)
    stored = credential.password_hash if credential is not None else None
    if stored != checked_hash:
        password_hash = await _new_password_hash(rt, Collector(), stored, current_password, new_password)
    await _store_password(session, viewer.user_id, password_hash)
    # Other devices must sign in again; this one stays signed in.
    await revoke_all_sessions(session, rt, viewer.user_id, reason="password_changed", keep=viewer.session_id)
    return await _require_user(session, viewer.user_id)


async def _new_password_hash(
    rt: Runtime, errors: Collector, stored: str | None, current_password: str, new_password: str
) -> str:
    """Check the current password against `stored` and that the new one differs; the new one's hash."""
    if stored is None or not await rt.hasher.verify(current_password, stored):
        errors.add(ServiceError(ErrorCode.INVALID_CREDENTIALS, "The current password is wrong.", "currentPassword"))
    errors.raise_any(order=("currentPassword", "newPassword"))
    assert stored is not None
    if await rt.hasher.verify(new_password, stored):
        raise ServiceError(ErrorCode.INVALID, "Choose a password different from the current one.", "newPassword")
    return await rt.hasher.hash(new_password)


async def _store_password(session: AsyncSession, user_id: uuid.UUID, password_hash: str) -> None:
    credential = await session.get(Credential, user_id, with_for_update=True, populate_existing=True)
    if credential is None:
        credential = Credential(user_id=user_id, password_hash="")
    credential.password_hash = password_hash
    credential.password_changed_at = clock.now()
    credential.failed_attempts = 0
    credential.locked_until = None
    session.add(credential)


# --- access tokens -------------------------------------------------------------------------


async def authenticate(session: AsyncSession, rt: Runtime, token: str, *, cached: bool = False) -> Viewer:
    """Turn an access token into a viewer, or raise Unauthenticated.

    The session and user are read, so a logout, a ban or a password reset takes effect at once
    rather than when the token expires. With `cached`, a token this process confirmed less than
    a few seconds ago is trusted again: revocations drop it at once (see core/session_cache.py).
    """
    if cached and (viewer := rt.session_cache.get(token)) is not None:
        return viewer
    generation, checked = rt.session_cache.generation, time.monotonic()
    try:
        claims = rt.tokens.decode_access(token)
    except InvalidToken:
        raise Unauthenticated("The access token is invalid or expired.") from None
    row = (
        await session.exec(
            select(AuthSession.revoked_at, User.banned_at, User.role)
            .join(User, col(User.id) == col(AuthSession.user_id))
            .where(col(AuthSession.id) == claims.session_id, col(AuthSession.user_id) == claims.user_id)
        )
    ).first()
    if row is None or row[0] is not None:
        raise Unauthenticated("This session has ended; sign in again.")
    if row[1] is not None:
        raise Unauthenticated("This account has been suspended.")
    viewer = Viewer(user_id=claims.user_id, session_id=claims.session_id, is_admin=row[2] is Role.ADMIN)
    if cached:
        rt.session_cache.put(token, viewer, usable_until=claims.usable_until, checked=checked, generation=generation)
    return viewer


async def _require_user(session: AsyncSession, user_id: uuid.UUID) -> User:
    user = await users.get_user(session, user_id)
    if user is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "This account no longer exists.")
    return user

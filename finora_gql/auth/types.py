"""GraphQL inputs and payloads of the auth domain."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import relay

from finora_gql.api.enums import described
from finora_gql.api.errors import UserError, errors_field
from finora_gql.auth.service import SessionEventKind
from finora_gql.users.types import UserType


@strawberry.input(description="A new account.")
class RegisterInput:
    email: str = strawberry.field(description="Sign-in email; a confirmation link is sent to it.")
    password: str = strawberry.field(description="At least 10 characters; not a common password.")
    name: str = strawberry.field(description="Display name.")


@strawberry.input(description="Credentials to sign in with.")
class LoginInput:
    email: str = strawberry.field(description="The account's email (any case).")
    password: str = strawberry.field(description="The account's password.")


@strawberry.input(description="A password reset: the token from the email and the new password.")
class ResetPasswordInput:
    token: str = strawberry.field(description="The token from the reset email's link.")
    new_password: str = strawberry.field(description="At least 10 characters; not a common password.")


@strawberry.input(description="A password change by the signed-in person.")
class ChangePasswordInput:
    current_password: str = strawberry.field(description="The password in use now.")
    new_password: str = strawberry.field(description="At least 10 characters; not a common password.")


@strawberry.input(description="An email confirmation.")
class VerifyEmailInput:
    token: str = strawberry.field(description="The token from the confirmation link.")


@strawberry.input(description="A refresh token to trade for new tokens.")
class RefreshTokenInput:
    refresh_token: str = strawberry.field(description="The refreshToken of the last sign-in or refresh; works once.")


@strawberry.input(description="Where to send a password reset link.")
class RequestPasswordResetInput:
    email: str = strawberry.field(description="The account's email address.")


@strawberry.input(description="A suspension (admin only).")
class BanUserInput:
    user_id: relay.GlobalID = strawberry.field(description="The person to suspend.")
    reason: str = strawberry.field(description="Why; recorded in the audit log and told to the person.")


@strawberry.input(description="A person to act on (admin only).")
class UserActionInput:
    user_id: relay.GlobalID = strawberry.field(description="The person.")


@strawberry.type(description="The result of register: the new account, not yet verified.")
class RegisterPayload:
    user: UserType | None = strawberry.field(description="The new person, or null on errors.")
    errors: list[UserError] = errors_field()


@strawberry.type(description="The result of an operation that changes a user.")
class UserPayload:
    user: UserType | None = strawberry.field(description="The person after the change, or null on errors.")
    errors: list[UserError] = errors_field()


@strawberry.type(description="Tokens for a signed-in session.")
class AuthPayload:
    access_token: str | None = strawberry.field(
        default=None, description="Short-lived JWT; send as `Authorization: Bearer <token>`."
    )
    refresh_token: str | None = strawberry.field(
        default=None, description="Opaque, single-use token for refreshToken; valid 7 days."
    )
    expires_at: datetime | None = strawberry.field(default=None, description="When the access token expires.")
    user: UserType | None = strawberry.field(default=None, description="The signed-in person, or null on errors.")
    errors: list[UserError] = errors_field()


@strawberry.type(description="The result of an operation with nothing to return but success.")
class OkPayload:
    ok: bool = strawberry.field(description="True when the operation was carried out.")
    errors: list[UserError] = errors_field()


SessionEventKindEnum = described(
    SessionEventKind, name="SessionEventKind", description="What happened to the viewer's sign-in sessions.", values={
        "SESSIONS_REVOKED": "Sessions were ended (password changed or reset, ban, or sign-out everywhere).",
    },
)


@strawberry.type(description="A change to the viewer's sign-in sessions.")
class SessionEvent:
    kind: SessionEventKindEnum = strawberry.field(description="What happened.")
    current_session_ended: bool = strawberry.field(
        description="True when the session this subscription runs in was ended; the stream then closes."
    )

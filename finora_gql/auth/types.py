"""GraphQL inputs and payloads of the auth domain."""

from __future__ import annotations

from datetime import datetime

import strawberry

from finora_gql.api.errors import UserError
from finora_gql.auth.service import SessionEventKind
from finora_gql.users.types import UserType


@strawberry.input(description="A new account.")
class RegisterInput:
    email: str = strawberry.field(description="Sign-in email; a confirmation link is sent to it.")
    password: str = strawberry.field(description="At least 10 characters; not a common password.")
    name: str = strawberry.field(description="Display name.")


@strawberry.input(description="Credentials to sign in with.")
class LoginInput:
    email: str
    password: str


@strawberry.input(description="A password reset: the token from the email and the new password.")
class ResetPasswordInput:
    token: str
    new_password: str


@strawberry.input(description="A password change by the signed-in person.")
class ChangePasswordInput:
    current_password: str
    new_password: str


@strawberry.type(description="The result of register: the new account, not yet verified.")
class RegisterPayload:
    user: UserType | None
    errors: list[UserError]


@strawberry.type(description="The result of an operation that changes a user.")
class UserPayload:
    user: UserType | None
    errors: list[UserError]


@strawberry.type(description="Tokens for a signed-in session.")
class AuthPayload:
    access_token: str | None = strawberry.field(
        default=None, description="Short-lived JWT; send as `Authorization: Bearer <token>`."
    )
    refresh_token: str | None = strawberry.field(
        default=None, description="Opaque, single-use token for refreshToken; valid 7 days."
    )
    expires_at: datetime | None = strawberry.field(default=None, description="When the access token expires.")
    user: UserType | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(description="The result of an operation with nothing to return but success.")
class OkPayload:
    ok: bool = strawberry.field(description="True when the operation was carried out.")
    errors: list[UserError] = strawberry.field(default_factory=list)


SessionEventKindEnum = strawberry.enum(
    SessionEventKind, name="SessionEventKind", description="What happened to the viewer's sign-in sessions."
)


@strawberry.type(description="A change to the viewer's sign-in sessions.")
class SessionEvent:
    kind: SessionEventKindEnum
    current_session_ended: bool = strawberry.field(
        description="True when the session this subscription runs in was ended; the stream then closes."
    )

"""Mutations and the subscription of the auth domain."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry
from strawberry.types import Info

from finora_gql.api.errors import UserError, perform
from finora_gql.api.streams import viewer_messages
from finora_gql.auth import limits, service
from finora_gql.auth.service import SessionEventKind
from finora_gql.auth.types import (
    AuthPayload,
    ChangePasswordInput,
    LoginInput,
    OkPayload,
    RefreshTokenInput,
    RegisterInput,
    RegisterPayload,
    RequestPasswordResetInput,
    ResetPasswordInput,
    SessionEvent,
    UserPayload,
    VerifyEmailInput,
)
from finora_gql.context import Context
from finora_gql.core.errors import ServiceError
from finora_gql.core.viewer import SESSIONS_REVOKED
from finora_gql.users.types import UserType


def _sign_in_payload(result: service.SignIn | None, errors: list[UserError]) -> AuthPayload:
    if result is None:
        return AuthPayload(errors=errors)
    return AuthPayload(
        access_token=result.access_token,
        refresh_token=result.refresh_token,
        expires_at=result.expires_at,
        user=UserType.of(result.user),
    )


async def _limited(context: Context, action: str, email: str | None) -> list[UserError]:
    try:
        await limits.enforce(context, action, email)
    except ServiceError as error:
        return [UserError.of(error)]
    return []


@strawberry.type
class AuthMutation:
    @strawberry.mutation(description="Create an account and email a link to confirm the address.")
    async def register(
        self, info: Info[Context, None], input: Annotated[RegisterInput, strawberry.argument(description="The new account.")]
    ) -> RegisterPayload:
        context = info.context
        if errors := await _limited(context, "register", input.email):
            return RegisterPayload(user=None, errors=errors)
        user, errors = await perform(
            context,
            lambda session: service.register(
                session, context.runtime, email=input.email, password=input.password, name=input.name
            ),
        )
        return RegisterPayload(user=UserType.of(user) if user else None, errors=errors)

    @strawberry.mutation(description="Confirm an email address with the token from the confirmation link.")
    async def verify_email(
        self, info: Info[Context, None], input: Annotated[VerifyEmailInput, strawberry.argument(description="The token from the confirmation link.")]
    ) -> UserPayload:
        user, errors = await perform(info.context, lambda session: service.verify_email(session, token=input.token))
        return UserPayload(user=UserType.of(user) if user else None, errors=errors)

    @strawberry.mutation(description="Send the viewer a new confirmation link, if the email is not confirmed yet.")
    async def resend_verification_email(self, info: Info[Context, None]) -> UserPayload:
        context = info.context
        viewer = await context.viewer()
        user, errors = await perform(
            context, lambda session: service.resend_verification(session, context.runtime, viewer)
        )
        return UserPayload(user=UserType.of(user) if user else None, errors=errors)

    @strawberry.mutation(
        description="Sign in. Returns a 15-minute access token and a 7-day single-use refresh token. "
        "Five failed attempts lock the account for 30 minutes."
    )
    async def login(
        self, info: Info[Context, None], input: Annotated[LoginInput, strawberry.argument(description="The credentials.")]
    ) -> AuthPayload:
        context = info.context
        if errors := await _limited(context, "login", input.email):
            return AuthPayload(errors=errors)
        result, errors = await perform(
            context,
            lambda session: service.login(
                session,
                context.runtime,
                email=input.email,
                password=input.password,
                ip_address=context.client_ip,
                user_agent=context.user_agent,
            ),
        )
        return _sign_in_payload(result, errors)

    @strawberry.mutation(
        description="Trade a refresh token for new tokens. Each refresh token works once; "
        "presenting a used one signs that session out (theft protection)."
    )
    async def refresh_token(
        self, info: Info[Context, None], input: Annotated[RefreshTokenInput, strawberry.argument(description="The refresh token.")]
    ) -> AuthPayload:
        context = info.context
        result, errors = await perform(
            context, lambda session: service.refresh(session, context.runtime, refresh_token=input.refresh_token)
        )
        return _sign_in_payload(result, errors)

    @strawberry.mutation(description="Sign out this session.")
    async def logout(self, info: Info[Context, None]) -> OkPayload:
        context = info.context
        viewer = await context.viewer()
        _, errors = await perform(context, lambda session: service.logout(session, context.runtime, viewer))
        return OkPayload(ok=not errors, errors=errors)

    @strawberry.mutation(description="Sign out every session of the viewer, this one included.")
    async def logout_all(self, info: Info[Context, None]) -> OkPayload:
        context = info.context
        viewer = await context.viewer()
        _, errors = await perform(
            context,
            lambda session: service.revoke_all_sessions(session, context.runtime, viewer.user_id, reason="logout_all"),
        )
        return OkPayload(ok=not errors, errors=errors)

    @strawberry.mutation(
        description="Email a password reset link if an account has this address. "
        "The answer is the same whether or not it does."
    )
    async def request_password_reset(
        self, info: Info[Context, None], input: Annotated[RequestPasswordResetInput, strawberry.argument(description="The address to send the reset link to.")]
    ) -> OkPayload:
        context = info.context
        if errors := await _limited(context, "password_reset", input.email):
            return OkPayload(ok=False, errors=errors)
        _, errors = await perform(
            context, lambda session: service.request_password_reset(session, context.runtime, email=input.email)
        )
        return OkPayload(ok=not errors, errors=errors)

    @strawberry.mutation(description="Set a new password with the token from the reset email; signs out every session.")
    async def reset_password(
        self, info: Info[Context, None], input: Annotated[ResetPasswordInput, strawberry.argument(description="The token and new password.")]
    ) -> UserPayload:
        context = info.context
        user, errors = await perform(
            context,
            lambda session: service.reset_password(
                session, context.runtime, token=input.token, new_password=input.new_password
            ),
        )
        return UserPayload(user=UserType.of(user) if user else None, errors=errors)

    @strawberry.mutation(description="Change the viewer's password; other sessions are signed out.")
    async def change_password(
        self, info: Info[Context, None], input: Annotated[ChangePasswordInput, strawberry.argument(description="The old and new passwords.")]
    ) -> UserPayload:
        context = info.context
        viewer = await context.viewer()
        user, errors = await perform(
            context,
            lambda session: service.change_password(
                session,
                context.runtime,
                viewer,
                current_password=input.current_password,
                new_password=input.new_password,
            ),
        )
        return UserPayload(user=UserType.of(user) if user else None, errors=errors)


@strawberry.type
class AuthSubscription:
    @strawberry.subscription(
        description="Changes to the viewer's sign-in sessions, such as a sign-out everywhere. "
        "The stream ends when the session it runs in is ended."
    )
    async def session_events(self, info: Info[Context, None]) -> AsyncGenerator[SessionEvent, None]:
        async for _, message in viewer_messages(info.context, {SESSIONS_REVOKED}):
            yield SessionEvent(
                kind=SessionEventKind.SESSIONS_REVOKED,
                current_session_ended=message.get("current_session_ended", False),
            )

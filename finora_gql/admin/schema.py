"""Administrative mutations. Each requires the ADMIN role and writes to the audit log."""

from __future__ import annotations

import asyncio
from typing import Annotated

import strawberry
from strawberry.types import Info

from finora_gql.admin import service
from finora_gql.api.errors import perform
from finora_gql.api.ids import decode_id
from finora_gql.api.permissions import admin_only
from finora_gql.auth.types import BanUserInput, UserActionInput, UserPayload
from finora_gql.context import Context
from finora_gql.core.jobs import dead_letter_count
from finora_gql.users.types import UserType


@strawberry.type
class AdminQuery:
    @strawberry.field(**admin_only("How many background jobs exhausted their retries and wait for an operator."))
    async def dead_lettered_jobs(self, info: Info[Context, None]) -> int:
        await info.context.admin()
        return await asyncio.to_thread(dead_letter_count)


@strawberry.type
class AdminMutation:
    @strawberry.mutation(
        **admin_only("Suspend a user: they cannot sign in, and their sessions and live subscriptions end at once.")
    )
    async def ban_user(
        self, info: Info[Context, None], input: Annotated[BanUserInput, strawberry.argument(description="Who and why.")]
    ) -> UserPayload:
        context = info.context
        viewer = await context.admin()
        user, errors = await perform(
            context,
            lambda session: service.ban_user(
                session, context.runtime, viewer, decode_id(input.user_id, UserType, "userId"), reason=input.reason
            ),
        )
        return UserPayload(user=UserType.of(user) if user else None, errors=errors)

    @strawberry.mutation(**admin_only("Lift a suspension."))
    async def unban_user(
        self, info: Info[Context, None], input: Annotated[UserActionInput, strawberry.argument(description="The person to act on.")]
    ) -> UserPayload:
        context = info.context
        viewer = await context.admin()
        user, errors = await perform(
            context,
            lambda session: service.unban_user(session, context.runtime, viewer, decode_id(input.user_id, UserType, "userId")),
        )
        return UserPayload(user=UserType.of(user) if user else None, errors=errors)

    @strawberry.mutation(**admin_only("Clear a sign-in lockout before it expires."))
    async def unlock_user(
        self, info: Info[Context, None], input: Annotated[UserActionInput, strawberry.argument(description="The person to act on.")]
    ) -> UserPayload:
        context = info.context
        viewer = await context.admin()
        user, errors = await perform(
            context,
            lambda session: service.unlock_user(session, context.runtime, viewer, decode_id(input.user_id, UserType, "userId")),
        )
        return UserPayload(user=UserType.of(user) if user else None, errors=errors)

"""Administrative mutations. Each requires the ADMIN role and writes to the audit log."""

from __future__ import annotations

import asyncio

import strawberry
from strawberry import relay
from strawberry.types import Info

from finora_gql.admin import service
from finora_gql.api.errors import perform
from finora_gql.api.ids import decode_id
from finora_gql.auth.types import UserPayload
from finora_gql.context import Context
from finora_gql.core.jobs import dead_letter_count
from finora_gql.users.types import UserType


@strawberry.type
class AdminQuery:
    @strawberry.field(description="Background jobs that exhausted their retries and wait for an operator.")
    async def dead_lettered_jobs(self, info: Info[Context, None]) -> int:
        await info.context.admin()
        return await asyncio.to_thread(dead_letter_count)


@strawberry.type
class AdminMutation:
    @strawberry.mutation(
        description="Suspend a user: they cannot sign in, and their sessions and live subscriptions end at once."
    )
    async def ban_user(self, info: Info[Context, None], user_id: relay.GlobalID, reason: str) -> UserPayload:
        context = info.context
        viewer = await context.admin()
        user, errors = await perform(
            context,
            lambda session: service.ban_user(
                session, context.runtime, viewer, decode_id(user_id, UserType, "userId"), reason=reason
            ),
        )
        return UserPayload(user=UserType.of(user) if user else None, errors=errors)

    @strawberry.mutation(description="Lift a suspension.")
    async def unban_user(self, info: Info[Context, None], user_id: relay.GlobalID) -> UserPayload:
        context = info.context
        viewer = await context.admin()
        user, errors = await perform(
            context, lambda session: service.unban_user(session, context.runtime, viewer, decode_id(user_id, UserType, "userId"))
        )
        return UserPayload(user=UserType.of(user) if user else None, errors=errors)

    @strawberry.mutation(description="Clear a sign-in lockout before it expires.")
    async def unlock_user(self, info: Info[Context, None], user_id: relay.GlobalID) -> UserPayload:
        context = info.context
        viewer = await context.admin()
        user, errors = await perform(
            context, lambda session: service.unlock_user(session, context.runtime, viewer, decode_id(user_id, UserType, "userId"))
        )
        return UserPayload(user=UserType.of(user) if user else None, errors=errors)

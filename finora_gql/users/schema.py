"""Queries and mutations of the users domain."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from finora_gql.api.errors import UserError, errors_field, perform
from finora_gql.api.scalars import CurrencyCode
from finora_gql.core.errors import Unauthenticated
from finora_gql.users import profile, service
from finora_gql.users.types import UserType


@strawberry.input(description="Profile fields to change; omitted fields stay as they are.")
class UpdateProfileInput:
    name: str | None = strawberry.field(default=None, description="Display name, up to 120 characters.")
    base_currency: CurrencyCode | None = strawberry.field(
        default=None,
        description="ISO 4217 code, e.g. EUR. Budget limits are converted to it, each at the rate in force at the "
        "end of its month; refused while there is no rate from the current base currency to it.",
    )
    timezone: str | None = strawberry.field(default=None, description="IANA time zone, e.g. Europe/Berlin.")


@strawberry.type(description="The result of updateProfile.")
class UpdateProfilePayload:
    user: UserType | None = strawberry.field(description="The updated profile, or null on errors.")
    errors: list[UserError] = errors_field()


@strawberry.type
class UsersQuery:
    @strawberry.field(description="The signed-in person.")
    async def me(self, info: Info) -> UserType:
        viewer = await info.context.viewer()
        user = await service.get_user(info.context.session, viewer.user_id)
        if user is None:  # deleted since this process last confirmed the session (seconds at most)
            raise Unauthenticated("This session has ended; sign in again.")
        return UserType.of(user)


@strawberry.type
class UsersMutation:
    @strawberry.mutation(description=(
        "Change the viewer's name, base currency or time zone. A new base currency converts budget limits (see "
        "baseCurrency; refused, with nothing changed, when there is no rate) and summaries follow it."
    ))
    async def update_profile(
        self, info: Info, input: Annotated[UpdateProfileInput, strawberry.argument(description="What to change.")]
    ) -> UpdateProfilePayload:
        viewer = await info.context.viewer()

        user, errors = await perform(
            info.context,
            lambda session: profile.update_profile(
                session, info.context.runtime, viewer, name=input.name, base_currency=input.base_currency,
                timezone=input.timezone,
            ),
        )
        return UpdateProfilePayload(user=UserType.of(user) if user else None, errors=errors)

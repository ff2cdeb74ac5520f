"""GraphQL types of the users domain."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

import strawberry
from strawberry import relay
from strawberry.types import Info

from finora_gql.api.enums import described
from finora_gql.api.scalars import CurrencyCode
from finora_gql.users import service
from finora_gql.users.models import Role, User

RoleEnum = described(Role, name="Role", description="What a person may do: USER, or ADMIN for operators.", values={
    "USER": "A person using the app for their own finances.",
    "ADMIN": "An operator: may also ban, unban and unlock people and set shared exchange rates.",
})


@strawberry.type(name="User", description="A person with a Finora account.")
class UserType(relay.Node):
    id: relay.NodeID[str]
    email: str = strawberry.field(description="Sign-in email, lower-cased.")
    name: str = strawberry.field(description="Display name.")
    role: RoleEnum = strawberry.field(description="USER or ADMIN.")
    base_currency: CurrencyCode = strawberry.field(description="The currency every summary and budget is converted to.")
    timezone: str = strawberry.field(description="IANA time zone used to bucket days and months.")
    email_verified: bool = strawberry.field(description="Whether the email address was confirmed.")
    banned: bool = strawberry.field(description="Whether an administrator suspended this account.")
    created_at: datetime = strawberry.field(description="When the account was created (UTC).")

    @classmethod
    def of(cls, user: User) -> UserType:
        return cls(
            id=str(user.id),
            email=user.email,
            name=user.name,
            role=user.role,
            base_currency=user.base_currency,
            timezone=user.timezone,
            email_verified=user.email_verified_at is not None,
            banned=user.banned_at is not None,
            created_at=user.created_at,
        )

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[UserType | None]:
        viewer = await info.context.viewer()
        found: list[UserType | None] = []
        for node_id in node_ids:
            try:
                user_id = uuid.UUID(node_id)
            except ValueError:
                found.append(None)
                continue
            user = await service.visible_user(info.context.session, viewer, user_id)
            found.append(cls.of(user) if user else None)
        return found

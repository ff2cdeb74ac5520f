"""Payload errors: expected failures come back as data, with a code, the field and a message."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import strawberry
from sqlmodel.ext.asyncio.session import AsyncSession

from finora_gql.context import Context
from finora_gql.core.db import atomic
from finora_gql.core.errors import ErrorCode, ServiceError

T = TypeVar("T")

ErrorCodeEnum = strawberry.enum(
    ErrorCode,
    name="ErrorCode",
    description="Why a mutation could not do what was asked.",
)


@strawberry.type(description="An expected failure of a mutation: bad input, a missing object, a conflict.")
class UserError:
    code: ErrorCodeEnum = strawberry.field(description="What went wrong, for programs.")
    field: str | None = strawberry.field(
        description="The input field at fault (camelCase, as in the mutation's input), or null."
    )
    message: str = strawberry.field(description="What went wrong, for people.")

    @classmethod
    def of(cls, error: ServiceError) -> UserError:
        return cls(code=error.code, field=error.field, message=error.message)


async def perform(
    context: Context, work: Callable[[AsyncSession], Awaitable[T]]
) -> tuple[T | None, list[UserError]]:
    """Run a mutation's work in one transaction; a ServiceError becomes payload errors."""
    try:
        async with atomic(context.session) as session:
            return await work(session), []
    except ServiceError as error:
        return None, [UserError.of(error)]

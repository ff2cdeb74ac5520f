"""Payload errors: expected failures come back as data, with a code, the field and a message."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import strawberry
from sqlmodel.ext.asyncio.session import AsyncSession
from strawberry import relay

from finora_gql.api.enums import described
from finora_gql.context import Context
from finora_gql.core.db import atomic
from finora_gql.core.errors import ErrorCode, ServiceError

T = TypeVar("T")

ErrorCodeEnum = described(ErrorCode, name="ErrorCode", description="Why a mutation could not do what was asked.", values={
    "INVALID": "The value of `field` is not acceptable (format, range or size); the message says why.",
    "REQUIRED": "`field` must be given (or not be empty).",
    "NOT_FOUND": "The id in `field` names nothing you may see (or is not a valid id of that type).",
    "ALREADY_EXISTS": "Something with this value of `field` exists already.",
    "INVALID_CREDENTIALS": "Wrong email or password.",
    "ACCOUNT_LOCKED": "Too many failed sign-ins: the account is locked for a while (or until an admin unlocks it).",
    "ACCOUNT_BANNED": "An administrator banned this account.",
    "PASSWORD_TOO_WEAK": "The new password is too short or too common.",
    "INVALID_TOKEN": "The token (verification, reset or refresh) is unknown, used or expired.",
    "RATE_LIMITED": "Too many attempts; try again later.",
    "FORBIDDEN": "The viewer may not do this (for example, admin-only operations).",
    "FILE_TOO_LARGE": "The declared file size exceeds the limit.",
    "UNSUPPORTED_FILE_TYPE": "The declared content type is not accepted.",
    "UPLOAD_INCOMPLETE": "Nothing is stored yet under the file's upload URL.",
    "UPLOAD_MISMATCH": "The stored bytes differ in size or type from the ones declared in createUpload.",
})


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

    @classmethod
    def all_of(cls, error: ServiceError) -> list[UserError]:
        """Every problem a ServiceError carries (several when a collector gathered them)."""
        return [cls.of(each) for each in error.all()]


def errors_field() -> Any:
    """The `errors` field every payload has, described once."""
    return strawberry.field(
        default_factory=list,
        description="Every problem of the input (code, field, message); empty on success. With errors, nothing was changed.",
    )


@strawberry.type(description="The result of every delete mutation: the ids removed, or why nothing was.")
class DeletePayload:
    deleted_ids: list[relay.GlobalID] = strawberry.field(
        description="The global ids of everything removed (both legs of a transfer); empty on errors."
    )
    errors: list[UserError] = errors_field()


async def perform(
    context: Context, work: Callable[[AsyncSession], Awaitable[T]]
) -> tuple[T | None, list[UserError]]:
    """Run a mutation's work in one transaction; a ServiceError becomes payload errors."""
    try:
        async with atomic(context.session) as session:
            return await work(session), []
    except ServiceError as error:
        return None, UserError.all_of(error)

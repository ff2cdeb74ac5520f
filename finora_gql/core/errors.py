"""Error vocabulary shared by every domain.

Services raise `ServiceError` for expected failures; resolvers turn them into payload
`errors`. Authentication and authorization failures are top-level GraphQL errors with
`extensions.code`, because no payload makes sense without a viewer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from enum import Enum
from typing import Any

from graphql import GraphQLError


class ErrorCode(str, Enum):
    INVALID = "INVALID"
    REQUIRED = "REQUIRED"
    NOT_FOUND = "NOT_FOUND"
    ALREADY_EXISTS = "ALREADY_EXISTS"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    ACCOUNT_LOCKED = "ACCOUNT_LOCKED"
    ACCOUNT_BANNED = "ACCOUNT_BANNED"
    PASSWORD_TOO_WEAK = "PASSWORD_TOO_WEAK"
    INVALID_TOKEN = "INVALID_TOKEN"
    RATE_LIMITED = "RATE_LIMITED"
    FORBIDDEN = "FORBIDDEN"
    FILE_TOO_LARGE = "FILE_TOO_LARGE"
    UNSUPPORTED_FILE_TYPE = "UNSUPPORTED_FILE_TYPE"
    UPLOAD_INCOMPLETE = "UPLOAD_INCOMPLETE"  # nothing stored yet under the file's key
    UPLOAD_MISMATCH = "UPLOAD_MISMATCH"  # the stored bytes differ in size or type from the declared ones


class ServiceError(Exception):
    """An expected failure a person can act on: bad input, missing thing, conflict."""

    def __init__(
        self, code: ErrorCode, message: str, field: str | None = None, *, keep_changes: bool = False
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        # Commit what the failing operation wrote so far (e.g. a counted failed login).
        self.keep_changes = keep_changes
        self.others: list[ServiceError] = []

    def all(self) -> list[ServiceError]:
        """This error and the ones a Collector gathered with it, in input order."""
        return [self, *self.others]


class Collector:
    """Gathers every problem of an input instead of stopping at the first.

    `value = errors.check(clean_x, raw, field=...)` returns the clean value, or None after
    recording the ServiceError (`await errors.check_async(clean_y(...))` for an async cleaning); `errors.raise_any()` then raises them all as one ServiceError
    (the first, carrying the rest in `others`), which payloads list in full.
    """

    def __init__(self) -> None:
        self.errors: list[ServiceError] = []

    def check(self, clean: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return clean(*args, **kwargs)
        except ServiceError as error:
            self.errors.extend(error.all())
            return None

    async def check_async(self, clean: Awaitable[Any]) -> Any:
        """`check` for a cleaning that reads the database (an id that must name the viewer's thing)."""
        try:
            return await clean
        except ServiceError as error:
            self.errors.extend(error.all())
            return None

    def add(self, error: ServiceError) -> None:
        self.errors.extend(error.all())

    def raise_any(self, *, order: Sequence[str] = ()) -> None:
        """Raise what was gathered; with `order` (input fields), sorted into it, the rest last."""
        if self.errors:
            if order:
                place = {field: index for index, field in enumerate(order)}
                self.errors.sort(key=lambda error: place.get(error.field or "", len(place)))
            first, *rest = self.errors
            first.others = rest
            raise first


class PublicError(GraphQLError):
    """A top-level error whose message is safe to show; never masked."""

    code = "INTERNAL"

    def __init__(self, message: str) -> None:
        super().__init__(message, extensions={"code": self.code})


class Unauthenticated(PublicError):
    code = "UNAUTHENTICATED"

    def __init__(self, message: str = "Authentication required: send a valid access token.") -> None:
        super().__init__(message)


class Forbidden(PublicError):
    code = "FORBIDDEN"

    def __init__(self, message: str = "You are not allowed to do this.") -> None:
        super().__init__(message)


def is_public(error: GraphQLError) -> bool:
    """Errors the client may see verbatim: GraphQL's own (syntax, validation, variable values:
    a bad variable's error wraps the GraphQLError that says what is wrong with it) and ours."""
    original = error.original_error
    if isinstance(original, GraphQLError):
        return is_public(original)
    return original is None or isinstance(original, PublicError)


class BadUserInput(PublicError):
    """A query argument that cannot be honoured (queries have no payload to carry errors)."""

    code = "BAD_USER_INPUT"

    def __init__(self, error: ServiceError) -> None:
        super().__init__(error.message)
        self.extensions["field"] = error.field

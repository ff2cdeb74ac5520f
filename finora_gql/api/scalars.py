"""The input layer at the edge: every string, Decimal, date and global id a client sends is
checked here once, before any resolver runs, so a bad value is a coded error and never a crash.

- Strings (GraphQL `String`, whichever field or argument): no NUL byte, no lone surrogate
  (Postgres refuses both, and a surrogate cannot even be encoded as UTF-8).
- `Decimal`: a plain decimal string or number (`-12.50`); no exponent, no `Infinity`/`NaN`,
  no Python-only syntax (`1_000`), at most 16 digits before the point (NUMERIC(20, 4)) and 10
  after; `-0` becomes `0`.
- `Date`: years 1000 to 8999, so a range ending on 9999-12-31 cannot overflow date arithmetic
  (domains check their own, narrower ranges).
- Global ids: one that does not decode becomes a `GlobalID` of no type (`MALFORMED`): `node`
  answers null for it, and `decode_id` reports NOT_FOUND on the argument's field, in the payload.

Refusals are GraphQL errors with `extensions.code = BAD_USER_INPUT` (and, for a variable, the
path of the value in `extensions.field`, set by the view).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any, NewType

import strawberry
from graphql import GraphQLError, GraphQLString, ValueNode
from strawberry import relay
from strawberry.relay.types import GlobalIDValueError
from strawberry.schema.types.base_scalars import DateTimeDefinition
from strawberry.types.scalar import ScalarDefinition

from finora_gql.core.currency import is_currency
from finora_gql.core.errors import PublicError

BAD_USER_INPUT = "BAD_USER_INPUT"
# Wide on purpose: domains keep their own, narrower rules (and say so in the payload); this bound
# only keeps date arithmetic (a range ending on 9999-12-31 plus a bucket) from overflowing.
MIN_DATE = dt.date(1000, 1, 1)
MAX_DATE = dt.date(8999, 12, 31)
MAX_INTEGER_DIGITS = 16
MAX_FRACTION_DIGITS = 10
_DECIMAL = re.compile(r"[+-]?(\d+)(?:\.(\d+))?|[+-]?\.(\d+)", re.ASCII)
# The type name of a global id that did not decode: no GraphQL type has an empty name.
MALFORMED = ""


def refuse(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": BAD_USER_INPUT})


def check_string(value: str) -> str:
    """The string itself when Postgres can store it, else a BAD_USER_INPUT error."""
    if "\x00" in value:
        raise refuse("Text must not contain the NUL character (\\u0000).")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise refuse("Text must not contain a lone surrogate (\\ud800-\\udfff): it is not valid Unicode.") from None
    return value


_plain_string_value = GraphQLString.coerce_input_value
_plain_string_literal = GraphQLString.coerce_input_literal or GraphQLString.parse_literal


def _string_value(value: Any) -> str:
    return check_string(_plain_string_value(value))


def _string_literal(node: ValueNode, *args: Any, **kwargs: Any) -> str:
    parsed = _plain_string_literal(node, *args, **kwargs)
    return check_string(parsed) if isinstance(parsed, str) else parsed


def install_string_rules() -> None:
    """Make graphql-core's `String` scalar refuse NUL and lone surrogates (idempotent).

    `String` is graphql-core's own object, shared with introspection, so it is checked in place
    rather than replaced (graphql-core 3.3 reads `coerce_input_*`, older versions `parse_*`);
    tests/api/test_bad_input.py fails if it stops being used.
    """
    GraphQLString.parse_value = GraphQLString.coerce_input_value = _string_value  # type: ignore[method-assign]
    GraphQLString.parse_literal = GraphQLString.coerce_input_literal = _string_literal  # type: ignore[method-assign]


def parse_decimal(value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise refuse(f"Decimal must be a string such as \"-12.50\", not {type(value).__name__}.")
    text = value if isinstance(value, str) else repr(value)
    match = _DECIMAL.fullmatch(text) if len(text) <= 64 else None
    if match is None:
        raise refuse(
            "Decimal must be written with digits, an optional sign and an optional point, like \"-12.50\" "
            "(no exponent, Infinity, NaN, spaces or underscores)."
        )
    integer, fraction = (match[1] or "").lstrip("0"), match[2] or match[3] or ""
    if len(integer) > MAX_INTEGER_DIGITS or len(fraction) > MAX_FRACTION_DIGITS:
        raise refuse(
            f"Decimal has too many digits: at most {MAX_INTEGER_DIGITS} before the point and "
            f"{MAX_FRACTION_DIGITS} after."
        )
    try:
        number = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid literals
        raise refuse("Decimal is not a number.") from None
    return abs(number) if number.is_zero() else number  # -0 and -0.00 become 0 and 0.00


def parse_date(value: object) -> dt.date:
    if not isinstance(value, str):
        raise refuse("Date must be a string such as \"2026-03-31\".")
    try:
        date = dt.date.fromisoformat(value)
    except ValueError:
        raise refuse(f"Date must be written as YYYY-MM-DD, like \"2026-03-31\"; got {value[:40]!r}.") from None
    if not MIN_DATE <= date <= MAX_DATE:
        raise refuse(f"Dates must lie between {MIN_DATE.isoformat()} and {MAX_DATE.isoformat()}.")
    return date


DecimalScalar = ScalarDefinition(
    name="Decimal",
    description=(
        "An exact decimal number, sent and received as a string: \"-12.50\". Input: digits with an "
        f"optional sign and point, at most {MAX_INTEGER_DIGITS} digits before the point and "
        f"{MAX_FRACTION_DIGITS} after; no exponent, Infinity or NaN. Money is negative for outflows."
    ),
    specified_by_url=None,
    serialize=str,
    parse_value=parse_decimal,
    parse_literal=None,
    origin=Decimal,
)

DateScalar = ScalarDefinition(
    name="Date",
    description=f"A calendar date, ISO 8601 (YYYY-MM-DD), between {MIN_DATE} and {MAX_DATE}.",
    specified_by_url=None,
    serialize=lambda value: value.isoformat(),
    parse_value=parse_date,
    parse_literal=None,
    origin=dt.date,
)

class BadCurrency(PublicError):
    """A value that is not an ISO 4217 code: a client's mistake, answered with its code (not logged as a bug)."""

    code = "BAD_USER_INPUT"


def _parse_currency(value: object) -> str:
    if not isinstance(value, str):
        raise BadCurrency("A currency is a string: an ISO 4217 code such as \"EUR\".")
    code = value.strip().upper()
    if not is_currency(code):
        raise BadCurrency(f"{value[:10]!r} is not an ISO 4217 currency code (such as \"EUR\" or \"USD\").")
    return code


# Annotate fields with CurrencyCode; the schema maps it to the scalar below (SCALAR_MAP).
CurrencyCode = NewType("CurrencyCode", str)

CURRENCY_CODE = strawberry.scalar(
    name="CurrencyCode",
    description="An ISO 4217 currency code in circulation, such as \"EUR\" or \"USD\". Input is trimmed and upper-cased; "
    "anything else is refused as a bad argument.",
    specified_by_url="https://www.iso.org/iso-4217-currency-codes.html",
    serialize=str,
    parse_value=_parse_currency,
)

SCALAR_MAP = {CurrencyCode: CURRENCY_CODE}

SCALAR_OVERRIDES: dict[object, Any] = {
    Decimal: DecimalScalar,
    dt.date: DateScalar,
    dt.datetime: dataclasses.replace(
        DateTimeDefinition,
        description="A moment in time in ISO 8601, always in UTC with its offset (e.g. \"2026-03-31T18:30:00+00:00\").",
    ),
}


_strict_from_id = relay.GlobalID.from_id.__func__  # type: ignore[attr-defined]


def _lenient_from_id(cls: type[relay.GlobalID], value: Any) -> relay.GlobalID:
    try:
        return _strict_from_id(cls, value)
    except GlobalIDValueError:
        return cls(type_name=MALFORMED, node_id=str(value)[:100])


def install_lenient_global_ids() -> None:
    """An id argument that does not decode reaches the resolver as a GlobalID of no type.

    strawberry converts id arguments before the resolver runs and raises on garbage, which
    nulls the whole field (and, for a mutation, the whole `data`). Resolvers decode ids with
    `api.ids.decode_id`, which answers NOT_FOUND on the argument's field for any type that is
    not the expected one, MALFORMED included; `node` answers null.
    """
    relay.GlobalID.from_id = classmethod(_lenient_from_id)  # type: ignore[method-assign, assignment]


def install() -> None:
    install_string_rules()
    install_lenient_global_ids()

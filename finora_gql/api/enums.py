"""GraphQL enums over the services' Python enums, with a description for every value.

The Python enums live in models and services, which never import strawberry (and whose values
are stored in the database), so `strawberry.enum_value(...)` cannot be used there. `described`
wraps such an enum and sets each value's description; it refuses a value left undescribed or
a description for a value that does not exist, so a new member cannot slip in undocumented.
"""

from __future__ import annotations

from enum import Enum
from typing import TypeVar

import strawberry

E = TypeVar("E", bound=type[Enum])


def described(cls: E, *, name: str, description: str, values: dict[str, str]) -> E:
    """`strawberry.enum(cls, name=..., description=...)`, each member described by `values[member.name]`."""
    wrapped = strawberry.enum(cls, name=name, description=description)
    definition = wrapped.__strawberry_definition__
    names = {value.name for value in definition.values}
    if names != set(values):
        raise ValueError(f"enum {name}: describe exactly {sorted(names)}, got {sorted(values)}")
    for value in definition.values:
        value.description = values[value.name]
    return wrapped


def describe_values(wrapped: type[Enum], values: dict[str, str]) -> None:
    """Describe every value of an enum already wrapped with `strawberry.enum` (same rule as `described`)."""
    definition = wrapped.__strawberry_definition__  # type: ignore[attr-defined]
    names = {value.name for value in definition.values}
    if names != set(values):
        raise ValueError(f"enum {definition.name}: describe exactly {sorted(names)}, got {sorted(values)}")
    for value in definition.values:
        value.description = values[value.name]

"""Permissions a client can see: admin-only fields carry the `@adminOnly` directive in the SDL
(and say so in their description), so GraphiQL, codegen and reviewers see them.

The check itself stays where it is (`context.admin()`, `core.viewer.require_admin` in services);
the directive declares it. tests/test_schema_descriptions.py checks that every field whose
description starts with "Admin only." carries the directive, and the other way round.
"""

from __future__ import annotations

import strawberry
from strawberry.schema_directive import Location

ADMIN_ONLY = "Admin only."


@strawberry.schema_directive(
    name="adminOnly",
    locations=[Location.FIELD_DEFINITION],
    description="Only administrators (role ADMIN) may use this field; anyone else gets a FORBIDDEN error.",
)
class AdminOnly:
    pass


def admin_only(description: str) -> dict:
    """Keyword arguments for an admin-only field: its description, prefixed, and the directive."""
    return {"description": f"{ADMIN_ONLY} {description}", "directives": [AdminOnly()]}

"""Permission classes declared on fields, visible in the schema as `@requiresRole(role: ...)`.

An admin-only field is declared with `**admin_field("what it does")`: its description starts
with "Admin only." and strawberry's PermissionExtension with `IsAdmin` refuses everyone but
administrators before the resolver runs (no viewer: UNAUTHENTICATED; any other viewer:
FORBIDDEN). `permission_classes=` would hide the directive, so the extension is used directly.
Services keep their own `require_admin` check: a worker or the assistant calling them directly
gets the same answer. tests/admin/test_admin_matrix.py walks the SDL's directives, and
tests/test_schema_descriptions.py checks that the description and the directive go together.
"""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.permission import BasePermission, PermissionExtension
from strawberry.schema_directive import Location
from strawberry.types import Info

from finora_gql.core.errors import Forbidden

ADMIN_ONLY = "Admin only."


@strawberry.schema_directive(
    locations=[Location.FIELD_DEFINITION], name="requiresRole",
    description="Only viewers with this role may use the field; anyone else gets a FORBIDDEN error.",
)
class RequiresRole:
    role: str


class IsAdmin(BasePermission):
    """Administrators only."""

    message = "Only administrators can do this."
    _schema_directive = RequiresRole(role="ADMIN")

    async def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        viewer = await info.context.viewer()  # no valid session: UNAUTHENTICATED
        return viewer.is_admin

    def on_unauthorized(self) -> None:
        raise Forbidden(self.message)


def admin_field(description: str) -> dict[str, Any]:
    """Keyword arguments of an administrators-only field: its description, prefixed, and the
    permission extension (a new one per field)."""
    return {
        "description": f"{ADMIN_ONLY} {description}",
        "extensions": [PermissionExtension([IsAdmin()], use_directives=True)],
    }


def admin_only() -> list[PermissionExtension]:
    """The extensions of an administrators-only field whose description is given apart (it must
    start with "Admin only.")."""
    return [PermissionExtension([IsAdmin()], use_directives=True)]

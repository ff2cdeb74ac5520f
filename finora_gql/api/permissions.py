"""Permission classes declared on fields, visible in the schema as `@requiresRole(role: ...)`.

A field with `extensions=admin_only()` (strawberry's PermissionExtension with IsAdmin; the
`permission_classes=` shortcut would hide the directive) refuses everyone but administrators before its
resolver runs: no viewer is UNAUTHENTICATED, any other viewer FORBIDDEN. The directive in the
SDL is how clients (and `tests/admin/test_admin_matrix.py`) see which fields are admin-only.
"""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.permission import BasePermission, PermissionExtension
from strawberry.schema_directive import Location
from strawberry.types import Info

from finora_gql.core.errors import Forbidden


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


def admin_only() -> list[PermissionExtension]:
    """The extensions of an administrators-only field (a new list per field)."""
    return [PermissionExtension([IsAdmin()], use_directives=True)]

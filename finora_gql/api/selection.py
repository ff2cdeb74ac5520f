"""What a query asked for below a field, so list fields load nested objects only when selected."""

from __future__ import annotations

from collections.abc import Iterable

from strawberry.types import Info
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection


def _fields(selections: Iterable[Selection]) -> Iterable[SelectedField]:
    for selection in selections:
        if isinstance(selection, (FragmentSpread, InlineFragment)):
            yield from _fields(selection.selections)
        else:
            yield selection


def selects(info: Info, *path: str) -> bool:
    """True when the selection under the current field reaches `path` (camelCase names),
    e.g. `selects(info, "edges", "node", "account")`; fragments are followed."""
    level: list[Selection] = [child for field in info.selected_fields for child in field.selections]
    for name in path:
        level = [child for field in _fields(level) if field.name == name for child in (field.selections or [None])]
        if not level:
            return False
        level = [selection for selection in level if selection is not None]
    return True

"""What every tool shares: the run it belongs to, its failure (with a hint for the model), and the
reading of its arguments (dates, months, amounts, the person's category and account names).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from finora_gql.assistant.models import Proposal
from finora_gql.assistant.tools.names import Names, fuzzy
from finora_gql.core.runtime import Runtime
from finora_gql.core.viewer import Viewer


class ToolFailure(Exception):
    """A tool could not run as asked; `hint` tells the model what to do instead."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


@dataclass
class ToolRun:
    rt: Runtime
    viewer: Viewer
    names: Names
    message_id: uuid.UUID
    proposals: list[Proposal] = field(default_factory=list)


def opt_str(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def date_arg(value: Any, name: str, default: dt.date | None = None) -> dt.date:
    if value in (None, ""):
        if default is None:
            raise ToolFailure(f"{name} is required.", f"Give {name} as YYYY-MM-DD.")
        return default
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ToolFailure(f"{name} is not a date: {value!r}.", f"Give {name} as YYYY-MM-DD.") from None


def month_arg(value: Any, names: Names) -> dt.date:
    if value in (None, ""):
        return names.today.replace(day=1)
    text = str(value)
    try:
        return dt.date.fromisoformat(text[:7] + "-01")
    except ValueError:
        raise ToolFailure(f"month is not a month: {value!r}.", "Give month as YYYY-MM.") from None


def decimal_arg(value: Any, name: str) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        number = Decimal(str(value).replace(",", "").replace("$", "").replace("%", "").strip())
    except InvalidOperation:
        raise ToolFailure(f"{name} is not a number: {value!r}.", f"Give {name} as a decimal string.") from None
    if not number.is_finite():
        raise ToolFailure(f"{name} must be finite.", f"Give {name} as a decimal string.")
    return number


def category_arg(names: Names, value: Any, *, required: bool = False, expense: bool = False) -> tuple[str, uuid.UUID] | None:
    if value in (None, ""):
        if required:
            raise ToolFailure("category is required.", "Name one of the person's categories.")
        return None
    options = names.expense_categories if expense else list(names.categories)
    found = fuzzy(str(value), options)
    if found is None:
        raise ToolFailure(f"No category is called {value!r}.",
                          "Use one of: " + ", ".join(sorted(options)[:40]) + ".")
    return found, names.categories[found]


def account_arg(names: Names, value: Any) -> tuple[str, uuid.UUID] | None:
    if value in (None, ""):
        return None
    found = fuzzy(str(value), list(names.accounts))
    if found is None:
        raise ToolFailure(f"No account is called {value!r}.", "Use one of: " + ", ".join(sorted(names.accounts)) + ".")
    return found, names.accounts[found]


def period_arg(args: dict[str, Any], names: Names) -> tuple[dt.date, dt.date]:
    start = date_arg(args.get("date_from"), "date_from", names.today.replace(day=1))
    end = date_arg(args.get("date_to"), "date_to", names.today)
    if end < start:
        raise ToolFailure("date_to is before date_from.", "Swap the dates.")
    return start, end

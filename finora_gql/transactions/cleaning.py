"""Transactions as clients describe them, and the cleaning every write applies to their fields."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from finora_gql.core.errors import ErrorCode, ServiceError
from finora_gql.core.validation import clean_text

MAX_TAGS = 20
EARLIEST = dt.date(1900, 1, 1)
LATEST = dt.date(2200, 1, 1)


@dataclass(frozen=True)
class Draft:
    """A transaction as a client described it, before validation."""

    account_id: uuid.UUID
    date: dt.date
    amount: Decimal
    category_id: uuid.UUID | None = None
    merchant: str | None = None
    description: str = ""
    notes: str | None = None
    tags: Sequence[str] = ()
    external_id: str | None = None


def clean_tags(tags: Sequence[str], field: str) -> list[str]:
    cleaned: list[str] = []
    for tag in tags:
        value = " ".join(tag.split()).lower()
        if not value:
            continue
        if len(value) > 40:
            raise ServiceError(ErrorCode.INVALID, "Tags are at most 40 characters.", field)
        if value not in cleaned:
            cleaned.append(value)
    if len(cleaned) > MAX_TAGS:
        raise ServiceError(ErrorCode.INVALID, f"At most {MAX_TAGS} tags per transaction.", field)
    return cleaned


def clean_date(value: dt.date, field: str) -> dt.date:
    if not EARLIEST <= value < LATEST:
        raise ServiceError(ErrorCode.INVALID, "The date must be between 1900 and 2199.", field)
    return value


def optional_text(value: str | None, *, field: str, max_length: int) -> str | None:
    if value is None:
        return None
    return clean_text(value, field=field, max_length=max_length, required=False) or None


@dataclass(frozen=True)
class Changes:
    """Fields to change on a transaction; None leaves a field as it is."""

    account_id: uuid.UUID | None = None
    date: dt.date | None = None
    amount: Decimal | None = None
    category_id: uuid.UUID | None = None
    clear_category: bool = False
    merchant: str | None = None
    description: str | None = None
    notes: str | None = None
    tags: Sequence[str] | None = None

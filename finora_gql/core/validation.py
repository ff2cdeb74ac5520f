"""Input cleaning shared by domains: each function returns the clean value or raises ServiceError."""

from __future__ import annotations

import re
from functools import lru_cache
from zoneinfo import available_timezones

from email_validator import EmailNotValidError, validate_email

from finora_gql.core.currency import is_currency
from finora_gql.core.errors import ErrorCode, ServiceError


def clean_email(value: str, *, field: str = "email") -> str:
    try:
        result = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ServiceError(ErrorCode.INVALID, f"Enter a valid email address ({exc}).", field) from exc
    return result.normalized.lower()


# C0 and C1 control characters other than whitespace (tab, newlines), and DEL.
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")
MAX_SEARCH_LENGTH = 200
MAX_SEARCH_WORDS = 10


def strip_controls(value: str) -> str:
    """Free text without control characters (bells, escapes, NUL): they only ever hide or break."""
    return _CONTROL.sub("", value)


def clean_text(value: str, *, field: str, max_length: int, required: bool = True) -> str:
    cleaned = " ".join(strip_controls(value).split())
    if required and not cleaned:
        raise ServiceError(ErrorCode.REQUIRED, f"{field.capitalize()} is required.", field)
    if len(cleaned) > max_length:
        raise ServiceError(ErrorCode.INVALID, f"{field.capitalize()} is longer than {max_length} characters.", field)
    return cleaned


def clean_search(value: str, *, field: str = "search") -> str:
    """A search box's text: at most MAX_SEARCH_LENGTH characters and MAX_SEARCH_WORDS words
    (a 1 MB search took seconds, then overflowed Postgres' stack building the query)."""
    if len(value) > MAX_SEARCH_LENGTH:
        raise ServiceError(ErrorCode.INVALID, f"Search is longer than {MAX_SEARCH_LENGTH} characters.", field)
    words = strip_controls(value).split()
    if len(words) > MAX_SEARCH_WORDS:
        raise ServiceError(ErrorCode.INVALID, f"Search at most {MAX_SEARCH_WORDS} words at a time.", field)
    return " ".join(words)


def clean_currency(value: str, *, field: str = "currency") -> str:
    code = value.strip().upper()
    if not is_currency(code):
        raise ServiceError(ErrorCode.INVALID, f"{value!r} is not an ISO 4217 currency code.", field)
    return code


@lru_cache(maxsize=1)
def _timezones() -> frozenset[str]:
    return frozenset(available_timezones())


def clean_timezone(value: str, *, field: str = "timezone") -> str:
    name = value.strip()
    if name not in _timezones():
        raise ServiceError(ErrorCode.INVALID, f"{value!r} is not an IANA time zone such as Europe/Berlin.", field)
    return name

"""Input cleaning shared by domains: each function returns the clean value or raises ServiceError."""

from __future__ import annotations

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


def clean_text(value: str, *, field: str, max_length: int, required: bool = True) -> str:
    cleaned = " ".join(value.split())
    if required and not cleaned:
        raise ServiceError(ErrorCode.REQUIRED, f"{field.capitalize()} is required.", field)
    if len(cleaned) > max_length:
        raise ServiceError(ErrorCode.INVALID, f"{field.capitalize()} is longer than {max_length} characters.", field)
    return cleaned


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

"""Abuse limits on the sign-in, sign-up and password-reset mutations.

Counted per field execution, so aliasing a mutation a hundred times in one request costs a
hundred attempts. Limited per client address and per email address.
"""

from __future__ import annotations

from finora_gql.config import Settings
from finora_gql.context import Context
from finora_gql.core.errors import ErrorCode, ServiceError
from finora_gql.core.ratelimit import RateLimit, rate_key


def _rules(settings: Settings, action: str) -> tuple[str, str]:
    return getattr(settings, f"rate_limit_{action}_per_ip"), getattr(settings, f"rate_limit_{action}_per_email")


async def enforce(context: Context, action: str, email: str | None) -> None:
    """Count one attempt of `action`; raise RATE_LIMITED when a limit is exhausted."""
    per_ip, per_email = _rules(context.runtime.settings, action)
    checks = [(rate_key(action, "ip", context.client_ip), per_ip)]
    if email:
        checks.append((rate_key(action, "email", email.strip().lower()), per_email))
    for key, rule in checks:
        decision = await context.runtime.rate_limiter.hit(key, RateLimit.parse(rule))
        if not decision.allowed:
            raise ServiceError(
                ErrorCode.RATE_LIMITED,
                f"Too many attempts. Try again in {decision.retry_after} seconds.",
            )

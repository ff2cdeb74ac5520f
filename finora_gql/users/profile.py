"""A person's profile change, with what it sets off: a new base currency converts the budget
limits (refused, with nothing written, without a rate) and makes the wallet's summaries stale.

Apart from `users.service` because budgets read users: the rule lives here, beside neither.
"""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from finora_gql.budgets import limits
from finora_gql.core.errors import ErrorCode, ServiceError
from finora_gql.core.runtime import Runtime
from finora_gql.core.viewer import Viewer
from finora_gql.users import service as users
from finora_gql.users.models import User
from finora_gql.wallet.events import wallet_changed


async def update_profile(
    session: AsyncSession, rt: Runtime, viewer: Viewer, *, name: str | None = None,
    base_currency: str | None = None, timezone: str | None = None,
) -> User:
    """Change the viewer's name, base currency or time zone (None leaves a field as it is)."""
    user = await users.get_user(session, viewer.user_id)
    if user is None:  # deleted since the session was confirmed
        raise ServiceError(ErrorCode.NOT_FOUND, "No such user.")
    before = user.base_currency
    user = await users.update_profile(session, user, name=name, base_currency=base_currency, timezone=timezone)
    if user.base_currency != before:
        # Budget limits are in the base currency; summaries computed in the old one are stale.
        await limits.convert_limits(session, viewer, source=before, target=user.base_currency)
        wallet_changed(session, rt, viewer.user_id)
    return user

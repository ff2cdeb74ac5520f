"""What budgets, goals and simulations share: their limits on dates and amounts, money rounded
once at the end, the viewer's calendar day, and spending per category from the daily totals.

Spending always comes from the daily totals (`wallet.totals.converted_totals`), never from the
transactions table: spent in a category = -(the sum of its non-transfer amounts), converted to
the viewer's base currency at the rate in force on each day. A refund (a positive amount in an
expense category) reduces spent; a day whose currency has no rate yet is left out and reported.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from decimal import ROUND_HALF_EVEN, Decimal
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from finora_gql.core import clock
from finora_gql.core.calendar import month_start
from finora_gql.core.errors import ErrorCode, ServiceError
from finora_gql.core.money import round_money
from finora_gql.core.viewer import Viewer
from finora_gql.transactions import categories
from finora_gql.users import service as users
from finora_gql.users.models import User
from finora_gql.wallet import totals
from finora_gql.wallet.totals import MissingRate

EARLIEST = dt.date(1900, 1, 1)
LATEST = dt.date(2200, 1, 1)
# Months of history behind the spending average (simulateBudget) and a goal's contribution rate.
HISTORY_MONTHS = 3
PERCENT = Decimal("0.01")


def money(value: Decimal, currency: str) -> Decimal:
    # `+ 0` turns a negative zero (e.g. -(0)) into 0.00.
    return round_money(value, currency) + 0


def percent_of(part: Decimal, whole: Decimal) -> Decimal | None:
    """part / whole * 100 to 2 places (banker's rounding); None when whole <= 0."""
    if whole <= 0:
        return None
    return (part * 100 / whole).quantize(PERCENT, rounding=ROUND_HALF_EVEN) + 0


def clean_month(value: dt.date, field: str) -> dt.date:
    if not EARLIEST <= value < LATEST:
        raise ServiceError(ErrorCode.INVALID, "The month must be between 1900 and 2199.", field)
    return month_start(value)


async def current_user(session: AsyncSession, viewer: Viewer) -> User:
    user = await users.get_user(session, viewer.user_id)
    if user is None:  # deleted since the session was confirmed; a deleted user has no budgets to show
        raise ServiceError(ErrorCode.NOT_FOUND, "No such user.")
    return user


def today_of(user: User) -> dt.date:
    """The viewer's calendar day now (the business clock, in their time zone)."""
    return clock.now().astimezone(ZoneInfo(user.timezone)).date()


async def spent_by_category(
    session: AsyncSession, viewer: Viewer, *, start: dt.date, end: dt.date, currency: str
) -> tuple[dict[uuid.UUID, Decimal], list[MissingRate]]:
    """Unrounded spending per category between `start` and `end` (inclusive), in `currency`."""
    found, missing = await totals.converted_totals(
        session, viewer, start=start, end=end, currency=currency, by_category=True
    )
    spent: dict[uuid.UUID, Decimal] = defaultdict(Decimal)
    for total in found:
        if total.is_transfer or total.category_id is None:
            continue
        spent[total.category_id] -= total.inflow + total.outflow
    return spent, missing


def rolled_up(spent: dict[uuid.UUID, Decimal], parents: dict[uuid.UUID, uuid.UUID | None]) -> dict[uuid.UUID, Decimal]:
    """Each category's spending together with all its subcategories': a budget for Food covers
    Groceries and Restaurants when they are Food's subcategories."""
    total: dict[uuid.UUID, Decimal] = defaultdict(Decimal)
    for category_id, amount in spent.items():
        for category in categories.ancestry(category_id, parents):
            total[category] += amount
    return total

"""Catalog management (administrators): create, update and retire badges, challenges and rewards.

Each function validates all of its input, changes one row, and returns it with the values that
changed (`{field: {"before", "after"}}`) for the caller's audit row. Retiring keeps the row (awards
and redemptions refer to it); a retired entry takes no more progress and cannot be redeemed.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from finora_gql.admin.audit import changes
from finora_gql.core import clock
from finora_gql.core.errors import ErrorCode, ServiceError
from finora_gql.core.validation import clean_text
from finora_gql.core.viewer import Viewer
from finora_gql.gamification.models import Badge, BadgeCriterion, Challenge, ChallengeKind, Recurrence, Reward

CODE = re.compile(r"^[A-Z][A-Z0-9_]{1,39}$")
MAX_POINTS = 10_000
MAX_TARGET = Decimal("1000000000")

Changes = dict[str, dict[str, Any]]


def _snapshot(row: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(row, name) for name in fields}


def _code(value: str) -> str:
    code = value.strip().upper()
    if not CODE.match(code):
        raise ServiceError(ErrorCode.INVALID, "A code is 2-40 capital letters, digits or _, starting with a letter.", "code")
    return code


def _points(value: int, field: str) -> int:
    if not 0 <= value <= MAX_POINTS:
        raise ServiceError(ErrorCode.INVALID, f"Points must be between 0 and {MAX_POINTS}.", field)
    return value


async def _unique_code(session: AsyncSession, model: type, code: str, current: uuid.UUID | None = None) -> None:
    found = (await session.exec(select(model).where(col(model.code) == code))).first()
    if found is not None and found.id != current:
        raise ServiceError(ErrorCode.ALREADY_EXISTS, "This code is taken.", "code")


async def _get(session: AsyncSession, model: type, row_id: uuid.UUID, noun: str) -> Any:
    row = await session.get(model, row_id, with_for_update=True)
    if row is None:
        raise ServiceError(ErrorCode.NOT_FOUND, f"No {noun} has this id.", "id")
    return row


async def _retire(session: AsyncSession, model: type, row_id: uuid.UUID, noun: str,
                  fields: tuple[str, ...]) -> tuple[Any, Changes]:
    """Retire a catalog row (no one can earn or redeem it any more; what was awarded stays)."""
    row = await _get(session, model, row_id, noun)
    before = _snapshot(row, fields)
    row.retired_at = row.retired_at or clock.now()
    session.add(row)
    return row, changes(before, _snapshot(row, fields))


# --- badges -------------------------------------------------------------------------------------

BADGE_FIELDS = ("code", "name", "description", "icon", "criterion", "threshold", "points", "retired_at")


@dataclass
class BadgeDraft:
    code: str | None = None
    name: str | None = None
    description: str | None = None
    icon: str | None = None
    criterion: BadgeCriterion | None = None
    threshold: int | None = None
    points: int | None = None


def _apply_badge(row: Badge, draft: BadgeDraft) -> None:
    if draft.code is not None:
        row.code = _code(draft.code)
    if draft.name is not None:
        row.name = clean_text(draft.name, field="name", max_length=80)
    if draft.description is not None:
        row.description = clean_text(draft.description, field="description", max_length=500)
    if draft.icon is not None:
        row.icon = clean_text(draft.icon, field="icon", max_length=40)
    if draft.criterion is not None:
        row.criterion = draft.criterion
    if draft.threshold is not None:
        if not 1 <= draft.threshold <= 1_000_000:
            raise ServiceError(ErrorCode.INVALID, "The threshold must be between 1 and 1,000,000.", "threshold")
        row.threshold = draft.threshold
    if draft.points is not None:
        row.points = _points(draft.points, "points")


async def create_badge(session: AsyncSession, draft: BadgeDraft) -> tuple[Badge, Changes]:
    for name in ("code", "name", "description", "criterion", "threshold"):
        if getattr(draft, name) is None:
            raise ServiceError(ErrorCode.REQUIRED, f"{name} is required.", name)
    row = Badge(code="", name="", description="", points=0)
    _apply_badge(row, draft)
    await _unique_code(session, Badge, row.code)
    session.add(row)
    await session.flush()
    return row, changes({}, _snapshot(row, BADGE_FIELDS))


async def update_badge(session: AsyncSession, badge_id: uuid.UUID, draft: BadgeDraft) -> tuple[Badge, Changes]:
    row = await _get(session, Badge, badge_id, "badge")
    before = _snapshot(row, BADGE_FIELDS)
    _apply_badge(row, draft)
    await _unique_code(session, Badge, row.code, row.id)
    session.add(row)
    return row, changes(before, _snapshot(row, BADGE_FIELDS))


async def retire_badge(session: AsyncSession, badge_id: uuid.UUID) -> tuple[Badge, Changes]:
    return await _retire(session, Badge, badge_id, "badge", BADGE_FIELDS)


# --- challenges ---------------------------------------------------------------------------------

CHALLENGE_FIELDS = ("code", "name", "description", "kind", "target", "reward_points", "recurrence", "duration_days",
                    "category_name", "default_enrolled", "starts_at", "ends_at", "retired_at")


@dataclass
class ChallengeDraft:
    code: str | None = None
    name: str | None = None
    description: str | None = None
    kind: ChallengeKind | None = None
    target: Decimal | None = None
    reward_points: int | None = None
    duration_days: int | None = None
    recurrence: Recurrence | None = None
    category_id: uuid.UUID | None = None
    default_enrolled: bool | None = None
    starts_at: dt.datetime | None = None
    ends_at: dt.datetime | None = None


async def _apply_challenge(session: AsyncSession, viewer: Viewer, row: Challenge, draft: ChallengeDraft) -> None:
    from finora_gql.transactions import categories

    if draft.code is not None:
        row.code = _code(draft.code)
    if draft.name is not None:
        row.name = clean_text(draft.name, field="name", max_length=80)
    if draft.description is not None:
        row.description = clean_text(draft.description, field="description", max_length=500)
    if draft.kind is not None:
        row.kind = draft.kind
    if draft.target is not None:
        if not draft.target.is_finite() or not Decimal(0) <= draft.target <= MAX_TARGET:
            raise ServiceError(ErrorCode.INVALID, "The target must be between 0 and 1,000,000,000.", "target")
        if draft.target.as_tuple().exponent < -4:  # type: ignore[operator]
            raise ServiceError(ErrorCode.INVALID, "At most 4 decimals.", "target")
        row.target = draft.target
    if draft.reward_points is not None:
        row.reward_points = _points(draft.reward_points, "rewardPoints")
    if draft.recurrence is not None:
        row.recurrence = draft.recurrence
    if draft.duration_days is not None:
        if not 1 <= draft.duration_days <= 366:
            raise ServiceError(ErrorCode.INVALID, "The duration must be between 1 and 366 days.", "durationDays")
        row.duration_days = draft.duration_days
    if draft.category_id is not None:
        category = await categories.get_category(session, viewer, draft.category_id, field="categoryId")
        row.category_name = category.name
    if draft.default_enrolled is not None:
        row.default_enrolled = draft.default_enrolled
    if draft.starts_at is not None:
        row.starts_at = draft.starts_at
    if draft.ends_at is not None:
        row.ends_at = draft.ends_at
    if row.recurrence is not Recurrence.NONE and row.duration_days is not None:
        raise ServiceError(ErrorCode.INVALID, "A recurring challenge lasts its week or month: no durationDays.",
                           "durationDays")
    if row.category_name is not None and row.kind is not ChallengeKind.SPEND_UNDER:
        raise ServiceError(ErrorCode.INVALID, "Only SPEND_UNDER challenges take a category.", "categoryId")
    if row.kind is ChallengeKind.BUDGET_KEPT and row.recurrence is not Recurrence.MONTHLY:
        raise ServiceError(ErrorCode.INVALID, "Budgets are monthly: BUDGET_KEPT must recur MONTHLY.", "recurrence")
    if row.kind in (ChallengeKind.SPEND_UNDER, ChallengeKind.NO_SPEND_DAYS) and row.recurrence is Recurrence.NONE \
            and row.duration_days is None:
        raise ServiceError(ErrorCode.INVALID, "A challenge judged at its close needs a period: a recurrence or "
                           "durationDays.", "durationDays")
    if row.starts_at and row.ends_at and row.ends_at <= row.starts_at:
        raise ServiceError(ErrorCode.INVALID, "It must end after it starts.", "endsAt")


async def create_challenge(session: AsyncSession, viewer: Viewer, draft: ChallengeDraft) -> tuple[Challenge, Changes]:
    for name, field in (("code", "code"), ("name", "name"), ("description", "description"), ("kind", "kind"),
                        ("target", "target"), ("reward_points", "rewardPoints")):
        if getattr(draft, name) is None:
            raise ServiceError(ErrorCode.REQUIRED, f"{field} is required.", field)
    row = Challenge(code="", name="", description="", target=Decimal(0))
    await _apply_challenge(session, viewer, row, draft)
    await _unique_code(session, Challenge, row.code)
    session.add(row)
    await session.flush()
    return row, changes({}, _snapshot(row, CHALLENGE_FIELDS))


async def update_challenge(
    session: AsyncSession, viewer: Viewer, challenge_id: uuid.UUID, draft: ChallengeDraft
) -> tuple[Challenge, Changes]:
    row = await _get(session, Challenge, challenge_id, "challenge")
    before = _snapshot(row, CHALLENGE_FIELDS)
    await _apply_challenge(session, viewer, row, draft)
    await _unique_code(session, Challenge, row.code, row.id)
    session.add(row)
    return row, changes(before, _snapshot(row, CHALLENGE_FIELDS))


async def retire_challenge(session: AsyncSession, challenge_id: uuid.UUID) -> tuple[Challenge, Changes]:
    return await _retire(session, Challenge, challenge_id, "challenge", CHALLENGE_FIELDS)


# --- rewards ------------------------------------------------------------------------------------

REWARD_FIELDS = ("code", "name", "description", "cost_points", "retired_at")


@dataclass
class RewardDraft:
    code: str | None = None
    name: str | None = None
    description: str | None = None
    cost_points: int | None = None


def _apply_reward(row: Reward, draft: RewardDraft) -> None:
    if draft.code is not None:
        row.code = _code(draft.code)
    if draft.name is not None:
        row.name = clean_text(draft.name, field="name", max_length=80)
    if draft.description is not None:
        row.description = clean_text(draft.description, field="description", max_length=500)
    if draft.cost_points is not None:
        if not 1 <= draft.cost_points <= 1_000_000:
            raise ServiceError(ErrorCode.INVALID, "The cost must be between 1 and 1,000,000 points.", "costPoints")
        row.cost_points = draft.cost_points


async def create_reward(session: AsyncSession, draft: RewardDraft) -> tuple[Reward, Changes]:
    for name, field in (("code", "code"), ("name", "name"), ("description", "description"),
                        ("cost_points", "costPoints")):
        if getattr(draft, name) is None:
            raise ServiceError(ErrorCode.REQUIRED, f"{field} is required.", field)
    row = Reward(code="", name="", description="", cost_points=1)
    _apply_reward(row, draft)
    await _unique_code(session, Reward, row.code)
    session.add(row)
    await session.flush()
    return row, changes({}, _snapshot(row, REWARD_FIELDS))


async def update_reward(session: AsyncSession, reward_id: uuid.UUID, draft: RewardDraft) -> tuple[Reward, Changes]:
    row = await _get(session, Reward, reward_id, "reward")
    before = _snapshot(row, REWARD_FIELDS)
    _apply_reward(row, draft)
    await _unique_code(session, Reward, row.code, row.id)
    session.add(row)
    return row, changes(before, _snapshot(row, REWARD_FIELDS))


async def retire_reward(session: AsyncSession, reward_id: uuid.UUID) -> tuple[Reward, Changes]:
    return await _retire(session, Reward, reward_id, "reward", REWARD_FIELDS)

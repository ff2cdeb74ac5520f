"""Catalog management (administrators): create, update and retire badges, challenges and rewards.

One `Catalog` describes each kind of entry (its table, the fields its audit row compares, what a
new one must have, how a draft is cleaned onto a row); `create`, `update` and `retire` are the same
for every kind. Each validates the input, changes one row, and returns it with the values that
changed (`{field: {"before", "after"}}`) for the caller's audit row. Retiring keeps the row (awards
and redemptions refer to it); a retired entry takes no more progress and cannot be redeemed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Generic, TypeVar

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from strawberry.utils.str_converters import to_camel_case

from finora_gql.admin.audit import changes
from finora_gql.core import clock
from finora_gql.core.db import after_commit
from finora_gql.core.errors import Collector, ErrorCode, ServiceError
from finora_gql.core.validation import clean_text
from finora_gql.core.viewer import Viewer
from finora_gql.gamification import state
from finora_gql.gamification.models import Badge, BadgeCriterion, Challenge, ChallengeKind, Recurrence, Reward

CODE = re.compile(r"^[A-Z][A-Z0-9_]{1,39}$")
MAX_POINTS = 10_000
MAX_TARGET = Decimal("1000000000")

Changes = dict[str, dict[str, Any]]
Row = TypeVar("Row", Badge, Challenge, Reward)
Draft = TypeVar("Draft")


def _snapshot(row: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(row, name) for name in fields}


def _code(value: str) -> str:
    code = value.strip().upper()
    if not CODE.match(code):
        raise ServiceError(ErrorCode.INVALID, "A code is 2-40 capital letters, digits or _, starting with a letter.", "code")
    return code


def _within(value: int, low: int, high: int, message: str, field: str) -> int:
    if not low <= value <= high:
        raise ServiceError(ErrorCode.INVALID, message, field)
    return value


def _points(value: int, field: str) -> int:
    return _within(value, 0, MAX_POINTS, f"Points must be between 0 and {MAX_POINTS}.", field)


def _set(errors: Collector, row: Any, attribute: str, clean: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """Set the cleaned value on the row, or record why it cannot be (the row is then left as it was)."""
    value = errors.check(clean, *args, **kwargs)
    if value is not None:
        setattr(row, attribute, value)


@dataclass
class EntryDraft:
    """What every kind of entry has; omitted (None) values stay as they are."""

    code: str | None = None
    name: str | None = None
    description: str | None = None


def _apply_entry(row: Any, draft: EntryDraft, errors: Collector) -> None:
    if draft.code is not None:
        _set(errors, row, "code", _code, draft.code)
    if draft.name is not None:
        _set(errors, row, "name", clean_text, draft.name, field="name", max_length=80)
    if draft.description is not None:
        _set(errors, row, "description", clean_text, draft.description, field="description", max_length=500)


def _input_order(draft: Any) -> list[str]:
    """The draft's input fields, camelCase, in the order the input type declares them."""
    return [to_camel_case(each.name) for each in dataclasses.fields(draft)]


@dataclass(frozen=True)
class Catalog(Generic[Row, Draft]):
    """One kind of catalog entry.

    `required` pairs a draft attribute with its input field (camelCase, for the error);
    `apply` cleans a draft onto a row, recording every bad value in the collector (the draft's
    attributes are declared in the input's order, which is the order errors come back in);
    `evaluated` says the gamification engine caches these, so its copy is forgotten once a change commits.
    """

    model: type[Row]
    noun: str
    fields: tuple[str, ...]
    required: tuple[tuple[str, str], ...]
    blank: Callable[[], Row]
    apply: Callable[[AsyncSession, Viewer, Row, Draft, Collector], Awaitable[None]]
    evaluated: bool

    async def create(self, session: AsyncSession, viewer: Viewer, draft: Draft) -> tuple[Row, Changes]:
        errors = Collector()  # every problem of the input, not only the first
        for name, field in self.required:
            if getattr(draft, name) is None:
                errors.add(ServiceError(ErrorCode.REQUIRED, f"{field} is required.", field))
        row = self.blank()
        await self.apply(session, viewer, row, draft, errors)
        errors.raise_any(order=_input_order(draft))
        await self._unique_code(session, row)
        session.add(row)
        await session.flush()
        self._changed(session)
        return row, changes({}, _snapshot(row, self.fields))

    async def update(self, session: AsyncSession, viewer: Viewer, row_id: uuid.UUID, draft: Draft) -> tuple[Row, Changes]:
        row = await self._get(session, row_id)
        before = _snapshot(row, self.fields)
        errors = Collector()  # every problem of the input, not only the first
        await self.apply(session, viewer, row, draft, errors)
        errors.raise_any(order=_input_order(draft))
        await self._unique_code(session, row)
        session.add(row)
        self._changed(session)
        return row, changes(before, _snapshot(row, self.fields))

    async def retire(self, session: AsyncSession, row_id: uuid.UUID) -> tuple[Row, Changes]:
        """No one can earn or redeem it any more; what was awarded stays."""
        row = await self._get(session, row_id)
        before = _snapshot(row, self.fields)
        row.retired_at = row.retired_at or clock.now()
        session.add(row)
        self._changed(session)
        return row, changes(before, _snapshot(row, self.fields))

    async def _get(self, session: AsyncSession, row_id: uuid.UUID) -> Row:
        row = await session.get(self.model, row_id, with_for_update=True)
        if row is None:
            raise ServiceError(ErrorCode.NOT_FOUND, f"No {self.noun} has this id.", "id")
        return row

    async def _unique_code(self, session: AsyncSession, row: Row) -> None:
        found = (await session.exec(select(self.model).where(col(self.model.code) == row.code))).first()
        if found is not None and found.id != row.id:
            raise ServiceError(ErrorCode.ALREADY_EXISTS, "This code is taken.", "code")

    def _changed(self, session: AsyncSession) -> None:
        if not self.evaluated:
            return

        async def forget() -> None:
            state.catalog_changed()

        after_commit(session, forget)


# --- badges -------------------------------------------------------------------------------------


@dataclass
class BadgeDraft(EntryDraft):
    criterion: BadgeCriterion | None = None
    threshold: int | None = None
    points: int | None = None
    icon: str | None = None


async def _apply_badge(session: AsyncSession, viewer: Viewer, row: Badge, draft: BadgeDraft, errors: Collector) -> None:
    _apply_entry(row, draft, errors)
    if draft.criterion is not None:
        row.criterion = draft.criterion
    if draft.threshold is not None:
        _set(errors, row, "threshold", _within, draft.threshold, 1, 1_000_000,
             "The threshold must be between 1 and 1,000,000.", "threshold")
    if draft.points is not None:
        _set(errors, row, "points", _points, draft.points, "points")
    if draft.icon is not None:
        _set(errors, row, "icon", clean_text, draft.icon, field="icon", max_length=40)


BADGES: Catalog[Badge, BadgeDraft] = Catalog(
    model=Badge, noun="badge",
    fields=("code", "name", "description", "icon", "criterion", "threshold", "points", "retired_at"),
    required=(("code", "code"), ("name", "name"), ("description", "description"), ("criterion", "criterion"),
              ("threshold", "threshold")),
    blank=lambda: Badge(code="", name="", description="", points=0), apply=_apply_badge, evaluated=True,
)


# --- challenges ---------------------------------------------------------------------------------


@dataclass
class ChallengeDraft(EntryDraft):
    kind: ChallengeKind | None = None
    target: Decimal | None = None
    reward_points: int | None = None
    duration_days: int | None = None
    recurrence: Recurrence | None = None
    category_id: uuid.UUID | None = None
    default_enrolled: bool | None = None
    starts_at: dt.datetime | None = None
    ends_at: dt.datetime | None = None


def _target(value: Decimal) -> Decimal:
    if not value.is_finite() or not Decimal(0) <= value <= MAX_TARGET:
        raise ServiceError(ErrorCode.INVALID, "The target must be between 0 and 1,000,000,000.", "target")
    if value.as_tuple().exponent < -4:  # type: ignore[operator]
        raise ServiceError(ErrorCode.INVALID, "At most 4 decimals.", "target")
    return value


async def _apply_challenge(
    session: AsyncSession, viewer: Viewer, row: Challenge, draft: ChallengeDraft, errors: Collector
) -> None:
    from finora_gql.transactions import categories

    _apply_entry(row, draft, errors)
    if draft.kind is not None:
        row.kind = draft.kind
    if draft.target is not None:
        _set(errors, row, "target", _target, draft.target)
    if draft.reward_points is not None:
        _set(errors, row, "reward_points", _points, draft.reward_points, "rewardPoints")
    if draft.duration_days is not None:
        _set(errors, row, "duration_days", _within, draft.duration_days, 1, 366,
             "The duration must be between 1 and 366 days.", "durationDays")
    if draft.recurrence is not None:
        row.recurrence = draft.recurrence
    if draft.category_id is not None:
        category = await errors.check_async(categories.get_category(session, viewer, draft.category_id, field="categoryId"))
        if category is not None:
            row.category_name = category.name
    if draft.default_enrolled is not None:
        row.default_enrolled = draft.default_enrolled
    if draft.starts_at is not None:
        row.starts_at = draft.starts_at
    if draft.ends_at is not None:
        row.ends_at = draft.ends_at
    if not errors.errors:  # the rules below judge the values together, once each is clean
        _check_challenge(row, errors)


def _check_challenge(row: Challenge, errors: Collector) -> None:
    """How a challenge's values must fit together; every rule it breaks is recorded."""
    if row.recurrence is not Recurrence.NONE and row.duration_days is not None:
        errors.add(ServiceError(ErrorCode.INVALID, "A recurring challenge lasts its week or month: no durationDays.",
                                "durationDays"))
    if row.category_name is not None and row.kind is not ChallengeKind.SPEND_UNDER:
        errors.add(ServiceError(ErrorCode.INVALID, "Only SPEND_UNDER challenges take a category.", "categoryId"))
    if row.kind is ChallengeKind.BUDGET_KEPT and row.recurrence is not Recurrence.MONTHLY:
        errors.add(ServiceError(ErrorCode.INVALID, "Budgets are monthly: BUDGET_KEPT must recur MONTHLY.", "recurrence"))
    if row.kind in (ChallengeKind.SPEND_UNDER, ChallengeKind.NO_SPEND_DAYS) and row.recurrence is Recurrence.NONE \
            and row.duration_days is None:
        errors.add(ServiceError(ErrorCode.INVALID, "A challenge judged at its close needs a period: a recurrence or "
                                "durationDays.", "durationDays"))
    if row.starts_at and row.ends_at and row.ends_at <= row.starts_at:
        errors.add(ServiceError(ErrorCode.INVALID, "It must end after it starts.", "endsAt"))


CHALLENGES: Catalog[Challenge, ChallengeDraft] = Catalog(
    model=Challenge, noun="challenge",
    fields=("code", "name", "description", "kind", "target", "reward_points", "recurrence", "duration_days",
            "category_name", "default_enrolled", "starts_at", "ends_at", "retired_at"),
    required=(("code", "code"), ("name", "name"), ("description", "description"), ("kind", "kind"),
              ("target", "target"), ("reward_points", "rewardPoints")),
    blank=lambda: Challenge(code="", name="", description="", target=Decimal(0)), apply=_apply_challenge,
    evaluated=True,
)


# --- rewards ------------------------------------------------------------------------------------


@dataclass
class RewardDraft(EntryDraft):
    cost_points: int | None = None


async def _apply_reward(session: AsyncSession, viewer: Viewer, row: Reward, draft: RewardDraft, errors: Collector) -> None:
    _apply_entry(row, draft, errors)
    if draft.cost_points is not None:
        _set(errors, row, "cost_points", _within, draft.cost_points, 1, 1_000_000,
             "The cost must be between 1 and 1,000,000 points.", "costPoints")


# Redeeming reads rewards directly, so no cached copy needs forgetting.
REWARDS: Catalog[Reward, RewardDraft] = Catalog(
    model=Reward, noun="reward", fields=("code", "name", "description", "cost_points", "retired_at"),
    required=(("code", "code"), ("name", "name"), ("description", "description"), ("cost_points", "costPoints")),
    blank=lambda: Reward(code="", name="", description="", cost_points=1), apply=_apply_reward, evaluated=False,
)

"""The rules, as a pure function: `Engine.apply(state, event)` changes a person's working state
and returns what they earned. No database, no clock: the service applies events in the order it
records (`seq`), so replaying someone's events from an empty state gives the same state and the
same awards (`recomputeGamification`, and the property test that checks it).

Rules that keep it honest:
- a transaction counts towards a challenge period only if it is dated inside that period
  (back-dated entries do not count), is not a transfer and was not imported; deleting it
  takes it out again (created-then-deleted counts for nothing); editing its date moves it out
  of (or back into) the period it was recorded in, while that period is open;
- an import counts (for its badge) only when it added rows that were not duplicates;
- SPEND_UNDER, NO_SPEND_DAYS and BUDGET_KEPT are judged once, from the ledger, when the
  period has closed in the person's time zone (a PERIOD_CLOSED event carries the figure);
- an award is once per (person, badge or challenge, period); a completed challenge stays
  completed (no loss-shaming);
- points earned per day (in the person's time zone) are capped.
"""

from __future__ import annotations

import datetime as dt
from calendar import monthrange
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from finora_gql.gamification.models import JUDGED_AT_CLOSE, BadgeCriterion, ChallengeKind, EventKind, Recurrence

OPEN_START = dt.date(2000, 1, 1)  # periods of a once-only challenge without a join date
KEEP_DAYS = 62  # working state older than this (by the event's day) is dropped: its periods closed


@dataclass(frozen=True)
class ChallengeSpec:
    id: str
    code: str
    name: str
    kind: ChallengeKind
    target: Decimal
    reward_points: int
    recurrence: Recurrence
    duration_days: int | None
    default_enrolled: bool
    starts_at: dt.datetime | None
    ends_at: dt.datetime | None
    retired_at: dt.datetime | None

    def active_at(self, moment: dt.datetime) -> bool:
        return ((self.starts_at is None or self.starts_at <= moment) and (self.ends_at is None or moment < self.ends_at)
                and (self.retired_at is None or moment < self.retired_at))


@dataclass(frozen=True)
class BadgeSpec:
    id: str
    code: str
    name: str
    criterion: BadgeCriterion
    threshold: int
    points: int
    retired_at: dt.datetime | None


@dataclass(frozen=True)
class EventIn:
    id: str
    kind: EventKind
    occurred_at: dt.datetime
    timezone: str
    payload: dict[str, Any]

    @property
    def day(self) -> dt.date:
        return self.occurred_at.astimezone(ZoneInfo(self.timezone)).date()


@dataclass
class Earned:
    """An award the event earned: a badge (period "ALL") or a challenge period completed."""

    subject: str
    period: str
    points: int
    title: str
    code: str
    badge_id: str | None = None
    challenge_id: str | None = None


@dataclass
class Outcome:
    earned: list[Earned] = field(default_factory=list)
    # Progress rows to write: key "challenge_id|period_start" -> snapshot.
    progress: dict[str, dict[str, Any]] = field(default_factory=dict)


def period_of(spec: ChallengeSpec, day: dt.date, joined_day: dt.date | None) -> tuple[dt.date, dt.date | None]:
    """[start, end) of the challenge's period containing `day` (end None: open-ended)."""
    if spec.recurrence is Recurrence.WEEKLY:
        start = day - dt.timedelta(days=day.weekday())
        return start, start + dt.timedelta(days=7)
    if spec.recurrence is Recurrence.MONTHLY:
        start = day.replace(day=1)
        return start, start + dt.timedelta(days=monthrange(start.year, start.month)[1])
    start = joined_day or OPEN_START
    return start, (start + dt.timedelta(days=spec.duration_days) if spec.duration_days else None)


def _within(day: dt.date, start: dt.date, end: dt.date | None) -> bool:
    return start <= day and (end is None or day < end)


def empty_state() -> dict[str, Any]:
    return {"enrolled": {}, "counted": {}, "lifetime": {}, "streak": {}, "progress": {}, "awarded": [],
            "points_by_day": {}, "since": None}


class Engine:
    def __init__(self, challenges: list[ChallengeSpec], badges: list[BadgeSpec], *, daily_points_cap: int) -> None:
        self.challenges = {c.id: c for c in challenges}
        self.badges = badges
        self.cap = daily_points_cap

    # --- enrollment -----------------------------------------------------------------------------

    def enrolled(self, state: dict[str, Any], spec: ChallengeSpec, moment: dt.datetime) -> bool:
        entry = state["enrolled"].get(spec.id)
        if entry is not None and entry.get("left") and dt.datetime.fromisoformat(entry["left"]) <= moment:
            return False
        if entry is not None and entry.get("joined"):
            return dt.datetime.fromisoformat(entry["joined"]) <= moment
        return spec.default_enrolled

    def joined_day(self, state: dict[str, Any], spec: ChallengeSpec) -> dt.date | None:
        entry = state["enrolled"].get(spec.id)
        return dt.date.fromisoformat(entry["joined_day"]) if entry and entry.get("joined_day") else None

    def running(self, state: dict[str, Any], moment: dt.datetime, kinds: set[ChallengeKind]) -> list[ChallengeSpec]:
        return [c for c in self.challenges.values()
                if c.kind in kinds and c.active_at(moment) and self.enrolled(state, c, moment)]

    # --- applying -------------------------------------------------------------------------------

    def apply(self, state: dict[str, Any], event: EventIn) -> Outcome:
        out = Outcome()
        day = event.day
        if state.get("since") is None:
            state["since"] = day.isoformat()
        handler = getattr(self, "_" + event.kind.value.lower())
        handler(state, event, day, out)
        self._badges(state, event, day, out)
        self._prune(state, day)
        return out

    def _transaction_created(self, state, event: EventIn, day, out: Outcome) -> None:
        lifetime = state["lifetime"]
        for item in event.payload.get("transactions", []):
            if item.get("transfer") or item.get("imported") or item["id"] in state["counted"]:
                continue
            tx_day = dt.date.fromisoformat(item["date"])
            keys = self._count(state, event, day, day, tx_day, out)
            state["counted"][item["id"]] = {"d": tx_day.isoformat(), "at": day.isoformat(), "p": keys}
            lifetime["transactions"] = lifetime.get("transactions", 0) + 1

    def _transaction_updated(self, state, event: EventIn, day, out: Outcome) -> None:
        """An edited date is judged again in the periods of the day the transaction was recorded
        (so it counts in one period at most, however often it is edited), and only in periods
        still open: moved out of one it no longer counts there, moved back in it counts again.
        A transaction that never counted (a transfer, an import, or one forgotten long ago) does
        not start to; a completed period stays completed. Amounts and categories are judged from
        the ledger when their period closes (SPEND_UNDER, NO_SPEND_DAYS, BUDGET_KEPT)."""
        for item in event.payload.get("transactions", []):
            counted = state["counted"].get(item["id"])
            if counted is None or item.get("transfer") or item.get("imported") or item["date"] == counted["d"]:
                continue
            settled = []
            for key in counted["p"]:
                row = state["progress"].get(key)
                if row is not None and row["end"] is not None and row["end"] <= day.isoformat():
                    settled.append(key)  # its period has ended: an edit no longer changes it
                else:
                    self._take_out(state, key, out)
            tx_day = dt.date.fromisoformat(item["date"])
            fresh = self._count(state, event, day, dt.date.fromisoformat(counted["at"]), tx_day, out, open_on=day)
            counted["d"], counted["p"] = tx_day.isoformat(), settled + fresh

    def _count(self, state, event: EventIn, day: dt.date, recorded: dt.date, tx_day: dt.date, out: Outcome, *,
               open_on: dt.date | None = None) -> list[str]:
        """Count a transaction dated `tx_day`, recorded on `recorded`, towards the periods of the
        running TRANSACTION_COUNT challenges that contain both days (with `open_on`, only those
        not ended by then). Returns the progress keys it counted in."""
        keys = []
        for spec in self.running(state, event.occurred_at, {ChallengeKind.TRANSACTION_COUNT}):
            start, end = period_of(spec, recorded, self.joined_day(state, spec))
            if not (_within(tx_day, start, end) and _within(recorded, start, end)):
                continue  # back-dated (or dated after the period): not this period's effort
            if open_on is not None and end is not None and end <= open_on:
                continue
            key = self._add(state, spec, start, end, Decimal(1), out)
            keys.append(key)
            self._check(state, spec, key, event, day, out)
        return keys

    def _take_out(self, state, key: str, out: Outcome) -> None:
        row = state["progress"].get(key)
        if row is not None and row["completed"] is None:
            row["value"] = str(Decimal(row["value"]) - 1)
            out.progress[key] = dict(row)

    def _transaction_deleted(self, state, event: EventIn, day, out: Outcome) -> None:
        lifetime = state["lifetime"]
        for tx_id in event.payload.get("ids", []):
            counted = state["counted"].pop(tx_id, None)
            if counted is None:
                continue
            lifetime["transactions"] = lifetime.get("transactions", 0) - 1
            for key in counted["p"]:
                self._take_out(state, key, out)

    def _signed_in(self, state, event: EventIn, day, out: Outcome) -> None:
        streak = state["streak"]
        last = dt.date.fromisoformat(streak["last"]) if streak.get("last") else None
        if last == day:
            return
        streak["length"] = streak.get("length", 0) + 1 if last == day - dt.timedelta(days=1) else 1
        streak["last"] = day.isoformat()
        streak["best"] = max(streak.get("best", 0), streak["length"])
        for spec in self.running(state, event.occurred_at, {ChallengeKind.LOGIN_STREAK}):
            start, end = period_of(spec, day, self.joined_day(state, spec))
            # Only the days of the streak inside this period count towards it.
            inside = min(streak["length"], (day - start).days + 1)
            key = self._set(state, spec, start, end, Decimal(inside), out)
            self._check(state, spec, key, event, day, out)

    def _goal_contribution(self, state, event: EventIn, day, out: Outcome) -> None:
        amount = Decimal(event.payload["amount"])
        contribution_day = dt.date.fromisoformat(event.payload.get("date") or day.isoformat())
        if amount > 0:
            state["lifetime"]["contributions"] = state["lifetime"].get("contributions", 0) + 1
        for spec in self.running(state, event.occurred_at, {ChallengeKind.SAVE_AMOUNT, ChallengeKind.GOAL_CONTRIBUTION}):
            start, end = period_of(spec, day, self.joined_day(state, spec))
            if not _within(contribution_day, start, end):
                continue
            if spec.kind is ChallengeKind.GOAL_CONTRIBUTION:
                if amount <= 0:
                    continue
                key = self._add(state, spec, start, end, Decimal(1), out)
            else:
                # Amounts in the person's base currency only: no rate is invented.
                if event.payload.get("currency") != event.payload.get("base_currency"):
                    continue
                key = self._add(state, spec, start, end, amount, out, floor=Decimal(0))
            self._check(state, spec, key, event, day, out)

    def _import_completed(self, state, event: EventIn, day, out: Outcome) -> None:
        if int(event.payload.get("inserted", 0)) > 0:  # an import of only duplicates is not an achievement
            state["lifetime"]["imports"] = state["lifetime"].get("imports", 0) + 1

    def _period_closed(self, state, event: EventIn, day, out: Outcome) -> None:
        spec = self.challenges.get(event.payload["challenge_id"])
        if spec is None or spec.kind not in JUDGED_AT_CLOSE:
            return
        start = dt.date.fromisoformat(event.payload["period_start"])
        end = dt.date.fromisoformat(event.payload["period_end"]) if event.payload.get("period_end") else None
        key = f"{spec.id}|{start.isoformat()}"
        row = self._row(state, spec, start, end)
        if row["judged"]:
            return
        row["judged"] = True
        value = event.payload.get("value")
        if value is not None:
            row["value"] = value
        out.progress[key] = dict(row)
        if value is None:
            return  # could not be computed (a missing rate, no budgets): not judged as failed either
        figure = Decimal(value)
        success = figure <= spec.target if spec.kind is ChallengeKind.SPEND_UNDER else figure >= spec.target
        if success:
            if spec.kind is ChallengeKind.BUDGET_KEPT:
                state["lifetime"]["budgets_kept"] = state["lifetime"].get("budgets_kept", 0) + 1
            self._complete(state, spec, key, event, day, out)

    def _challenge_joined(self, state, event: EventIn, day, out: Outcome) -> None:
        state["enrolled"][event.payload["challenge_id"]] = {
            "joined": event.occurred_at.isoformat(), "joined_day": day.isoformat(), "left": None}

    def _challenge_left(self, state, event: EventIn, day, out: Outcome) -> None:
        entry = state["enrolled"].setdefault(event.payload["challenge_id"], {"joined": None, "joined_day": None})
        entry["left"] = event.occurred_at.isoformat()

    # --- progress and awards --------------------------------------------------------------------

    def _row(self, state, spec: ChallengeSpec, start: dt.date, end: dt.date | None) -> dict[str, Any]:
        key = f"{spec.id}|{start.isoformat()}"
        return state["progress"].setdefault(key, {
            "challenge_id": spec.id, "start": start.isoformat(), "end": end.isoformat() if end else None,
            "value": "0", "completed": None, "judged": False})

    def _add(self, state, spec, start, end, delta: Decimal, out: Outcome, *, floor: Decimal | None = None) -> str:
        row = self._row(state, spec, start, end)
        if row["completed"] is None:
            value = Decimal(row["value"]) + delta
            row["value"] = str(max(value, floor) if floor is not None else value)
        key = f"{spec.id}|{start.isoformat()}"
        out.progress[key] = dict(row)
        return key

    def _set(self, state, spec, start, end, value: Decimal, out: Outcome) -> str:
        row = self._row(state, spec, start, end)
        if row["completed"] is None:
            row["value"] = str(value)
        key = f"{spec.id}|{start.isoformat()}"
        out.progress[key] = dict(row)
        return key

    def _check(self, state, spec: ChallengeSpec, key: str, event: EventIn, day, out: Outcome) -> None:
        row = state["progress"][key]
        if row["completed"] is None and Decimal(row["value"]) >= spec.target:
            self._complete(state, spec, key, event, day, out)

    def _complete(self, state, spec: ChallengeSpec, key: str, event: EventIn, day, out: Outcome) -> None:
        row = state["progress"][key]
        row["completed"] = event.occurred_at.isoformat()
        out.progress[key] = dict(row)
        awarded = f"challenge:{spec.id}|{row['start']}"
        if awarded in state["awarded"]:
            return
        state["awarded"].append(awarded)
        state["lifetime"]["challenges"] = state["lifetime"].get("challenges", 0) + 1
        points = self._grant(state, day, spec.reward_points)
        out.earned.append(Earned(subject=f"challenge:{spec.id}", period=row["start"], points=points,
                                 title=f"Challenge completed: {spec.name}", code=spec.code,
                                 challenge_id=spec.id))

    def _grant(self, state, day: dt.date, points: int) -> int:
        """Points actually given: what is left of the day's cap."""
        by_day = state["points_by_day"]
        given = max(0, min(points, self.cap - by_day.get(day.isoformat(), 0)))
        if given:
            by_day[day.isoformat()] = by_day.get(day.isoformat(), 0) + given
            state["lifetime"]["points"] = state["lifetime"].get("points", 0) + given
        return given

    def _metric(self, state, criterion: BadgeCriterion) -> int:
        lifetime = state["lifetime"]
        return {
            BadgeCriterion.TRANSACTIONS_LOGGED: lifetime.get("transactions", 0),
            BadgeCriterion.CHALLENGES_COMPLETED: lifetime.get("challenges", 0),
            BadgeCriterion.LOGIN_STREAK: state["streak"].get("best", 0),
            BadgeCriterion.GOAL_CONTRIBUTIONS: lifetime.get("contributions", 0),
            BadgeCriterion.IMPORTS_COMPLETED: lifetime.get("imports", 0),
            BadgeCriterion.BUDGETS_KEPT: lifetime.get("budgets_kept", 0),
            BadgeCriterion.POINTS_EARNED: lifetime.get("points", 0),
        }[criterion]

    def _badges(self, state, event: EventIn, day, out: Outcome) -> None:
        changed = True
        while changed:  # a badge's points may earn a POINTS_EARNED badge
            changed = False
            for badge in self.badges:
                subject = f"badge:{badge.id}"
                if f"{subject}|ALL" in state["awarded"]:
                    continue
                if badge.retired_at is not None and badge.retired_at <= event.occurred_at:
                    continue
                if self._metric(state, badge.criterion) >= badge.threshold:
                    state["awarded"].append(f"{subject}|ALL")
                    points = self._grant(state, day, badge.points)
                    out.earned.append(Earned(subject=subject, period="ALL", points=points,
                                             title=f"Badge earned: {badge.name}", code=badge.code,
                                             badge_id=badge.id))
                    changed = True

    def _prune(self, state, day: dt.date) -> None:
        """Forget working state whose periods closed long ago (its progress rows stay)."""
        horizon = (day - dt.timedelta(days=KEEP_DAYS)).isoformat()
        state["counted"] = {k: v for k, v in state["counted"].items() if v["at"] >= horizon}
        state["progress"] = {k: v for k, v in state["progress"].items() if v["end"] is None or v["end"] >= horizon}
        state["points_by_day"] = {k: v for k, v in state["points_by_day"].items() if k >= horizon}

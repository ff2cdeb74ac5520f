"""The rules alone (no database): what counts, what doesn't, and the daily cap."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from finora_gql.gamification.engine import BadgeSpec, ChallengeSpec, Engine, EventIn, empty_state, period_of
from finora_gql.gamification.models import BadgeCriterion, ChallengeKind, EventKind, Recurrence

WEEK = ChallengeSpec("w", "LOG_3", "Log three", ChallengeKind.TRANSACTION_COUNT, Decimal(3), 50, Recurrence.WEEKLY,
                     None, True, None, None, None)
STREAK = ChallengeSpec("s", "STREAK_3", "Streak", ChallengeKind.LOGIN_STREAK, Decimal(3), 10, Recurrence.WEEKLY,
                       None, False, None, None, None)
UNDER = ChallengeSpec("u", "UNDER", "Under", ChallengeKind.SPEND_UNDER, Decimal(100), 30, Recurrence.WEEKLY,
                      None, False, None, None, None)
FIRST = BadgeSpec("b", "FIRST", "First", BadgeCriterion.TRANSACTIONS_LOGGED, 1, 5, None)
IMPORTER = BadgeSpec("i", "IMPORTER", "Importer", BadgeCriterion.IMPORTS_COMPLETED, 1, 5, None)
MONDAY = dt.datetime(2031, 5, 12, 10, tzinfo=dt.UTC)


def event(kind: EventKind, at: dt.datetime = MONDAY, zone: str = "UTC", **payload) -> EventIn:
    return EventIn(str(uuid.uuid4()), kind, at, zone, payload)


def created(*days: dt.date, transfer: bool = False, imported: bool = False, ids: list[str] | None = None) -> EventIn:
    ids = ids or [str(uuid.uuid4()) for _ in days]
    return event(EventKind.TRANSACTION_CREATED, transactions=[
        {"id": i, "date": d.isoformat(), "transfer": transfer, "imported": imported} for i, d in zip(ids, days, strict=True)])


def test_three_this_week_complete_once_and_pay_within_the_daily_cap() -> None:
    rules = Engine([WEEK], [FIRST], daily_points_cap=52)
    state = empty_state()
    out = rules.apply(state, created(MONDAY.date(), MONDAY.date(), MONDAY.date()))
    assert sorted((e.code, e.points) for e in out.earned) == [("FIRST", 2), ("LOG_3", 50)]  # 50 + 5 capped at 52
    again = rules.apply(state, created(MONDAY.date()))
    assert again.earned == []  # once per period
    next_day = rules.apply(state, event(EventKind.TRANSACTION_CREATED, MONDAY + dt.timedelta(days=7), transactions=[
        {"id": str(uuid.uuid4()), "date": (MONDAY + dt.timedelta(days=7)).date().isoformat(), "transfer": False,
         "imported": False}]))
    assert next_day.earned == []  # a new week: one of three


def test_back_dated_transfers_imported_and_deleted_do_not_count() -> None:
    rules = Engine([WEEK], [], daily_points_cap=1000)
    state = empty_state()
    rules.apply(state, created(MONDAY.date() - dt.timedelta(days=1)))  # Sunday: last week
    rules.apply(state, created(MONDAY.date(), transfer=True))
    rules.apply(state, created(MONDAY.date(), imported=True))
    ids = [str(uuid.uuid4()), str(uuid.uuid4())]
    rules.apply(state, created(MONDAY.date(), MONDAY.date(), ids=ids))
    rules.apply(state, event(EventKind.TRANSACTION_DELETED, ids=ids))
    out = rules.apply(state, created(MONDAY.date(), MONDAY.date()))
    assert out.earned == []
    assert state["progress"][f"w|{MONDAY.date()}"]["value"] == "2"
    # The same transaction created twice (a replayed payload) counts once.
    twice = [str(uuid.uuid4())]
    rules.apply(state, created(MONDAY.date(), ids=twice))
    assert rules.apply(state, created(MONDAY.date(), ids=twice)).earned == []


def test_a_completed_period_stays_completed_when_its_transactions_are_deleted() -> None:
    rules = Engine([WEEK], [], daily_points_cap=1000)
    state = empty_state()
    ids = [str(uuid.uuid4()) for _ in range(3)]
    assert [e.code for e in rules.apply(state, created(*[MONDAY.date()] * 3, ids=ids)).earned] == ["LOG_3"]
    rules.apply(state, event(EventKind.TRANSACTION_DELETED, ids=ids))
    row = state["progress"][f"w|{MONDAY.date()}"]
    assert row["completed"] is not None and row["value"] == "3"


def test_an_edited_date_moves_a_transaction_within_the_period_it_was_recorded_in_only() -> None:
    rules = Engine([WEEK], [], daily_points_cap=1000)
    state = empty_state()
    this_week, ids = f"w|{MONDAY.date()}", [str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())]
    rules.apply(state, created(MONDAY.date(), MONDAY.date(), ids=ids[:2]))

    def edited(tx_id: str, day: dt.date, at: dt.datetime = MONDAY, **flags) -> EventIn:
        return event(EventKind.TRANSACTION_UPDATED, at, transactions=[
            {"id": tx_id, "date": day.isoformat(), "transfer": False, "imported": False, **flags}])

    rules.apply(state, edited(ids[0], MONDAY.date() - dt.timedelta(days=3)))  # out of the week
    assert state["progress"][this_week]["value"] == "1"
    rules.apply(state, edited(ids[0], MONDAY.date() + dt.timedelta(days=2)))  # back in
    assert state["progress"][this_week]["value"] == "2"
    rules.apply(state, edited(str(uuid.uuid4()), MONDAY.date()))  # never counted (unknown): still not
    rules.apply(state, created(MONDAY.date(), imported=True, ids=ids[2:]))
    rules.apply(state, edited(ids[2], MONDAY.date() + dt.timedelta(days=1), imported=True))
    assert state["progress"][this_week]["value"] == "2"
    # Next week, last week's transactions dated into it count nowhere new; last week is settled.
    later = MONDAY + dt.timedelta(days=7)
    out = rules.apply(state, edited(ids[1], later.date(), at=later))
    assert out.earned == [] and f"w|{later.date()}" not in state["progress"]
    assert state["progress"][this_week]["value"] == "2"


def test_login_streak_counts_days_in_the_persons_zone_inside_the_period() -> None:
    rules = Engine([STREAK], [], daily_points_cap=1000)
    state = empty_state()
    rules.apply(state, event(EventKind.CHALLENGE_JOINED, MONDAY - dt.timedelta(days=3), challenge_id="s"))
    earned = []
    for day in range(-2, 3):  # Saturday .. Wednesday: a five-day streak, three of its days this week
        earned += rules.apply(state, event(EventKind.SIGNED_IN, MONDAY + dt.timedelta(days=day))).earned
    assert [(e.code, e.period) for e in earned] == [("STREAK_3", "2031-05-12")]
    # Auckland: 23:30 UTC Sunday is already Monday there.
    assert event(EventKind.SIGNED_IN, dt.datetime(2031, 5, 11, 23, 30, tzinfo=dt.UTC), "Pacific/Auckland").day == \
        dt.date(2031, 5, 12)


def test_spend_under_is_judged_only_by_the_period_close_and_once() -> None:
    rules = Engine([UNDER], [], daily_points_cap=1000)
    state = empty_state()
    rules.apply(state, event(EventKind.CHALLENGE_JOINED, challenge_id="u"))
    close = {"challenge_id": "u", "period_start": "2031-05-12", "period_end": "2031-05-19"}
    unknown = rules.apply(state, event(EventKind.PERIOD_CLOSED, MONDAY + dt.timedelta(days=7), value=None,
                                       reason="No exchange rate for EUR.", **close))
    assert unknown.earned == [] and state["progress"]["u|2031-05-12"]["judged"] is True
    state = empty_state()
    rules.apply(state, event(EventKind.CHALLENGE_JOINED, challenge_id="u"))
    won = rules.apply(state, event(EventKind.PERIOD_CLOSED, MONDAY + dt.timedelta(days=7), value="99.99", **close))
    assert [e.code for e in won.earned] == ["UNDER"]
    assert rules.apply(state, event(EventKind.PERIOD_CLOSED, MONDAY + dt.timedelta(days=7), value="1",
                                    **close)).earned == []


def test_an_import_of_only_duplicates_earns_nothing() -> None:
    rules = Engine([], [IMPORTER], daily_points_cap=1000)
    state = empty_state()
    assert rules.apply(state, event(EventKind.IMPORT_COMPLETED, inserted=0, duplicates=40)).earned == []
    assert [e.code for e in rules.apply(state, event(EventKind.IMPORT_COMPLETED, inserted=3, duplicates=0)).earned] == [
        "IMPORTER"]


def test_periods() -> None:
    assert period_of(WEEK, dt.date(2031, 5, 18), None) == (dt.date(2031, 5, 12), dt.date(2031, 5, 19))
    monthly = ChallengeSpec("m", "M", "M", ChallengeKind.BUDGET_KEPT, Decimal(1), 1, Recurrence.MONTHLY, None, True,
                            None, None, None)
    assert period_of(monthly, dt.date(2032, 2, 29), None) == (dt.date(2032, 2, 1), dt.date(2032, 3, 1))
    once = ChallengeSpec("o", "O", "O", ChallengeKind.TRANSACTION_COUNT, Decimal(1), 1, Recurrence.NONE, 10, False,
                         None, None, None)
    assert period_of(once, dt.date(2031, 5, 20), dt.date(2031, 5, 15)) == (dt.date(2031, 5, 15), dt.date(2031, 5, 25))

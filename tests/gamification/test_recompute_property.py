"""Property: for any sequence of events, applied incrementally in any batches (by the real worker
and by direct calls racing it), `recompute` rebuilds exactly the same state, progress, awards and
points ledger, and finds nothing missing."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, update
from sqlmodel import select
from strawberry.relay import GlobalID

from finora_gql.core import clock
from finora_gql.core.db import atomic
from finora_gql.core.viewer import Viewer
from finora_gql.gamification import events, processing, state
from finora_gql.gamification.catalog import catalog_id
from finora_gql.gamification.engine import empty_state
from finora_gql.gamification.models import ChallengeProgress, EventKind, GamificationState
from finora_gql.users import service as users
from tests.gamification.gamification_flows import settled
from tests.server import RunningServer

START = dt.datetime(2032, 3, 3, 9, tzinfo=dt.UTC)  # a Wednesday
CHALLENGES = ["LOG_5_WEEK", "NO_SPEND_3", "UNDER_BUDGET_MONTH", "LOGIN_STREAK_5", "SAVE_100_MONTH", "GOAL_2_WEEK"]

tx = st.tuples(st.just("tx"), st.integers(-9, 3), st.integers(0, 7).map(lambda n: n == 0), st.integers(1, 4))
op = st.one_of(
    tx, tx, tx, st.tuples(st.just("signin")),
    st.tuples(st.just("del"), st.integers(0, 30)),
    st.tuples(st.just("edit"), st.integers(0, 30), st.integers(-9, 3)),
    st.tuples(st.just("signin")),
    st.tuples(st.just("contrib"), st.integers(-50, 150), st.sampled_from(["USD", "EUR"])),
    st.tuples(st.just("join"), st.sampled_from(CHALLENGES)),
    st.tuples(st.just("leave"), st.sampled_from(CHALLENGES)),
    st.tuples(st.just("close"), st.sampled_from(["NO_SPEND_3", "UNDER_BUDGET_MONTH"]), st.integers(0, 7)),
    st.tuples(st.just("import"), st.integers(0, 3)),
    st.tuples(st.just("tick"), st.integers(1, 30)),
    st.tuples(st.just("apply")),
)


async def snapshot(server: RunningServer, user_id: uuid.UUID) -> dict[str, Any]:
    viewer = Viewer.acting_for(user_id)
    async with server.runtime.sessions() as session:
        row = (await session.exec(select(GamificationState).where(state.states.owned_by(user_id)))).one()
        progress = (await session.exec(state.progress_rows.readable(viewer))).all()
        awarded = (await session.exec(state.awards.readable(viewer))).all()
        ledger = (await session.exec(state.points.readable(viewer))).all()
    return {
        "state": row.data,
        "last_seq": row.last_seq,
        "progress": sorted((str(p.challenge_id), p.period_start, p.period_end, p.progress, p.completed_at, p.judged)
                           for p in progress),
        "awards": sorted((a.subject, a.period, a.points) for a in awarded),
        "points": sorted((e.source_key, e.amount) for e in ledger),
    }


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(op, min_size=5, max_size=50), zone=st.sampled_from(["UTC", "Pacific/Auckland", "America/Denver"]))
async def test_recompute_equals_the_incremental_state(server: RunningServer, ops: list[tuple], zone: str) -> None:
    rt = server.runtime
    async with rt.sessions() as session, atomic(session):
        user = await users.create_user(session, email=f"prop-{uuid.uuid4().hex[:10]}@example.com", name="Prop")
        user.timezone = zone
        session.add(user)
    user_id = user.id
    viewer = Viewer.acting_for(user_id)
    now = START
    created: list[str] = []
    for item in ops:
        kind = item[0]
        if kind == "tick":
            now += dt.timedelta(hours=item[1])
            continue
        if kind == "apply":
            async with rt.sessions() as session, atomic(session):
                await processing.apply_pending(session, rt, user_id)
            continue
        with clock.travel(now - clock.now()):
            async with rt.sessions() as session, atomic(session):
                if kind == "tx":
                    ids = [str(uuid.uuid4()) for _ in range(item[3])]
                    created.extend(ids)
                    day = (now + dt.timedelta(days=item[1])).date()
                    events.record(session, viewer, EventKind.TRANSACTION_CREATED, {"transactions": [
                        {"id": tx_id, "date": day.isoformat(), "transfer": item[2], "imported": False} for tx_id in ids]})
                elif kind == "del":
                    gone = created[item[1] % len(created)] if created else str(uuid.uuid4())
                    events.record(session, viewer, EventKind.TRANSACTION_DELETED, {"ids": [gone]})
                elif kind == "edit":
                    edited = created[item[1] % len(created)] if created else str(uuid.uuid4())
                    day = (now + dt.timedelta(days=item[2])).date()
                    events.record(session, viewer, EventKind.TRANSACTION_UPDATED, {"transactions": [
                        {"id": edited, "date": day.isoformat(), "transfer": False, "imported": False}]})
                elif kind == "signin":
                    events.record(session, viewer, EventKind.SIGNED_IN)
                elif kind == "contrib":
                    events.record(session, viewer, EventKind.GOAL_CONTRIBUTION, {
                        "goal_id": str(uuid.uuid4()), "amount": str(Decimal(item[1])), "currency": item[2],
                        "date": now.date().isoformat()})
                elif kind in ("join", "leave"):
                    events.record(session, viewer,
                                  EventKind.CHALLENGE_JOINED if kind == "join" else EventKind.CHALLENGE_LEFT,
                                  {"challenge_id": str(catalog_id("challenge:" + item[1]))})
                elif kind == "close":
                    day = now.date()
                    start = day.replace(day=1) if item[1] == "UNDER_BUDGET_MONTH" else day - dt.timedelta(days=day.weekday() + 7)
                    end = (start + dt.timedelta(days=32)).replace(day=1) if item[1] == "UNDER_BUDGET_MONTH" \
                        else start + dt.timedelta(days=7)
                    events.record(session, viewer, EventKind.PERIOD_CLOSED, {
                        "challenge_id": str(catalog_id("challenge:" + item[1])), "period_start": start.isoformat(),
                        "period_end": end.isoformat(), "value": str(item[2] % 2 if item[1] == "UNDER_BUDGET_MONTH" else item[2]),
                        "reason": None}, dedup_key=f"close:{item[1]}:{start.isoformat()}:{uuid.uuid4()}")
                elif kind == "import":
                    events.record(session, viewer, EventKind.IMPORT_COMPLETED, {
                        "import_id": str(uuid.uuid4()), "inserted": item[1], "duplicates": 0})
    async with rt.sessions() as session, atomic(session):
        await processing.apply_pending(session, rt, user_id)
    await settled(server, str(GlobalID("User", str(user_id))))

    incremental = await snapshot(server, user_id)
    # Forget the derived state (not the awards or the ledger): recompute must rebuild it from the events.
    async with rt.sessions() as session, atomic(session):
        await session.exec(update(GamificationState).where(state.states.owned_by(user_id)).values(data=empty_state()))
        await session.exec(delete(ChallengeProgress).where(state.progress_rows.owned_by(user_id)))
    async with rt.sessions() as session, atomic(session):
        result = await processing.recompute(session, rt, user_id)
    assert result.awards_added == 0
    assert result.events == incremental["last_seq"]
    assert await snapshot(server, user_id) == incremental

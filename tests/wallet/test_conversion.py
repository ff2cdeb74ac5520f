"""Each day converts at the rate in force that day: the one set that very day, else the latest
before it; days before the first rate are reported missing, never converted at 1."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

from finora_gql.accounts import service as accounts
from finora_gql.accounts.models import AccountType
from finora_gql.core.db import atomic
from finora_gql.core.viewer import Viewer
from finora_gql.transactions import service as ledger
from finora_gql.users import service as users
from finora_gql.wallet import service as wallet
from finora_gql.wallet import totals
from finora_gql.wallet.models import FxRate
from finora_gql.wallet.totals import Bucket
from tests.server import RunningServer, unique_email

DAY = dt.date(2041, 3, 1)  # a year of its own: no other test sets NOK rates then


async def test_days_convert_at_the_rate_in_force_that_day(server: RunningServer) -> None:
    rt = server.runtime
    async with rt.sessions() as session, atomic(session):
        user = await users.create_user(session, email=unique_email("fx"), name="Fx")
    viewer = Viewer.acting_for(user.id)
    spent = {DAY + dt.timedelta(days=offset): Decimal("-1000.00") for offset in (4, 9, 18, 19, 32)}
    async with rt.sessions() as session, atomic(session):
        await session.exec(FxRate.__table__.delete().where(FxRate.__table__.c.base == "NOK",
                                                           FxRate.__table__.c.date >= DAY))
        kroner = await accounts.create_account(session, viewer, name="Kroner", type=AccountType.CHECKING, currency="NOK")
        for day, amount in spent.items():
            await ledger.create_transaction(session, rt, viewer, account_id=kroner.id, date=day, amount=amount)
        await wallet.set_fx_rate(session, rt, dataclasses.replace(viewer, is_admin=True), base="NOK", quote="USD", date=DAY + dt.timedelta(days=9), rate=Decimal("0.09"))
        await wallet.set_fx_rate(session, rt, dataclasses.replace(viewer, is_admin=True), base="NOK", quote="USD", date=DAY + dt.timedelta(days=19), rate=Decimal("0.1"))

    async with rt.sessions() as session:
        by_day, missing = await totals.converted_totals(session, viewer, start=DAY, end=DAY + dt.timedelta(days=60),
                                                        currency="USD", bucket=Bucket.DAY)
        by_month, _ = await totals.converted_totals(session, viewer, start=DAY, end=DAY + dt.timedelta(days=60),
                                                    currency="USD", bucket=Bucket.MONTH)
    assert sorted((t.bucket, t.outflow) for t in by_day) == [
        (DAY + dt.timedelta(days=9), Decimal("-90")),  # the rate set that very day
        (DAY + dt.timedelta(days=18), Decimal("-90")),  # the latest before it
        (DAY + dt.timedelta(days=19), Decimal("-100")),  # a new rate, that very day
        (DAY + dt.timedelta(days=32), Decimal("-100")),
    ]
    assert [(m.currency, m.first_day, m.last_day) for m in missing] == [("NOK", DAY + dt.timedelta(days=4),
                                                                          DAY + dt.timedelta(days=4))]
    assert sorted((t.bucket, t.outflow) for t in by_month) == [(dt.date(2041, 3, 1), Decimal("-280")),
                                                               (dt.date(2041, 4, 1), Decimal("-100"))]

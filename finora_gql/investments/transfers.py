"""Moving units of a security between two of a person's INVESTMENT accounts, lots and all.

A transfer is one TRANSFER_OUT in the source account and one TRANSFER_IN per lot it takes (FIFO,
as a sale would), each carrying the lot's first acquisition day (`lot_date`) and its cost, so
the target's FIFO lots, holding period and cost basis continue where the source's stopped. All of
them share a `transfer_id`: deleting one deletes the whole transfer, and they are not edited.
Both accounts must be in one currency (a lot's cost is kept in the account's currency); a
partly taken lot's cost is rounded to the currency's minor unit, and the TRANSFER_OUT's amount is
the sum of the rounded costs, so the two sides always balance. Within a portfolio of both
accounts the pair is no external flow: the same units at the same close leave and arrive that day.
Each TRANSFER_IN also carries its share of the source's moving-average cost (`carried_average`,
exact), which the target's moving average starts from: by either cost method, a portfolio of both
accounts has the same cost basis after the transfer as before.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from decimal import Decimal, localcontext

from sqlmodel.ext.asyncio.session import AsyncSession

from finora_gql.accounts.models import Account
from finora_gql.core import clock
from finora_gql.core.errors import Collector, ErrorCode, ServiceError
from finora_gql.core.runtime import Runtime
from finora_gql.core.validation import clean_text
from finora_gql.core.viewer import Viewer
from finora_gql.investments import checkpoints, day_values, engine, service
from finora_gql.investments.engine import Kind
from finora_gql.investments.models import Activity

QUANTITY_PLACES = Decimal("1e-10")


@dataclasses.dataclass(frozen=True)
class Transfer:
    out: Activity
    ins: list[Activity]  # one per lot moved, oldest first


async def transfer_securities(
    session: AsyncSession,
    rt: Runtime,
    viewer: Viewer,
    *,
    from_account_id: uuid.UUID,
    to_account_id: uuid.UUID,
    symbol: str,
    quantity: Decimal,
    date: dt.date,
    note: str | None = None,
) -> Transfer:
    if from_account_id == to_account_id:
        raise ServiceError(ErrorCode.INVALID, "Choose two different accounts.", "toAccountId")
    fields = {from_account_id: "fromAccountId", to_account_id: "toAccountId"}
    found = {}
    for account_id in sorted(fields):  # one lock order: no deadlock with a transfer the other way
        found[account_id] = await service.investment_account(session, viewer, account_id, field=fields[account_id])
    source, target = found[from_account_id], found[to_account_id]
    # The accounts found, every other field is judged, and all their problems are reported at once.
    errors = Collector()
    if source.currency != target.currency:
        errors.add(ServiceError(
            ErrorCode.INVALID, f"Both accounts must be in one currency ({source.currency} here).", "toAccountId"
        ))
    security = await errors.check_async(service.require_security(session, viewer, symbol))
    moved = errors.check(service._finite, quantity, "quantity", limit=service.MAX_QUANTITY, positive=True)
    if date < service.EARLIEST or date > clock.now().date():
        errors.add(ServiceError(ErrorCode.INVALID, "The date must be between 1900-01-01 and today.", "date"))
    text = errors.check(clean_text, note, field="note", max_length=500, required=False) if note is not None else None
    errors.raise_any()
    assert security is not None and moved is not None
    text = text or None
    transfer_id = uuid.uuid4()

    def side(
        kind: Kind,
        account_id: uuid.UUID,
        units: Decimal,
        amount: Decimal,
        lot_date: dt.date | None = None,
        carried_average: Decimal | None = None,
    ) -> Activity:
        return Activity(
            user_id=viewer.user_id,
            account_id=account_id,
            security_id=security.id,
            kind=kind,
            date=date,
            quantity=units,
            amount=amount,
            transfer_id=transfer_id,
            lot_date=lot_date,
            carried_average=carried_average,
            note=text,
        )

    out = side(Kind.TRANSFER_OUT, source.id, moved, Decimal(0))
    await service.check_account(session, viewer, source, out)  # more than held: INVALID on quantity
    ins = []
    for lot_date, lot_quantity, cost, average in await _lots_taken(session, viewer, source, out):
        if lot_quantity != lot_quantity.quantize(QUANTITY_PLACES):
            raise ServiceError(
                ErrorCode.INVALID,
                "A lot to move has more than 10 decimal places after a split; move "
                "it by recording TRANSFER_OUT and TRANSFER_IN.",
                "quantity",
            )
        ins.append(
            side(Kind.TRANSFER_IN, target.id, lot_quantity, service._round_to(cost, source.currency), lot_date, average)
        )
    out.amount = sum((row.amount for row in ins), Decimal(0))
    session.add(out)
    session.add_all(ins)
    await session.flush()
    for account in (source, target):
        await checkpoints.changed(session, viewer, account.id, date)
        await day_values.changed(session, viewer, account.id, date)
    service.portfolio_changed(session, rt, viewer.user_id, "ACTIVITY")
    return Transfer(out, ins)


async def _lots_taken(
    session: AsyncSession, viewer: Viewer, source: Account, out: Activity
) -> list[tuple[dt.date, Decimal, Decimal, Decimal]]:
    """The (first day, quantity, cost, share of the moving average) of each of the source's lots `out`
    takes, in the account's currency, exact."""
    rows = await service.list_activities(session, viewer, account_ids=[source.id], end=out.date, limit=10**9)
    book = engine.Book(lambda currency, day: engine.ONE, source.currency)
    taken: list[tuple[dt.date, Decimal, Decimal, Decimal]] = []
    with localcontext(engine.CONTEXT):
        for act in engine.order(
            [service.to_act(row, source.currency) for row in rows] + [service.to_act(out, source.currency)]
        ):
            if act.id == out.id:
                position = book.positions[(act.account, act.security)]
                average = position.average_cost / position.quantity  # per unit: what a sale would remove
                left = act.quantity
                for lot in position.lots:
                    part = min(left, lot.quantity)
                    cost = lot.cost if part == lot.quantity else lot.cost * part / lot.quantity
                    taken.append((lot.date, part, cost, average * part))
                    left -= part
                    if not left:
                        break
                return taken
            book.apply_in_context(act, False, lambda security, day: None)
    raise AssertionError("the transfer is among the replayed activities")

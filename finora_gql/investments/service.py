"""Investment activities, securities and prices (the portfolio figures are in valuation.py).

Ownership goes through the kit: `activities` (a person's records) and `securities` (a person's
own manual securities; market securities, `user_id` NULL, are shared reference data readable by
everyone). The figures come from the pure engine (`engine.py`); this module only loads rows and
validates input. Rounding: amounts entered are exact in the account currency's minor units; the
engine never rounds; the API rounds money to the reporting currency's minor units at the edge.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Collection, Sequence
from decimal import ROUND_HALF_EVEN, Decimal

from sqlalchemy import or_
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from finora_gql.accounts import service as accounts
from finora_gql.accounts.models import Account, AccountType
from finora_gql.core import clock
from finora_gql.core.currency import minor_units
from finora_gql.core.db import after_commit, any_of
from finora_gql.core.errors import Collector, ErrorCode, ServiceError
from finora_gql.core.models import touched
from finora_gql.core.owned import SYSTEM, Actor, Owned
from finora_gql.core.runtime import Runtime
from finora_gql.core.validation import clean_currency, clean_text
from finora_gql.core.viewer import Viewer, user_channel
from finora_gql.investments import checkpoints, day_values, engine, ledger_cash
from finora_gql.investments.engine import WITH_QUANTITY, WITH_SECURITY, Act, ActivityError, CostMethod, Kind
from finora_gql.investments.models import Activity, AssetClass, InvestmentSetting, Price, Security
from finora_gql.users import service as users
from finora_gql.wallet import service as wallet

activities = Owned(Activity, "investment activity")
securities = Owned(Security, "security")
settings_rows = Owned(InvestmentSetting, "investment setting")

PORTFOLIO_CHANGED = "PORTFOLIO_CHANGED"
MAX_QUANTITY = Decimal("1e15")
MAX_PRICE = Decimal("1e12")
EARLIEST = dt.date(1900, 1, 1)
WITH_FEES = {Kind.BUY, Kind.SELL, Kind.DIVIDEND, Kind.INTEREST}
# Kinds whose amount is required (> 0); BUY and SELL take a price or an amount.
AMOUNT_REQUIRED = {Kind.DIVIDEND, Kind.INTEREST, Kind.FEE, Kind.TAX, Kind.DEPOSIT, Kind.WITHDRAWAL}


def portfolio_changed(session: AsyncSession, rt: Runtime, user_id: uuid.UUID, reason: str) -> None:
    """After commit: `portfolioChanged` subscribers hear it; wallet summaries (which count market
    value) are stale."""
    wallet.wallet_changed(session, rt, user_id)
    message = {"kind": PORTFOLIO_CHANGED, "reason": reason}
    after_commit(session, lambda: rt.pubsub.publish(user_channel(user_id), message))


# --- securities --------------------------------------------------------------------------------------


def visible_securities(actor: Actor):
    """Securities `actor` may read: their own manual ones and every market one."""
    statement = select(Security)
    condition = securities.visible_to(actor)
    return statement if condition is None else statement.where(or_(condition, col(Security.user_id).is_(None)))


def clean_symbol(symbol: str | None, *, field: str = "symbol") -> str:
    if symbol is None or not symbol.strip():
        raise ServiceError(ErrorCode.REQUIRED, "A symbol is required.", field)
    cleaned = clean_text(symbol, field=field, max_length=32).upper()
    if any(ch.isspace() or ord(ch) < 32 for ch in cleaned):
        raise ServiceError(ErrorCode.INVALID, "A symbol has no spaces.", field)
    return cleaned


async def find_security(session: AsyncSession, viewer: Viewer, symbol: str) -> Security | None:
    """The viewer's own security with this symbol, else the market's."""
    rows = (await session.exec(visible_securities(viewer).where(col(Security.symbol) == symbol))).all()
    own = [row for row in rows if row.user_id is not None]
    return (own or rows or [None])[0]


async def get_securities(session: AsyncSession, actor: Actor, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Security]:
    if not ids:
        return {}
    rows = await session.exec(visible_securities(actor).where(any_of(col(Security.id), list(set(ids)))))
    return {row.id: row for row in rows.all()}


async def held_symbols(session: AsyncSession, viewer: Viewer) -> list[str]:
    """The symbols of the securities the viewer has activities in, sorted."""
    statement = activities.where_visible(
        select(col(Activity.security_id)).where(col(Activity.security_id).is_not(None)).distinct(), viewer)
    ids = list((await session.exec(statement)).all())
    return sorted(security.symbol for security in (await get_securities(session, viewer, ids)).values())


async def _security_for_activity(session: AsyncSession, viewer: Viewer, symbol: str, currency: str) -> Security:
    found = await find_security(session, viewer, symbol)
    if found is not None:
        return found
    security = Security(user_id=viewer.user_id, symbol=symbol, name=symbol, currency=currency,
                        asset_class=AssetClass.OTHER)
    session.add(security)
    await session.flush()
    return security


# --- activities --------------------------------------------------------------------------------------


@dataclasses.dataclass
class ActivityInput:
    kind: Kind | None = None
    date: dt.date | None = None
    symbol: str | None = None
    quantity: Decimal | None = None
    price: Decimal | None = None
    amount: Decimal | None = None
    fee: Decimal | None = None
    tax: Decimal | None = None
    split_from: Decimal | None = None
    split_to: Decimal | None = None
    note: str | None = None


def _finite(value: Decimal | None, field: str, *, limit: Decimal, positive: bool = False) -> Decimal | None:
    if value is None:
        return None
    if not value.is_finite():
        raise ServiceError(ErrorCode.INVALID, "Must be a finite number.", field)
    if abs(value) >= limit:
        raise ServiceError(ErrorCode.INVALID, "Too large.", field)
    if value < 0 or (positive and value == 0):
        raise ServiceError(ErrorCode.INVALID, "Must be greater than zero." if positive else "Must not be negative.", field)
    if value != value.quantize(Decimal("1e-10")):
        raise ServiceError(ErrorCode.INVALID, "At most 10 decimal places.", field)
    return value


def _money(value: Decimal | None, field: str, currency: str, *, positive: bool = False) -> Decimal | None:
    value = _finite(value, field, limit=MAX_PRICE, positive=positive)
    if value is None:
        return None
    places = minor_units(currency)
    if value != value.quantize(Decimal(1).scaleb(-places)):
        raise ServiceError(ErrorCode.INVALID, f"{currency} amounts have at most {places} decimal places.", field)
    return value


def _round_to(value: Decimal, currency: str) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-minor_units(currency)), rounding=ROUND_HALF_EVEN)


async def investment_account(session: AsyncSession, viewer: Viewer, account_id: uuid.UUID, *,
                             field: str = "accountId") -> Account:
    """The viewer's unarchived INVESTMENT account, locked (every activity write takes this lock)."""
    account = await accounts.get_account(session, viewer, account_id, field=field, for_update=True)
    if account.type is not AccountType.INVESTMENT:
        raise ServiceError(ErrorCode.INVALID, "Activities go in an INVESTMENT account.", field)
    if account.archived:
        raise ServiceError(ErrorCode.INVALID, "This account is archived.", field)
    return account


async def _apply_input(session: AsyncSession, viewer: Viewer, row: Activity, data: ActivityInput, currency: str,
                       *, creating: bool) -> None:
    """Validate `data` (with the row's current values for what it leaves out) into `row`: first
    each field on its own (every problem reported), then how they fit together (the first)."""
    errors = Collector()  # every problem of the input, not only the first
    kind = data.kind or row.kind
    if kind is None:
        errors.add(ServiceError(ErrorCode.REQUIRED, "A kind is required.", "kind"))
    day = errors.check(_activity_date, data.date or row.date)
    keep = not creating and kind is row.kind  # an update of the same kind: what it leaves out stays
    symbol = data.symbol if data.symbol is not None else (await _symbol_of(session, viewer, row) if keep else None)
    with_security = kind is not None and (kind in WITH_SECURITY or bool(symbol and kind in (Kind.DIVIDEND, Kind.FEE, Kind.TAX)))
    symbol = errors.check(clean_symbol, symbol) if with_security else None
    quantity = errors.check(_finite, data.quantity, "quantity", limit=MAX_QUANTITY, positive=True)
    price = errors.check(_finite, data.price, "price", limit=MAX_PRICE)
    amount = errors.check(_money, data.amount, "amount", currency)
    fee = errors.check(_money, data.fee, "fee", currency)
    tax = errors.check(_money, data.tax, "tax", currency)
    split_from = errors.check(_finite, data.split_from, "splitFrom", limit=MAX_QUANTITY, positive=True)
    split_to = errors.check(_finite, data.split_to, "splitTo", limit=MAX_QUANTITY, positive=True)
    note = errors.check(clean_text, data.note, field="note", max_length=500, required=False) if data.note is not None else None
    errors.raise_any()
    if keep:
        recompute = data.amount is None and (data.quantity is not None or data.price is not None
                                             or data.fee is not None or data.tax is not None)
        quantity = quantity if quantity is not None else (row.quantity if kind in WITH_QUANTITY else None)
        price = price if data.price is not None else row.price
        if amount is None and not (recompute and price is not None):
            amount = row.amount
        split_from = split_from or row.split_from
        split_to = split_to or row.split_to
    fee = fee if fee is not None else (row.fee if keep else Decimal(0))
    tax = tax if tax is not None else (row.tax if keep else Decimal(0))
    if kind not in WITH_FEES and (fee or tax):
        raise ServiceError(ErrorCode.INVALID, f"A {kind.value} has no fee or tax of its own.", "fee" if fee else "tax")

    security_id: uuid.UUID | None = None
    if symbol is not None:
        security = await _security_for_activity(session, viewer, symbol, currency)
        security_id = security.id

    if kind in WITH_QUANTITY:
        if quantity is None:
            raise ServiceError(ErrorCode.REQUIRED, "A quantity is required.", "quantity")
        if amount is None and price is None and kind in (Kind.BUY, Kind.SELL, Kind.TRANSFER_IN):
            raise ServiceError(ErrorCode.REQUIRED, "Give the price per unit or the total amount.", "price")
        if amount is None:
            gross = quantity * (price or Decimal(0))
            if kind is Kind.BUY:
                amount = _round_to(gross + fee + tax, currency)
            elif kind is Kind.SELL:
                amount = _round_to(gross - fee - tax, currency)
                if amount < 0:
                    raise ServiceError(ErrorCode.INVALID, "Fees and taxes exceed what the sale brought.", "fee")
            else:
                amount = _round_to(gross, currency)
        if kind is Kind.BUY and fee + tax > amount:
            raise ServiceError(ErrorCode.INVALID, "The amount paid includes its fee and tax: it can't be smaller.", "amount")
    else:
        quantity, price = Decimal(0), None
    if kind in AMOUNT_REQUIRED:
        if not amount:
            raise ServiceError(ErrorCode.REQUIRED, "An amount greater than zero is required.", "amount")
        if kind in (Kind.DIVIDEND, Kind.INTEREST) and fee + tax > amount:
            raise ServiceError(ErrorCode.INVALID, "Fee and tax are deducted from the amount: they can't exceed it.", "fee")
    if kind is Kind.SPLIT:
        if split_from is None:
            raise ServiceError(ErrorCode.REQUIRED, "A split needs splitFrom (e.g. 1 of 1:10).", "splitFrom")
        if split_to is None:
            raise ServiceError(ErrorCode.REQUIRED, "A split needs splitTo (e.g. 10 of 1:10).", "splitTo")
        amount = Decimal(0)
    else:
        split_from = split_to = None
    row.kind, row.date, row.security_id = kind, day, security_id
    row.quantity, row.price, row.amount, row.fee, row.tax = quantity, price, amount or Decimal(0), fee, tax
    row.split_from, row.split_to = split_from, split_to
    if data.note is not None:
        row.note = note or None


def _activity_date(day: dt.date | None) -> dt.date:
    if day is None:
        raise ServiceError(ErrorCode.REQUIRED, "A date is required.", "date")
    if day < EARLIEST or day > clock.now().date():
        raise ServiceError(ErrorCode.INVALID, "The date must be between 1900-01-01 and today.", "date")
    return day


async def _symbol_of(session: AsyncSession, viewer: Viewer, row: Activity) -> str | None:
    if row.security_id is None:
        return None
    found = await get_securities(session, viewer, [row.security_id])
    return found[row.security_id].symbol if row.security_id in found else None


def to_act(row: Activity, currency: str) -> Act:
    return Act(id=row.id, date=row.date, kind=row.kind, account=row.account_id, currency=currency,
               security=row.security_id, quantity=row.quantity, amount=row.amount, fee=row.fee, tax=row.tax,
               split_from=row.split_from or Decimal(1), split_to=row.split_to or Decimal(1),
               seq=int(row.created_at.timestamp() * 1_000_000), lot_date=row.lot_date,
               carried_average=row.carried_average)


async def job_account(session: AsyncSession, user_id: uuid.UUID, account_id: uuid.UUID
                      ) -> tuple[Viewer, Account, str] | None:
    """For a job working for an account's owner: their viewer, the account (locked, as activity writes
    lock it, so the job never sees half a change) and their base currency; None when either is gone."""
    viewer = Viewer.acting_for(user_id)
    try:
        account = await accounts.get_account(session, viewer, account_id, for_update=True)
    except ServiceError:  # deleted since
        return None
    user = await users.get_user(session, user_id)
    return None if user is None else (viewer, account, user.base_currency)


async def check_account(session: AsyncSession, viewer: Viewer, account: Account, changed: Activity | None,
                        removed: Collection[uuid.UUID] = ()) -> None:
    """Replay the account's activities with the change (and its ledger movements, the cash they
    bring): the first impossible one is an error."""
    rows = (await session.exec(
        activities.readable(viewer).where(col(Activity.account_id) == account.id)
    )).all()
    acts = await ledger_cash.ledger_acts(session, viewer, {account.id: account.currency}, dt.date.max)
    acts += [to_act(row, account.currency) for row in rows
             if row.id not in removed and (changed is None or row.id != changed.id)]
    if changed is not None:
        acts.append(to_act(changed, account.currency))
    try:
        engine.check(acts)
    except ActivityError as error:
        if changed is not None and error.activity.id == changed.id:
            raise ServiceError(ErrorCode.INVALID, error.message, error.field) from None
        raise ServiceError(
            ErrorCode.INVALID,
            f"This would make the {error.activity.kind.value} of {error.activity.date.isoformat()} impossible: "
            f"{error.message}", "id" if changed is None else "date",
        ) from None


async def record_activity(session: AsyncSession, rt: Runtime, viewer: Viewer, *, account_id: uuid.UUID,
                          data: ActivityInput, import_id: uuid.UUID | None = None) -> Activity:
    account = await investment_account(session, viewer, account_id)
    row = Activity(user_id=viewer.user_id, account_id=account.id, import_id=import_id)
    row.kind = None  # type: ignore[assignment]  # set (or refused) below
    row.date = None  # type: ignore[assignment]
    await _apply_input(session, viewer, row, data, account.currency, creating=True)
    await check_account(session, viewer, account, row)
    session.add(row)
    await session.flush()
    await checkpoints.changed(session, viewer, account.id, row.date)
    await day_values.changed(session, viewer, account.id, row.date)
    portfolio_changed(session, rt, viewer.user_id, "ACTIVITY")
    return row


async def update_activity(session: AsyncSession, rt: Runtime, viewer: Viewer, activity_id: uuid.UUID, *,
                          data: ActivityInput) -> Activity:
    row = await activities.get(session, viewer, activity_id, field="id", for_update=True)
    if row.transfer_id is not None:
        raise ServiceError(ErrorCode.INVALID, "This is part of a transfer between your accounts: delete it (both sides "
                           "go) and transfer again.", "id")
    account = await investment_account(session, viewer, row.account_id)
    old_date = row.date
    await _apply_input(session, viewer, row, data, account.currency, creating=False)
    touched(row)
    await check_account(session, viewer, account, row)
    session.add(row)
    await session.flush()
    await checkpoints.changed(session, viewer, account.id, min(old_date, row.date))
    await day_values.changed(session, viewer, account.id, min(old_date, row.date))
    portfolio_changed(session, rt, viewer.user_id, "ACTIVITY")
    return row


async def delete_activity(session: AsyncSession, rt: Runtime, viewer: Viewer, activity_id: uuid.UUID
                          ) -> list[uuid.UUID]:
    """Delete the activity, or every activity of its transfer between accounts; returns the ids deleted."""
    row = await activities.get(session, viewer, activity_id, field="id", for_update=True)
    rows = [row]
    if row.transfer_id is not None:
        rows = list((await session.exec(activities.readable(viewer).where(
            col(Activity.transfer_id) == row.transfer_id).order_by(col(Activity.id)).with_for_update())).all())
    removed = {r.id for r in rows}
    for account_id in sorted({r.account_id for r in rows}):  # one lock order: no deadlock with another transfer
        account = await accounts.get_account(session, viewer, account_id, field="id", for_update=True)
        await check_account(session, viewer, account, None, removed=removed)
    for r in rows:
        await session.delete(r)
    await session.flush()
    for account_id in {r.account_id for r in rows}:
        await checkpoints.changed(session, viewer, account_id, row.date)
        await day_values.changed(session, viewer, account_id, row.date)
    portfolio_changed(session, rt, viewer.user_id, "ACTIVITY")
    return [r.id for r in rows]


async def get_activities(session: AsyncSession, viewer: Viewer, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Activity]:
    return await activities.by_ids(session, viewer, ids)


async def list_activities(session: AsyncSession, viewer: Viewer, *, account_ids: Sequence[uuid.UUID] | None = None,
                          start: dt.date | None = None, end: dt.date | None = None, limit: int = 1000) -> list[Activity]:
    statement = activities.readable(viewer)
    if account_ids:
        statement = statement.where(col(Activity.account_id).in_(list(account_ids)))
    if start:
        statement = statement.where(col(Activity.date) >= start)
    if end:
        statement = statement.where(col(Activity.date) <= end)
    rows = await session.exec(statement.order_by(col(Activity.date), col(Activity.created_at)).limit(limit))
    return list(rows.all())


# --- prices ------------------------------------------------------------------------------------------


async def set_price(session: AsyncSession, rt: Runtime, viewer: Viewer, *, symbol: str, date: dt.date, price: Decimal,
                    currency: str | None, source: str | None = None) -> Price:
    """A person prices their own security; an administrator a market one (created when new)."""
    errors = Collector()  # every problem of the input, not only the first
    symbol = errors.check(clean_symbol, symbol)
    if date < EARLIEST or date > clock.now().date() + dt.timedelta(days=1):
        errors.add(ServiceError(ErrorCode.INVALID, "The date must be between 1900-01-01 and tomorrow.", "date"))
    close = errors.check(_finite, price, "price", limit=MAX_PRICE, positive=True)
    code = errors.check(clean_currency, currency, field="currency") if currency else None
    errors.raise_any()
    security = await find_security(session, viewer, symbol)
    if security is None:
        if code is None:
            raise ServiceError(ErrorCode.REQUIRED, "A new security needs its currency.", "currency")
        security = Security(user_id=None if viewer.is_admin else viewer.user_id, symbol=symbol, name=symbol,
                            currency=code, asset_class=AssetClass.STOCK if viewer.is_admin else AssetClass.OTHER)
        session.add(security)
        await session.flush()
    elif security.user_id is None and not viewer.is_admin:
        raise ServiceError(ErrorCode.FORBIDDEN, "Market prices are set by administrators and the price feed.", "symbol")
    if code is not None and code != security.currency:
        raise ServiceError(ErrorCode.INVALID, f"{symbol} is priced in {security.currency}.", "currency")
    source = source or ("MANUAL" if security.user_id is not None else "ADMIN")
    await store_prices(session, rt, security, [(date, close)], source=source)
    return Price(security_id=security.id, date=date, close=close, currency=security.currency, source=source)


async def store_prices(session: AsyncSession, rt: Runtime, security: Security,
                       points: Sequence[tuple[dt.date, Decimal]], *, source: str) -> None:
    if not points:
        return
    now = clock.now()
    statement = insert(Price).values([
        {"security_id": security.id, "date": day, "close": close, "currency": security.currency, "source": source,
         "created_at": now} for day, close in points
    ])
    await session.exec(statement.on_conflict_do_update(
        index_elements=["security_id", "date"],
        set_={"close": statement.excluded.close, "source": statement.excluded.source, "created_at": now},
    ))
    await day_values.price_changed(session, security.id, min(day for day, _ in points))
    for holder in await holders(session, security.id):
        portfolio_changed(session, rt, holder, "PRICE")


async def holders(session: AsyncSession, security_id: uuid.UUID) -> list[uuid.UUID]:
    """Everyone with activities in this security (a deliberate cross-owner read)."""
    statement = activities.where_visible(
        select(col(Activity.user_id)).distinct().where(col(Activity.security_id) == security_id), SYSTEM
    )
    return list((await session.exec(statement)).all())


async def require_security(session: AsyncSession, viewer: Viewer, symbol: str) -> Security:
    """The viewer's own or a market security by symbol, or NOT_FOUND on `symbol`."""
    security = await find_security(session, viewer, clean_symbol(symbol))
    if security is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "No security has this symbol.", "symbol")
    return security


async def list_prices(session: AsyncSession, viewer: Viewer, *, symbol: str, limit: int = 100) -> tuple[Security, list[Price]]:
    security = await require_security(session, viewer, symbol)
    rows = await session.exec(select(Price).where(col(Price.security_id) == security.id)
                              .order_by(col(Price.date).desc()).limit(limit))
    return security, list(rows.all())


# --- settings ----------------------------------------------------------------------------------------


async def cost_method(session: AsyncSession, viewer: Viewer) -> CostMethod:
    row = (await session.exec(settings_rows.readable(viewer))).first()
    return row.cost_method if row else CostMethod.FIFO


async def set_cost_method(session: AsyncSession, viewer: Viewer, method: CostMethod) -> CostMethod:
    await session.exec(
        insert(InvestmentSetting).values(user_id=viewer.user_id, cost_method=method)
        .on_conflict_do_update(index_elements=["user_id"], set_={"cost_method": method})
    )
    return method

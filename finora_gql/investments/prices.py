"""Where prices come from, and the job that keeps held market securities priced.

`PriceProvider` is the interface: the daily closes of a symbol since a day. Two implementations:

- `EmbeddedProvider` (nothing configured): the prices table itself, kept by setPrice (people for
  their own securities, administrators for market ones) and CSV. Refreshing fetches nothing new,
  but the job still notifies big daily moves of what was stored.
- `AlphaVantageProvider` (`PRICE_PROVIDER=alphavantage`): Alpha Vantage's TIME_SERIES_DAILY JSON
  (`{"Time Series (Daily)": {"2024-01-02": {"4. close": "185.64", ...}}}`) at `PRICE_API_URL`
  with `PRICE_API_KEY`; any server answering that format works (tests start their own).

The periodic job (`refresh_prices`, hourly) asks the provider for every held market security that
is due, stores new closes (portfolioChanged for their holders), backs a failing security off for
2^failures minutes (at most PRICE_REFRESH_MAX_BACKOFF_MINUTES), and notifies each holder once per
security and day when the last close moved more than PRICE_MOVE_THRESHOLD_PERCENT from the one
before (notification kind PRICE_MOVE, subject to the holder's preferences). Staleness needs no
marking: a holding's price older than PRICE_STALE_AFTER_DAYS is flagged `stale` when read.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import uuid
from collections import defaultdict
from decimal import Decimal, InvalidOperation
from typing import Protocol

import httpx
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from finora_gql.config import Settings
from finora_gql.core import clock
from finora_gql.core.db import atomic
from finora_gql.core.owned import SYSTEM
from finora_gql.core.runtime import Runtime
from finora_gql.core.viewer import Viewer
from finora_gql.investments import engine, service
from finora_gql.investments.models import Activity, Price, Security
from finora_gql.notifications import service as notifications
from finora_gql.notifications.models import NotificationKind
from finora_gql.users import service as users

log = logging.getLogger("finora.prices")
LOOKBACK_DAYS = 10


class PriceProviderError(Exception):
    """The provider could not answer for this symbol now (the job backs off and tries again)."""


class PriceProvider(Protocol):
    name: str

    async def daily_closes(self, session: AsyncSession, security: Security, *, since: dt.date
                           ) -> list[tuple[dt.date, Decimal]]:
        """Closes on `since` and later, oldest first, in the security's currency."""
        ...


class EmbeddedProvider:
    """The prices table: what people, administrators and CSV imports stored."""

    name = "EMBEDDED"

    async def daily_closes(self, session: AsyncSession, security: Security, *, since: dt.date
                           ) -> list[tuple[dt.date, Decimal]]:
        rows = await session.exec(select(Price).where(col(Price.security_id) == security.id, col(Price.date) >= since)
                                  .order_by(col(Price.date)))
        return [(row.date, row.close) for row in rows.all()]


@dataclasses.dataclass
class AlphaVantageProvider:
    """Alpha Vantage's TIME_SERIES_DAILY over HTTP."""

    base_url: str
    api_key: str
    timeout: float = 10.0
    name: str = "ALPHAVANTAGE"
    transport: httpx.AsyncBaseTransport | None = None

    async def daily_closes(self, session: AsyncSession, security: Security, *, since: dt.date
                           ) -> list[tuple[dt.date, Decimal]]:
        params = {"function": "TIME_SERIES_DAILY", "symbol": security.symbol, "apikey": self.api_key,
                  "outputsize": "compact"}
        try:
            async with httpx.AsyncClient(base_url=self.base_url, timeout=self.timeout, transport=self.transport) as client:
                response = await client.get("/query", params=params)
        except httpx.HTTPError as error:
            raise PriceProviderError(f"{security.symbol}: {type(error).__name__}") from None
        if response.status_code != 200:
            raise PriceProviderError(f"{security.symbol}: HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            raise PriceProviderError(f"{security.symbol}: not JSON") from None
        if not isinstance(body, dict):
            raise PriceProviderError(f"{security.symbol}: unexpected answer")
        for key in ("Error Message", "Note", "Information"):
            if key in body:
                raise PriceProviderError(f"{security.symbol}: {str(body[key])[:200]}")
        series = body.get("Time Series (Daily)")
        if not isinstance(series, dict):
            raise PriceProviderError(f"{security.symbol}: no daily series")
        closes = []
        for day, values in series.items():
            try:
                date = dt.date.fromisoformat(day)
                close = Decimal(str(values["4. close"]))
            except (ValueError, KeyError, TypeError, InvalidOperation):
                raise PriceProviderError(f"{security.symbol}: bad point {day!r}") from None
            if not close.is_finite() or close <= 0 or close >= service.MAX_PRICE:
                raise PriceProviderError(f"{security.symbol}: bad close on {day}")
            if date >= since:
                closes.append((date, close.quantize(Decimal("1e-10"))))
        return sorted(closes)


def provider_for(settings: Settings) -> PriceProvider:
    if settings.price_provider == "alphavantage":
        key = settings.price_api_key.get_secret_value() if settings.price_api_key else "demo"
        return AlphaVantageProvider(settings.price_api_url, key, settings.price_api_timeout)
    return EmbeddedProvider()


@dataclasses.dataclass
class RefreshReport:
    refreshed: list[str] = dataclasses.field(default_factory=list)
    failed: list[str] = dataclasses.field(default_factory=list)
    skipped: int = 0  # backing off
    stored: int = 0
    notified: int = 0


async def held_market_securities(session: AsyncSession) -> list[Security]:
    """Market securities someone has activities in (a deliberate read across owners)."""
    held = service.activities.where_visible(
        select(col(Activity.security_id)).distinct().where(col(Activity.security_id).is_not(None)), SYSTEM)
    rows = await session.exec(select(Security).where(col(Security.user_id).is_(None), col(Security.id).in_(held))
                              .order_by(col(Security.symbol)))
    return list(rows.all())


async def refresh_prices(session: AsyncSession, rt: Runtime, provider: PriceProvider, *,
                         now: dt.datetime | None = None) -> RefreshReport:
    """One run of the price job; each security in its own transaction."""
    now = now or clock.now()
    report = RefreshReport()
    settings = rt.settings
    candidates = [(s.id, s.next_refresh_at) for s in await held_market_securities(session)]
    await session.rollback()
    for security_id, next_refresh_at in candidates:
        if next_refresh_at is not None and next_refresh_at > now:
            report.skipped += 1
            continue
        async with atomic(session):  # each security in its own transaction
            row = await session.get(Security, security_id, with_for_update=True)
            if row is None:
                continue
            last = (await session.exec(select(Price.date).where(col(Price.security_id) == row.id)
                                       .order_by(col(Price.date).desc()).limit(1))).first()
            since = last if last is not None else now.date() - dt.timedelta(days=LOOKBACK_DAYS)
            try:
                closes = await provider.daily_closes(session, row, since=since)
            except PriceProviderError as error:
                row.refresh_failures += 1
                minutes = min(2 ** min(row.refresh_failures, 30), settings.price_refresh_max_backoff_minutes)
                row.next_refresh_at = now + dt.timedelta(minutes=minutes)
                session.add(row)
                report.failed.append(row.symbol)
                log.warning("price refresh failed (%d in a row, next in %d min): %s", row.refresh_failures, minutes, error)
                continue
            row.refresh_failures = 0
            row.next_refresh_at = None
            session.add(row)
            if not isinstance(provider, EmbeddedProvider):
                await service.store_prices(session, rt, row, closes, source=provider.name)
                report.stored += len(closes)
            report.refreshed.append(row.symbol)
            report.notified += await notify_moves(session, rt, row)
    return report


async def notify_moves(session: AsyncSession, rt: Runtime, security: Security) -> int:
    """Tell each holder about a daily move beyond the threshold (once per security and day)."""
    last_two = (await session.exec(select(Price).where(col(Price.security_id) == security.id)
                                   .order_by(col(Price.date).desc()).limit(2))).all()
    if len(last_two) < 2:
        return 0
    latest, previous = last_two
    change = (latest.close / previous.close - 1) * 100
    threshold = rt.settings.price_move_threshold_percent
    if abs(change) <= threshold:
        return 0
    sent = 0
    for user_id, quantity in (await _held_quantities(session, security.id)).items():
        if quantity <= 0:
            continue
        user = await users.get_user(session, user_id)
        shown = change.quantize(Decimal("0.01"))
        created = await notifications.notify(
            session, rt, Viewer.acting_for(user_id), kind=NotificationKind.PRICE_MOVE,
            title=f"{security.symbol} {'rose' if change > 0 else 'fell'} {abs(shown)}%",
            body=f"{security.symbol} closed at {latest.close.normalize():f} {security.currency} on "
                 f"{latest.date.isoformat()}, {shown:+}% from {previous.close.normalize():f} on {previous.date.isoformat()}.",
            email_to=user.email if user else None,
            data={"symbol": security.symbol, "date": latest.date.isoformat(), "changePercent": str(shown)},
            dedup_key=f"price-move:{security.id}:{latest.date.isoformat()}",
        )
        sent += created is not None
    return sent


async def _held_quantities(session: AsyncSession, security_id: uuid.UUID) -> dict[uuid.UUID, Decimal]:
    """Units of the security each holder has now (their activities replayed; across owners on purpose)."""
    rows = (await session.exec(service.activities.readable(SYSTEM).where(col(Activity.security_id) == security_id))).all()
    by_user: dict[uuid.UUID, list[Activity]] = defaultdict(list)
    for row in rows:
        by_user[row.user_id].append(row)
    held = {}
    for user_id, items in by_user.items():
        book = engine.Book(lambda code, day: Decimal(1))
        try:
            for act in engine.order(service.to_act(row, "XXX") for row in items):
                book.apply(act, counted=False, market_price=lambda s, d: None)
        except engine.ActivityError:
            continue
        held[user_id] = book.held(security_id)
    return held

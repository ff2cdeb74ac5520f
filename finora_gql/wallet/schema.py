"""Wallet analytics queries, exchange rates and the walletChanged subscription."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncGenerator
from decimal import Decimal
from typing import Annotated

import strawberry
from strawberry.types import Info

from finora_gql.api.errors import UserError, errors_field, perform
from finora_gql.api.permissions import admin_field
from finora_gql.api.scalars import CurrencyCode
from finora_gql.api.streams import viewer_messages
from finora_gql.context import Context
from finora_gql.core import clock
from finora_gql.core.errors import BadUserInput, ServiceError
from finora_gql.wallet import service
from finora_gql.wallet.events import WALLET_CHANGED
from finora_gql.wallet.types import (
    CashflowType,
    FxRateType,
    GranularityEnum,
    MissingPriceType,
    MissingRateType,
    NetWorthPointType,
    NetWorthType,
    PeriodFlowType,
    WalletChangeType,
    WalletSummaryType,
)

# `from` is a Python keyword: the argument is named here.
From = Annotated[dt.date, strawberry.argument(name="from", description="First day of the range (inclusive).")]
To = Annotated[dt.date, strawberry.argument(
    description="Last day of the range, inclusive: its flows count. At most 10 years after `from`.")]


@strawberry.input(description="An exchange rate: 1 base = rate quote, from date on.")
class FxRateInput:
    base: CurrencyCode = strawberry.field(description="The currency converted from.")
    quote: CurrencyCode = strawberry.field(description="The currency converted to; not the base.")
    date: dt.date = strawberry.field(description="The first day the rate applies (until the pair's next rate).")
    rate: Decimal = strawberry.field(description="How many units of quote one unit of base buys; greater than 0.")


@strawberry.type(description="The result of setFxRate.")
class FxRatePayload:
    rate: FxRateType | None = strawberry.field(description="The rate as stored, or null on errors.")
    errors: list[UserError] = errors_field()


@strawberry.type(description="The result of recordNetWorthSnapshot.")
class NetWorthSnapshotPayload:
    point: NetWorthPointType | None = strawberry.field(description="Today's recorded net worth, or null on errors.")
    errors: list[UserError] = errors_field()


async def _query(info: Info[Context, None], work):
    context = info.context
    viewer = await context.viewer()
    try:
        return await work(context.session, context.runtime, viewer)
    except ServiceError as error:
        raise BadUserInput(error) from None


@strawberry.type
class WalletQuery:
    @strawberry.field(name="walletSummary", description="Balance, income, spending and trends between two days.")
    async def wallet_summary(self, info: Info[Context, None], from_: From, to: To) -> WalletSummaryType:
        row = await _query(info, lambda s, rt, v: service.wallet_summary(s, rt, v, start=from_, end=to))
        return WalletSummaryType.of(row)

    @strawberry.field(description="Income, expenses and net per day, week or month between two days.")
    async def cashflow(
        self, info: Info[Context, None], from_: From, to: To,
        granularity: Annotated[GranularityEnum, strawberry.argument(
            description="The length of each bucket; months by default.")] = GranularityEnum.MONTH,
    ) -> CashflowType:
        row = await _query(info, lambda s, rt, v: service.cashflow(s, rt, v, start=from_, end=to, granularity=granularity))
        return CashflowType(currency=row.currency, buckets=[PeriodFlowType.of(b) for b in row.buckets],
                            missing_rates=[MissingRateType.of(m) for m in row.missing_rates],
                            complete=not row.missing_rates)

    @strawberry.field(name="netWorth", description="Net worth history: snapshots where recorded, derived elsewhere.")
    async def net_worth(self, info: Info[Context, None], from_: From, to: To) -> NetWorthType:
        row = await _query(info, lambda s, rt, v: service.net_worth(s, rt, v, start=from_, end=to))
        return NetWorthType(
            currency=row.currency,
            points=[NetWorthPointType(date=p.date, value=p.value, from_snapshot=p.from_snapshot) for p in row.points],
            missing_rates=[MissingRateType.of(m) for m in row.missing_rates],
            missing_prices=[MissingPriceType.of(m) for m in row.missing_prices], complete=not row.missing_rates,
        )

    @strawberry.field(description="Exchange rates of one pair, newest first (at most 100).")
    async def fx_rates(
        self, info: Info[Context, None],
        base: Annotated[CurrencyCode, strawberry.argument(description="The currency converted from.")],
        quote: Annotated[CurrencyCode, strawberry.argument(description="The currency converted to.")],
    ) -> list[FxRateType]:
        await info.context.viewer()
        rows = await service.list_fx_rates(info.context.session, base=base, quote=quote)
        return [FxRateType(base=r.base, quote=r.quote, date=r.date, rate=r.rate) for r in rows]


@strawberry.type
class WalletMutation:
    @strawberry.mutation(**admin_field("Set an exchange rate; rates are shared market data."))
    async def set_fx_rate(
        self, info: Info[Context, None], input: Annotated[FxRateInput, strawberry.argument(description="The rate.")]
    ) -> FxRatePayload:
        context = info.context
        viewer = await context.viewer()
        rate, errors = await perform(
            context,
            lambda session: service.set_fx_rate(
                session, context.runtime, viewer, base=input.base, quote=input.quote, date=input.date, rate=input.rate
            ),
        )
        node = FxRateType(base=rate.base, quote=rate.quote, date=rate.date, rate=rate.rate) if rate else None
        return FxRatePayload(rate=node, errors=errors)

    @strawberry.mutation(description="Record today's net worth as a snapshot in the history. "
                         "Refused (INVALID) while an exchange rate or a held security's price is missing.")
    async def record_net_worth_snapshot(self, info: Info[Context, None]) -> NetWorthSnapshotPayload:
        context = info.context
        viewer = await context.viewer()
        point, errors = await perform(
            context, lambda session: service.record_net_worth_snapshot(session, context.runtime, viewer)
        )
        node = NetWorthPointType(date=point.date, value=point.value, from_snapshot=True) if point else None
        return NetWorthSnapshotPayload(point=node, errors=errors)


@strawberry.type
class WalletSubscription:
    @strawberry.subscription(description="Fires after any write that changes the viewer's balances or summaries.")
    async def wallet_changed(self, info: Info[Context, None]) -> AsyncGenerator[WalletChangeType, None]:
        async for _ in viewer_messages(info.context, {WALLET_CHANGED}):
            yield WalletChangeType(at=clock.now())

"""GraphQL types of investments: activities, securities, prices and the portfolio.

Money is rounded here, at the edge, to the reporting currency's minor units (banker's rounding);
quantities, unit prices and rates are shown as computed (rates to 10 decimals).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import Annotated

import strawberry
from strawberry import relay
from strawberry.types import Info

from finora_gql.accounts.types import AccountNode, account_loader
from finora_gql.api.enums import described
from finora_gql.api.ids import parse_uuid
from finora_gql.api.scalars import CurrencyCode
from finora_gql.core.money import round_money
from finora_gql.investments import engine, service, valuation
from finora_gql.investments.engine import CostMethod, Kind, Reason
from finora_gql.investments.formatting import plain
from finora_gql.investments.models import Activity, AssetClass, Security
from finora_gql.wallet.totals import Bucket
from finora_gql.wallet.types import GranularityEnum

KindEnum = described(Kind, name="InvestmentActivityKind", description="What happened in an investment account.", values={
    "BUY": "Units bought: a quantity and a price per unit or the total amount paid (fees and taxes included).",
    "SELL": "Units sold: a quantity and a price per unit or the total amount received (net of fees and taxes).",
    "DIVIDEND": "A dividend received (the gross amount; fee and tax are deducted from it); may name a symbol.",
    "INTEREST": "Interest received on cash (the gross amount; fee and tax are deducted from it).",
    "FEE": "A fee paid out of the account's cash; may name a symbol.",
    "TAX": "A tax paid out of the account's cash; may name a symbol.",
    "SPLIT": "A security's units multiplied by splitTo / splitFrom (1:10 is splitFrom 1, splitTo 10); cost unchanged.",
    "DEPOSIT": "Cash paid into the account: an external flow for the returns.",
    "WITHDRAWAL": "Cash taken out of the account: an external flow for the returns.",
    "TRANSFER_IN": "Units moved in from elsewhere with their cost (amount); counted as an inflow at market value.",
    "TRANSFER_OUT": "Units moved out to elsewhere; counted as an outflow at market value.",
})
CostMethodEnum = described(CostMethod, name="CostMethod", description="How a sale's cost is taken from the holding.",
                           values={
    "FIFO": "First in, first out: a sale consumes the oldest lots first.",
    "AVERAGE": "Moving average: a sale removes units at the holding's average cost.",
})
AssetClassEnum = described(AssetClass, name="AssetClass", description="What kind of asset a security is.", values={
    "STOCK": "A company's shares.",
    "ETF": "An exchange-traded fund.",
    "FUND": "A mutual fund (not exchange-traded).",
    "BOND": "A bond or other fixed-income security.",
    "CRYPTO": "A crypto-currency or token.",
    "CASH_EQUIVALENT": "A money-market fund or similar near-cash holding.",
    "OTHER": "Anything else.",
})
ReasonEnum = described(Reason, name="UnavailableReason", description="Why a figure is null.", values={
    "MISSING_PRICE": "A held security has no price on or before a day of the range.",
    "MISSING_FX_RATE": "A currency has no exchange rate into the base currency on or before a day of the range.",
    "NOTHING_INVESTED": "No money was invested in the range, so there is no return to measure.",
    "NO_SOLUTION": "The cash flows have no internal rate of return (XIRR found no root).",
})

RATE_PLACES = Decimal("1e-10")


def _rate(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(RATE_PLACES)


def _money(value: Decimal | None, currency: str) -> Decimal | None:
    return None if value is None else round_money(value, currency)


def activity_loader(info: Info):
    return info.context.loader("investment_activities", service.get_activities)


def security_loader(info: Info):
    return info.context.loader("securities", service.get_securities)


@strawberry.type(name="Security", description="A market security (shared, priced by the feed or an administrator) "
                 "or your own manual one (priced by you with setPrice).")
class SecurityNode(relay.Node):
    id: relay.NodeID[str]
    symbol: str = strawberry.field(description="The ticker or your own code, upper case.")
    name: str = strawberry.field(description="Its name.")
    currency: CurrencyCode = strawberry.field(description="The currency its prices are in.")
    asset_class: AssetClassEnum = strawberry.field(description="STOCK, ETF, FUND, BOND, CRYPTO, CASH_EQUIVALENT or OTHER.")
    manual: bool = strawberry.field(description="True for your own security, false for a market one.")

    @classmethod
    def of(cls, row: Security) -> SecurityNode:
        return cls(id=str(row.id), symbol=row.symbol, name=row.name, currency=row.currency,
                   asset_class=row.asset_class, manual=row.user_id is not None)

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False) -> list[SecurityNode | None]:
        ids = [parse_uuid(node_id) for node_id in node_ids]
        found = await security_loader(info).load_many([i for i in ids if i is not None])
        by_id = {row.id: row for row in found if row is not None}
        return [cls.of(by_id[i]) if i in by_id else None for i in ids]


@strawberry.type(name="InvestmentActivity", description="One thing that happened in an investment account, in the "
                 "account's currency.")
class InvestmentActivityNode(relay.Node):
    id: relay.NodeID[str]
    kind: KindEnum = strawberry.field(description="What happened.")
    date: dt.date = strawberry.field(description="The day it happened.")
    quantity: Decimal | None = strawberry.field(description="Units bought, sold or transferred; null for other kinds.")
    price: Decimal | None = strawberry.field(description="The price per unit entered, if one was.")
    split_from: Decimal | None = strawberry.field(description="For a SPLIT: the old number of units (1 of 1:10).")
    split_to: Decimal | None = strawberry.field(description="For a SPLIT: the new number of units (10 of 1:10).")
    note: str | None = strawberry.field(description="Your note.")
    lot_date: dt.date | None = strawberry.field(description="A TRANSFER_IN of transferSecurities: the day its lot was "
                                                "first acquired (the lot's date in holdings).")
    linked_transfer: bool = strawberry.field(description="Part of a transfer between your accounts (transferSecurities): "
                                             "deleted together, not edited.")
    created_at: dt.datetime = strawberry.field(description="When it was recorded (UTC).")
    updated_at: dt.datetime = strawberry.field(description="When it last changed (UTC).")
    _account_id: strawberry.Private[uuid.UUID]
    _security_id: strawberry.Private[uuid.UUID | None]
    _money: strawberry.Private[tuple[Decimal, Decimal, Decimal]]

    async def _in_currency(self, info: Info, value: Decimal) -> Decimal:
        account = await account_loader(info).load(self._account_id)
        return round_money(value, account.currency)

    @strawberry.field(description="The total, in the account's currency: paid for a BUY (fees and taxes included), "
                      "received for a SELL (net of them), the gross dividend or interest, the fee, tax, deposit or "
                      "withdrawal, the cost of a transfer; 0 for a SPLIT.")
    async def amount(self, info: Info) -> Decimal:
        return await self._in_currency(info, self._money[0])

    @strawberry.field(description="The part of the amount that went to fees (deducted from it, for income).")
    async def fee(self, info: Info) -> Decimal:
        return await self._in_currency(info, self._money[1])

    @strawberry.field(description="The part of the amount that went to taxes (deducted from it, for income).")
    async def tax(self, info: Info) -> Decimal:
        return await self._in_currency(info, self._money[2])

    @strawberry.field(description="The investment account.")
    async def account(self, info: Info) -> AccountNode:
        return AccountNode.of(await account_loader(info).load(self._account_id))

    @strawberry.field(description="The security, for kinds that have one.")
    async def security(self, info: Info) -> SecurityNode | None:
        if self._security_id is None:
            return None
        row = await security_loader(info).load(self._security_id)
        return SecurityNode.of(row) if row else None

    @strawberry.field(description="The security's symbol, for kinds that have one.")
    async def symbol(self, info: Info) -> str | None:
        security = await self.security(info)
        return security.symbol if security else None

    @classmethod
    def of(cls, row: Activity) -> InvestmentActivityNode:
        with_quantity = row.kind in engine.WITH_QUANTITY
        return cls(
            id=str(row.id), kind=row.kind, date=row.date, quantity=plain(row.quantity) if with_quantity else None,
            price=plain(row.price), _money=(row.amount, row.fee, row.tax), split_from=plain(row.split_from),
            split_to=plain(row.split_to), note=row.note, lot_date=row.lot_date,
            linked_transfer=row.transfer_id is not None, created_at=row.created_at, updated_at=row.updated_at,
            _account_id=row.account_id, _security_id=row.security_id,
        )

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False
                            ) -> list[InvestmentActivityNode | None]:
        ids = [parse_uuid(node_id) for node_id in node_ids]
        found = await activity_loader(info).load_many([i for i in ids if i is not None])
        by_id = {row.id: row for row in found if row is not None}
        return [cls.of(by_id[i]) if i in by_id else None for i in ids]


@strawberry.type(name="SecurityPrice", description="The close of a security on a day.")
class PriceNode:
    symbol: str = strawberry.field(description="The security's symbol.")
    date: dt.date = strawberry.field(description="The day.")
    price: Decimal = strawberry.field(description="The close, in the security's currency.")
    currency: CurrencyCode = strawberry.field(description="The security's currency.")
    source: str = strawberry.field(description="MANUAL, ADMIN, CSV, or the price feed's name.")


@strawberry.type(name="Lot", description="What is left of one purchase (FIFO), in the reporting currency.")
class LotNode:
    date: dt.date = strawberry.field(description="The day of the purchase (or transfer in).")
    quantity: Decimal = strawberry.field(description="Units left, split-adjusted.")
    cost: Decimal = strawberry.field(description="Their cost, fees included.")
    unit_cost: Decimal = strawberry.field(description="cost / quantity, to 10 decimals.")


@strawberry.type(name="Holding", description="One security held at the end of the range, over the chosen accounts.")
class HoldingNode:
    symbol: str = strawberry.field(description="The security's symbol.")
    name: str = strawberry.field(description="The security's name.")
    asset_class: AssetClassEnum = strawberry.field(description="The security's asset class.")
    security_currency: CurrencyCode = strawberry.field(description="The currency of `price`.")
    quantity: Decimal = strawberry.field(description="Units held, split-adjusted.")
    average_cost: Decimal | None = strawberry.field(description="costBasis / quantity, to 10 decimals; null with "
                                                    "costBasis.")
    cost_basis: Decimal | None = strawberry.field(description="What the units held cost, by the cost method; null when "
                                                  "a cost had no exchange rate into the base currency.")
    price: Decimal | None = strawberry.field(description="The last close on or before `to`; null without one.")
    price_date: dt.date | None = strawberry.field(description="The day of that close.")
    price_source: str | None = strawberry.field(description="Where that close came from.")
    stale: bool = strawberry.field(description="True when the close is older than the configured age (or missing).")
    value: Decimal | None = strawberry.field(description="quantity x price in the reporting currency; null without a "
                                             "price or exchange rate.")
    unrealized_gain: Decimal | None = strawberry.field(description="value - costBasis; null without a value.")
    weight: Decimal | None = strawberry.field(description="Share of the holdings' value (a fraction); null when any "
                                              "holding has no value.")
    _lots: strawberry.Private[list[engine.Lot]]
    _currency: strawberry.Private[str]

    @strawberry.field(description="Open FIFO lots, oldest first (empty with AVERAGE).")
    def lots(self) -> list[LotNode]:  # built only when asked for: a long history has thousands
        return [LotNode(date=lot.date, quantity=plain(lot.quantity), cost=round_money(lot.cost, self._currency),
                        unit_cost=(lot.cost / lot.quantity).quantize(RATE_PLACES)) for lot in self._lots]


@strawberry.type(name="TimeWeightedReturn", description="Time-weighted return over the range (decimal fractions).")
class TwrNode:
    cumulative: Decimal | None = strawberry.field(description="prod(1 + r_day) - 1; null with a reason.")
    annualized: Decimal | None = strawberry.field(description="(1 + cumulative)^(365/days) - 1; null with a reason.")
    unavailable_reason: ReasonEnum | None = strawberry.field(description="Why the figures are null, if they are.")
    days: int = strawberry.field(description="Days in the range.")
    days_without_investment: int = strawberry.field(description="Days with nothing invested: counted as 0% and shown here.")


@strawberry.type(name="MoneyWeightedReturn", description="The annual internal rate of return of the range's cash flows "
                 "(XIRR, actual/365), the start value paid in and the end value paid out.")
class XirrNode:
    rate: Decimal | None = strawberry.field(description="The rate as a decimal fraction; null with a reason.")
    unavailable_reason: ReasonEnum | None = strawberry.field(description="Why the rate is null, if it is.")


@strawberry.type(name="AllocationSlice", description="A share of the portfolio's value.")
class AllocationSliceNode:
    key: str = strawberry.field(description="The symbol, asset class or currency (CASH for cash by asset class).")
    value: Decimal = strawberry.field(description="The value in the reporting currency.")
    weight: Decimal = strawberry.field(description="value / the portfolio's value (a fraction).")


@strawberry.type(name="Allocation", description="The value at `to` split three ways; null when the value is unknown.")
class AllocationNode:
    by_security: list[AllocationSliceNode] = strawberry.field(description="Per symbol; cash under CASH.")
    by_asset_class: list[AllocationSliceNode] = strawberry.field(description="Per asset class; cash under CASH.")
    by_currency: list[AllocationSliceNode] = strawberry.field(description="Per currency of the securities and cash.")


@strawberry.type(name="PortfolioPoint", description="The portfolio at the end of a day, week or month.")
class PointNode:
    date: dt.date = strawberry.field(description="The last day of the period (or `to`).")
    value: Decimal | None = strawberry.field(description="The value at the end of that day; null without prices.")
    net_inflow: Decimal = strawberry.field(description="Deposits minus withdrawals (and transfers) in the period.")
    twr_index: Decimal | None = strawberry.field(description="prod(1 + r_day) since the start (1 = no change); null "
                                                 "from a day without a value on.")


@strawberry.type(name="PortfolioMissingData", description="A price or rate that was missing, first seen on `date`.")
class MissingNode:
    reason: ReasonEnum = strawberry.field(description="MISSING_PRICE or MISSING_FX_RATE.")
    subject: str = strawberry.field(description="The symbol without a price, or the currency without a rate.")
    date: dt.date = strawberry.field(description="The first day it was needed.")


@strawberry.type(name="Portfolio", description="Investment accounts over a range, in your base currency. Money is "
                 "rounded to the currency's minor unit; a figure that cannot be computed is null with a reason.")
class PortfolioNode:
    currency: CurrencyCode = strawberry.field(description="The reporting (your base) currency.")
    cost_method: CostMethodEnum = strawberry.field(description="The cost method used.")
    value: Decimal | None = strawberry.field(description="Cash plus holdings at the end of `to`: what netWorth and "
                                             "walletSummary.totalBalance count for these accounts.")
    start_value: Decimal | None = strawberry.field(description="Cash plus holdings at the end of the day before `from`.")
    cash: Decimal | None = strawberry.field(description="Cash in the accounts at `to`: one book per account, its ledger "
                                            "movements (opening balance, transfers, transactions) plus the activities' "
                                            "deposits, withdrawals, trades, income, fees and taxes.")
    cost_basis: Decimal | None = strawberry.field(description="What the holdings cost, by the cost method; null when a "
                                                  "cost or proceeds had no exchange rate (see `missing`).")
    unrealized_gain: Decimal | None = strawberry.field(description="Holdings' value - their cost basis.")
    realized_gain: Decimal | None = strawberry.field(description="Proceeds - cost of the sales within the range; null "
                                                     "with costBasis.")
    dividends: Decimal = strawberry.field(description="Gross dividends within the range.")
    interest: Decimal = strawberry.field(description="Gross interest within the range.")
    fees: Decimal = strawberry.field(description="Fees paid within the range (also inside costs and proceeds).")
    taxes: Decimal = strawberry.field(description="Taxes paid within the range (also inside costs and proceeds).")
    net_inflow: Decimal = strawberry.field(description="Deposits minus withdrawals (ledger movements and transfers of "
                                           "securities at market included) in the range.")
    total_return: Decimal | None = strawberry.field(
        description="value - startValue - netInflow: gains, income, fees and taxes together."
    )
    twr: TwrNode = strawberry.field(description="Time-weighted return.")
    holdings: list[HoldingNode] = strawberry.field(description="Securities held at `to`, largest value first.")
    allocation: AllocationNode | None = strawberry.field(description="By security, asset class and currency.")
    missing: list[MissingNode] = strawberry.field(description="Prices and rates that were missing.")
    _points: strawberry.Private[list[engine.Point]]
    _result: strawberry.Private[engine.Result]

    @strawberry.field(description="Money-weighted return (XIRR).")
    def xirr(self) -> XirrNode:
        found = self._result.xirr  # solved only when asked for
        return XirrNode(rate=_rate(found.rate), unavailable_reason=found.reason)

    @strawberry.field(description="Value, net inflow and the TWR index at the end of each day, week (Sunday) or month "
                      "of the range.")
    def history(
        self, granularity: Annotated[GranularityEnum, strawberry.argument(  # type: ignore[valid-type]
            description="DAY (the default), WEEK (ending on Sunday) or MONTH; each point is the period's last day.")
        ] = GranularityEnum.DAY,
    ) -> list[PointNode]:
        return [PointNode(date=p.date, value=_money(p.value, self.currency), net_inflow=round_money(p.net_inflow, self.currency),
                          twr_index=_rate(p.twr_index)) for p in _periods(self._points, Bucket(granularity))]

    @classmethod
    def of(cls, found: valuation.Portfolio) -> PortfolioNode:
        r = found.result
        currency = r.currency
        holdings = []
        for h in r.holdings:
            security = found.securities[h.security]
            holdings.append(HoldingNode(
                symbol=security.symbol, name=security.name, asset_class=security.asset_class,
                security_currency=security.currency, quantity=plain(h.quantity), average_cost=_rate(h.average_cost),
                cost_basis=_money(h.cost_basis, currency), price=plain(h.price), price_date=h.price_date,
                price_source=h.price_source, stale=h.price_date is None or h.price_date < found.stale_before,
                value=_money(h.value, currency), unrealized_gain=_money(h.unrealized_gain, currency),
                weight=_rate(h.weight), _lots=h.lots, _currency=currency,
            ))
        holdings.sort(key=lambda h: (-(h.value or 0), h.symbol))
        return cls(
            currency=currency, cost_method=found.method, value=_money(r.value, currency),
            start_value=_money(r.start_value, currency), cash=_money(r.cash, currency),
            cost_basis=_money(r.cost_basis, currency), unrealized_gain=_money(r.unrealized_gain, currency),
            realized_gain=_money(r.realized_gain, currency), dividends=round_money(r.dividends, currency),
            interest=round_money(r.interest, currency), fees=round_money(r.fees, currency),
            taxes=round_money(r.taxes, currency), net_inflow=round_money(r.net_inflow, currency),
            total_return=_money(r.total_return, currency),
            twr=TwrNode(cumulative=_rate(r.twr.cumulative), annualized=_rate(r.twr.annualized),
                        unavailable_reason=r.twr.reason, days=r.twr.days,
                        days_without_investment=r.twr.days_without_investment),
            holdings=holdings, allocation=_allocation(found), missing=[
                MissingNode(reason=m.reason, subject=found.securities[uuid.UUID(m.subject)].symbol
                            if m.reason is Reason.MISSING_PRICE else m.subject, date=m.day) for m in r.missing
            ],
            _points=r.history, _result=r,
        )


def _periods(points: list[engine.Point], granularity: Bucket) -> list[engine.Point]:
    if granularity is Bucket.DAY:
        return points
    out: list[engine.Point] = []
    inflow = Decimal(0)
    for k, point in enumerate(points):
        inflow += point.net_inflow
        following = point.date + dt.timedelta(days=1)
        ends = following.weekday() == 0 if granularity is Bucket.WEEK else following.day == 1
        if ends or k == len(points) - 1:
            out.append(engine.Point(point.date, point.value, inflow, point.twr_index))
            inflow = Decimal(0)
    return out


def _allocation(found: valuation.Portfolio) -> AllocationNode | None:
    r = found.result
    if r.value is None or r.cash is None or any(h.value is None for h in r.holdings):
        return None
    total = r.value
    currency = r.currency
    by_security: dict[str, Decimal] = defaultdict(Decimal)
    by_class: dict[str, Decimal] = defaultdict(Decimal)
    by_currency: dict[str, Decimal] = defaultdict(Decimal)
    for h in r.holdings:
        security = found.securities[h.security]
        by_security[security.symbol] += h.value  # type: ignore[operator]
        by_class[security.asset_class.value] += h.value  # type: ignore[operator]
        by_currency[security.currency] += h.value  # type: ignore[operator]
    for code, amount in r.cash_by_currency.items():
        by_security["CASH"] += amount
        by_class["CASH"] += amount
        by_currency[code] += amount

    def slices(values: dict[str, Decimal]) -> list[AllocationSliceNode]:
        ordered = sorted(((k, v) for k, v in values.items() if v), key=lambda kv: (-kv[1], kv[0]))
        return [AllocationSliceNode(key=k, value=round_money(v, currency),
                                    weight=(v / total).quantize(RATE_PLACES) if total else Decimal(0)) for k, v in ordered]

    return AllocationNode(by_security=slices(by_security), by_asset_class=slices(by_class),
                          by_currency=slices(by_currency))


@strawberry.type(name="PortfolioChange", description="Something changed your portfolio's figures.")
class PortfolioChangeNode:
    at: dt.datetime = strawberry.field(description="When the change was heard (UTC).")
    reason: str = strawberry.field(description="ACTIVITY (recorded, changed, deleted or imported), PRICE (a new price "
                                   "of a security you hold) or LEDGER (a transaction, transfer or opening balance of an "
                                   "investment account).")

"""GraphQL types of wallet analytics. Amounts are in the viewer's base currency."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

from finora_gql.accounts.types import AccountNode, account_loader
from finora_gql.api.enums import described
from finora_gql.api.scalars import CurrencyCode
from finora_gql.transactions.types import CategoryNode, category_node
from finora_gql.wallet import service
from finora_gql.wallet.totals import Bucket, MissingRate

if TYPE_CHECKING:
    from finora_gql.investments.types import SecurityNode

GranularityEnum = described(Bucket, name="Granularity", description="DAY, WEEK (from Monday) or MONTH buckets.", values={
    "DAY": "One bucket per calendar day.",
    "WEEK": "One bucket per week, Monday to Sunday; a bucket's period is its Monday.",
    "MONTH": "One bucket per calendar month; a bucket's period is its first day.",
})


@strawberry.type(name="MissingRate", description="Amounts in this currency between these days had no exchange rate "
                 "to the base currency and are left out of the totals; set one with setFxRate.")
class MissingRateType:
    currency: CurrencyCode = strawberry.field(description="The currency without a rate to the base currency.")
    first_day: dt.date = strawberry.field(description="The first day with amounts in it that could not be converted.")
    last_day: dt.date = strawberry.field(description="The last such day (inclusive).")

    @classmethod
    def of(cls, row: MissingRate) -> MissingRateType:
        return cls(currency=row.currency, first_day=row.first_day, last_day=row.last_day)


@strawberry.type(name="MissingPrice", description="A security held in an INVESTMENT account had no price (close) on or "
                 "before some of the days valued, so it is counted at its cost instead of its market value: the total "
                 "including it is an estimate. The portfolio reports the same position as MISSING_PRICE with a null "
                 "value; set a price with setPrice (or wait for the price job, for a market security).")
class MissingPriceType:
    symbol: str = strawberry.field(description="The security's symbol.")
    first_day: dt.date = strawberry.field(description="The first day valued (`to`, or a net worth point) without a price.")
    last_day: dt.date = strawberry.field(description="The last such day (inclusive).")
    counted_cost: Decimal = strawberry.field(description="What was counted instead on lastDay: the position's cost "
                                             "(FIFO, fees included), in the base currency.")
    _account_id: strawberry.Private[uuid.UUID]
    _security_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="The investment account holding it.")
    async def account(self, info: Info) -> AccountNode:
        return AccountNode.of(await account_loader(info).load(self._account_id))

    @strawberry.field(description="The security without a price.")
    async def security(self, info: Info) -> Annotated[SecurityNode, strawberry.lazy("finora_gql.investments.types")]:
        from finora_gql.investments.types import SecurityNode, security_loader  # it imports this module

        return SecurityNode.of(await security_loader(info).load(self._security_id))

    @classmethod
    def of(cls, row: service.MissingPrice) -> MissingPriceType:
        return cls(symbol=row.symbol, first_day=row.first_day, last_day=row.last_day, counted_cost=row.counted_cost,
                   _account_id=row.account_id, _security_id=row.security_id)


@strawberry.type(name="CategorySpending", description="Spending in one category over the range.")
class CategorySpendingType:
    name: str = strawberry.field(description="The category's name, or \"Uncategorized\".")
    amount: Decimal = strawberry.field(description="Spending in it over the range, positive, in the base currency.")
    _category_id: strawberry.Private[uuid.UUID | None] = None

    @strawberry.field(description="The category; null for uncategorised spending.")
    async def category(self, info: Info) -> CategoryNode | None:
        return await category_node(info, self._category_id)


@strawberry.type(name="PeriodFlow", description="Money in and out over one period; transfers excluded.")
class PeriodFlowType:
    period: dt.date = strawberry.field(description="First day of the period.")
    income: Decimal = strawberry.field(description="Sum of money in (refunds included).")
    expenses: Decimal = strawberry.field(description="Sum of money out, as a positive number.")
    net: Decimal = strawberry.field(description="income - expenses.")

    @classmethod
    def of(cls, row: service.Flow) -> PeriodFlowType:
        return cls(period=row.period, income=row.income, expenses=row.expenses, net=row.net)


@strawberry.type(name="WalletSummary", description="Where money came from and went, and what is held now.")
class WalletSummaryType:
    currency: CurrencyCode = strawberry.field(description="The viewer's base currency; every amount here is in it.")
    total_balance: Decimal = strawberry.field(description="All account balances (an INVESTMENT account at its portfolio value at `to`: "
                                                 "cash plus holdings; a holding without a price at its cost, listed in "
                                                 "missingPrices), converted at the rate of `to`.")
    total_income: Decimal = strawberry.field(description="Money in during the range; transfers excluded.")
    total_expenses: Decimal = strawberry.field(description="Money out during the range, positive; transfers excluded.")
    net: Decimal = strawberry.field(description="totalIncome - totalExpenses.")
    savings_rate: Decimal | None = strawberry.field(
        description="A percentage: net / totalIncome * 100, to 2 places (banker's rounding), e.g. \"12.50\" for 12.5%; "
        "the same unit as Budget percentUsed. Null without income."
    )
    top_categories: list[CategorySpendingType] = strawberry.field(description="The five largest spending categories.")
    monthly_trend: list[PeriodFlowType] = strawberry.field(description="Income, expenses and net per month with activity.")
    missing_rates: list[MissingRateType] = strawberry.field(description="What could not be converted, if anything.")
    missing_prices: list[MissingPriceType] = strawberry.field(description="Holdings without a price at `to`, counted in "
                                                              "totalBalance at their cost; empty when every holding is priced.")
    complete: bool = strawberry.field(description="False when some amounts lacked an exchange rate (see missingRates); "
                                      "missingPrices says which holdings are counted at cost.")

    @classmethod
    def of(cls, row: service.Summary) -> WalletSummaryType:
        return cls(
            currency=row.currency, total_balance=row.total_balance, total_income=row.total_income,
            total_expenses=row.total_expenses, net=row.net, savings_rate=row.savings_rate,
            top_categories=[
                CategorySpendingType(_category_id=c.category_id, name=c.name, amount=c.amount)
                for c in row.top_categories
            ],
            monthly_trend=[PeriodFlowType.of(f) for f in row.monthly_trend],
            missing_rates=[MissingRateType.of(m) for m in row.missing_rates],
            missing_prices=[MissingPriceType.of(m) for m in row.missing_prices],
            complete=not row.missing_rates,
        )


@strawberry.type(name="Cashflow", description="Income, expenses and net per period, every period of the range.")
class CashflowType:
    currency: CurrencyCode = strawberry.field(description="The viewer's base currency; every amount here is in it.")
    buckets: list[PeriodFlowType] = strawberry.field(description="One per period of the range, oldest first, empty ones too.")
    missing_rates: list[MissingRateType] = strawberry.field(description="What could not be converted, if anything.")
    complete: bool = strawberry.field(description="False when some amounts lacked an exchange rate.")


@strawberry.type(name="NetWorthPoint", description="What the viewer owned, net, on one day.")
class NetWorthPointType:
    date: dt.date = strawberry.field(description="The day the value is for (a month end, or the last day of the range).")
    value: Decimal = strawberry.field(description="All balances that day (an INVESTMENT account at its portfolio "
                                        "value: cash plus holdings; a holding without a price at its cost, listed in "
                                        "missingPrices), converted to the base currency.")
    from_snapshot: bool = strawberry.field(description="True when recorded that day; false when derived from history.")


@strawberry.type(name="NetWorthHistory", description="Net worth at each month end of the range and on its last day.")
class NetWorthType:
    currency: CurrencyCode = strawberry.field(description="The viewer's base currency; every value here is in it.")
    points: list[NetWorthPointType] = strawberry.field(description="One per month end of the range and one on its last day, oldest first.")
    missing_rates: list[MissingRateType] = strawberry.field(description="What could not be converted, if anything.")
    missing_prices: list[MissingPriceType] = strawberry.field(description="Holdings without a price on some derived "
                                                              "points, counted there at their cost; empty when every "
                                                              "holding is priced.")
    complete: bool = strawberry.field(description="False when some balances lacked an exchange rate (see missingRates); "
                                      "missingPrices says which holdings are counted at cost.")


@strawberry.type(name="FxRate", description="1 base = rate quote, from date until the next rate of the pair.")
class FxRateType:
    base: CurrencyCode = strawberry.field(description="The currency converted from.")
    quote: CurrencyCode = strawberry.field(description="The currency converted to.")
    date: dt.date = strawberry.field(description="The first day the rate applies.")
    rate: Decimal = strawberry.field(description="How many units of quote one unit of base buys.")


@strawberry.type(name="WalletChange", description="The viewer's balances or summaries changed; re-query what is shown.")
class WalletChangeType:
    at: dt.datetime = strawberry.field(description="When the change was noticed (UTC).")

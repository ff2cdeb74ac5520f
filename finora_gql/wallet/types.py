"""GraphQL types of wallet analytics. Amounts are in the viewer's base currency."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import strawberry
from strawberry import relay

from finora_gql.wallet import service
from finora_gql.wallet.totals import Bucket, MissingRate

GranularityEnum = strawberry.enum(Bucket, name="Granularity", description="DAY, WEEK (from Monday) or MONTH buckets.")


@strawberry.type(name="MissingRate", description="Amounts in this currency between these days had no exchange rate "
                 "to the base currency and are left out of the totals; set one with setFxRate.")
class MissingRateType:
    currency: str
    first_day: dt.date
    last_day: dt.date

    @classmethod
    def of(cls, row: MissingRate) -> MissingRateType:
        return cls(currency=row.currency, first_day=row.first_day, last_day=row.last_day)


@strawberry.type(name="CategorySpending", description="Spending in one category over the range.")
class CategorySpendingType:
    category_id: relay.GlobalID | None = strawberry.field(description="Null for uncategorised spending.")
    name: str
    amount: Decimal


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
    currency: str = strawberry.field(description="The viewer's base currency; every amount here is in it.")
    total_balance: Decimal = strawberry.field(description="All account balances, converted at the rate of `to`.")
    total_income: Decimal = strawberry.field(description="Money in during the range; transfers excluded.")
    total_expenses: Decimal = strawberry.field(description="Money out during the range, positive; transfers excluded.")
    net: Decimal = strawberry.field(description="totalIncome - totalExpenses.")
    savings_rate: Decimal | None = strawberry.field(description="net / totalIncome (4 places); null without income.")
    top_categories: list[CategorySpendingType] = strawberry.field(description="The five largest spending categories.")
    monthly_trend: list[PeriodFlowType] = strawberry.field(description="Income, expenses and net per month with activity.")
    missing_rates: list[MissingRateType] = strawberry.field(description="What could not be converted, if anything.")
    complete: bool = strawberry.field(description="False when some amounts lacked an exchange rate.")

    @classmethod
    def of(cls, row: service.Summary) -> WalletSummaryType:
        return cls(
            currency=row.currency, total_balance=row.total_balance, total_income=row.total_income,
            total_expenses=row.total_expenses, net=row.net, savings_rate=row.savings_rate,
            top_categories=[
                CategorySpendingType(
                    category_id=relay.GlobalID("Category", str(c.category_id)) if c.category_id else None,
                    name=c.name, amount=c.amount,
                )
                for c in row.top_categories
            ],
            monthly_trend=[PeriodFlowType.of(f) for f in row.monthly_trend],
            missing_rates=[MissingRateType.of(m) for m in row.missing_rates],
            complete=not row.missing_rates,
        )


@strawberry.type(name="Cashflow", description="Income, expenses and net per period, every period of the range.")
class CashflowType:
    currency: str
    buckets: list[PeriodFlowType]
    missing_rates: list[MissingRateType]
    complete: bool


@strawberry.type(name="NetWorthPoint", description="What the viewer owned, net, on one day.")
class NetWorthPointType:
    date: dt.date
    value: Decimal
    from_snapshot: bool = strawberry.field(description="True when recorded that day; false when derived from history.")


@strawberry.type(name="NetWorthHistory", description="Net worth at each month end of the range and on its last day.")
class NetWorthType:
    currency: str
    points: list[NetWorthPointType]
    missing_rates: list[MissingRateType]
    complete: bool


@strawberry.type(name="FxRate", description="1 base = rate quote, from date until the next rate of the pair.")
class FxRateType:
    base: str
    quote: str
    date: dt.date
    rate: Decimal


@strawberry.type(name="WalletChange", description="The viewer's balances or summaries changed; re-query what is shown.")
class WalletChangeType:
    at: dt.datetime

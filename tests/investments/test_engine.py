"""The portfolio engine against published reference values and properties.

Reference values come from the test suites of the peers the issue names:
- Portfolio Performance, name.abuchen.portfolio.tests/.../math/IRRTest.java (XIRR against Excel)
  and .../snapshot/security/CostCalculationTest.java (FIFO and moving-average cost);
- Ghostfolio, apps/api/src/app/portfolio/calculator/roai/portfolio-calculator-novn-buy-and-sell-partially.spec.ts
  (test/import/ok/novn-buy-and-sell-partially.json) and
  portfolio-calculator-nvda-buy-with-split-and-sell.spec.ts (a 10:1 split, then a sale).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from finora_gql.investments.engine import (
    Act,
    ActivityError,
    CostMethod,
    Kind,
    Reason,
    Series,
    annualize,
    check,
    evaluate,
    solve_xirr,
)

D = Decimal
day = dt.date.fromisoformat


def flows(pairs: list[tuple[str, float]]) -> list[tuple[int, float]]:
    first = day(pairs[0][0])
    return [((day(d) - first).days, v) for d, v in pairs]


def xirr(pairs: list[tuple[str, float]]) -> float:
    result = solve_xirr(flows(pairs))
    assert result.reason is None, result
    assert result.rate is not None
    return float(result.rate)


# --- XIRR: Portfolio Performance's IRRTest --------------------------------------------------------


def test_xirr_simple_excel_case() -> None:  # IRRTest.testSimpleExcelTestCase
    assert round(xirr([("2010-01-01", -200), ("2010-12-31", 210)]), 8) == round(0.050140747, 8)


def test_xirr_complex_excel_case_with_slow_curve() -> None:  # IRRTest.testComplexExcelTestCaseWithSlowCurve
    rate = xirr([("2002-11-30", -4398), ("2007-06-11", 200), ("2008-05-11", 270), ("2009-05-01", 280),
                 ("2010-06-01", 280), ("2011-05-02", 300), ("2012-04-30", 330), ("2012-12-06", 14508)])
    assert rate == pytest.approx(0.1444629967, abs=1e-4)


def test_xirr_small_convergence_intervals() -> None:  # IRRTest.testSmallConvergenceInterval(_Issue5095)
    assert xirr([("2019-05-24", -1560.94), ("2020-01-13", -1160), ("2020-06-29", 42.80)]) == pytest.approx(
        -0.999251643, abs=1e-4)
    assert xirr([("2019-05-24", -9930.94), ("2019-06-21", 12.8), ("2020-01-13", -10240.0), ("2020-05-04", -9799.0),
                 ("2020-06-29", 396.56), ("2021-01-04", 23.2)]) == pytest.approx(-0.9998592, abs=1e-5)


@pytest.mark.parametrize(("end", "expected"), [
    (1.0, 0.0), (0.99, -0.974482035), (0.97, -0.999985151), (0.96, -0.999999661), (0.95, -0.999999992),
])
def test_xirr_over_one_day(end: float, expected: float) -> None:  # IRRTest.testSmallConvergenceInterval_Day
    assert xirr([("2000-01-01", -1.0), ("2000-01-02", end)]) == pytest.approx(expected, abs=1e-5)


@pytest.mark.parametrize(("end", "expected"), [
    (1e9, 999999999.0), (1e6, 999999.0), (1e3, 999.0), (1e2, 99.0), (10, 9.0), (1, 0.0), (0.1, -0.9),
    (0.01, -0.99), (1e-3, -0.999), (1e-4, -0.9999), (1e-5, -0.99999), (1e-6, -0.999999), (0.0, -1.0),
])
def test_xirr_over_one_year(end: float, expected: float) -> None:  # IRRTest.testYear
    assert xirr([("2001-01-01", -1.0), ("2002-01-01", end)]) == pytest.approx(expected, abs=1e-5)


def test_xirr_without_a_root_or_without_money_in_is_a_reason() -> None:
    assert solve_xirr([(0, 100.0), (10, 50.0)]).reason is Reason.NOTHING_INVESTED
    assert solve_xirr([]).reason is Reason.NOTHING_INVESTED
    # Paid in, paid out more, paid in again: NPV stays negative at every rate.
    no_root = solve_xirr([(0, -100.0), (365, 300.0), (730, -250.0)])
    assert no_root.rate is None and no_root.reason is Reason.NO_SOLUTION


@settings(max_examples=200, deadline=None)
@given(
    paid=st.decimals(min_value=D("1"), max_value=D("1000000"), places=2),
    factor=st.decimals(min_value=D("0.05"), max_value=D("20"), places=3),
    days=st.integers(min_value=30, max_value=3650),
)
def test_xirr_of_one_flow_pair_is_the_closed_form(paid: Decimal, factor: Decimal, days: int) -> None:
    received = paid * factor
    result = solve_xirr([(0, -float(paid)), (days, float(received))])
    closed = (received / paid) ** (D(365) / D(days)) - 1
    assert result.rate is not None
    assert float(result.rate) == pytest.approx(float(closed), rel=1e-9, abs=1e-9)


# --- cost basis: Portfolio Performance's CostCalculationTest ----------------------------------------

ACCOUNT = "acct"


def act(date: str, kind: Kind, quantity: str = "0", amount: str = "0", security: str | None = "S", seq: int = 0,
        **extra) -> Act:
    return Act(id=f"{date}-{kind}-{seq}", date=day(date), kind=kind, account=ACCOUNT, currency="EUR",
               security=security if kind in (Kind.BUY, Kind.SELL, Kind.SPLIT, Kind.TRANSFER_IN, Kind.TRANSFER_OUT,
                                             Kind.DIVIDEND) else None,
               quantity=D(quantity), amount=D(amount), seq=seq, **extra)


def run(activities: list[Act], start: str = "2000-01-01", end: str = "2010-12-31", prices=None,
        method: CostMethod = CostMethod.FIFO, granularity: str | None = None, rates=None, security_currency=None):
    series = {key: Series.of((day(d), D(p)) for d, p in points) for key, points in (prices or {"S": []}).items()}
    return evaluate(activities, currency="EUR", start=day(start), end=day(end),
                    security_currency=security_currency or dict.fromkeys(series, "EUR"), prices=series,
                    rates=rates or {}, method=method, granularity=granularity)


def rounded(value: Decimal) -> Decimal:
    return value.quantize(D("0.01"))


def test_fifo_and_moving_average_after_a_partial_sale() -> None:  # testFifoBuySellTransactions
    activities = [act("2010-01-01", Kind.BUY, "109", "3149.20"), act("2010-02-01", Kind.SELL, "15", "531.50"),
                  act("2010-03-01", Kind.BUY, "52", "1684.92", seq=1), act("2010-03-01", Kind.BUY, "32", "959.30", seq=2)]
    fifo = run(activities, method=CostMethod.FIFO)
    average = run(activities, method=CostMethod.AVERAGE)
    assert rounded(fifo.cost_basis) == D("5360.04")
    assert rounded(average.cost_basis) == D("5360.04")


def test_fifo_and_moving_average_differ_after_two_buys() -> None:  # testFifoBuySellTransactions2
    activities = [act("2010-01-01", Kind.BUY, "109", "3149.20"), act("2010-02-01", Kind.BUY, "52", "1684.92"),
                  act("2010-03-01", Kind.SELL, "15", "531.50")]
    assert rounded(run(activities, method=CostMethod.FIFO).cost_basis) == D("4400.74")
    assert rounded(run(activities, method=CostMethod.AVERAGE).cost_basis) == D("4383.74")


def test_cost_is_zero_when_the_shares_held_go_to_zero() -> None:  # testWhenSharesHeldGoToZero, testThatRounding...
    activities = [act("2010-01-01", Kind.BUY, "100", "3149.20"), act("2010-02-01", Kind.SELL, "100", "531.50"),
                  act("2010-03-01", Kind.BUY, "50", "1684.92"), act("2010-04-01", Kind.SELL, "50", "531.50")]
    for method in CostMethod:
        assert run(activities, method=method).cost_basis == 0
    thirds = [act("2010-01-01", Kind.BUY, "10", "1"), act("2010-02-01", Kind.SELL, "3", "1"),
              act("2010-03-01", Kind.SELL, "3", "1", seq=1), act("2010-03-01", Kind.SELL, "4", "1", seq=2)]
    for method in CostMethod:
        assert run(thirds, method=method).cost_basis == 0


# --- Ghostfolio's calculator specs ------------------------------------------------------------------


def test_novn_buy_and_sell_partially() -> None:
    """Ghostfolio: 2 NOVN.SW at 75.80 (fee 2.95), 1 sold at 85.73 (fee 1.30), market 87.80 on 2022-04-11:
    net performance 17.68, fees 4.25. Here fees are in the cost and deducted from the proceeds, so
    realized + unrealized is that net performance."""
    activities = [act("2022-03-07", Kind.BUY, "2", str(D("151.60") + D("2.95")), fee=D("2.95")),
                  act("2022-04-08", Kind.SELL, "1", str(D("85.73") - D("1.30")), fee=D("1.30"))]
    result = run(activities, start="2022-03-07", end="2022-04-11",
                 prices={"S": [("2022-03-07", "75.80"), ("2022-04-08", "85.73"), ("2022-04-11", "87.80")]})
    assert result.realized_gain + result.unrealized_gain == D("17.68")
    assert result.fees == D("4.25")
    (holding,) = result.holdings
    assert holding.quantity == 1 and holding.value == D("87.80")


def test_nvda_buy_before_a_ten_to_one_split_then_sell() -> None:
    """Ghostfolio: 1 NVDA at 1200, a 10:1 split, 10 sold at 125: gross performance 10 x (125 - 120) = 50."""
    activities = [act("2024-06-03", Kind.BUY, "1", "1200"),
                  act("2024-06-10", Kind.SPLIT, split_from=D(1), split_to=D(10)),
                  act("2024-06-14", Kind.SELL, "10", "1250")]
    for method in CostMethod:
        result = run(activities, start="2024-06-01", end="2024-06-14", method=method,
                     prices={"S": [("2024-06-03", "1200"), ("2024-06-10", "121"), ("2024-06-14", "125")]})
        assert result.realized_gain == 50
        assert result.holdings == [] and result.value == result.cash == 1250  # the proceeds, as cash


def test_chained_splits_adjust_quantity_and_unit_cost_exactly() -> None:
    activities = [act("2020-01-01", Kind.BUY, "7", "700"),
                  act("2020-02-01", Kind.SPLIT, split_from=D(1), split_to=D(4)),
                  act("2020-03-01", Kind.SPLIT, split_from=D(2), split_to=D(3))]
    result = run(activities, prices={"S": [("2020-01-01", "100")]}, end="2020-03-31")
    (holding,) = result.holdings
    assert holding.quantity == 42 and holding.cost_basis == 700
    assert abs(holding.average_cost - D(700) / D(42)) < D("1e-25")  # 16.666..., 40 digits
    assert [lot.quantity for lot in holding.lots] == [42]


def test_selling_more_than_held_and_a_split_of_nothing_are_errors_on_their_fields() -> None:
    with pytest.raises(ActivityError) as oversold:
        check([act("2020-01-01", Kind.BUY, "5", "50"), act("2020-01-02", Kind.SELL, "6", "60")])
    assert oversold.value.field == "quantity"
    with pytest.raises(ActivityError) as nothing:
        check([act("2020-01-02", Kind.SPLIT, split_from=D(1), split_to=D(2))])
    assert nothing.value.field == "symbol"


# --- time-weighted return ---------------------------------------------------------------------------


def test_twr_chains_daily_returns_with_flows_at_the_start_and_end_of_the_day() -> None:
    """Deposit 1000, buy 10 at 100; price 110 then 121 (+10% a day); 500 deposited on the last day counts
    from the day's start, earning nothing that day: (1100/1000) * (1710/(1100 + 500)) - 1. A withdrawal
    counts at the day's end: it leaves the day's return alone."""
    activities = [act("2021-01-01", Kind.DEPOSIT, amount="1000"), act("2021-01-01", Kind.BUY, "10", "1000", seq=1),
                  act("2021-01-03", Kind.DEPOSIT, amount="500")]
    result = run(activities, start="2021-01-02", end="2021-01-03",
                 prices={"S": [("2021-01-01", "100"), ("2021-01-02", "110"), ("2021-01-03", "121")]})
    assert result.start_value == 1000 and result.value == 1710
    assert result.twr.cumulative == D("1.1") * D(1710) / D(1600) - 1 == D("0.175625")
    assert result.twr.reason is None and result.twr.days_without_investment == 0
    assert result.total_return == 210
    assert result.twr.annualized == annualize(D("0.175625"), 2)
    withdrawn = run([act("2021-01-01", Kind.DEPOSIT, amount="1500"), activities[1],
                     act("2021-01-03", Kind.WITHDRAWAL, amount="500")], start="2021-01-02", end="2021-01-03",
                    prices={"S": [("2021-01-01", "100"), ("2021-01-02", "110"), ("2021-01-03", "121")]})
    assert withdrawn.twr.cumulative == D("0.14") and withdrawn.value == 1210  # 1600/1500 * (1210+500)/1600 - 1
    with pytest.raises(ActivityError) as overdrawn:
        check(activities[:2] + [act("2021-01-03", Kind.WITHDRAWAL, amount="500")])
    assert overdrawn.value.field == "amount"


def test_twr_survives_a_full_withdrawal() -> None:
    """Wealthfolio's TWR goes to -100% after a full withdrawal; here the idle days count 0."""
    activities = [act("2021-01-01", Kind.DEPOSIT, amount="100"), act("2021-01-02", Kind.WITHDRAWAL, amount="100")]
    result = run(activities, start="2021-01-01", end="2021-01-05")
    assert result.twr.cumulative == 0 and result.twr.days_without_investment == 3
    assert result.value == 0


def test_nothing_invested_is_a_reason_not_zero() -> None:
    result = run([], start="2021-01-01", end="2021-01-05")
    assert (result.twr.cumulative, result.twr.reason) == (None, Reason.NOTHING_INVESTED)
    assert (result.xirr.rate, result.xirr.reason) == (None, Reason.NOTHING_INVESTED)


def test_a_missing_price_or_rate_is_a_reason() -> None:
    activities = [act("2021-01-05", Kind.BUY, "1", "10")]
    result = run(activities, start="2021-01-01", end="2021-01-10", prices={"S": [("2021-01-07", "11")]})
    assert result.twr.reason is Reason.MISSING_PRICE and result.value is not None  # priced by the end
    assert result.xirr.reason is Reason.MISSING_PRICE
    assert result.missing[0].day == day("2021-01-05")
    usd = run(activities, start="2021-01-01", end="2021-01-10", prices={"S": [("2021-01-01", "11")]},
              security_currency={"S": "USD"})
    assert usd.value is None and usd.twr.reason is Reason.MISSING_FX_RATE
    assert usd.holdings[0].value is None and usd.unrealized_gain is None


def test_multi_currency_values_through_daily_rates() -> None:
    """A USD security in a EUR portfolio bought from a EUR account: cost at the purchase day's rate,
    value at the end's."""
    rates = {"USD": Series.of([(day("2021-01-01"), D("0.8")), (day("2021-01-03"), D("0.9"))])}
    activities = [act("2021-01-01", Kind.BUY, "10", "80")]
    result = run(activities, start="2021-01-01", end="2021-01-03", prices={"S": [("2021-01-01", "10")]},
                 rates=rates, security_currency={"S": "USD"})
    assert result.value == D("90.0") and result.cost_basis == 80 and result.unrealized_gain == 10
    assert result.holdings[0].price == 10


def test_history_by_week_and_month() -> None:
    activities = [act("2021-01-01", Kind.BUY, "1", "100")]
    result = run(activities, start="2021-01-01", end="2021-03-10", prices={"S": [("2021-01-01", "100")]},
                 granularity="MONTH")
    assert [p.date for p in result.history] == [day("2021-01-31"), day("2021-02-28"), day("2021-03-10")]
    assert result.history[0].net_inflow == 100 and result.history[1].net_inflow == 0
    weekly = run(activities, start="2021-01-01", end="2021-01-20", prices={"S": [("2021-01-01", "100")]},
                 granularity="WEEK")
    assert [p.date.weekday() for p in weekly.history[:-1]] == [6, 6, 6]


# --- properties -------------------------------------------------------------------------------------

prices_strategy = st.lists(st.decimals(min_value=D("1"), max_value=D("500"), places=2), min_size=30, max_size=30)


def _history(closes: list[Decimal]) -> dict[str, list[tuple[str, str]]]:
    first = day("2022-01-01")
    return {"S": [((first + dt.timedelta(days=k)).isoformat(), str(c)) for k, c in enumerate(closes)]}


@settings(max_examples=60, deadline=None)
@given(closes=prices_strategy, extra=st.decimals(min_value=D("1"), max_value=D("100000"), places=2),
       on=st.integers(min_value=1, max_value=28))
def test_twr_is_unchanged_by_a_same_day_deposit_and_withdrawal(closes, extra, on) -> None:
    base = [act("2022-01-01", Kind.DEPOSIT, amount="5000"), act("2022-01-01", Kind.BUY, "10", str(closes[0] * 10), seq=1),
            act("2022-01-10", Kind.BUY, "3", str(closes[9] * 3), seq=2)]
    when = (day("2022-01-01") + dt.timedelta(days=on)).isoformat()
    more = base + [act(when, Kind.DEPOSIT, amount=str(extra), seq=3), act(when, Kind.WITHDRAWAL, amount=str(extra), seq=4)]
    plain = run(base, start="2022-01-02", end="2022-01-30", prices=_history(closes))
    padded = run(more, start="2022-01-02", end="2022-01-30", prices=_history(closes))
    assert plain.twr.cumulative is not None and padded.twr.cumulative is not None
    assert abs(plain.twr.cumulative - padded.twr.cumulative) < D("1e-25")


trades = st.lists(st.tuples(st.integers(min_value=1, max_value=50), st.decimals(min_value=D("1"), max_value=D("999"),
                                                                                   places=2)), min_size=1, max_size=8)


@settings(max_examples=100, deadline=None)
@given(buys=trades, sells=st.lists(st.integers(min_value=1, max_value=100), max_size=5), proceeds=st.decimals(
    min_value=D("0"), max_value=D("99999"), places=2))
def test_fifo_and_average_agree_after_selling_everything(buys, sells, proceeds) -> None:
    activities, held = [], 0
    for k, (quantity, amount) in enumerate(buys):
        activities.append(act("2022-01-01", Kind.BUY, str(quantity), str(amount), seq=k))
        held += quantity
    seq = len(activities)
    for quantity in sells:  # partial sales, as long as something is left for the last one
        if quantity < held:
            activities.append(act("2022-02-01", Kind.SELL, str(quantity), "10", seq=seq))
            held -= quantity
            seq += 1
    activities.append(act("2022-03-01", Kind.SELL, str(held), str(proceeds), seq=seq))
    fifo = run(activities, method=CostMethod.FIFO, prices={"S": [("2022-01-01", "1")]}, end="2022-03-31")
    average = run(activities, method=CostMethod.AVERAGE, prices={"S": [("2022-01-01", "1")]}, end="2022-03-31")
    assert fifo.cost_basis == average.cost_basis == 0
    assert abs(fifo.realized_gain - average.realized_gain) < D("1e-30")


@settings(max_examples=100, deadline=None)
@given(buys=trades, ratios=st.lists(st.tuples(st.integers(min_value=1, max_value=20),
                                              st.integers(min_value=1, max_value=20)), min_size=1, max_size=4))
def test_splits_never_change_cost_basis(buys, ratios) -> None:
    activities = [act("2022-01-01", Kind.BUY, str(q), str(a), seq=k) for k, (q, a) in enumerate(buys)]
    before = {m: run(activities, method=m, end="2022-01-31").cost_basis for m in CostMethod}
    for k, (split_from, split_to) in enumerate(ratios):
        activities.append(act(f"2022-01-{10 + k:02d}", Kind.SPLIT, split_from=D(split_from), split_to=D(split_to), seq=k))
    for method in CostMethod:
        assert run(activities, method=method, end="2022-01-31").cost_basis == before[method]


def test_a_checkpoint_gives_the_same_figures_as_the_full_replay() -> None:
    from finora_gql.investments.engine import Book, order

    activities = [act("2021-03-01", Kind.DEPOSIT, amount="5000"), act("2021-03-02", Kind.BUY, "10", "1000", seq=1),
                  act("2021-06-01", Kind.BUY, "5", "600", seq=2), act("2021-09-01", Kind.SELL, "12", "1500", seq=3),
                  act("2022-02-01", Kind.SPLIT, split_from=D(1), split_to=D(3), seq=4),
                  act("2022-03-01", Kind.SELL, "3", "200", seq=5), act("2022-04-01", Kind.DIVIDEND, amount="7", seq=6)]
    prices = {"S": [("2021-03-01", "100"), ("2021-12-31", "120"), ("2022-02-01", "40"), ("2022-06-30", "45")]}
    for method in CostMethod:
        full = run(activities, start="2022-01-01", end="2022-06-30", prices=prices, method=method, granularity="DAY")
        book = Book(lambda code, day: D(1))
        for item in order(a for a in activities if a.date <= day("2021-12-31")):
            book.apply(item, counted=False, market_price=lambda s, d: None)
        state = book.export()
        later = [a for a in activities if a.date > day("2021-12-31")]
        series = {"S": Series.of((day(d), D(p)) for d, p in prices["S"])}
        resumed = evaluate(later, currency="EUR", start=day("2022-01-01"), end=day("2022-06-30"),
                           security_currency={"S": "EUR"}, prices=series, rates={}, method=method, granularity="DAY",
                           checkpoints=[(state, lambda text: {ACCOUNT: ACCOUNT, "S": "S"}[text])])
        assert resumed == full


def test_a_cost_without_a_rate_keeps_the_units_and_nulls_the_cost_figures() -> None:
    """A EUR purchase in a USD... here: an account in USD reported in EUR, no USD rate on the buy day."""
    rates = {"USD": Series.of([(day("2021-01-05"), D("0.9"))])}
    activities = [Act(id="b", date=day("2021-01-02"), kind=Kind.BUY, account=ACCOUNT, currency="USD", security="S",
                      quantity=D(10), amount=D(100))]
    result = run(activities, start="2021-01-01", end="2021-01-10", prices={"S": [("2021-01-01", "10")]},
                 rates=rates, security_currency={"S": "USD"})
    assert result.holdings[0].quantity == 10 and result.value == D(90)  # valued at the end's rate
    assert (result.cost_basis, result.unrealized_gain, result.realized_gain) == (None, None, None)
    assert result.holdings[0].cost_basis is None
    assert any(m.reason is Reason.MISSING_FX_RATE and m.subject == "USD" for m in result.missing)


def test_transfers_move_units_with_their_cost_and_count_at_market_as_flows() -> None:
    activities = [act("2021-01-04", Kind.TRANSFER_IN, "10", "500"), act("2021-01-06", Kind.TRANSFER_OUT, "4", seq=1)]
    prices = {"S": [("2021-01-01", "60"), ("2021-01-05", "66"), ("2021-01-06", "72.60")]}
    result = run(activities, start="2021-01-01", end="2021-01-06", prices=prices)
    assert result.net_inflow == 600 - D("290.40")  # in at 10 x 60, out at 4 x 72.60
    assert result.cost_basis == 300 and result.realized_gain == 0  # FIFO: 6 of the lot's 500 left
    assert result.value == D("435.60")  # 6 x 72.60
    assert result.twr.cumulative == D("0.21")  # 60 -> 66 -> 72.60, the transfers don't count as return


def test_ledger_movements_share_the_cash_book() -> None:
    """Ledger movements are deposits and withdrawals of the same cash: an opening balance pays for
    a purchase (no implicit deposit), a ledger withdrawal may overdraw the account without an error,
    and an activity never takes cash below where the ledger left it."""
    opening = act("1900-01-01", Kind.DEPOSIT, amount="1000", ledger=True)
    buy = act("2021-01-02", Kind.BUY, "5", "500")
    result = run([opening, buy], start="2021-01-01", end="2021-01-03", prices={"S": [("2021-01-02", "100")]})
    assert result.cash == 500 and result.value == 1000 and result.net_inflow == 0  # the opening is before the range
    overdrawn = act("2021-01-03", Kind.WITHDRAWAL, amount="800", ledger=True)
    check([opening, buy, overdrawn])  # the ledger is never refused
    fee = act("2021-01-04", Kind.FEE, amount="10", security=None)
    result = run([opening, buy, overdrawn, fee], start="2021-01-03", end="2021-01-04",
                 prices={"S": [("2021-01-02", "100")]})
    # -300 after the ledger; the fee brings its own 10 in (an implicit deposit), so cash stays -300.
    assert result.cash == -300 and result.value == 200 and result.net_inflow == -800 + 10
    with pytest.raises(ActivityError):  # a WITHDRAWAL activity beyond the cash is still an error
        check([opening, act("2021-01-02", Kind.WITHDRAWAL, amount="1001")])
    check([opening, act("2021-01-02", Kind.WITHDRAWAL, amount="1000")])

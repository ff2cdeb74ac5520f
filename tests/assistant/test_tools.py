"""The tools on their own: scoped to the person, strict schemas, and errors returned as data with a hint."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from finora_gql.assistant import answers, planner, question, tools
from finora_gql.assistant.generation import WRITE_REQUEST
from finora_gql.core.errors import Collector, ErrorCode, ServiceError
from finora_gql.core.viewer import Viewer
from tests.assistant.test_assistant_flow import _spender
from tests.flows import node_uuid
from tests.investments.invest_flows import PORTFOLIO, investment_account, recorded, set_price
from tests.server import RunningServer


async def _run(server: RunningServer, user_id: str) -> tools.ToolRun:
    viewer = Viewer.acting_for(node_uuid(user_id))
    async with server.runtime.sessions() as session:
        names = await tools.load_names(session, viewer)
    return tools.ToolRun(rt=server.runtime, viewer=viewer, names=names, message_id=uuid.uuid4())


async def test_schemas_are_strict_and_use_the_persons_names(server: RunningServer) -> None:
    user, _, _ = await _spender(server)
    run = await _run(server, user.user_id)
    for schema in tools.schemas(run.names):
        function = schema["function"]
        parameters = function["parameters"]
        assert function["strict"] is True and parameters["additionalProperties"] is False
        assert set(parameters["required"]) == set(parameters["properties"])
        assert function["description"]
    search = next(s for s in tools.schemas(run.names) if s["function"]["name"] == "search_transactions")
    assert search["function"]["parameters"]["properties"]["account"]["enum"] == ["Everyday Checking", None]
    assert "Blue Bottle Coffee" in run.names.merchants


async def test_errors_come_back_as_data_with_a_hint(server: RunningServer) -> None:
    user, _, _ = await _spender(server)
    run = await _run(server, user.user_id)
    ok, result = await tools.run_tool(run, "spending_by_category", {"date_from": None, "date_to": None, "category": "Yachts"})
    assert not ok and "Yachts" in result["error"] and "Groceries" in result["hint"]
    ok, result = await tools.run_tool(run, "delete_everything", {})
    assert not ok and "no tool" in result["error"] and "search_transactions" in result["hint"]
    ok, result = await tools.run_tool(run, "budget_status", {"month": "last Tuesday"})
    assert not ok and result["hint"] == "Give month as YYYY-MM."
    ok, result = await tools.run_tool(run, "simulate_budget", {"category": "Groceries", "month": None,
                                                               "adjustment_percent": "-20", "new_limit": None})
    assert not ok and "no budget" in result["error"].lower() and result["hint"]  # the service's own refusal
    ok, result = await tools.run_tool(run, "search_transactions", {"merchant": "blue botle", "date_from": "2000-01-01"})
    assert ok and result["merchant"] == "Blue Bottle Coffee" and result["count"] == 2


async def test_a_service_refusal_gives_the_model_every_problem(server: RunningServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """A service that collects its input's errors refuses with all of them; the model sees each."""
    user, _, _ = await _spender(server)
    run = await _run(server, user.user_id)

    async def strict_service(session, run, args):  # noqa: ANN001, ANN202 - a stand-in tool over a collecting service
        errors = Collector()
        for field in ("name", "limit"):
            errors.add(ServiceError(ErrorCode.INVALID, f"{field} is wrong.", field))
        errors.raise_any()

    monkeypatch.setitem(tools.HANDLERS, "strict_service", strict_service)
    ok, result = await tools.run_tool(run, "strict_service", {})
    assert not ok and (result["error"], result["field"]) == ("name is wrong.", "name")
    assert result["problems"] == [{"error": "name is wrong.", "field": "name"}, {"error": "limit is wrong.", "field": "limit"}]
    assert result["hint"]


async def test_tools_see_only_the_persons_rows(server: RunningServer) -> None:
    ann, _, _ = await _spender(server)
    bob, _, _ = await _spender(server)
    run = await _run(server, bob.user_id)
    ok, result = await tools.run_tool(run, "search_transactions", {"date_from": "2000-01-01"})
    assert ok and result["count"] == 3  # Bob's three, not Ann's
    ok, result = await tools.run_tool(run, "list_accounts", {})
    assert ok and len(result["accounts"]) == 1
    assert ann.user_id != bob.user_id


def test_write_requests_need_a_verb_of_change() -> None:
    assert WRITE_REQUEST.search("Set my groceries budget to $400")
    assert WRITE_REQUEST.search('Always categorize "Uber" as Transport')
    assert not WRITE_REQUEST.search("How is my groceries budget doing?")
    assert not WRITE_REQUEST.search("Show my transactions at Fresh Market this month")


async def test_portfolio_tool_gives_the_api_figures_or_says_why_not(server: RunningServer) -> None:
    user, _, _ = await _spender(server)
    token = user.access_token
    asked = {"account": None, "date_from": None, "date_to": None, "cost_method": None}
    ok, result = await tools.run_tool(await _run(server, user.user_id), "portfolio", asked)
    assert not ok and "no investment accounts" in result["error"]

    broker = await investment_account(server, token, name="Broker")
    today = dt.date.today()
    day = today - dt.timedelta(days=10)
    await recorded(server, token, broker["id"], kind="DEPOSIT", date=str(day), amount="1000.00")
    await recorded(server, token, broker["id"], kind="BUY", date=str(day), symbol="ZZTOP", quantity="3", price="100",
                   fee="1.50")
    run = await _run(server, user.user_id)
    schema = next(s for s in tools.schemas(run.names) if s["function"]["name"] == "portfolio")["function"]
    assert schema["parameters"]["properties"]["account"]["enum"] == ["Broker", None]
    asked = {**asked, "account": "broker", "date_from": str(day), "date_to": str(today)}
    # No close for ZZTOP yet: the value is unknown, and says why (never 0).
    ok, result = await tools.run_tool(run, "portfolio", asked)
    assert ok and result["value"] is None and result["unavailable"]["value"] == "MISSING_PRICE"
    assert result["missing"][0]["subject"] == "ZZTOP" and result["fees"] == "1.50"
    text = answers.write(question.read_question("what's my portfolio worth?", {"today": str(today)}), {},
                         [("portfolio", asked, result)])
    assert "unavailable (missing price)" in text and " 0.00 USD" not in text.split("cash")[0]

    assert (await set_price(server, token, "ZZTOP", str(day), "110"))["errors"] == []
    ok, result = await tools.run_tool(run, "portfolio", asked)
    api = (await server.gql(PORTFOLIO, {"from": str(day), "to": str(today)}, token=token))["data"]["portfolio"]
    assert ok and result["unavailable"] == {} and result["value"] == api["value"] == "1028.50"
    for key in ("cash", "costBasis", "unrealizedGain", "fees", "netInflow", "totalReturn"):
        assert result[{"costBasis": "cost_basis", "unrealizedGain": "unrealized_gain", "netInflow": "net_inflow",
                       "totalReturn": "total_return"}.get(key, key)] == api[key], key
    assert [(h["symbol"], h["quantity"], h["value"]) for h in result["holdings"]] == [
        (h["symbol"], h["quantity"], h["value"]) for h in api["holdings"]]


async def test_the_portfolio_tool_sees_only_the_persons_investments(server: RunningServer) -> None:
    ann, _, _ = await _spender(server)
    bob, _, _ = await _spender(server)
    day = dt.date.today() - dt.timedelta(days=5)
    for person, name, symbol in ((ann, "Ann Broker", "ANNCO"), (bob, "Bob Broker", "BOBCO")):
        broker = await investment_account(server, person.access_token, name=name)
        await recorded(server, person.access_token, broker["id"], kind="DEPOSIT", date=str(day), amount="500.00")
        await recorded(server, person.access_token, broker["id"], kind="BUY", date=str(day), symbol=symbol,
                       quantity="2", price="100")
    run = await _run(server, bob.user_id)
    assert list(run.names.investment_accounts) == ["Bob Broker"] and "ANNCO" not in run.names.securities
    asked = {"account": "Ann Broker", "date_from": str(day), "date_to": None, "cost_method": None}
    ok, result = await tools.run_tool(run, "portfolio", asked)
    assert not ok and "Ann Broker" in result["error"] and "Bob Broker" in result["hint"]
    ok, result = await tools.run_tool(run, "portfolio", {**asked, "account": None})
    assert ok and [h["symbol"] for h in result["holdings"]] == ["BOBCO"], result


def test_advice_is_refused_while_the_figures_are_given() -> None:
    ctx = {"today": "2026-12-08", "investment_accounts": ["Broker"], "securities": ["AAPL"]}
    asked = question.read_question("should I sell my Apple shares?", ctx)
    assert asked.intent == "securities_advice"
    [(name, args)] = planner.plan(asked, ctx)
    assert name == "portfolio"
    result = {"period": {"from": "2026-01-01", "to": "2026-12-08"}, "currency": "USD", "unavailable": {}, "holdings": [
        {"symbol": "AAPL", "quantity": "12", "price": "176.18", "price_date": "2026-12-08", "stale": False,
         "value": "2114.16", "cost_basis": "2273.37", "unrealized_gain": "-159.21"}]}
    text = answers.write(asked, ctx, [(name, args, result)])
    assert text.startswith("I can't give advice on buying or selling") and "2,114.16 USD" in text
    assert not any(word in text.lower() for word in ("you should", "recommend", "consider selling"))


def test_two_part_questions_ask_for_each_part() -> None:
    ctx = {"today": "2026-12-08", "categories": ["Groceries", "Transport", "Shopping"], "merchants": ["Uber", "Lyft"],
           "accounts": ["Everyday Checking", "High-Yield Savings"]}
    spent = planner.plan(question.read_question("transport and shopping last month?", ctx), ctx)
    assert [args["category"] for _, args in spent] == ["Transport", "Shopping"]
    rides = planner.plan(question.read_question("uber + lyft last month?", ctx), ctx)
    assert [args["merchant"] for _, args in rides] == ["Uber", "Lyft"]
    compared = planner.plan(question.read_question("groceries last month vs the month before", ctx), ctx)
    assert [args["date_from"] for _, args in compared] == ["2026-11-01", "2026-10-01"]
    both = question.read_question("checking + savings combined", ctx)
    assert both.extras["accounts"] == ["Everyday Checking", "High-Yield Savings"]
    flow = planner.plan(question.read_question("cashflow for sept and oct", ctx), ctx)
    assert flow[0][1]["date_from"] == "2026-09-01" and flow[0][1]["date_to"] == "2026-10-31"


def test_market_forecasts_are_declined_without_tools() -> None:
    ctx = {"today": "2026-12-08", "investment_accounts": ["Brokerage"], "securities": ["AAPL"]}
    asked = question.read_question("what will the stock market do next year?", ctx)
    assert planner.plan(asked, ctx) == []
    assert answers.write(asked, ctx, []).startswith("I can't predict markets")
    assert question.read_question("should i dump my AAPL", ctx).intent == "securities_advice"

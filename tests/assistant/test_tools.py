"""The tools on their own: scoped to the person, strict schemas, and errors returned as data with a hint."""

from __future__ import annotations

import uuid

from finora_gql.assistant import tools
from finora_gql.assistant.generation import WRITE_REQUEST
from finora_gql.core.viewer import Viewer
from tests.assistant.test_assistant_flow import _spender
from tests.flows import node_uuid
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

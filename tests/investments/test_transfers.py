"""transferSecurities over HTTP: a position moves between two of a person's accounts with its lots'
first days and cost, as a linked pair deleted together; the payload errors name the field."""

from __future__ import annotations

from tests.flows import signed_in_user
from tests.investments.invest_flows import (
    DELETE,
    ERRORS,
    UPDATE,
    errors_of,
    investment_account,
    portfolio,
    recorded,
    set_price,
)
from tests.ledger.ledger_flows import create_account
from tests.server import RunningServer

TRANSFER = f"""mutation($input: TransferSecuritiesInput!) {{ transferSecurities(input: $input) {{
  transferOut {{ id kind date quantity amount linkedTransfer account {{ id }} }}
  transfersIn {{ id kind date quantity amount lotDate linkedTransfer account {{ id }} }} {ERRORS} }} }}"""


async def _transfer(server: RunningServer, token: str, **input: str) -> dict:
    body = await server.gql(TRANSFER, {"input": {"symbol": "MOVX", "date": "2024-01-05", **input}}, token=token)
    assert "errors" not in body, body
    return body["data"]["transferSecurities"]


async def test_a_transfer_carries_the_lots_and_is_deleted_as_a_pair(server: RunningServer) -> None:
    ann = await signed_in_user(server)
    token = ann.access_token
    source = (await investment_account(server, token, name="Old broker"))["id"]
    target = (await investment_account(server, token, name="New broker"))["id"]
    await recorded(server, token, source, kind="BUY", date="2022-01-10", symbol="MOVX", quantity="10", price="10")
    await recorded(server, token, source, kind="BUY", date="2022-06-01", symbol="MOVX", quantity="5", price="12")
    await recorded(server, token, source, kind="SPLIT", date="2023-01-01", symbol="MOVX", splitFrom="1", splitTo="2")
    await set_price(server, token, "MOVX", "2023-12-29", "8")
    before = await portfolio(server, token, "2024-01-01", "2024-01-31")
    before_average = await portfolio(server, token, "2024-01-01", "2024-01-31", method="AVERAGE")

    moved = await _transfer(server, token, fromAccountId=source, toAccountId=target, quantity="25", note="Moved")
    assert moved["errors"] == []
    out, ins = moved["transferOut"], moved["transfersIn"]
    assert (out["kind"], out["quantity"], out["amount"], out["linkedTransfer"]) == (
        "TRANSFER_OUT",
        "25",
        "130.00",
        True,
    )
    assert [(i["lotDate"], i["quantity"], i["amount"], i["account"]["id"]) for i in ins] == [
        ("2022-01-10", "20", "100.00", target),
        ("2022-06-01", "5", "30.00", target),
    ]

    moved_in = await portfolio(server, token, "2024-01-01", "2024-01-31", ids=[target])
    holding = moved_in["holdings"][0]
    assert (holding["quantity"], holding["costBasis"]) == ("25", "130.00")
    assert [(lot["date"], lot["quantity"], lot["cost"]) for lot in holding["lots"]] == [
        ("2022-01-10", "20", "100.00"),
        ("2022-06-01", "5", "30.00"),
    ]
    left = await portfolio(server, token, "2024-01-01", "2024-01-31", ids=[source])
    assert (left["holdings"][0]["quantity"], left["holdings"][0]["costBasis"]) == ("5", "30.00")
    both = await portfolio(server, token, "2024-01-01", "2024-01-31")
    assert both["netInflow"] == "0.00" and both["value"] == before["value"] and both["costBasis"] == before["costBasis"]
    assert both["twr"] == before["twr"]
    # By moving average the target starts from the source's average (160 for 30 units: 25 carry 133.33).
    averaged = await portfolio(server, token, "2024-01-01", "2024-01-31", method="AVERAGE")
    assert averaged["costBasis"] == before_average["costBasis"] == "160.00"
    moved_average = await portfolio(server, token, "2024-01-01", "2024-01-31", ids=[target], method="AVERAGE")
    assert moved_average["costBasis"] == "133.33"

    # Payload errors on the right fields.
    too_many = await _transfer(server, token, fromAccountId=source, toAccountId=target, quantity="6")
    assert errors_of(too_many) == [("INVALID", "quantity")] and too_many["transferOut"] is None
    same = await _transfer(server, token, fromAccountId=source, toAccountId=source, quantity="1")
    assert errors_of(same) == [("INVALID", "toAccountId")]
    checking = (await create_account(server, token, name="Checking", currency="USD", type="CHECKING"))["id"]
    assert errors_of(await _transfer(server, token, fromAccountId=checking, toAccountId=target, quantity="1")) == [
        ("INVALID", "fromAccountId")
    ]
    bob = await signed_in_user(server)
    bobs = (await investment_account(server, bob.access_token))["id"]
    assert errors_of(await _transfer(server, token, fromAccountId=source, toAccountId=bobs, quantity="1")) == [
        ("NOT_FOUND", "toAccountId")
    ]
    assert errors_of(
        await _transfer(server, bob.access_token, fromAccountId=source, toAccountId=bobs, quantity="1")
    ) == [("NOT_FOUND", "fromAccountId")]

    # Not edited; deleting one side deletes the whole transfer.
    edited = await server.gql(UPDATE, {"input": {"id": ins[0]["id"], "quantity": "1"}}, token=token)
    assert errors_of(edited["data"]["updateInvestmentActivity"]) == [("INVALID", "id")]
    deleted = (await server.gql(DELETE, {"id": ins[1]["id"]}, token=token))["data"]["deleteInvestmentActivity"]
    assert deleted["errors"] == [] and sorted(deleted["deletedIds"]) == sorted([out["id"]] + [i["id"] for i in ins])
    back = await portfolio(server, token, "2024-01-01", "2024-01-31", ids=[source])
    assert (back["holdings"][0]["quantity"], back["holdings"][0]["costBasis"]) == ("30", "160.00")

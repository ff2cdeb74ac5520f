"""CSV import of investment activities and of prices over HTTP: preview, row errors, duplicates, undo."""

from __future__ import annotations

from tests.flows import signed_in_user
from tests.investments.invest_flows import ACTIVITIES, errors_of, investment_account, portfolio, recorded
from tests.server import RunningServer

IMPORT = """mutation($input: ImportInvestmentActivitiesInput!) { importInvestmentActivities(input: $input) {
  importId dryRun rows added { line kind date symbol quantity amount fee tax } duplicates
  rowErrors { line field message } errors { code field message } } }"""
UNDO = """mutation($id: String!) { undoInvestmentImport(input: {importId: $id}) { removed
  errors { code field message } } }"""
PRICES = """mutation($csv: String!) { importPrices(input: {csv: $csv}) { stored rowErrors { line field message }
  errors { code field message } } }"""

FILE = """Date;Type;Ticker;Shares;Price;Total;Fees;Note
02.01.2024;Deposit;;;;5.000,00;;opening
03.01.2024;Buy;CSVCO;10;100,00;;1,00;
03.01.2024;Buy;CSVCO;10;100,00;;1,00;
15.02.2024;Sell;CSVCO;25;110,00;;;too many
15.02.2024;Sell;CSVCO;5;110,00;;1,00;
31.13.2024;Buy;CSVCO;1;1;;;bad date
01.03.2024;Swap;CSVCO;1;1;;;bad kind
01.03.2024;Dividend;CSVCO;;;12,50;;
"""


async def run(server: RunningServer, token: str, account: str, csv: str, dry_run: bool) -> dict:
    body = await server.gql(IMPORT, {"input": {"accountId": account, "csv": csv, "dryRun": dry_run}}, token=token)
    assert "errors" not in body, body
    return body["data"]["importInvestmentActivities"]


async def test_import_preview_row_errors_duplicates_and_undo(server: RunningServer) -> None:
    ann = await signed_in_user(server)
    token = ann.access_token
    account = (await investment_account(server, token, currency="EUR"))["id"]
    await recorded(server, token, account, kind="BUY", date="2024-01-03", symbol="CSVCO", quantity="10", price="100",
                   fee="1")

    preview = await run(server, token, account, FILE, dry_run=True)
    assert preview["dryRun"] is True and preview["importId"] is None and preview["rows"] == 8
    assert [(r["line"], r["kind"], r["symbol"], r["quantity"], r["amount"]) for r in preview["added"]] == [
        (2, "DEPOSIT", None, None, "5000.00"), (6, "SELL", "CSVCO", "5", "549.00"), (9, "DIVIDEND", "CSVCO", None, "12.50")]
    # Line 3 equals the activity already recorded; line 4 equals line 3.
    assert preview["duplicates"] == [3, 4]
    assert [(e["line"], e["field"]) for e in preview["rowErrors"]] == [(5, "quantity"), (7, "date"), (8, "kind")]
    listed = (await server.gql(ACTIVITIES, {"ids": [account]}, token=token))["data"]["investmentActivities"]
    assert len(listed) == 1  # a preview keeps nothing

    done = await run(server, token, account, FILE, dry_run=False)
    assert done["importId"] and len(done["added"]) == 3 and done["errors"] == []
    listed = (await server.gql(ACTIVITIES, {"ids": [account]}, token=token))["data"]["investmentActivities"]
    assert [a["kind"] for a in listed] == ["DEPOSIT", "BUY", "SELL", "DIVIDEND"]
    again = await run(server, token, account, FILE, dry_run=False)
    assert again["added"] == [] and again["duplicates"] == [2, 3, 4, 6, 9] and again["importId"] is None

    # Another person can't undo it; undoing removes exactly the import's rows.
    bob = await signed_in_user(server)
    refused = (await server.gql(UNDO, {"id": done["importId"]}, token=bob.access_token))["data"]["undoInvestmentImport"]
    assert errors_of(refused) == [("NOT_FOUND", "importId")]
    undone = (await server.gql(UNDO, {"id": done["importId"]}, token=token))["data"]["undoInvestmentImport"]
    assert undone == {"removed": 3, "errors": []}
    listed = (await server.gql(ACTIVITIES, {"ids": [account]}, token=token))["data"]["investmentActivities"]
    assert [a["kind"] for a in listed] == ["BUY"]

    # A file without the columns it needs is refused as a whole.
    bad = await run(server, token, account, "Symbol;Price\nX;1\n", dry_run=True)
    assert errors_of(bad) == [("INVALID", "csv")]


async def test_import_prices(server: RunningServer) -> None:
    ann = await signed_in_user(server)
    token = ann.access_token
    account = (await investment_account(server, token))["id"]
    await recorded(server, token, account, kind="BUY", date="2024-01-02", symbol="PRCO", quantity="4", price="10")
    csv = "symbol,date,close,currency\nPRCO,2024-01-02,10.00,USD\nPRCO,2024-01-31,12.5,USD\nPRCO,2024-02-30,1,USD\n"
    result = (await server.gql(PRICES, {"csv": csv}, token=token))["data"]["importPrices"]
    assert result["stored"] == 2 and [(e["line"], e["field"]) for e in result["rowErrors"]] == [(4, "date")]
    figures = await portfolio(server, token, "2024-01-01", "2024-01-31")
    assert figures["value"] == "50.00" and figures["holdings"][0]["priceSource"] == "CSV"


async def test_import_through_the_import_pipeline(server: RunningServer) -> None:
    """startImport into an INVESTMENT account: the import job checks the rows like importInvestmentActivities,
    with progress, issues, a preview, confirmImport and undoImport."""
    from tests.imports.import_flows import CONFIRM, UNDO, run_import, start_import, wait_for_import

    ann = await signed_in_user(server)
    token = ann.access_token
    account = (await investment_account(server, token, currency="EUR"))["id"]
    await recorded(server, token, account, kind="BUY", date="2024-01-03", symbol="CSVCO", quantity="10", price="100",
                   fee="1")
    preview = await run_import(server, token, accountId=account, csv=FILE, dryRun=True)
    assert preview["status"] == "PREVIEWED" and preview["dateFormat"] == "DAY_MONTH_YEAR_DOTS"
    assert preview["decimalSeparator"] == ","
    counts = preview["progress"]
    assert (counts["total"], counts["inserted"], counts["duplicates"], counts["errorCount"]) == (8, 3, 2, 3)
    assert [(r["line"], r["date"], r["amount"], r["description"]) for r in preview["preview"]] == [
        (2, "2024-01-02", "5000.00", "DEPOSIT"), (6, "2024-02-15", "549.00", "SELL 5 CSVCO"),
        (9, "2024-03-01", "12.50", "DIVIDEND CSVCO")]
    assert [(i["line"], i["kind"], i["field"]) for i in preview["issues"]] == [
        (3, "DUPLICATE", None), (4, "DUPLICATE", None), (5, "ERROR", "quantity"), (7, "ERROR", "date"),
        (8, "ERROR", "kind")]
    listed = (await server.gql(ACTIVITIES, {"ids": [account]}, token=token))["data"]["investmentActivities"]
    assert len(listed) == 1  # a preview keeps nothing

    confirmed = (await server.gql(CONFIRM, {"id": preview["id"]}, token=token))["data"]["confirmImport"]
    assert confirmed["errors"] == []
    done = await wait_for_import(server, token, preview["id"])
    assert done["status"] == "COMPLETED" and done["progress"]["inserted"] == 3
    listed = (await server.gql(ACTIVITIES, {"ids": [account]}, token=token))["data"]["investmentActivities"]
    assert [a["kind"] for a in listed] == ["DEPOSIT", "BUY", "SELL", "DIVIDEND"]
    undone = (await server.gql(UNDO, {"id": preview["id"]}, token=token))["data"]["undoImport"]
    assert undone["errors"] == [] and undone["removed"] == 3 and undone["import"]["status"] == "UNDONE"
    listed = (await server.gql(ACTIVITIES, {"ids": [account]}, token=token))["data"]["investmentActivities"]
    assert [a["kind"] for a in listed] == ["BUY"]

    refused = await start_import(server, token, accountId=account, csv=FILE, preset="FINORA")
    assert errors_of(refused) == [("INVALID", "preset")]
    headless = await run_import(server, token, accountId=account, csv="Symbol;Price\nX;1\n")
    assert headless["status"] == "FAILED" and "date" in headless["progress"]["message"]

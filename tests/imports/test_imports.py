"""CSV imports through the API: dry run, confirm, duplicates, row errors, undo, files, progress, ownership."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from tests.flows import signed_in_user
from tests.imports.import_flows import CONFIRM, IMPORT, UNDO, run_import, start_import, wait_for_import
from tests.ledger.ledger_flows import ACCOUNTS, CATEGORIES, create_account, create_txn
from tests.ledger.test_listing import counting_statements
from tests.server import RunningServer
from tests.ws import graphql_ws

SEED_CSV = """date,amount,category,merchant
2026-01-03,-54.20,Groceries,Fresh Market
2026-01-04,-54.20,Groceries,Fresh Market
2026-01-05,3200.00,Salary,ACME Corp
2026-01-09,-18.00,Pets,"Paws, Claws & Co"
2026-01-12,-9.99,,Netflix
"""
TXNS = """query($f: TransactionFilter) { transactions(first: 100, filter: $f) {
  edges { node { date amount merchant category { name kind } } } totalCount } }"""
SUMMARY = """query { walletSummary(from: "2026-01-01", to: "2026-01-31") { totalIncome totalExpenses } }"""
NOTIFICATIONS = "{ notifications(first: 5) { edges { node { kind title body data } } } }"


async def balance(server: RunningServer, token: str, account_id: str) -> Decimal:
    accounts = (await server.gql(ACCOUNTS, token=token))["data"]["accounts"]
    return Decimal(next(a["currentBalance"] for a in accounts if a["id"] == account_id))


async def test_dry_run_previews_then_confirm_imports_once(server: RunningServer) -> None:
    user = await signed_in_user(server)
    account = await create_account(server, user.access_token, opening="100.00")

    preview = await run_import(server, user.access_token, accountId=account["id"], csv=SEED_CSV,
                               preset="FINORA", dryRun=True)
    assert preview["status"] == "PREVIEWED" and preview["dryRun"] is True
    assert preview["progress"] == {"status": "PREVIEWED", "processed": 5, "total": 5, "inserted": 5,
                                   "duplicates": 0, "likelyDuplicates": 0, "errorCount": 0, "message": None}
    assert [(r["line"], r["amount"], r["merchant"], r["newCategory"]) for r in preview["preview"]] == [
        (2, "-54.20", "Fresh Market", None), (3, "-54.20", "Fresh Market", None), (4, "3200.00", "ACME Corp", None),
        (5, "-18.00", "Paws, Claws & Co", "Pets"), (6, "-9.99", "Netflix", None),
    ]
    assert preview["preview"][0]["category"]["name"] == "Groceries"
    # The settings used are the same enums startImport takes.
    assert (preview["encoding"], preview["dateFormat"], preview["delimiter"]) == ("UTF_8", "ISO", ",")
    nothing = await server.gql(TXNS, token=user.access_token)
    assert nothing["data"]["transactions"]["totalCount"] == 0
    assert await balance(server, user.access_token, account["id"]) == Decimal("100.00")

    confirmed = (await server.gql(CONFIRM, {"id": preview["id"]}, token=user.access_token))["data"]["confirmImport"]
    assert confirmed["errors"] == [] and confirmed["import"]["dryRun"] is False
    done = await wait_for_import(server, user.access_token, preview["id"])
    assert done["status"] == "COMPLETED"
    assert done["progress"]["inserted"] == 5
    assert await balance(server, user.access_token, account["id"]) == Decimal("100.00") + Decimal("3063.61")
    rows = (await server.gql(TXNS, token=user.access_token))["data"]["transactions"]["edges"]
    stored = sorted((r["node"]["date"], r["node"]["amount"], (r["node"]["category"] or {}).get("name")) for r in rows)
    assert stored == [
        ("2026-01-03", "-54.20", "Groceries"), ("2026-01-04", "-54.20", "Groceries"),
        ("2026-01-05", "3200.00", "Salary"), ("2026-01-09", "-18.00", "Pets"), ("2026-01-12", "-9.99", None),
    ]
    pets = [c for c in (await server.gql(CATEGORIES, token=user.access_token))["data"]["categories"] if c["name"] == "Pets"]
    assert [c["kind"] for c in pets] == ["EXPENSE"]
    summary = (await server.gql(SUMMARY, token=user.access_token))["data"]["walletSummary"]
    assert (summary["totalIncome"], summary["totalExpenses"]) == ("3200.00", "136.39")
    notes = (await server.gql(NOTIFICATIONS, token=user.access_token))["data"]["notifications"]["edges"]
    notes = [note for note in notes if note["node"]["kind"] != "BADGE_EARNED"]  # the first import earns a badge
    assert notes[0]["node"]["kind"] == "IMPORT_FINISHED"
    assert notes[0]["node"]["data"]["status"] == "COMPLETED"
    assert "5 transactions added" in notes[0]["node"]["body"]

    again = await run_import(server, user.access_token, accountId=account["id"], csv=SEED_CSV, preset="FINORA")
    assert again["status"] == "COMPLETED"
    assert (again["progress"]["inserted"], again["progress"]["duplicates"]) == (0, 5)
    assert (await server.gql(TXNS, token=user.access_token))["data"]["transactions"]["totalCount"] == 5
    issues = (await server.gql(IMPORT, {"id": again["id"], "kind": "DUPLICATE"}, token=user.access_token))
    assert [i["line"] for i in issues["data"]["import"]["issues"]] == [2, 3, 4, 5, 6]
    # Each duplicate links to the transaction it repeats; the five links cost one batch, not a query each.
    linked_query = """query($id: ID!) { import(id: $id) { issues(kind: DUPLICATE) {
      line transaction { id amount account { id } category { name } } } } }"""
    with counting_statements(server) as statements:
        linked = await server.gql(linked_query, {"id": again["id"]}, token=user.access_token)
    linked_issues = linked["data"]["import"]["issues"]
    assert [(i["transaction"]["amount"], (i["transaction"]["category"] or {}).get("name")) for i in linked_issues] == [
        ("-54.20", "Groceries"), ("-54.20", "Groceries"), ("3200.00", "Salary"), ("-18.00", "Pets"), ("-9.99", None)]
    assert len({i["transaction"]["id"] for i in linked_issues}) == 5
    assert len(statements) <= 6, statements  # import, issues, transactions, accounts, categories (+ session)


async def test_rules_and_merchant_memory_categorise_rows_without_a_category(server: RunningServer) -> None:
    user = await signed_in_user(server)
    account = await create_account(server, user.access_token)
    categories = {c["name"]: c["id"] for c in (await server.gql(CATEGORIES, token=user.access_token))["data"]["categories"]}
    rule = await server.gql(
        """mutation($input: CategoryRuleInput!) { createCategoryRule(input: $input) { errors { code } } }""",
        {"input": {"categoryId": categories["Subscriptions"], "pattern": "netflix"}}, token=user.access_token)
    assert rule["data"]["createCategoryRule"]["errors"] == []
    made = await create_txn(server, user.access_token, accountId=account["id"], date="2025-12-01", amount="-30.00",
                            merchant="Corner Shop", categoryId=categories["Groceries"])
    assert made["errors"] == []
    done = await run_import(server, user.access_token, accountId=account["id"],
                            csv="date,amount,merchant\n2026-01-02,-9.99,NETFLIX.COM\n2026-01-03,-12.00,corner shop\n")
    assert [r["category"]["id"] for r in done["preview"]] == [categories["Subscriptions"], categories["Groceries"]]


async def test_row_errors_are_reported_and_the_good_rows_imported(server: RunningServer) -> None:
    user = await signed_in_user(server)
    account = await create_account(server, user.access_token, currency="JPY")
    csv = ("Date,Description,Amount,Currency\n"
           "2026-02-01,Ramen,-1200,JPY\n"
           "2026-02-31,Bad day,-500,JPY\n"
           "2026-02-02,Half yen,-0.5,JPY\n"
           "2026-02-03,Wrong currency,-10,USD\n"
           "2026-02-04,Zero,0,JPY\n"
           "2026-02-05,Train,-300,JPY\n")
    done = await run_import(server, user.access_token, accountId=account["id"], csv=csv)
    assert done["status"] == "COMPLETED"
    assert (done["progress"]["inserted"], done["progress"]["errorCount"]) == (2, 4)
    issues = (await server.gql(IMPORT, {"id": done["id"], "kind": "ERROR"}, token=user.access_token))
    found = [(i["line"], i["field"]) for i in issues["data"]["import"]["issues"]]
    assert found == [(3, "date"), (4, "amount"), (5, "currency"), (6, "amount")]
    assert await balance(server, user.access_token, account["id"]) == Decimal("-1500")


async def test_likely_duplicates_are_flagged_or_skipped(server: RunningServer) -> None:
    user = await signed_in_user(server)
    account = await create_account(server, user.access_token)
    manual = await create_txn(server, user.access_token, accountId=account["id"], date="2026-03-10", amount="-20.00",
                              merchant="Amazon")
    csv = ("date,amount,merchant\n"
           "2026-03-11,-20.00,AMAZON MKTP\n"   # likely: same amount, a day later, similar name
           "2026-03-11,-20.00,Bookshop\n"      # same amount and day, different merchant: new
           "2026-03-20,-20.00,Amazon\n")       # too far apart: new
    flagged = await run_import(server, user.access_token, accountId=account["id"], csv=csv, dryRun=True)
    assert flagged["progress"]["likelyDuplicates"] == 1
    assert [r["likelyDuplicateScore"] is not None for r in flagged["preview"]] == [True, False, False]
    issue = (await server.gql(IMPORT, {"id": flagged["id"], "kind": "LIKELY_DUPLICATE"},
                              token=user.access_token))["data"]["import"]["issues"][0]
    assert issue["line"] == 2 and issue["transaction"]["id"] == manual["transaction"]["id"]
    assert 0.6 <= issue["score"] <= 1 and "1 day apart" in issue["reason"]
    skipped = await run_import(server, user.access_token, accountId=account["id"], csv=csv,
                               options={"likelyDuplicates": "SKIP"})
    assert (skipped["progress"]["inserted"], skipped["progress"]["likelyDuplicates"]) == (2, 1)


async def test_undo_removes_exactly_what_the_import_added(server: RunningServer) -> None:
    user = await signed_in_user(server)
    account = await create_account(server, user.access_token, opening="10.00")
    await create_txn(server, user.access_token, accountId=account["id"], date="2026-01-01", amount="-1.00")
    done = await run_import(server, user.access_token, accountId=account["id"], csv=SEED_CSV)
    assert done["progress"]["inserted"] == 5
    undone = (await server.gql(UNDO, {"id": done["id"]}, token=user.access_token))["data"]["undoImport"]
    assert undone["errors"] == [] and undone["removed"] == 5 and undone["import"]["status"] == "UNDONE"
    assert await balance(server, user.access_token, account["id"]) == Decimal("9.00")
    assert (await server.gql(TXNS, token=user.access_token))["data"]["transactions"]["totalCount"] == 1
    summary = (await server.gql(SUMMARY, token=user.access_token))["data"]["walletSummary"]
    assert (summary["totalIncome"], summary["totalExpenses"]) == ("0.00", "1.00")
    twice = (await server.gql(UNDO, {"id": done["id"]}, token=user.access_token))["data"]["undoImport"]
    assert twice["errors"][0]["code"] == "INVALID"
    # Undone rows are gone, so the same file imports again in full.
    redo = await run_import(server, user.access_token, accountId=account["id"], csv=SEED_CSV)
    assert redo["progress"]["inserted"] == 5


async def test_whole_file_problems_fail_the_import_with_the_reason(server: RunningServer) -> None:
    user = await signed_in_user(server)
    account = await create_account(server, user.access_token)
    failed = await run_import(server, user.access_token, accountId=account["id"], csv="when,what\n2026,1\n")
    assert failed["status"] == "FAILED"
    assert "date" in failed["progress"]["message"]


async def test_bad_input_is_refused_in_the_payload(server: RunningServer) -> None:
    user = await signed_in_user(server)
    account = await create_account(server, user.access_token)
    cases = [
        ({"accountId": account["id"]}, "REQUIRED", "fileId"),
        ({"accountId": account["id"], "csv": "a" * (1_048_577)}, "INVALID", "csv"),
        ({"accountId": account["id"], "csv": "date,amount\n", "options": {"delimiter": ";;"}}, "INVALID", "options.delimiter"),
        ({"accountId": account["id"], "csv": "date,amount\n", "options": {"skipRows": -1}}, "INVALID", "options.skipRows"),
    ]
    for input, code, field in cases:
        started = await start_import(server, user.access_token, **input)
        assert started["import"] is None
        assert (started["errors"][0]["code"], started["errors"][0]["field"]) == (code, field), input


async def uploaded(server: RunningServer, token: str, filename: str, mime_type: str, data: bytes) -> str:
    """A completed upload's file id."""
    created = (await server.gql(
        """mutation($input: CreateUploadInput!) { createUpload(input: $input) {
             file { id } uploadUrl uploadHeaders { name value } errors { code } } }""",
        {"input": {"filename": filename, "mimeType": mime_type, "size": len(data)}}, token=token,
    ))["data"]["createUpload"]
    assert created["errors"] == []
    url = created["uploadUrl"].replace(server.settings.public_url, server.base_url)
    async with httpx.AsyncClient() as client:
        put = await client.put(url, content=data, headers={h["name"]: h["value"] for h in created["uploadHeaders"]})
    assert put.status_code in (200, 204), put.text
    completed = await server.gql("mutation($id: ID!) { completeUpload(input: {fileId: $id}) { errors { code } } }",
                                 {"id": created["file"]["id"]}, token=token)
    assert completed["data"]["completeUpload"]["errors"] == []
    return created["file"]["id"]


@pytest.mark.parametrize(("filename", "mime_type"), [
    ("auszug.csv", "text/csv"),
    ("auszug.csv", "application/vnd.ms-excel"),  # what Windows browsers send when Excel is installed
])
async def test_import_from_an_uploaded_file(server: RunningServer, filename: str, mime_type: str) -> None:
    user = await signed_in_user(server)
    account = await create_account(server, user.access_token)
    data = "Datum;Betrag;Beschreibung\n01.04.2026;-1.234,50;Miete\n02.04.2026;12,00;Zins\n".encode("latin-1")
    file_id = await uploaded(server, user.access_token, filename, mime_type, data)
    done = await run_import(server, user.access_token, accountId=account["id"], fileId=file_id, preset="EUROPEAN")
    assert done["status"] == "COMPLETED" and done["sourceName"] == filename
    assert [r["amount"] for r in done["preview"]] == ["-1234.50", "12.00"]


async def test_a_workbook_is_not_imported_as_csv(server: RunningServer) -> None:
    user = await signed_in_user(server)
    account = await create_account(server, user.access_token)
    file_id = await uploaded(server, user.access_token, "auszug.xls", "application/vnd.ms-excel", b"\xd0\xcf\x11\xe0 workbook")
    started = await start_import(server, user.access_token, accountId=account["id"], fileId=file_id)
    assert [(e["code"], e["field"]) for e in started["errors"]] == [("INVALID", "fileId")]


async def test_progress_subscription_follows_the_import_to_the_end(server: RunningServer) -> None:
    user = await signed_in_user(server)
    account = await create_account(server, user.access_token)
    lines = "\n".join(f"2026-01-{1 + i % 28:02d},-{i}.25,Shop {i}" for i in range(1, 12_001))
    started = await start_import(server, user.access_token, accountId=account["id"], csv=f"date,amount,merchant\n{lines}\n")
    assert started["errors"] == []
    async with graphql_ws(server.ws_url, {"authorization": f"Bearer {user.access_token}"}) as ws:
        assert (await ws.receive())["type"] == "connection_ack"
        await ws.subscribe("subscription($id: ID!) { importProgress(importId: $id) { status processed total inserted } }",
                           {"id": started["import"]["id"]})
        seen = []
        while True:
            message = await ws.receive(timeout=30)
            if message["type"] == "complete":
                break
            seen.append(message["payload"]["data"]["importProgress"])
    assert seen[-1] == {"status": "COMPLETED", "processed": 12_000, "total": 12_000, "inserted": 12_000}
    processed = [s["processed"] for s in seen]
    assert processed == sorted(processed)


async def test_another_user_can_reach_no_import_of_the_first(server: RunningServer) -> None:
    owner = await signed_in_user(server)
    other = await signed_in_user(server)
    account = await create_account(server, owner.access_token)
    done = await run_import(server, owner.access_token, accountId=account["id"], csv=SEED_CSV, dryRun=True)
    assert (await server.gql(IMPORT, {"id": done["id"]}, token=other.access_token))["data"]["import"] is None
    node = await server.gql("query($id: ID!) { node(id: $id) { id } }", {"id": done["id"]}, token=other.access_token)
    assert node["data"]["node"] is None
    listed = await server.gql("{ imports(first: 10) { edges { node { id } } totalCount } }", token=other.access_token)
    assert listed["data"]["imports"] == {"edges": [], "totalCount": 0}
    for mutation in (CONFIRM, UNDO):
        body = await server.gql(mutation, {"id": done["id"]}, token=other.access_token)
        payload = next(iter(body["data"].values()))
        assert (payload["errors"][0]["code"], payload["errors"][0]["field"]) == ("NOT_FOUND", "id")
    into_theirs = await start_import(server, other.access_token, accountId=account["id"], csv=SEED_CSV)
    assert into_theirs["errors"][0] == {"code": "NOT_FOUND", "field": "accountId",
                                        "message": into_theirs["errors"][0]["message"]}
    async with graphql_ws(server.ws_url, {"authorization": f"Bearer {other.access_token}"}) as ws:
        assert (await ws.receive())["type"] == "connection_ack"
        await ws.subscribe("subscription($id: ID!) { importProgress(importId: $id) { status } }", {"id": done["id"]})
        refused = await ws.receive(timeout=5)
    assert refused["type"] == "error" or refused["payload"].get("errors"), refused
    # The owner still sees it, untouched.
    mine = (await server.gql(IMPORT, {"id": done["id"]}, token=owner.access_token))["data"]["import"]
    assert mine["status"] == "PREVIEWED"

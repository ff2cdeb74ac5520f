"""GraphQL helpers for import tests: start an import and wait for its job to finish."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tests.server import RunningServer

ERRORS = "errors { code field message }"
PROGRESS = "status processed total inserted duplicates likelyDuplicates errorCount message"
IMPORT_FIELDS = f"""id status sourceName dryRun encoding delimiter dateFormat decimalSeparator
  progress {{ {PROGRESS} }}
  preview {{ line date amount merchant description category {{ id name }} newCategory externalId likelyDuplicateScore }}
  account {{ id currentBalance }}"""
START = f"mutation($input: StartImportInput!) {{ startImport(input: $input) {{ import {{ id status }} {ERRORS} }} }}"
CONFIRM = f"mutation($id: ID!) {{ confirmImport(input: {{id: $id}}) {{ import {{ id status dryRun }} {ERRORS} }} }}"
UNDO = f"mutation($id: ID!) {{ undoImport(input: {{id: $id}}) {{ import {{ id status }} removed {ERRORS} }} }}"
IMPORT = f"""query($id: ID!, $kind: ImportIssueKind) {{ import(id: $id) {{ {IMPORT_FIELDS}
  issues(kind: $kind) {{ line kind field reason score transaction {{ id amount }} }} }} }}"""
FINISHED = {"PREVIEWED", "COMPLETED", "FAILED", "UNDONE"}


async def start_import(server: RunningServer, token: str, **input: Any) -> dict[str, Any]:
    body = await server.gql(START, {"input": input}, token=token)
    return body["data"]["startImport"]


async def wait_for_import(server: RunningServer, token: str, import_id: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body = await server.gql(IMPORT, {"id": import_id}, token=token)
        found = body["data"]["import"]
        if found["status"] in FINISHED or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.05)


async def run_import(server: RunningServer, token: str, **input: Any) -> dict[str, Any]:
    started = await start_import(server, token, **input)
    assert started["errors"] == [], started
    return await wait_for_import(server, token, started["import"]["id"])

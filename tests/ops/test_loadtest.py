"""A tiny headless run of the locust load test (deploy/loadtest/) against a real server: every
operation of a session answers without failures, and the report compares p95 with the seed's
targets. The full profiles' figures are in tests/bench/README.md."""

from __future__ import annotations

import asyncio
import csv
import sys
from pathlib import Path

import pytest

from finora_gql.config import Settings
from tests.processes import BIN, process_env
from tests.server import running_server

LOADTEST = Path(__file__).resolve().parents[2] / "deploy" / "loadtest"


@pytest.mark.bench
async def test_locust_smoke(settings: Settings, tmp_path: Path) -> None:
    async with running_server(settings) as server:
        process = await asyncio.create_subprocess_exec(
            str(BIN / "locust"), "-f", str(LOADTEST / "locustfile.py"), "--host", server.base_url, "--headless",
            "--csv", str(tmp_path / "smoke"), "--only-summary", "--loglevel", "WARNING",
            env=process_env(LOAD_PROFILE="smoke", LOAD_TIME="0.75"), stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT, cwd=tmp_path)
        output, _ = await asyncio.wait_for(process.communicate(), timeout=240)
    text = output.decode(errors="replace")
    with (tmp_path / "smoke_stats.csv").open() as handle:
        stats = {row["Name"]: row for row in csv.DictReader(handle)}
    for name in ("Register", "Login", "CreateAccount", "CreateTransactions", "WalletSummary", "Accounts", "UnreadCount",
                 "Transactions"):
        assert int(stats[name]["Request Count"]) > 0, (name, text[-3000:])
    failures = {name: row["Failure Count"] for name, row in stats.items() if int(row["Failure Count"])}
    assert not failures, (failures, text[-3000:])
    report = await asyncio.create_subprocess_exec(sys.executable, str(LOADTEST / "report.py"),
                                                  str(tmp_path / "smoke_stats.csv"), stdout=asyncio.subprocess.PIPE)
    table, _ = await report.communicate()
    assert b"| WalletSummary |" in table and b"| 100 |" in table

"""A/B of the transactions page: two uvicorn servers running two code trees on one database,
measured in short interleaved rounds (so a busy moment of the machine hits both alike): server
CPU ms per page (from /proc) over sequential requests, and wrk -t2 -c16 throughput.

    git archive <before-commit> | tar -x -C /tmp/before
    git archive <after-commit> | tar -x -C /tmp/after
    AB_BEFORE=/tmp/before AB_AFTER=/tmp/after uv run python tests/bench/ab_transactions_page.py

Both trees run with this checkout's virtualenv; the database is migrated with this checkout's
migrations. AB_ROUNDS (8), AB_SEQ (150 pages per CPU sample), AB_WRK (3 s), BENCH_TRANSACTIONS
(20,000) and BENCH_USERS (100) size it. Not collected by pytest (no test_ prefix).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import sys
from pathlib import Path

os.environ.setdefault("BENCH_TRANSACTIONS", "20000")
os.environ.setdefault("BENCH_USERS", "100")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import httpx  # noqa: E402

from finora_gql.core import clock, db  # noqa: E402
from finora_gql.core.runtime import build_runtime  # noqa: E402
from tests.bench.test_ledger_bench import load, operations, sign_in, wrk  # noqa: E402
from tests.conftest import make_settings  # noqa: E402
from tests.processes import Process, free_port, process_env, wait_until_healthy  # noqa: E402

ROUNDS = int(os.environ.get("AB_ROUNDS", "8"))
SEQ = int(os.environ.get("AB_SEQ", "150"))
WRK_S = float(os.environ.get("AB_WRK", "3"))
WORK = Path(os.environ.get("AB_WORK", "/tmp/finora-ab"))
CODE = {"before": os.environ.get("AB_BEFORE", ""), "after": os.environ.get("AB_AFTER", "")}


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start(name, settings, data_dir, log):
    port = free_port()
    env = process_env(FINORA_ENV="test", DATABASE_URL=settings.database_url, JWT_SECRET=settings.signing_secret,
                      FINORA_DATA_DIR=str(data_dir), LOG_LEVEL="WARNING", PYTHONPATH=CODE[name],
                      **{f"RATE_LIMIT_{k}_PER_{s}": "1000000/60" for k in ("LOGIN", "REGISTER", "PASSWORD_RESET") for s in ("IP", "EMAIL")})
    p = Process([sys.executable, "-m", "uvicorn", "--factory", "finora_gql.app:create_app", "--host", "127.0.0.1",
                 "--port", str(port), "--loop", "uvloop", "--http", "httptools", "--workers", "1", "--no-access-log",
                 "--log-level", "warning", "--app-dir", CODE[name]], env, log)
    return p, wait_until_healthy(p, f"http://127.0.0.1:{port}", timeout=90)


async def main():
    WORK.mkdir(parents=True, exist_ok=True)
    data_dir = WORK / "data"
    shutil.rmtree(data_dir, ignore_errors=True)
    with db.embedded_postgres(data_dir, database="finora_ab") as url:
        await db.migrate_async(url)
        settings = make_settings(url, data_dir, None)
        rt = build_runtime(settings, url)
        await rt.start()
        today = clock.now().date()
        loaded = await load(rt, today)
        token = await sign_in(rt, loaded.email)
        await rt.aclose()
        page = next(op for op in operations(today) if op.field == "transactions")
        servers = {name: start(name, settings, data_dir / name, WORK / f"{name}.log") for name in CODE}
        cpu = {name: [] for name in CODE}
        rps = {name: [] for name in CODE}
        n = 0
        try:
            headers = {"authorization": f"Bearer {token}"}
            for _name, (_p, base) in servers.items():
                async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as c:
                    r = await c.post("/graphql", json=page.body(0))
                    assert r.status_code == 200 and "errors" not in r.json(), r.text[:500]
                    for i in range(30):
                        await c.post("/graphql", json=page.body(i))
            for rnd in range(ROUNDS):
                order = list(CODE) if rnd % 2 == 0 else list(reversed(list(CODE)))
                for name in order:
                    p, base = servers[name]
                    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as c:
                        before = cpu_seconds(p.popen.pid)
                        for _ in range(SEQ):
                            n += 1
                            r = await c.post("/graphql", json=page.body(n))
                            assert r.status_code == 200
                        cpu[name].append((cpu_seconds(p.popen.pid) - before) * 1000 / SEQ)
                    rps[name].append(wrk(f"{base}/graphql", token, page.body(rnd), WRK_S))
                print(f"round {rnd}: " + "  ".join(f"{k} cpu {cpu[k][-1]:.2f} ms/req wrk {rps[k][-1]}" for k in CODE), flush=True)
        finally:
            for p, _ in servers.values():
                p.stop()
        for name in CODE:
            print(f"{name}: server CPU per page ms median {statistics.median(cpu[name]):.2f} (min {min(cpu[name]):.2f}, max {max(cpu[name]):.2f}); "
                  f"wrk req/s median {statistics.median([x for x in rps[name] if x]):.0f} (min {min(x for x in rps[name] if x):.0f}, max {max(x for x in rps[name] if x):.0f})")

if __name__ == "__main__":
    assert all(CODE.values()), "set AB_BEFORE and AB_AFTER to two code trees"
    asyncio.run(main())

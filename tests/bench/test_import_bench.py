"""Import benchmark: a bank export of N rows from bytes to committed transactions.

Not a timed test: it prints figures. CI runs it small; the full run is
`BENCH_IMPORT_ROWS=100000 uv run pytest tests/bench/test_import_bench.py -s`.
Measured: the job itself (`imports.service.run_import`: decode, parse, validate, duplicate checks,
categorisation, COPY, totals), wall time and the peak growth of this process's resident memory
(sampled every 5 ms from /proc), then the same file again (all duplicates).
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import func
from sqlmodel import col, select

from finora_gql.accounts import service as accounts
from finora_gql.accounts.models import AccountType
from finora_gql.auth import service as auth
from finora_gql.config import Settings
from finora_gql.core.db import atomic
from finora_gql.core.runtime import build_runtime
from finora_gql.core.viewer import Viewer
from finora_gql.imports import service as imports
from finora_gql.imports.models import Import, ImportStatus
from finora_gql.transactions.models import Transaction

ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", "5000"))
PAGE = os.sysconf("SC_PAGE_SIZE")


def export(rows: int) -> bytes:
    """A European bank export: ';', decimal commas, thousands dots, dd.mm.yyyy, some quoting."""
    start = dt.date(2024, 1, 1)
    lines = ["Buchungstag;Empfänger;Verwendungszweck;Betrag;Kategorie"]
    for n in range(rows):
        day = start + dt.timedelta(days=n * 7919 % 730)
        cents = (n * 7919) % 250_000 + 1
        amount = f"{'-' if n % 20 else ''}{cents // 100:,}".replace(",", ".") + f",{cents % 100:02d}"
        lines.append(f'{day:%d.%m.%Y};Händler {n % 300};"Karte {n}, Filiale {n % 17}";{amount};'
                     f'{"Lebensmittel" if n % 3 else ""}')
    return ("\n".join(lines) + "\n").encode("latin-1")


class PeakRss:
    """Highest resident set size seen while the block runs, sampled from /proc/self/statm."""

    def __init__(self) -> None:
        self.start = self.peak = self._rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    @staticmethod
    def _rss() -> int:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * PAGE

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, self._rss())

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())


@pytest.mark.bench
async def test_import_benchmark(settings: Settings) -> None:
    data = export(ROWS)
    rt = build_runtime(settings, settings.database_url or "")
    await rt.start()
    try:
        async with rt.sessions() as session, atomic(session):
            user = await auth.register(session, rt, email=f"import-bench-{uuid.uuid4().hex[:8]}@example.com",
                                       password="bench password 2026", name="Import Bench")
        viewer = Viewer.acting_for(user.id)
        async with rt.sessions() as session, atomic(session):
            account = await accounts.create_account(session, viewer, name="Giro", type=AccountType.CHECKING,
                                                    currency="EUR", opening_balance=Decimal(0))
        figures = []
        for label in ("first import", "same file again"):
            async with rt.sessions() as session, atomic(session):
                job = Import(user_id=user.id, account_id=account.id, content=data, source_name="bench.csv",
                             preset="EUROPEAN", mapping={}, options={"delimiter": ";", "decimal_separator": ",",
                                                                      "thousands_separator": ".",
                                                                      "date_format": "DD.MM.YYYY"})
                session.add(job)
            started = time.perf_counter()
            with PeakRss() as memory:
                await imports.run_import(rt, job.id)
            seconds = time.perf_counter() - started
            async with rt.sessions() as session:
                done = await session.get(Import, job.id)
            assert done is not None and done.status is ImportStatus.COMPLETED, done and done.message
            figures.append((label, seconds, (memory.peak - memory.start) / 2**20, done.inserted, done.duplicates))
        async with rt.sessions() as session:
            stored = (await session.exec(
                select(func.count()).where(col(Transaction.account_id) == account.id))).one()
        assert stored == ROWS
        print(f"\nimport benchmark: {ROWS:,} rows, {len(data) / 2**20:.1f} MiB Latin-1 CSV")
        for label, seconds, grown, inserted, duplicates in figures:
            print(f"  {label:<16} {seconds:6.2f} s  {ROWS / seconds:9,.0f} rows/s  peak RSS growth {grown:6.1f} MiB"
                  f"  inserted {inserted:,}  duplicates {duplicates:,}")
    finally:
        await rt.aclose()

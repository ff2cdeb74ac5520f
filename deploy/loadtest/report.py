"""p95/p99 per operation from locust's `--csv` stats, against the seed's targets.

    python deploy/loadtest/report.py results/load_stats.csv [--markdown]
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

TARGETS_MS = {"health": 50, "WalletSummary": 100, "Transactions": 150, "AssistantChat": 2000, "AdminDeadLetters": 200}


def rows(path: Path) -> list[dict[str, str]]:
    with path.open() as handle:
        return [row for row in csv.DictReader(handle) if row["Name"] != "Aggregated"]


def report(path: Path) -> tuple[str, bool]:
    lines = ["| operation | requests | failures | rps | p50 ms | p95 ms | p99 ms | target p95 | |",
             "|---|---|---|---|---|---|---|---|---|"]
    ok = True
    for row in sorted(rows(path), key=lambda r: r["Name"]):
        name = row["Name"]
        p95, p99 = float(row["95%"]), float(row["99%"])
        target = TARGETS_MS.get(name)
        verdict = "" if target is None else ("meets" if p95 <= target else "MISSES")
        ok &= verdict != "MISSES"
        lines.append(f"| {name} | {row['Request Count']} | {row['Failure Count']} | {float(row['Requests/s']):.1f} "
                     f"| {float(row['50%']):.0f} | {p95:.0f} | {p99:.0f} | {target or '-'} | {verdict} |")
    return "\n".join(lines), ok


if __name__ == "__main__":
    table, met = report(Path(sys.argv[1]))
    print(table)
    sys.exit(0 if met else 1)

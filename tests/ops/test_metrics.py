"""Metrics: a real Prometheus (Debian's package) scrapes the app and answers queries for its
series; the alert rules pass `promtool check rules`; the dashboard and the rules only use
metrics the app exposes."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from finora_gql.config import Settings
from tests.processes import free_port
from tests.server import running_server

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")
needs_prometheus = pytest.mark.skipif(PROMETHEUS is None or PROMTOOL is None,
                                      reason="prometheus/promtool not installed (.ci/run installs Debian's package)")


@needs_prometheus
def test_alert_rules_and_config_pass_promtool() -> None:
    rules = subprocess.run([PROMTOOL, "check", "rules", str(DEPLOY / "prometheus" / "alerts.yml")],
                           capture_output=True, text=True, timeout=60)
    assert rules.returncode == 0, rules.stdout + rules.stderr
    assert "SUCCESS" in rules.stdout
    config = subprocess.run([PROMTOOL, "check", "config", str(DEPLOY / "prometheus" / "prometheus.yml")],
                            capture_output=True, text=True, timeout=60)
    assert config.returncode == 0, config.stdout + config.stderr


async def query(client: httpx.AsyncClient, promql: str) -> list[dict]:
    response = await client.get("/api/v1/query", params={"query": promql})
    body = response.json()
    assert body["status"] == "success", body
    return body["data"]["result"]


@needs_prometheus
async def test_prometheus_scrapes_the_app(settings: Settings, tmp_path: Path) -> None:
    async with running_server(settings) as server:
        async with server.client() as client:
            for _ in range(3):
                response = await client.post("/graphql", json={"query": "query ProbeOperation { __typename }"})
                assert response.status_code == 200
            await client.get("/no-such-route")
            exposition = (await client.get("/metrics")).text
        for name in ("http_requests_total", "http_request_duration_ms_bucket", "http_errors_total",
                     "graphql_operation_duration_ms_bucket", "finora_db_pool_size", "finora_queue_depth",
                     "finora_dead_letters", "finora_http_requests_total"):
            assert re.search(rf"^{name}[{{ ]", exposition, re.M), name
        host, port = server.base_url.removeprefix("http://").split(":")
        (tmp_path / "alerts.yml").write_text((DEPLOY / "prometheus" / "alerts.yml").read_text())
        (tmp_path / "prometheus.yml").write_text(json.dumps({
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": ["alerts.yml"],
            "scrape_configs": [{"job_name": "finora-api", "static_configs": [{"targets": [f"{host}:{port}"]}]}],
        }))
        prom_port = free_port()
        log = (tmp_path / "prometheus.log").open("w")
        process = subprocess.Popen(
            [PROMETHEUS, f"--config.file={tmp_path / 'prometheus.yml'}", f"--storage.tsdb.path={tmp_path / 'data'}",
             f"--web.listen-address=127.0.0.1:{prom_port}"], stdout=log, stderr=subprocess.STDOUT)
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{prom_port}", timeout=10) as prom:
                deadline = time.monotonic() + 90
                found: list[dict] = []
                while time.monotonic() < deadline:
                    try:
                        found = await query(prom, 'graphql_operation_duration_ms_count{name="ProbeOperation"}')
                    except httpx.TransportError:
                        found = []
                    if found:
                        break
                    await asyncio.sleep(0.5)
                assert found, (tmp_path / "prometheus.log").read_text()[-3000:]
                assert found[0]["metric"]["type"] == "query" and float(found[0]["value"][1]) >= 3
                assert await query(prom, 'up{job="finora-api"} == 1')
                requests = await query(prom, 'http_requests_total{route="/graphql", status="200"}')
                assert float(requests[0]["value"][1]) >= 3
                assert await query(prom, 'http_errors_total{status="404"}')
                rules = (await prom.get("/api/v1/rules")).json()["data"]["groups"]
                assert {group["name"] for group in rules} >= {"finora-http", "finora-graphql", "finora-jobs"}
                assert all(rule["health"] != "err" for group in rules for rule in group["rules"]), rules
        finally:
            process.terminate()
            process.wait(timeout=30)
            log.close()


async def test_dashboard_and_alerts_use_exposed_metrics(settings: Settings) -> None:
    async with running_server(settings) as server, server.client() as client:
        await client.post("/graphql", json={"query": "{ __typename }"})
        exposition = (await client.get("/metrics")).text
    families = set(re.findall(r"^# TYPE (\S+) (\S+)", exposition, re.M))
    names = set()
    for family, kind in families:
        names.add(family)
        if kind == "histogram":
            names |= {f"{family}_bucket", f"{family}_count", f"{family}_sum"}
        if kind == "counter":
            names.add(family if family.endswith("_total") else f"{family}_total")
    dashboard = json.loads((DEPLOY / "grafana" / "finora-dashboard.json").read_text())
    expressions = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    expressions += re.findall(r"expr: \|?\s*\n?((?:.+\n?)+?)(?=\s+(?:for|labels):|\s+- )",
                              (DEPLOY / "prometheus" / "alerts.yml").read_text())
    used = {name for expr in expressions for name in re.findall(r"\b((?:finora_|http_|graphql_)[a-z_]+)\b", expr)}
    assert used, expressions
    assert used <= names, sorted(used - names)

"""Traces: one request that enqueues a job yields one connected trace (request -> GraphQL ->
SQL -> enqueue -> the job, on a worker thread -> the job's SQL), seen by the SDK's in-memory
exporter."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from finora_gql.config import Settings
from finora_gql.core import tracing
from tests.server import RunningServer, running_server, unique_email
from tests.smtp_sink import SmtpSink

EXPORTER = InMemorySpanExporter()


@pytest.fixture(scope="module")
async def traced_server(settings: Settings) -> AsyncIterator[RunningServer]:
    # Before the app: its engine registers SQL listeners only while tracing is on.
    tracing.install(SimpleSpanProcessor(EXPORTER))
    await rebuild_job_runtime()
    try:
        async with running_server(settings) as running:
            yield running
    finally:
        tracing.disable()  # the rest of a test session runs untraced, and the exporter keeps nothing more
        EXPORTER.clear()


async def rebuild_job_runtime() -> None:
    """The in-process workers' runtime (and its engine) is built once per process: when an
    earlier test built it before tracing was on, close it so the next job builds one whose engine
    is instrumented."""
    from dramatiq.asyncio import get_event_loop_thread
    from dramatiq.brokers.stub import StubBroker

    from workers import runtime as job_runtime
    from workers.actors import broker

    if isinstance(broker, StubBroker):  # let jobs in flight finish on the old runtime first
        for queue in broker.get_declared_queues():
            await asyncio.to_thread(broker.join, queue, timeout=60_000, fail_fast=False)
    loop_thread = get_event_loop_thread()
    if loop_thread is not None:
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(job_runtime.close(), loop_thread.loop))


async def wait_for_span(name: str, trace_id: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(s.name == name and s.context.trace_id == trace_id for s in EXPORTER.get_finished_spans()):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"no finished span {name!r} in trace {trace_id:032x}: "
                         f"{sorted({s.name for s in EXPORTER.get_finished_spans()})}")


async def test_a_request_and_the_job_it_enqueues_are_one_trace(traced_server: RunningServer, smtp_sink: SmtpSink) -> None:
    EXPORTER.clear()
    email = unique_email("traced")
    parent_trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    headers = {"traceparent": f"00-{parent_trace}-00f067aa0ba902b7-01"}
    body = await traced_server.gql(
        "mutation Register($input: RegisterInput!) { register(input: $input) { user { id } errors { code } } }",
        {"input": {"email": email, "password": "correct horse battery", "name": "Tracy"}}, headers=headers,
    )
    assert body["data"]["register"]["errors"] == []
    await smtp_sink.wait_for(lambda m: m["To"] == email)
    trace_id = int(parent_trace, 16)
    await wait_for_span("job deliver_email", trace_id)

    spans = [s for s in EXPORTER.get_finished_spans() if s.context.trace_id == trace_id]
    by_id = {s.context.span_id: s for s in spans}
    names = [s.name for s in spans]
    http = next(s for s in spans if s.kind is SpanKind.SERVER)
    assert http.name == "POST /graphql"
    assert http.parent is not None and http.parent.span_id == 0x00F067AA0BA902B7  # continued the caller's trace
    assert http.attributes["http.response.status_code"] == 200
    operation = next(s for s in spans if s.name == "mutation Register")
    assert operation.attributes["graphql.operation.type"] == "mutation"
    assert operation.attributes["graphql.operation.name"] == "Register"
    sql = [s for s in spans if s.attributes.get("db.system.name") == "postgresql"]
    assert any(s.attributes["db.operation.name"] == "INSERT" for s in sql), names
    assert all("correct horse" not in str(s.attributes) for s in spans)  # statements only, never parameters
    job = next(s for s in spans if s.name == "job deliver_email")
    assert job.kind is SpanKind.CONSUMER

    def ancestors(span):  # noqa: ANN001, ANN202
        chain = []
        while span.parent is not None and span.parent.span_id in by_id:
            span = by_id[span.parent.span_id]
            chain.append(span)
        return chain

    job_chain = ancestors(job)
    assert [s.name for s in job_chain][:1] == ["enqueue deliver_email"]
    assert http in job_chain  # the job hangs under the request, through its enqueue
    job_sql = [s for s in sql if job in ancestors(s)]
    assert job_sql, "the job's own SQL belongs to its span"
    # Everything in the trace but the request's span hangs under it: one connected tree.
    assert all(http in ancestors(s) for s in spans if s is not http)

    # The job's outcome and duration are counted too.
    from finora_gql.core.telemetry import PROCESS_REGISTRY

    labels = {"actor": "deliver_email", "queue": "email", "outcome": "succeeded"}
    for _ in range(100):
        if (PROCESS_REGISTRY.get_sample_value("finora_jobs_total", labels) or 0) >= 1:
            break
        await asyncio.sleep(0.1)
    assert PROCESS_REGISTRY.get_sample_value("finora_jobs_total", labels) >= 1
    assert PROCESS_REGISTRY.get_sample_value("finora_job_duration_seconds_count", {"actor": "deliver_email"}) >= 1


def test_otlp_export_only_when_the_endpoint_is_set(tmp_path) -> None:  # noqa: ANN001
    """A process with OTEL_EXPORTER_OTLP_ENDPOINT posts its spans to <endpoint>/v1/traces (a local
    receiver here); without it, tracing stays off."""
    import http.server
    import subprocess
    import sys
    import threading

    received: list[tuple[str, bytes]] = []

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            received.append((self.path, self.rfile.read(int(self.headers["content-length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    script = (
        "from finora_gql.config import Settings\n"
        "from finora_gql.core import tracing\n"
        "import sys\n"
        "on = tracing.configure(Settings(_env_file=None))\n"
        "print('on' if on else 'off')\n"
        "if on:\n"
        "    with tracing.span('probe-span'):\n"
        "        pass\n"
        "    tracing.shutdown()\n"
    )
    import os

    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "TRACING"))}
    off = subprocess.run([sys.executable, "-c", script], env=base_env, capture_output=True, text=True, timeout=120)
    assert off.stdout.strip() == "off", off.stderr
    env = {**base_env, "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{httpd.server_port}"}
    on = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    httpd.shutdown()
    assert on.stdout.strip() == "on", on.stderr
    assert [path for path, _ in received] == ["/v1/traces"]
    assert b"probe-span" in received[0][1]

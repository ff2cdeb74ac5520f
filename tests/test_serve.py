"""The newcomer's path: `finora-gql serve` on a fresh data folder answers within 15 seconds."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_from_scratch_answers_typename(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JWT_", "FINORA_", "DATABASE_", "SMTP_", "REDIS_"))}
    env.update(FINORA_DATA_DIR=str(tmp_path / "data"), FINORA_ENV="development")
    command = [str(Path(sys.executable).parent / "finora-gql"), "serve", "--port", str(port)]
    started = time.monotonic()
    process = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        answer = None
        while time.monotonic() - started < 15 and answer is None:
            try:
                answer = httpx.post(f"http://127.0.0.1:{port}/graphql", json={"query": "{ __typename }"}, timeout=1).json()
            except httpx.HTTPError:
                time.sleep(0.2)
        elapsed = time.monotonic() - started
        assert answer == {"data": {"__typename": "Query"}}, f"no answer after {elapsed:.1f}s"
        print(f"serve answered after {elapsed:.1f}s")
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    assert f"GraphiQL at http://127.0.0.1:{port}/graphql" in output
    assert process.returncode == 0, output
    assert (tmp_path / "data" / "pg").is_dir()
    assert (tmp_path / "data" / "jwt-secret").is_file()

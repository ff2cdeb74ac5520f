"""Real server and worker processes for tests that cross process boundaries."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def process_env(**values: str) -> dict[str, str]:
    """The parent's environment without Finora settings, plus `values`."""
    keep = {k: v for k, v in os.environ.items()
            if not k.startswith(("JWT_", "FINORA_", "DATABASE_", "SMTP_", "REDIS_", "RATE_LIMIT_", "JOB_", "WORKER_"))}
    return {**keep, **values}


class Process:
    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self._file = log.open("w")
        self.popen = subprocess.Popen(args, env=env, stdout=self._file, stderr=subprocess.STDOUT)

    def kill(self) -> None:
        """SIGKILL: no cleanup, as when a machine or container dies."""
        self.popen.kill()
        self.popen.wait(timeout=10)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        self._file.close()

    def output(self) -> str:
        self._file.flush()
        return self.log.read_text()


def start_api(env: dict[str, str], log: Path) -> tuple[Process, str]:
    port = free_port()
    process = Process(
        [str(BIN / "uvicorn"), "--factory", "finora_gql.app:create_app", "--host", "127.0.0.1", "--port", str(port),
         "--ws", "websockets-sansio", "--ws-per-message-deflate", "false", "--log-level", "warning"], env, log)
    return process, wait_until_healthy(process, f"http://127.0.0.1:{port}", timeout=30)


def wait_until_healthy(process: Process, base: str, *, timeout: float) -> str:
    """`base` once the server there answers /health; stops it and raises if it never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            raise RuntimeError(f"server exited:\n{process.output()}")
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return base
        except httpx.HTTPError:
            time.sleep(0.1)
    process.stop()
    raise RuntimeError(f"server did not start:\n{process.output()}")


def start_worker(env: dict[str, str], log: Path) -> Process:
    return Process([str(BIN / "finora-gql"), "worker", "--threads", "2"], env, log)

"""Storage backends for the files tests, each real: the app's local backend served by the test
server, moto's S3 server for round trips, and nanio, which checks presigned signatures and expiry
as S3 does (moto accepts bad signatures and expired URLs)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aioboto3
import httpx
import pytest

from finora_gql.core import clock
from finora_gql.core.storage import S3Storage, Storage
from tests.processes import BIN, Process, free_port, process_env
from tests.server import RunningServer

ACCESS_KEY = "finora-test-key"
SECRET_KEY = "finora-test-secret-key-0123456789"
BUCKET = "finora-files"


@dataclass
class Backend:
    storage: Storage
    # The local backend's URLs start with PUBLIC_URL, which in tests is not the server's port.
    origin: tuple[str, str] | None = None

    def reachable(self, url: str) -> str:
        if self.origin is None:
            return url
        public, actual = self.origin
        assert url.startswith(public + "/"), url
        return actual + url[len(public):]

    @contextlib.asynccontextmanager
    async def past_expiry(self, seconds: int) -> AsyncIterator[None]:
        """Later than URLs presigned for `seconds` allow: the local backend follows the app's
        clock, an S3 server only real time."""
        if self.origin is not None:
            with clock.travel(dt.timedelta(seconds=seconds + 2)):
                yield
            return
        await asyncio.sleep(seconds + 1.1)
        yield


@pytest.fixture
def local_backend(server: RunningServer) -> Backend:
    return Backend(server.runtime.storage, (server.settings.public_url.rstrip("/"), server.base_url))


async def _wait_until_listening(process: Process, url: str) -> None:
    deadline = time.monotonic() + 20
    async with httpx.AsyncClient(timeout=1) as client:
        while time.monotonic() < deadline:
            if process.popen.poll() is not None:
                raise RuntimeError(f"S3 server exited:\n{process.output()}")
            try:
                await client.get(url)
                return
            except httpx.TransportError:
                await asyncio.sleep(0.05)
    raise RuntimeError(f"S3 server did not start:\n{process.output()}")


async def _create_bucket(endpoint_url: str) -> None:
    """Operators, not the app, create the bucket in production."""
    session = aioboto3.Session(aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY, region_name="us-east-1")
    async with session.client("s3", endpoint_url=endpoint_url) as client:
        await client.create_bucket(Bucket=BUCKET)


@contextlib.asynccontextmanager
async def s3_backend(kind: str, workdir: Path) -> AsyncIterator[Backend]:
    """An S3 server of `kind` (moto or nanio) on a free port, and the app's S3 backend using it."""
    port = free_port()
    if kind == "moto":
        args = [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)]
    else:
        args = [str(BIN / "nanio"), "serve", "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(workdir),
                "--log-level", "warning", "--no-access-log"]
    env = process_env(NANIO_ACCESS_KEY=ACCESS_KEY, NANIO_SECRET_KEY=SECRET_KEY)
    process = Process(args, env, workdir.with_suffix(".log"))
    url = f"http://127.0.0.1:{port}"
    storage = S3Storage(bucket=BUCKET, endpoint_url=url, access_key_id=ACCESS_KEY, secret_access_key=SECRET_KEY,
                        addressing_style="path")
    try:
        await _wait_until_listening(process, url)
        await _create_bucket(url)
        await storage.start()
        yield Backend(storage)
    finally:
        await storage.aclose()
        process.stop()


@pytest.fixture(scope="session")
async def moto_backend(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Backend]:
    async with s3_backend("moto", tmp_path_factory.mktemp("moto")) as backend:
        yield backend


@pytest.fixture(scope="session")
async def nanio_backend(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Backend]:
    async with s3_backend("nanio", tmp_path_factory.mktemp("nanio")) as backend:
        yield backend


@pytest.fixture(params=["local", "moto"])
def round_trip_backend(request: pytest.FixtureRequest) -> Backend:
    return request.getfixturevalue(f"{request.param}_backend")


@pytest.fixture(params=["local", "nanio"])
def signing_backend(request: pytest.FixtureRequest) -> Backend:
    """Backends that enforce presigned signatures and expiry."""
    return request.getfixturevalue(f"{request.param}_backend")

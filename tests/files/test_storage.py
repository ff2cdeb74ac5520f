"""Both storage backends keep one contract: presigned PUT and GET, head, read, put, delete; and
signed URLs refuse any change and any late use (local backend and nanio)."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from finora_gql.config import Settings
from finora_gql.core.storage import InvalidKey, LocalStorage, ObjectNotFound, S3Storage, build_storage
from tests.files.conftest import Backend

CSV = b"date,amount\n2026-01-02,-12.50\n"


def new_key(name: str = "export.csv") -> str:
    return f"{uuid.uuid4()}/{uuid.uuid4()}/{name}"


async def test_presigned_round_trip(round_trip_backend: Backend) -> None:
    backend, key = round_trip_backend, new_key()
    upload = await backend.storage.presign_put(key, content_type="text/csv", size=len(CSV))
    assert upload.headers == {"Content-Type": "text/csv"}
    assert dt.timedelta(minutes=59) < upload.expires_at - dt.datetime.now(dt.UTC) <= dt.timedelta(hours=1)
    async with httpx.AsyncClient() as client:
        stored = await client.put(backend.reachable(upload.url), content=CSV, headers=upload.headers)
        assert stored.status_code == 200, stored.text
        info = await backend.storage.head(key)
        assert info is not None and (info.size, info.content_type) == (len(CSV), "text/csv")

        url = await backend.storage.presign_get(key, filename="März 2026.csv")
        fetched = await client.get(backend.reachable(url))
    assert fetched.status_code == 200 and fetched.content == CSV
    assert fetched.headers["content-disposition"] == (
        "attachment; filename=\"M_rz 2026.csv\"; filename*=UTF-8''M%C3%A4rz%202026.csv"
    )
    assert await backend.storage.read(key) == CSV

    await backend.storage.delete(key)
    await backend.storage.delete(key)  # already gone: nothing happens
    assert await backend.storage.head(key) is None
    with pytest.raises(ObjectNotFound):
        await backend.storage.read(key)


async def test_server_side_put_replaces(round_trip_backend: Backend) -> None:
    storage, key = round_trip_backend.storage, new_key("statement.pdf")
    await storage.put(key, b"%PDF-1.7 first", "application/pdf")
    await storage.put(key, b"%PDF-1.7 second version", "application/pdf")
    assert await storage.read(key) == b"%PDF-1.7 second version"
    info = await storage.head(key)
    assert info is not None and (info.size, info.content_type) == (23, "application/pdf")
    await storage.delete(key)


def _tampered(url: str) -> str:
    """The URL with the first character of its signature changed (S3's and ours alike)."""
    return re.sub(r"([Ss]ignature=)(.)", lambda m: m[1] + ("1" if m[2] == "0" else "0"), url)


async def test_changed_requests_are_refused(signing_backend: Backend) -> None:
    backend, key = signing_backend, new_key()
    upload = await backend.storage.presign_put(key, content_type="text/csv", size=len(CSV))
    url = backend.reachable(upload.url)
    other_key = url.replace(key, new_key())
    async with httpx.AsyncClient() as client:
        attempts = {
            "signature": await client.put(_tampered(url), content=CSV, headers=upload.headers),
            "key": await client.put(other_key, content=CSV, headers=upload.headers),
            "type": await client.put(url, content=CSV, headers={"Content-Type": "text/html"}),
            "length": await client.put(url, content=CSV + b"more", headers=upload.headers),
            "method": await client.get(url),
        }
        assert {name: r.status_code for name, r in attempts.items()} == dict.fromkeys(attempts, 403)
        assert await backend.storage.head(key) is None

        assert (await client.put(url, content=CSV, headers=upload.headers)).status_code == 200
        download = backend.reachable(await backend.storage.presign_get(key))
        assert (await client.get(_tampered(download))).status_code == 403
        assert (await client.put(download, content=CSV, headers=upload.headers)).status_code == 403
        assert (await client.get(download)).content == CSV
    await backend.storage.delete(key)


async def test_expired_urls_are_refused(signing_backend: Backend) -> None:
    backend, key, later_key = signing_backend, new_key(), new_key()
    await backend.storage.put(key, CSV, "text/csv")
    short = dt.timedelta(seconds=1)
    upload = await backend.storage.presign_put(later_key, content_type="text/csv", size=len(CSV), expires_in=short)
    download = await backend.storage.presign_get(key, expires_in=short)
    async with httpx.AsyncClient() as client, backend.past_expiry(1):
        put = await client.put(backend.reachable(upload.url), content=CSV, headers=upload.headers)
        get = await client.get(backend.reachable(download))
    assert (put.status_code, get.status_code) == (403, 403)
    assert await backend.storage.head(later_key) is None
    await backend.storage.delete(key)


@pytest.mark.parametrize("key", ["../escape.csv", "a/../../b.csv", "a//b.csv", ".hidden/x.csv", "a/b/", "/abs.csv",
                                 "a/b c.csv", "a\\b.csv", "a/%2e%2e/b.csv", "x" * 1025])
async def test_unsafe_keys_are_refused_everywhere(local_backend: Backend, moto_backend: Backend, key: str) -> None:
    for storage in (local_backend.storage, moto_backend.storage):
        with pytest.raises(InvalidKey):
            await storage.presign_put(key, content_type="text/csv", size=1)
        with pytest.raises(InvalidKey):
            await storage.head(key)


async def test_local_uploads_stop_at_the_signed_length(local_backend: Backend) -> None:
    storage = local_backend.storage
    assert isinstance(storage, LocalStorage)
    key = new_key()

    async def body(*chunks: bytes) -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk

    assert not await storage.write(key, body(b"12345", b"67890"), size=8, content_type="text/csv")
    assert not await storage.write(key, body(b"1234"), size=8, content_type="text/csv")
    assert await storage.head(key) is None
    assert not list(storage.root.rglob("*.part")), "partial uploads are cleaned up"
    assert await storage.write(key, body(b"1234", b"5678"), size=8, content_type="text/csv")
    assert await storage.read(key) == b"12345678"
    await storage.delete(key)
    assert not (storage.root / "objects" / key.split("/")[0]).exists(), "empty key folders are removed"


async def test_unsigned_requests_to_local_files_are_refused(local_backend: Backend) -> None:
    async with httpx.AsyncClient(base_url=local_backend.reachable(local_backend.storage.base_url)) as client:
        plain = await client.put(f"/{new_key()}", content=b"x" * 2_000_000, headers={"Content-Type": "text/csv"})
        traversal = await client.get("/..%2F..%2Fjwt-secret?expires=9999999999&signature=x")
    assert (plain.status_code, traversal.status_code) == (403, 403)


def test_settings_choose_the_backend(tmp_path: Path) -> None:
    local = Settings(_env_file=None, FINORA_DATA_DIR=tmp_path, jwt_secret="s" * 40)  # type: ignore[call-arg]
    storage = build_storage(local)
    assert isinstance(storage, LocalStorage) and storage.root == (tmp_path / "files").resolve()
    s3 = local.model_copy(update={"s3_bucket": "finora", "s3_endpoint_url": "http://127.0.0.1:9"})
    assert isinstance(build_storage(s3), S3Storage)
    half = local.model_copy(update={"s3_access_key_id": "key"})
    assert "S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY must be set together" in half.problems()

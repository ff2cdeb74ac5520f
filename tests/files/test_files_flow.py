"""Files through the API: createUpload, PUT to the signed URL, completeUpload, download, delete;
limits and types; and nobody reaches another person's files."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest

from finora_gql.core import clock
from finora_gql.core.db import atomic
from finora_gql.core.errors import ErrorCode, ServiceError
from finora_gql.core.viewer import Viewer
from finora_gql.files import service
from tests.files.conftest import Backend
from tests.flows import SignedIn, node_uuid, signed_in_user
from tests.server import RunningServer

ERRORS = "errors { code field message }"
FILE_FIELDS = "id filename mimeType size status createdAt completedAt downloadUrl"
CREATE = f"""mutation($input: CreateUploadInput!) {{ createUpload(input: $input) {{
  file {{ {FILE_FIELDS} }} uploadUrl uploadHeaders {{ name value }} expiresAt {ERRORS} }} }}"""
COMPLETE = f"mutation($id: ID!) {{ completeUpload(input: {{fileId: $id}}) {{ file {{ {FILE_FIELDS} }} {ERRORS} }} }}"
DELETE = f"mutation($id: ID!) {{ deleteFile(input: {{id: $id}}) {{ deletedIds {ERRORS} }} }}"
FILE = f"query($id: ID!) {{ file(id: $id) {{ {FILE_FIELDS} }} node(id: $id) {{ id }} }}"
FILES = """query($after: String) { files(first: 2, after: $after) {
  totalCount edges { cursor node { id filename } } pageInfo { hasNextPage endCursor } } }"""

CSV = b"date,amount,category,merchant\n2026-01-02,-12.50,Groceries,Corner Shop\n"


async def create_upload(server: RunningServer, user: SignedIn, filename: str = "export.csv",
                        mime_type: str = "text/csv", size: int = len(CSV)) -> dict[str, Any]:
    body = await server.gql(CREATE, {"input": {"filename": filename, "mimeType": mime_type, "size": size}},
                            token=user.access_token)
    return body["data"]["createUpload"]


async def upload(server: RunningServer, local_backend: Backend, user: SignedIn, content: bytes = CSV,
                 filename: str = "export.csv") -> dict[str, Any]:
    """A READY file: created, PUT to its URL, completed."""
    created = await create_upload(server, user, filename, size=len(content))
    assert created["errors"] == [], created
    headers = {h["name"]: h["value"] for h in created["uploadHeaders"]}
    async with httpx.AsyncClient() as client:
        stored = await client.put(local_backend.reachable(created["uploadUrl"]), content=content, headers=headers)
    assert stored.status_code == 200, stored.text
    completed = (await server.gql(COMPLETE, {"id": created["file"]["id"]}, token=user.access_token))["data"]
    assert completed["completeUpload"]["errors"] == [], completed
    return completed["completeUpload"]["file"]


async def test_upload_complete_download(server: RunningServer, local_backend: Backend) -> None:
    ann = await signed_in_user(server)
    created = await create_upload(server, ann, filename="C:\\fakepath\\Bank export März.csv")
    file = created["file"]
    assert created["errors"] == [] and created["uploadHeaders"] == [{"name": "Content-Type", "value": "text/csv"}]
    assert (file["filename"], file["mimeType"], file["size"], file["status"]) == ("Bank export März.csv", "text/csv",
                                                                                 len(CSV), "PENDING")
    assert file["downloadUrl"] is None and created["expiresAt"]
    row = await _row(server, ann, file["id"])
    assert row.key == f"{node_uuid(ann.user_id)}/{row.id}/Bank-export-Marz.csv"

    early = (await server.gql(COMPLETE, {"id": file["id"]}, token=ann.access_token))["data"]["completeUpload"]
    assert [(e["code"], e["field"]) for e in early["errors"]] == [("UPLOAD_INCOMPLETE", "fileId")]

    headers = {h["name"]: h["value"] for h in created["uploadHeaders"]}
    async with httpx.AsyncClient() as client:
        put = await client.put(local_backend.reachable(created["uploadUrl"]), content=CSV, headers=headers)
        assert put.status_code == 200
        done = (await server.gql(COMPLETE, {"id": file["id"]}, token=ann.access_token))["data"]["completeUpload"]
        assert done["errors"] == [] and done["file"]["status"] == "READY" and done["file"]["completedAt"]
        again = (await server.gql(COMPLETE, {"id": file["id"]}, token=ann.access_token))["data"]["completeUpload"]
        assert again["errors"] == [] and again["file"]["completedAt"] == done["file"]["completedAt"]

        seen = (await server.gql(FILE, {"id": file["id"]}, token=ann.access_token))["data"]
        assert seen["node"] == {"id": file["id"]} and seen["file"]["status"] == "READY"
        download = await client.get(local_backend.reachable(seen["file"]["downloadUrl"]))
    assert download.status_code == 200 and download.content == CSV
    assert download.headers["content-type"].startswith("text/csv")
    assert "filename*=UTF-8''Bank%20export%20M%C3%A4rz.csv" in download.headers["content-disposition"]

    async with server.runtime.sessions() as session:
        read, content = await service.read_content(session, server.runtime, _viewer(ann), node_uuid(file["id"]))
    assert (read.filename, content) == ("Bank export März.csv", CSV)


async def test_mismatched_upload_is_discarded_and_stays_pending(server: RunningServer) -> None:
    ann = await signed_in_user(server)
    created = await create_upload(server, ann, size=len(CSV))
    row = await _row(server, ann, created["file"]["id"])
    storage = server.runtime.storage
    # Not through the signed URL (it takes only the declared length and type), as a buggy or
    # hostile writer to the bucket would.
    for content, content_type in ((CSV[:-1], "text/csv"), (CSV, "image/png")):
        await storage.put(row.key, content, content_type)
        payload = (await server.gql(COMPLETE, {"id": created["file"]["id"]}, token=ann.access_token))["data"]
        assert [(e["code"], e["field"]) for e in payload["completeUpload"]["errors"]] == [("UPLOAD_MISMATCH", "fileId")]
        assert await storage.head(row.key) is None
    seen = (await server.gql(FILE, {"id": created["file"]["id"]}, token=ann.access_token))["data"]["file"]
    assert (seen["status"], seen["downloadUrl"]) == ("PENDING", None)
    async with server.runtime.sessions() as session:
        with pytest.raises(ServiceError) as raised:
            await service.read_content(session, server.runtime, _viewer(ann), row.id)
    assert raised.value.code is ErrorCode.UPLOAD_INCOMPLETE


@pytest.mark.parametrize(("filename", "mime_type", "size", "code", "field"), [
    ("big.csv", "text/csv", 25 * 1024 * 1024 + 1, "FILE_TOO_LARGE", "size"),
    ("empty.csv", "text/csv", 0, "INVALID", "size"),
    ("page.html", "text/html", 10, "UNSUPPORTED_FILE_TYPE", "mimeType"),
    ("tool.exe", "application/octet-stream", 10, "UNSUPPORTED_FILE_TYPE", "mimeType"),
    ("/\u202e/ ..", "text/csv", 10, "REQUIRED", "filename"),
])
async def test_uploads_outside_the_rules_are_refused(
    server: RunningServer, filename: str, mime_type: str, size: int, code: str, field: str
) -> None:
    ann = await signed_in_user(server)
    created = await create_upload(server, ann, filename, mime_type, size)
    assert [(e["code"], e["field"]) for e in created["errors"]] == [(code, field)]
    assert created["file"] is None and created["uploadUrl"] is None and created["uploadHeaders"] == []
    listed = await server.gql(FILES, token=ann.access_token)
    assert listed["data"]["files"]["totalCount"] == 0


async def test_media_type_parameters_are_dropped(server: RunningServer) -> None:
    ann = await signed_in_user(server)
    created = await create_upload(server, ann, "notes.txt", "Text/Plain; charset=UTF-8", 10)
    assert created["file"]["mimeType"] == "text/plain"
    assert created["uploadHeaders"] == [{"name": "Content-Type", "value": "text/plain"}]


async def test_files_are_listed_newest_first(server: RunningServer) -> None:
    ann = await signed_in_user(server)
    ids = [(await create_upload(server, ann, f"part-{n}.csv"))["file"]["id"] for n in range(3)]
    first = (await server.gql(FILES, token=ann.access_token))["data"]["files"]
    assert first["totalCount"] == 3 and first["pageInfo"]["hasNextPage"]
    rest = (await server.gql(FILES, {"after": first["pageInfo"]["endCursor"]}, token=ann.access_token))["data"]["files"]
    assert [e["node"]["id"] for e in first["edges"] + rest["edges"]] == ids[::-1]
    assert not rest["pageInfo"]["hasNextPage"]


async def test_nobody_reaches_another_persons_file(server: RunningServer, local_backend: Backend) -> None:
    ann = await signed_in_user(server)
    bob = await signed_in_user(server)
    ready = await upload(server, local_backend, ann)
    pending = (await create_upload(server, ann))["file"]

    for file in (ready, pending):
        seen = (await server.gql(FILE, {"id": file["id"]}, token=bob.access_token))["data"]
        assert seen == {"file": None, "node": None}
        for query, name, field in ((COMPLETE, "completeUpload", "fileId"), (DELETE, "deleteFile", "id")):
            payload = (await server.gql(query, {"id": file["id"]}, token=bob.access_token))["data"][name]
            assert [(e["code"], e["field"]) for e in payload["errors"]] == [("NOT_FOUND", field)], name
        async with server.runtime.sessions() as session:
            with pytest.raises(ServiceError) as raised:
                await service.read_content(session, server.runtime, _viewer(bob), node_uuid(file["id"]))
        assert (raised.value.code, raised.value.field) == (ErrorCode.NOT_FOUND, "fileId")
    assert (await server.gql(FILES, token=bob.access_token))["data"]["files"]["totalCount"] == 0

    # An id of another type is not a file either.
    not_a_file = (await server.gql(FILE, {"id": ann.user_id}, token=ann.access_token))["data"]["file"]
    assert not_a_file is None
    mine = (await server.gql(FILES, token=ann.access_token))["data"]["files"]
    assert mine["totalCount"] == 2


async def test_delete_removes_row_and_object(server: RunningServer, local_backend: Backend) -> None:
    ann = await signed_in_user(server)
    file = await upload(server, local_backend, ann)
    row = await _row(server, ann, file["id"])
    deleted = (await server.gql(DELETE, {"id": file["id"]}, token=ann.access_token))["data"]["deleteFile"]
    assert deleted == {"deletedIds": [file["id"]], "errors": []}
    assert await server.runtime.storage.head(row.key) is None
    assert (await server.gql(FILE, {"id": file["id"]}, token=ann.access_token))["data"]["file"] is None
    async with httpx.AsyncClient() as client:
        gone = await client.get(local_backend.reachable(file["downloadUrl"]))
    assert gone.status_code == 404
    again = (await server.gql(DELETE, {"id": file["id"]}, token=ann.access_token))["data"]["deleteFile"]
    assert [e["code"] for e in again["errors"]] == ["NOT_FOUND"]


async def test_uploads_never_completed_are_removed_after_a_day(server: RunningServer, local_backend: Backend) -> None:
    ann = await signed_in_user(server)
    ready = await _row(server, ann, (await upload(server, local_backend, ann))["id"])
    # Sent but never completed: a PENDING row with an object behind it.
    started = await create_upload(server, ann, "half.csv")
    abandoned = await _row(server, ann, started["file"]["id"])
    await server.runtime.storage.put(abandoned.key, CSV, "text/csv")
    with clock.travel(dt.timedelta(hours=25)):  # (the access token has expired by then: services directly)
        async with server.runtime.sessions() as session, atomic(session):
            fresh, _ = await service.create_upload(session, server.runtime, _viewer(ann), filename="fresh.csv",
                                                   mime_type="text/csv", size=len(CSV))
        async with server.runtime.sessions() as session, atomic(session):
            removed = await service.remove_abandoned(session, server.runtime)
    assert removed >= 1
    async with server.runtime.sessions() as session:
        left = {row.id for row in (await service.get_files(session, _viewer(ann), [ready.id, abandoned.id, fresh.id])).values()}
    assert left == {ready.id, fresh.id}
    assert await server.runtime.storage.head(abandoned.key) is None
    assert await server.runtime.storage.head(ready.key) is not None


def _viewer(user: SignedIn) -> Viewer:
    return Viewer.acting_for(node_uuid(user.user_id))


async def _row(server: RunningServer, user: SignedIn, file_id: str):
    async with server.runtime.sessions() as session:
        return await service.get_file(session, _viewer(user), node_uuid(file_id))

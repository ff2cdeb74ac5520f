"""Files in a local folder, served by the app through HMAC-signed, expiring URLs (the embedded default).

The URLs behave like S3 presigned ones: an upload URL takes one PUT with exactly the signed
Content-Type and Content-Length, a download URL one GET, each until it expires; a changed
method, key, expiry, type, length or filename, or a late request, gets 403.
Objects live in `<root>/objects/<key>`, their content types in `<root>/types/<key>`.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote, urlencode

import orjson
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response

from finora_gql.core import clock
from finora_gql.core.storage.base import (
    URL_TTL,
    InvalidKey,
    ObjectInfo,
    ObjectNotFound,
    PresignedUpload,
    check_key,
    content_disposition,
)

LOCAL_FILES_PATH = "/files"
# Derives this backend's key from the app's signing secret, so no new secret is needed and a
# file URL can never pass for a token signed with the same secret (or the other way round).
_KEY_LABEL = b"finora/local-storage-urls/v1"


class LocalStorage:
    def __init__(self, root: Path, *, signing_secret: str, base_url: str) -> None:
        self.root = root.resolve()
        self._key = hmac.new(signing_secret.encode(), _KEY_LABEL, hashlib.sha256).digest()
        self.base_url = base_url.rstrip("/") + LOCAL_FILES_PATH

    async def start(self) -> None:
        await asyncio.to_thread((self.root / "objects").mkdir, parents=True, exist_ok=True)

    async def aclose(self) -> None:
        return None

    async def presign_put(
        self, key: str, *, content_type: str, size: int, expires_in: dt.timedelta = URL_TTL
    ) -> PresignedUpload:
        expires = _expiry(expires_in)
        signature = self._sign("PUT", check_key(key), expires, content_type, str(size))
        url = self._url(key, {"expires": expires, "signature": signature})
        return PresignedUpload(url, {"Content-Type": content_type}, dt.datetime.fromtimestamp(int(expires), dt.UTC))

    async def presign_get(self, key: str, *, expires_in: dt.timedelta = URL_TTL, filename: str | None = None) -> str:
        expires = _expiry(expires_in)
        signature = self._sign("GET", check_key(key), expires, filename or "")
        params = {"expires": expires, **({"filename": filename} if filename else {}), "signature": signature}
        return self._url(key, params)

    async def head(self, key: str) -> ObjectInfo | None:
        return await asyncio.to_thread(self._head, key)

    async def read(self, key: str) -> bytes:
        try:
            return await asyncio.to_thread(self._path("objects", key).read_bytes)
        except FileNotFoundError:
            raise ObjectNotFound(key) from None

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        async def body() -> AsyncIterator[bytes]:
            yield data

        await self.write(key, body(), size=len(data), content_type=content_type)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._delete, key)

    def verify(self, method: str, key: str, expires: str, signature: str, *bound: str) -> str | None:
        """None when a request may use this signed URL; otherwise why it is refused."""
        expected = self._sign(method, key, expires, *bound)
        if not hmac.compare_digest(expected.encode(), signature.encode()):
            return "The signature does not match this request."
        if int(expires) < clock.now().timestamp():  # signed, so a number we wrote
            return "This link has expired."
        return None

    async def write(self, key: str, chunks: AsyncIterator[bytes], *, size: int, content_type: str) -> bool:
        """Store exactly `size` bytes from `chunks`, replacing any object atomically.

        False, with nothing stored, when the body is longer or shorter than `size`; the bytes
        go to disk as they arrive, so memory stays flat and at most `size` bytes are written.
        """
        path = self._path("objects", key)
        await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
        # A leading dot: no key can name a partial upload.
        partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
        received = 0
        try:
            with await asyncio.to_thread(partial.open, "wb") as file:
                async for chunk in chunks:
                    received += len(chunk)
                    if received > size:
                        break
                    await asyncio.to_thread(file.write, chunk)
            if received != size:
                await asyncio.to_thread(partial.unlink)
                return False
            await asyncio.to_thread(self._finish, key, partial, content_type)
            return True
        except BaseException:
            await asyncio.to_thread(partial.unlink, missing_ok=True)
            raise

    def located(self, key: str) -> tuple[Path, ObjectInfo] | None:
        info = self._head(key)
        return None if info is None else (self._path("objects", key), info)

    def _sign(self, *parts: str) -> str:
        # A JSON list, so no choice of parts (a filename with a newline, say) can imitate another.
        digest = hmac.new(self._key, orjson.dumps(parts), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def _url(self, key: str, params: dict[str, str]) -> str:
        return f"{self.base_url}/{quote(key)}?{urlencode(params)}"

    def _path(self, area: str, key: str) -> Path:
        base = self.root / area
        path = base / check_key(key)
        # check_key already rules out `..`; resolving also refuses links planted inside the folder.
        if not path.resolve().is_relative_to(base.resolve()):
            raise InvalidKey(key)
        return path

    def _head(self, key: str) -> ObjectInfo | None:
        try:
            size = self._path("objects", key).stat().st_size
        except FileNotFoundError:
            return None
        try:
            content_type: str | None = self._path("types", key).read_text()
        except FileNotFoundError:
            content_type = None
        return ObjectInfo(size=size, content_type=content_type)

    def _finish(self, key: str, partial: Path, content_type: str) -> None:
        types = self._path("types", key)
        types.parent.mkdir(parents=True, exist_ok=True)
        types.write_text(content_type)
        os.replace(partial, self._path("objects", key))

    def _delete(self, key: str) -> None:
        for area in ("objects", "types"):
            path = self._path(area, key)
            path.unlink(missing_ok=True)
            # Drop the folders the key made (`userId/uuid/`), so deleted files leave nothing behind.
            for parent in path.parents:
                if parent == self.root / area:
                    break
                try:
                    parent.rmdir()
                except OSError:
                    break


def _expiry(expires_in: dt.timedelta) -> str:
    return str(int((clock.now() + expires_in).timestamp()))


async def local_files_endpoint(request: Request) -> Response:
    """PUT to an upload URL, GET from a download URL of the local backend."""
    storage = request.app.state.runtime.storage
    if not isinstance(storage, LocalStorage):
        return PlainTextResponse("Not found.", status_code=404)
    key = request.path_params["key"]
    expires, signature = request.query_params.get("expires", ""), request.query_params.get("signature", "")
    if request.method == "PUT":
        content_type = request.headers.get("content-type", "")
        length = request.headers.get("content-length", "")
        if refused := storage.verify("PUT", key, expires, signature, content_type, length):
            return PlainTextResponse(refused, status_code=403)
        if not await storage.write(key, request.stream(), size=int(length), content_type=content_type):
            return PlainTextResponse("The body does not match Content-Length.", status_code=400)
        return Response(status_code=200)
    filename = request.query_params.get("filename", "")
    if refused := storage.verify(request.method, key, expires, signature, filename):
        return PlainTextResponse(refused, status_code=403)
    found = await asyncio.to_thread(storage.located, key)
    if found is None:
        return PlainTextResponse("No such file.", status_code=404)
    path, info = found
    # People's uploads come from the API's own origin: never let one run as a page there.
    headers = {"Content-Security-Policy": "sandbox"}
    if filename:
        headers["Content-Disposition"] = content_disposition(filename)
    return FileResponse(path, media_type=info.content_type or "application/octet-stream", headers=headers)

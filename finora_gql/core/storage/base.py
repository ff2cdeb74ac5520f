"""What every file store offers: presigned upload and download URLs, and server-side object access.

Clients move the bytes themselves (PUT to an upload URL, GET from a download URL), so file
bodies never pass through GraphQL. Both backends sign URLs that expire and that bind the
method, the key and, for uploads, the content type and exact length.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import quote

# How long a presigned URL stays valid unless the caller says otherwise.
URL_TTL = dt.timedelta(hours=1)
MAX_KEY_LENGTH = 1024
# Keys are built by the server (`userId/uuid/sanitised-name`); allowing only these characters,
# with no segment starting with a dot, rules out traversal and odd encodings in every backend.
_SAFE_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(?:/[A-Za-z0-9][A-Za-z0-9._-]*)*")


@dataclass(frozen=True)
class PresignedUpload:
    """Where and how to PUT the bytes: the URL, the headers to send exactly, and when it expires."""

    url: str
    headers: dict[str, str]
    expires_at: dt.datetime


@dataclass(frozen=True)
class ObjectInfo:
    size: int
    content_type: str | None


class ObjectNotFound(LookupError):
    """No object is stored under this key."""


class InvalidKey(ValueError):
    """A key outside the safe alphabet; never produced by the files service."""


class Storage(Protocol):
    async def start(self) -> None: ...

    async def aclose(self) -> None: ...

    async def presign_put(
        self, key: str, *, content_type: str, size: int, expires_in: dt.timedelta = URL_TTL
    ) -> PresignedUpload:
        """A URL that accepts one PUT of exactly `size` bytes sent with this Content-Type."""
        ...

    async def presign_get(self, key: str, *, expires_in: dt.timedelta = URL_TTL, filename: str | None = None) -> str:
        """A URL that downloads the object; with `filename`, as an attachment of that name."""
        ...

    async def head(self, key: str) -> ObjectInfo | None:
        """Size and type of the stored object, or None when nothing is stored under `key`."""
        ...

    async def read(self, key: str) -> bytes:
        """The whole object; raises ObjectNotFound."""
        ...

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store `data` from the server side (generated files, tests)."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the object; nothing happens when it is already gone."""
        ...


def check_key(key: str) -> str:
    if len(key) > MAX_KEY_LENGTH or not _SAFE_KEY.fullmatch(key):
        raise InvalidKey(key)
    return key


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback name and the exact UTF-8 name (RFC 6266, RFC 5987)."""
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"

"""Files in S3 or an S3-compatible server, through aioboto3.

One client is opened at start and shared until aclose: presigning needs no network, and the
client's connection pool serves every head/read/put/delete of the process.
"""

from __future__ import annotations

import datetime as dt
from contextlib import AsyncExitStack
from typing import Any

import aioboto3
from botocore.config import Config
from botocore.exceptions import ClientError

from finora_gql.core.storage.base import (
    URL_TTL,
    ObjectInfo,
    ObjectNotFound,
    PresignedUpload,
    check_key,
    content_disposition,
)


def _missing(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}


class S3Storage:
    def __init__(
        self,
        *,
        bucket: str,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        addressing_style: str = "auto",
    ) -> None:
        self.bucket = bucket
        self._endpoint_url = endpoint_url
        self._session = aioboto3.Session(
            aws_access_key_id=access_key_id, aws_secret_access_key=secret_access_key, region_name=region
        )
        self._config = Config(
            signature_version="s3v4",
            s3={"addressing_style": addressing_style},
            # Checksums only where S3 requires them: a default CRC32 would be signed into
            # presigned PUT URLs, and browsers uploading to them cannot send it.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        self._stack = AsyncExitStack()
        self._client: Any = None

    async def start(self) -> None:
        self._client = await self._stack.enter_async_context(
            self._session.client("s3", endpoint_url=self._endpoint_url, config=self._config)
        )

    async def aclose(self) -> None:
        await self._stack.aclose()
        self._client = None

    async def presign_put(
        self, key: str, *, content_type: str, size: int, expires_in: dt.timedelta = URL_TTL
    ) -> PresignedUpload:
        # Content-Type and Content-Length become signed headers: S3 refuses any other type or length.
        params = {"Bucket": self.bucket, "Key": check_key(key), "ContentType": content_type, "ContentLength": size}
        url = await self._client.generate_presigned_url(
            "put_object", Params=params, ExpiresIn=int(expires_in.total_seconds())
        )
        # S3 judges expiry by real time, so this is reported in real time too.
        return PresignedUpload(url, {"Content-Type": content_type}, dt.datetime.now(dt.UTC) + expires_in)

    async def presign_get(self, key: str, *, expires_in: dt.timedelta = URL_TTL, filename: str | None = None) -> str:
        params = {"Bucket": self.bucket, "Key": check_key(key)}
        if filename is not None:
            params["ResponseContentDisposition"] = content_disposition(filename)
        return await self._client.generate_presigned_url(
            "get_object", Params=params, ExpiresIn=int(expires_in.total_seconds())
        )

    async def head(self, key: str) -> ObjectInfo | None:
        try:
            found = await self._client.head_object(Bucket=self.bucket, Key=check_key(key))
        except ClientError as error:
            if _missing(error):
                return None
            raise
        return ObjectInfo(size=found["ContentLength"], content_type=found.get("ContentType"))

    async def read(self, key: str) -> bytes:
        try:
            found = await self._client.get_object(Bucket=self.bucket, Key=check_key(key))
        except ClientError as error:
            if _missing(error):
                raise ObjectNotFound(key) from None
            raise
        async with found["Body"] as body:
            return await body.read()

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await self._client.put_object(Bucket=self.bucket, Key=check_key(key), Body=data, ContentType=content_type)

    async def delete(self, key: str) -> None:
        await self._client.delete_object(Bucket=self.bucket, Key=check_key(key))

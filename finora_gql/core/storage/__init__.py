"""File storage behind one interface: S3 when S3_BUCKET is set, else a local folder whose signed
URLs the app serves itself. See `base` for the contract both backends keep."""

from __future__ import annotations

from finora_gql.config import Settings
from finora_gql.core.storage.base import (
    URL_TTL,
    InvalidKey,
    ObjectInfo,
    ObjectNotFound,
    PresignedUpload,
    Storage,
)
from finora_gql.core.storage.local import LOCAL_FILES_PATH, LocalStorage, local_files_endpoint
from finora_gql.core.storage.s3 import S3Storage

__all__ = [
    "LOCAL_FILES_PATH", "URL_TTL", "InvalidKey", "LocalStorage", "ObjectInfo", "ObjectNotFound", "PresignedUpload",
    "S3Storage", "Storage", "build_storage", "local_files_endpoint",
]


def build_storage(settings: Settings) -> Storage:
    if settings.s3_bucket:
        return S3Storage(
            bucket=settings.s3_bucket,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=settings.s3_secret_access_key.get_secret_value() if settings.s3_secret_access_key else None,
            addressing_style=settings.s3_addressing_style,
        )
    return LocalStorage(settings.files_dir, signing_secret=settings.signing_secret, base_url=settings.public_url)

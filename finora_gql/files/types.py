"""GraphQL types of files."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import strawberry
from strawberry import relay
from strawberry.types import Info

from finora_gql.api.enums import described
from finora_gql.api.ids import parse_uuid
from finora_gql.files import service
from finora_gql.files.models import File, FileStatus

FileStatusEnum = described(
    FileStatus, name="FileStatus",
    description="PENDING until completeUpload finds the declared bytes in storage, then READY.", values={
        "PENDING": "Declared with createUpload; the bytes are not confirmed yet (abandoned ones are removed).",
        "READY": "Stored and checked: the file can be downloaded and imported.",
    },
)


@strawberry.type(name="File", description="A file the viewer uploaded: a bank export, a statement, a receipt.")
class FileNode(relay.Node):
    id: relay.NodeID[str]
    filename: str = strawberry.field(description="The name it was uploaded under, without paths or control characters.")
    mime_type: str = strawberry.field(description="Its media type, e.g. text/csv.")
    size: int = strawberry.field(description="Its size in bytes, as declared and checked by completeUpload.")
    status: FileStatusEnum = strawberry.field(description="Whether its bytes are stored and checked yet.")
    created_at: dt.datetime = strawberry.field(description="When the upload was created (UTC).")
    completed_at: dt.datetime | None = strawberry.field(description="When completeUpload accepted it (UTC), or null.")
    _row: strawberry.Private[File]

    @strawberry.field(description="A link that downloads it under its name for the next hour; null until READY.")
    async def download_url(self, info: Info) -> str | None:
        return await service.download_url(info.context.runtime, self._row)

    @classmethod
    def of(cls, row: File) -> FileNode:
        return cls(id=str(row.id), filename=row.filename, mime_type=row.mime_type, size=row.size, status=row.status,
                   created_at=row.created_at, completed_at=row.completed_at, _row=row)

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False) -> list[FileNode | None]:
        ids = [parse_uuid(node_id) for node_id in node_ids]
        found = await service.get_files(info.context.session, await info.context.viewer(), [i for i in ids if i])
        return [cls.of(found[i]) if i in found else None for i in ids]

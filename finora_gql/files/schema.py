"""Queries and mutations of files, all scoped to the viewer."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry
from strawberry import relay
from strawberry.types import Info

from finora_gql.api.connection import After, Before, Connection, First, Last, connection, page_request
from finora_gql.api.errors import DeletePayload, UserError, errors_field, perform
from finora_gql.api.ids import decode_id
from finora_gql.context import Context
from finora_gql.files import service
from finora_gql.files.types import FileNode


@strawberry.input(description="A file about to be uploaded.")
class CreateUploadInput:
    filename: str = strawberry.field(description="Its name; folders and control characters are dropped.")
    mime_type: str = strawberry.field(description=f"Its media type, one of {', '.join(service.ALLOWED_TYPES)}.")
    size: int = strawberry.field(description="Its exact size in bytes; the upload URL accepts exactly this many.")


@strawberry.type(description="An HTTP header the upload request must carry.")
class UploadHeader:
    name: str = strawberry.field(description="The header's name, e.g. Content-Type.")
    value: str = strawberry.field(description="Its value, to send exactly as given.")


@strawberry.type(description="The result of createUpload: the PENDING file and how to PUT its bytes.")
class CreateUploadPayload:
    file: FileNode | None = strawberry.field(description="The new file, PENDING until completeUpload.")
    upload_url: str | None = strawberry.field(
        description="PUT the file's bytes here, once, with uploadHeaders; then call completeUpload."
    )
    upload_headers: list[UploadHeader] = strawberry.field(description="Headers the PUT must carry, exactly.")
    expires_at: dt.datetime | None = strawberry.field(description="When uploadUrl stops working (UTC).")
    errors: list[UserError] = errors_field()


@strawberry.type(description="The result of completeUpload.")
class FilePayload:
    file: FileNode | None = strawberry.field(description="The file, READY when the upload checked out.")
    errors: list[UserError] = errors_field()


@strawberry.input(description="The upload to check and complete.")
class CompleteUploadInput:
    file_id: relay.GlobalID = strawberry.field(description="The PENDING file from createUpload.")


@strawberry.input(description="The file to delete, with its stored bytes.")
class DeleteFileInput:
    id: relay.GlobalID = strawberry.field(description="The file.")


@strawberry.type
class FilesQuery:
    @strawberry.field(description="The viewer's files, newest first.")
    async def files(
        self, info: Info[Context, None], first: First = None, after: After = None, last: Last = None, before: Before = None,
    ) -> Connection[FileNode]:
        context = info.context
        viewer = await context.viewer()
        request = page_request(first=first, after=after, last=last, before=before, kind=service.CURSOR_KIND)
        page = await service.list_files(context.session, viewer, page=request)
        return connection(page, FileNode.of, service.cursor_of, lambda: service.count_files(context.session, viewer))

    @strawberry.field(description="One of the viewer's files by id; null when it is not theirs.")
    async def file(
        self, info: Info[Context, None], id: Annotated[relay.GlobalID, strawberry.argument(description="The file's global id.")]
    ) -> FileNode | None:
        if id.type_name != FileNode.__strawberry_definition__.name:
            return None
        [node] = await FileNode.resolve_nodes(info=info, node_ids=[id.node_id])
        return node


@strawberry.type
class FilesMutation:
    @strawberry.mutation(description="Start an upload: a PENDING file and a presigned URL to PUT its bytes to.")
    async def create_upload(
        self, info: Info[Context, None], input: Annotated[CreateUploadInput, strawberry.argument(description="The file to upload.")]
    ) -> CreateUploadPayload:
        context = info.context
        viewer = await context.viewer()
        created, errors = await perform(
            context,
            lambda session: service.create_upload(
                session, context.runtime, viewer, filename=input.filename, mime_type=input.mime_type, size=input.size
            ),
        )
        if created is None:
            return CreateUploadPayload(file=None, upload_url=None, upload_headers=[], expires_at=None, errors=errors)
        file, upload = created
        return CreateUploadPayload(
            file=FileNode.of(file), upload_url=upload.url, expires_at=upload.expires_at, errors=errors,
            upload_headers=[UploadHeader(name=name, value=value) for name, value in upload.headers.items()],
        )

    @strawberry.mutation(description="Check the uploaded bytes against the declared size and type and mark the file READY.")
    async def complete_upload(
        self, info: Info[Context, None], input: Annotated[CompleteUploadInput, strawberry.argument(description="The upload.")]
    ) -> FilePayload:
        context = info.context
        viewer = await context.viewer()
        file, errors = await perform(
            context,
            lambda session: service.complete_upload(
                session, context.runtime, viewer, decode_id(input.file_id, FileNode, "fileId")
            ),
        )
        return FilePayload(file=FileNode.of(file) if file else None, errors=errors)

    @strawberry.mutation(description="Delete a file and its stored bytes.")
    async def delete_file(
        self, info: Info[Context, None], input: Annotated[DeleteFileInput, strawberry.argument(description="The file to delete.")]
    ) -> DeletePayload:
        context = info.context
        viewer = await context.viewer()
        file, errors = await perform(
            context,
            lambda session: service.delete_file(session, context.runtime, viewer, decode_id(input.id, FileNode, "id")),
        )
        return DeletePayload(deleted_ids=[input.id] if file else [], errors=errors)

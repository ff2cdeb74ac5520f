"""Queries, mutations and the progress subscription of CSV imports, all scoped to the viewer."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry
from strawberry import relay
from strawberry.types import Info

from finora_gql.accounts.types import AccountNode
from finora_gql.api.connection import After, Before, Connection, First, Last, connection, page_request
from finora_gql.api.errors import UserError, errors_field, perform
from finora_gql.api.ids import decode_id
from finora_gql.api.streams import SUBSCRIBED, viewer_messages
from finora_gql.context import Context
from finora_gql.core.errors import BadUserInput, ServiceError
from finora_gql.files.types import FileNode
from finora_gql.imports import service
from finora_gql.imports.mapping import Mapping, Options
from finora_gql.imports.types import ImportNode, ImportProgress, StartImportInput


@strawberry.type(description="The result of startImport, confirmImport or undoImport.")
class ImportPayload:
    import_: ImportNode | None = strawberry.field(name="import", description="The import, when the mutation succeeded.")
    errors: list[UserError] = errors_field()


@strawberry.type(description="The result of undoImport.")
class UndoImportPayload:
    import_: ImportNode | None = strawberry.field(name="import", description="The import, now UNDONE.")
    removed: int = strawberry.field(description="How many transactions were removed.")
    errors: list[UserError] = errors_field()


@strawberry.input(description="The dry run to run for real.")
class ConfirmImportInput:
    id: relay.GlobalID = strawberry.field(description="A PREVIEWED import.")


@strawberry.input(description="The import to undo.")
class UndoImportInput:
    id: relay.GlobalID = strawberry.field(description="A COMPLETED import.")


@strawberry.type
class ImportsQuery:
    @strawberry.field(description="The viewer's imports, newest first.")
    async def imports(
        self, info: Info[Context, None], first: First = None, after: After = None, last: Last = None, before: Before = None,
    ) -> Connection[ImportNode]:
        context = info.context
        viewer = await context.viewer()
        request = page_request(first=first, after=after, last=last, before=before, kind=service.CURSOR_KIND)
        page = await service.list_imports(context.session, viewer, page=request)
        return connection(page, ImportNode.of, service.cursor_of, lambda: service.count_imports(context.session, viewer))

    @strawberry.field(name="import", description="One of the viewer's imports; null when the id is not one of theirs.")
    async def import_(
        self, info: Info[Context, None], id: Annotated[relay.GlobalID, strawberry.argument(description="The import's global id.")]
    ) -> ImportNode | None:
        try:
            import_id = decode_id(id, ImportNode, "id")
        except ServiceError:
            return None
        return (await ImportNode.resolve_nodes(info=info, node_ids=[str(import_id)]))[0]


@strawberry.type
class ImportsMutation:
    @strawberry.mutation(description=(
        "Import a bank export into an account, as a background job: follow it with the importProgress "
        "subscription or the import query. With dryRun nothing is written; confirmImport then runs it for real. "
        "Rows already in the account are skipped, so importing the same file twice adds nothing. Into an INVESTMENT "
        "account the file is investment activities with a header row (as importInvestmentActivities reads them; no "
        "preset or mapping)."))
    async def start_import(
        self, info: Info[Context, None], input: Annotated[StartImportInput, strawberry.argument(description="What to import where.")]
    ) -> ImportPayload:
        context = info.context
        viewer = await context.viewer()
        job, errors = await perform(context, lambda session: service.start_import(
            session, context.runtime, viewer,
            account_id=decode_id(input.account_id, AccountNode, "accountId"),
            file_id=decode_id(input.file_id, FileNode, "fileId") if input.file_id else None,
            csv=input.csv, preset=input.preset,
            mapping=input.mapping.to_mapping() if input.mapping else Mapping(),
            options=input.options.to_options() if input.options else Options(),
            dry_run=input.dry_run,
        ))
        return ImportPayload(import_=ImportNode.of(job) if job else None, errors=errors)

    @strawberry.mutation(description="Run a finished dry run (PREVIEWED) for real, with the same file and settings.")
    async def confirm_import(
        self, info: Info[Context, None], input: Annotated[ConfirmImportInput, strawberry.argument(description="The dry run.")]
    ) -> ImportPayload:
        context = info.context
        viewer = await context.viewer()
        job, errors = await perform(context, lambda session: service.confirm_import(
            session, context.runtime, viewer, decode_id(input.id, ImportNode, "id")))
        return ImportPayload(import_=ImportNode.of(job) if job else None, errors=errors)

    @strawberry.mutation(description=(
        "Remove exactly the transactions (or investment activities) a COMPLETED import added (also those edited "
        "since); balances and summaries follow. Categories the import created stay."))
    async def undo_import(
        self, info: Info[Context, None], input: Annotated[UndoImportInput, strawberry.argument(description="The import.")]
    ) -> UndoImportPayload:
        context = info.context
        viewer = await context.viewer()
        result, errors = await perform(context, lambda session: service.undo_import(
            session, context.runtime, viewer, decode_id(input.id, ImportNode, "id")))
        job, removed = result if result else (None, 0)
        return UndoImportPayload(import_=ImportNode.of(job) if job else None, removed=removed, errors=errors)


@strawberry.type
class ImportsSubscription:
    @strawberry.subscription(description=(
        "An import's progress: where it stands now, then every few thousand rows, ending after it finishes."))
    async def import_progress(
        self, info: Info[Context, None],
        import_id: Annotated[relay.GlobalID, strawberry.argument(description="The import to follow.")],
    ) -> AsyncGenerator[ImportProgress, None]:
        context = info.context
        viewer = await context.viewer()
        try:
            import_uuid = decode_id(import_id, ImportNode, "importId")
            await service.get_import(context.session, viewer, import_uuid, field="importId")
        except ServiceError as error:
            raise BadUserInput(error) from None
        async for viewer, message in viewer_messages(context, {service.IMPORT_PROGRESS}, announce=True):
            if message["kind"] == SUBSCRIBED:
                async with context.runtime.sessions() as session:
                    progress = ImportProgress.of(await service.get_import(session, viewer, import_uuid))
            elif message["import"]["id"] == str(import_uuid):
                progress = ImportProgress.from_event(message["import"])
            else:
                continue
            yield progress
            if progress.status.finished:
                return

"""Queries, mutations and subscriptions of notifications, all scoped to the viewer."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry
from strawberry import relay
from strawberry.types import Info

from finora_gql.api.connection import After, Before, Connection, Edge, First, Last, page_info
from finora_gql.api.errors import UserError, errors_field, perform
from finora_gql.api.execution import shared_event
from finora_gql.api.ids import decode_id
from finora_gql.api.streams import viewer_messages
from finora_gql.context import Context
from finora_gql.core.errors import BadUserInput, ServiceError
from finora_gql.core.pagination import PageRequest
from finora_gql.notifications import service
from finora_gql.notifications.types import (
    ChannelEnum,
    NotificationKindEnum,
    NotificationNode,
    NotificationPreferenceType,
)


@strawberry.type(description="The result of marking notifications read.")
class MarkReadPayload:
    marked: int = strawberry.field(description="How many notifications changed from unread to read.")
    unread_count: int = strawberry.field(description="Unread notifications left.")
    errors: list[UserError] = errors_field()


@strawberry.input(description="Notifications to mark read.")
class MarkNotificationsReadInput:
    ids: list[relay.GlobalID] = strawberry.field(description="The notifications; ids of others' are ignored.")


@strawberry.input(description="Whether one kind of notification reaches one channel.")
class SetNotificationPreferenceInput:
    kind: NotificationKindEnum = strawberry.field(description="The kind of notification.")
    channel: ChannelEnum = strawberry.field(description="The channel.")
    enabled: bool = strawberry.field(description="True to deliver this kind there, false to stop.")


@strawberry.type(description="The result of setNotificationPreference.")
class PreferencesPayload:
    preferences: list[NotificationPreferenceType] = strawberry.field(
        description="Every preference of the viewer after the change (each kind and channel).")
    errors: list[UserError] = errors_field()


async def _preferences(info: Info[Context, None]) -> list[NotificationPreferenceType]:
    chosen = await service.preferences(info.context.session, await info.context.viewer())
    return [NotificationPreferenceType(kind=k, channel=c, enabled=v) for (k, c), v in sorted(chosen.items())]


@strawberry.type
class NotificationsQuery:
    @strawberry.field(description="The viewer's notifications, newest first.")
    async def notifications(
        self, info: Info[Context, None], first: First = None, after: After = None,
        last: Last = None, before: Before = None,
        unread_only: Annotated[bool, strawberry.argument(description="Only notifications not yet read.")] = False,
    ) -> Connection[NotificationNode]:
        context = info.context
        viewer = await context.viewer()
        try:
            request = PageRequest.of(first=first, after=after, last=last, before=before, kind=service.CURSOR_KIND)
        except ServiceError as error:
            raise BadUserInput(error) from None
        page = await service.list_notifications(context.session, viewer, unread_only=unread_only, page=request)
        edges = [Edge(cursor=service.cursor_of(row), node=NotificationNode.of(row)) for row in page.rows]

        async def count() -> int:
            if unread_only:
                return await service.unread_count(context.session, viewer)
            return await service.count_notifications(context.session, viewer)

        return Connection(edges=edges, page_info=page_info(edges, has_next=page.has_next, has_previous=page.has_previous),
                          _count=count)

    @strawberry.field(description="How many of the viewer's notifications are unread.")
    async def unread_count(self, info: Info[Context, None]) -> int:
        return await service.unread_count(info.context.session, await info.context.viewer())

    @strawberry.field(description="Which notifications reach the viewer where.")
    async def notification_preferences(self, info: Info[Context, None]) -> list[NotificationPreferenceType]:
        return await _preferences(info)


@strawberry.type
class NotificationsMutation:
    @strawberry.mutation(description="Mark some of the viewer's notifications read (ids of others are ignored).")
    async def mark_notifications_read(
        self, info: Info[Context, None], input: Annotated[MarkNotificationsReadInput, strawberry.argument(description="The notifications.")]
    ) -> MarkReadPayload:
        return await _mark(info, input.ids)

    @strawberry.mutation(description="Mark all of the viewer's notifications read.")
    async def mark_all_notifications_read(self, info: Info[Context, None]) -> MarkReadPayload:
        return await _mark(info, None)

    @strawberry.mutation(description="Turn one kind of notification on or off for one channel.")
    async def set_notification_preference(
        self, info: Info[Context, None],
        input: Annotated[SetNotificationPreferenceInput, strawberry.argument(description="The preference.")],
    ) -> PreferencesPayload:
        viewer = await info.context.viewer()
        _, errors = await perform(
            info.context,
            lambda session: service.set_preference(
                session, viewer, kind=input.kind, channel=input.channel, enabled=input.enabled
            ),
        )
        return PreferencesPayload(preferences=await _preferences(info), errors=errors)


async def _mark(info: Info[Context, None], ids: list[relay.GlobalID] | None) -> MarkReadPayload:
    context = info.context
    viewer = await context.viewer()
    marked, errors = await perform(
        context,
        lambda session: service.mark_read(
            session, context.runtime, viewer,
            None if ids is None else [decode_id(i, NotificationNode, "ids") for i in ids],
        ),
    )
    unread = await service.unread_count(context.session, viewer)
    return MarkReadPayload(marked=marked or 0, unread_count=unread, errors=errors)


@strawberry.type
class NotificationsSubscription:
    @strawberry.subscription(description="The viewer's new notifications as they are created.")
    async def notifications(self, info: Info[Context, None]) -> AsyncGenerator[NotificationNode, None]:
        # Every subscriber of this user gets this same message: one node for all of them, so
        # the selection executes once per distinct document (api/execution.py, api/websocket.py).
        def node(message: dict) -> NotificationNode:
            return shared_event(message, lambda m: NotificationNode.from_event(m["notification"]))

        async for _, message in viewer_messages(info.context, {service.Event.NOTIFICATION}, shared=node):
            yield node(message)

    @strawberry.subscription(description="The viewer's unread count: now, then after every change.")
    async def unread_count(self, info: Info[Context, None]) -> AsyncGenerator[int, None]:
        context = info.context
        viewer = await context.viewer()
        yield await service.unread_count(context.session, viewer)
        async for viewer, _ in viewer_messages(context, {service.Event.NOTIFICATION, service.Event.UNREAD_CHANGED}):
            async with context.runtime.sessions() as session:
                yield await service.unread_count(session, viewer)

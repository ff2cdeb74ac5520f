"""GraphQL types of notifications."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import strawberry
from strawberry import relay
from strawberry.scalars import JSON
from strawberry.types import Info

from finora_gql.api.ids import parse_uuid
from finora_gql.notifications import service
from finora_gql.notifications.models import Channel, Notification, NotificationKind

NotificationKindEnum = strawberry.enum(NotificationKind, name="NotificationKind", description="What a notification is about.")
ChannelEnum = strawberry.enum(Channel, name="NotificationChannel", description="Where a notification is delivered.")


@strawberry.type(name="Notification", description="Something Finora wants the viewer to know.")
class NotificationNode(relay.Node):
    id: relay.NodeID[str]
    kind: NotificationKindEnum
    title: str
    body: str
    data: JSON = strawberry.field(description="Details for the client, e.g. the budget or goal concerned.")
    read: bool = strawberry.field(description="Whether the viewer has marked it read.")
    created_at: dt.datetime

    @classmethod
    def of(cls, row: Notification) -> NotificationNode:
        data: Any = row.data
        return cls(id=str(row.id), kind=row.kind, title=row.title, body=row.body, data=data,
                   read=row.read_at is not None, created_at=row.created_at)

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> NotificationNode:
        """A notification as published on the viewer's channel (see service.notify)."""
        return cls(id=event["id"], kind=NotificationKind(event["kind"]), title=event["title"], body=event["body"],
                   data=event["data"], read=False, created_at=dt.datetime.fromisoformat(event["created_at"]))

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False) -> list[NotificationNode | None]:
        ids = [parse_uuid(node_id) for node_id in node_ids]
        found = await service.get_notifications(info.context.session, await info.context.viewer(), [i for i in ids if i])
        return [cls.of(found[i]) if i in found else None for i in ids]


@strawberry.type(name="NotificationPreference", description="Whether one kind of notification reaches one channel.")
class NotificationPreferenceType:
    kind: NotificationKindEnum
    channel: ChannelEnum
    enabled: bool

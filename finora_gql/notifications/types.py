"""GraphQL types of notifications."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import strawberry
from strawberry import relay
from strawberry.scalars import JSON
from strawberry.types import Info

from finora_gql.api.enums import described
from finora_gql.api.ids import parse_uuid
from finora_gql.notifications import service
from finora_gql.notifications.models import Channel, Notification, NotificationKind

NotificationKindEnum = described(NotificationKind, name="NotificationKind", description="What a notification is about.", values={
    "ACCOUNT_LOCKED": "Sign-in was locked after repeated failed attempts.",
    "BUDGET_THRESHOLD": "A budget's spending crossed a threshold (80% or 100% of what is available).",
    "GOAL_REACHED": "A savings goal reached its target.",
    "IMPORT_FINISHED": "A CSV import finished (completed, previewed or failed).",
    "ADMIN_ACTION": "An administrator acted on the account (ban, unban, unlock).",
    "PRICE_MOVE": "A security you hold moved more than the threshold in a day.",
    "BADGE_EARNED": "You earned a badge.",
    "CHALLENGE_COMPLETED": "You completed a challenge and earned its points.",
    "REWARD_REDEEMED": "You redeemed points for a reward.",
})
ChannelEnum = described(Channel, name="NotificationChannel", description="Where a notification is delivered.", values={
    "IN_APP": "The notifications list and the notificationAdded subscription.",
    "EMAIL": "An email to the account's address.",
})


# Keys of `data` that name an object, and the GraphQL type of their global id. Producers (services,
# which know nothing of GraphQL) store raw UUIDs; clients get global ids.
NODE_KEYS = {"budgetId": "Budget", "goalId": "Goal", "importId": "Import"}


def with_global_ids(data: dict[str, Any] | None) -> dict[str, Any]:
    """`data` with every raw id of NODE_KEYS turned into the object's global id."""
    converted = dict(data or {})
    for key, type_name in NODE_KEYS.items():
        value = converted.get(key)
        if isinstance(value, str) and parse_uuid(value) is not None:
            converted[key] = str(relay.GlobalID(type_name, value))
    return converted


@strawberry.type(name="Notification", description="Something Finora wants the viewer to know.")
class NotificationNode(relay.Node):
    id: relay.NodeID[str]
    kind: NotificationKindEnum = strawberry.field(description="What it is about.")
    title: str = strawberry.field(description="A short headline, for people.")
    body: str = strawberry.field(description="The full text, for people.")
    data: JSON = strawberry.field(
        description="Details for the client. Objects are named by their global ids, ready for `node(id:)`: "
        "budgetId (BUDGET_THRESHOLD, with month, threshold and percentUsed), goalId (GOAL_REACHED), "
        "importId and status (IMPORT_FINISHED); lockedUntil (ACCOUNT_LOCKED, UTC)."
    )
    read: bool = strawberry.field(description="Whether the viewer has marked it read.")
    created_at: dt.datetime = strawberry.field(description="When it was created (UTC).")

    @classmethod
    def of(cls, row: Notification) -> NotificationNode:
        data: Any = with_global_ids(row.data)
        return cls(id=str(row.id), kind=row.kind, title=row.title, body=row.body, data=data,
                   read=row.read_at is not None, created_at=row.created_at)

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> NotificationNode:
        """A notification as published on the viewer's channel (see service.notify)."""
        return cls(id=event["id"], kind=NotificationKind(event["kind"]), title=event["title"], body=event["body"],
                   data=with_global_ids(event["data"]), read=False, created_at=dt.datetime.fromisoformat(event["created_at"]))

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False) -> list[NotificationNode | None]:
        ids = [parse_uuid(node_id) for node_id in node_ids]
        found = await service.get_notifications(info.context.session, await info.context.viewer(), [i for i in ids if i])
        return [cls.of(found[i]) if i in found else None for i in ids]


@strawberry.type(name="NotificationPreference", description="Whether one kind of notification reaches one channel.")
class NotificationPreferenceType:
    kind: NotificationKindEnum = strawberry.field(description="The kind of notification.")
    channel: ChannelEnum = strawberry.field(description="The channel.")
    enabled: bool = strawberry.field(description="Whether this kind reaches this channel.")

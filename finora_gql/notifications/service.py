"""Notifications: what producers tell people, where they want to hear it, and what they have read.

`notify` is the one entry point for producers (auth, budgets, goals, imports, admin): it records
the notification in the caller's transaction, queues an email when the person wants one, and
publishes it to their live subscriptions after commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, func, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from finora_gql.core import clock
from finora_gql.core.db import CompiledRead, after_commit, any_of, fetch
from finora_gql.core.mail import EmailMessage
from finora_gql.core.owned import Owned
from finora_gql.core.pagination import Page, PageRequest, encode_cursor, newest_first, window
from finora_gql.core.runtime import Runtime
from finora_gql.core.viewer import Viewer, user_channel
from finora_gql.notifications.email import queue_email
from finora_gql.notifications.models import Channel, Notification, NotificationKind, NotificationPreference

# Channels a kind uses until the person says otherwise. Lockouts are emailed by auth itself.
DEFAULT_CHANNELS: dict[NotificationKind, frozenset[Channel]] = {
    NotificationKind.ACCOUNT_LOCKED: frozenset({Channel.IN_APP}),
    NotificationKind.BUDGET_THRESHOLD: frozenset({Channel.IN_APP, Channel.EMAIL}),
    NotificationKind.GOAL_REACHED: frozenset({Channel.IN_APP, Channel.EMAIL}),
    NotificationKind.IMPORT_FINISHED: frozenset({Channel.IN_APP}),
    NotificationKind.ADMIN_ACTION: frozenset({Channel.IN_APP, Channel.EMAIL}),
    NotificationKind.PRICE_MOVE: frozenset({Channel.IN_APP}),
    # Gamification: in the app by default; email only for those who ask (no nagging).
    NotificationKind.BADGE_EARNED: frozenset({Channel.IN_APP}),
    NotificationKind.CHALLENGE_COMPLETED: frozenset({Channel.IN_APP}),
    NotificationKind.REWARD_REDEEMED: frozenset({Channel.IN_APP, Channel.EMAIL}),
}
CURSOR_KIND = "notification"


class Event:
    """Kinds of realtime messages on a user's channel."""

    NOTIFICATION = "NOTIFICATION"
    UNREAD_CHANGED = "UNREAD_CHANGED"


notifications = Owned(Notification, "notification")
# Keyed by (user, kind, channel), no id of its own: read through `readable`, never by id.
notification_preferences = Owned(NotificationPreference, "notification preference")


def readable(viewer: Viewer) -> SelectOfScalar[Notification]:
    return notifications.readable(viewer)


# notify's two statements, compiled once: producers call it from hot jobs (gamification's awards).
_CHOSEN = CompiledRead(select(NotificationPreference.channel, NotificationPreference.enabled).where(
    notification_preferences.owned_by(bindparam("user_id")), col(NotificationPreference.kind) == bindparam("kind")))
_RECORD = CompiledRead(
    insert(Notification).values({name: bindparam(name) for name in (
        "id", "user_id", "kind", "title", "body", "data", "dedup_key", "created_at", "read_at")})
    .on_conflict_do_nothing(index_elements=["user_id", "dedup_key"]).returning(col(Notification.id))
)


async def channels_for(session: AsyncSession, recipient: Viewer, kind: NotificationKind) -> set[Channel]:
    """The channels one kind reaches `recipient` on: the defaults, then their explicit choices."""
    chosen = set(DEFAULT_CHANNELS[kind])
    for channel, enabled in await fetch(session, _CHOSEN, {"user_id": recipient.user_id, "kind": kind}):
        (chosen.add if enabled else chosen.discard)(Channel(channel))
    return chosen


async def notify(
    session: AsyncSession,
    rt: Runtime,
    recipient: Viewer,
    *,
    kind: NotificationKind,
    title: str,
    body: str,
    email_to: str | None = None,
    data: dict[str, Any] | None = None,
    dedup_key: str | None = None,
) -> Notification | None:
    """Record and deliver a notification to `recipient` (a request's viewer, or a job's
    `Viewer.acting_for` the person told); with a `dedup_key`, only the first of its kind counts."""
    user_id = recipient.user_id
    channels = await channels_for(session, recipient, kind)
    if not channels:
        return None
    values = {
        "id": uuid.uuid4(), "user_id": user_id, "kind": kind, "title": title, "body": body,
        "data": data or {}, "dedup_key": dedup_key, "created_at": clock.now(), "read_at": None,
    }
    if Channel.IN_APP not in channels:
        values["read_at"] = values["created_at"]  # kept for the record, never shown as unread
    if not await fetch(session, _RECORD, values):
        return None  # its dedup key was used before
    notification = Notification(**values)
    if Channel.EMAIL in channels and email_to:
        queue_email(session, EmailMessage(to=email_to, subject=title, text=f"{body}\n\n— Finora"), user_id=user_id)
    if Channel.IN_APP in channels:
        # The whole notification travels, so a thousand live subscribers cost no database reads.
        message = {"kind": Event.NOTIFICATION, "notification": {
            "id": str(notification.id), "kind": kind.value, "title": title, "body": body,
            "data": notification.data, "created_at": notification.created_at.isoformat(),
        }}
        after_commit(session, lambda: rt.pubsub.publish(user_channel(user_id), message))
    return notification


async def list_notifications(
    session: AsyncSession, viewer: Viewer, *, unread_only: bool, page: PageRequest
) -> Page[Notification]:
    statement = readable(viewer)
    if unread_only:
        statement = statement.where(col(Notification.read_at).is_(None))
    statement = newest_first(statement, (col(Notification.created_at), col(Notification.id)), page)
    return window(list((await session.exec(statement)).all()), page)


def cursor_of(row: Notification) -> str:
    return encode_cursor(CURSOR_KIND, row.created_at, row.id)


async def get_notifications(session: AsyncSession, viewer: Viewer, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Notification]:
    return await notifications.by_ids(session, viewer, ids)


async def count_notifications(session: AsyncSession, viewer: Viewer) -> int:
    statement = notifications.where_visible(select(func.count()).select_from(Notification), viewer)
    return (await session.exec(statement)).one()


async def unread_count(session: AsyncSession, viewer: Viewer) -> int:
    statement = notifications.where_visible(select(func.count()).select_from(Notification), viewer).where(
        col(Notification.read_at).is_(None)
    )
    return (await session.exec(statement)).one()


async def mark_read(session: AsyncSession, rt: Runtime, viewer: Viewer, ids: Sequence[uuid.UUID] | None) -> int:
    """Mark these (or, with None, all) of the viewer's notifications read; returns how many changed."""
    statement = notifications.where_visible(update(Notification), viewer).where(col(Notification.read_at).is_(None))
    if ids is not None:
        statement = statement.where(any_of(col(Notification.id), ids))
    result = await session.exec(statement.values(read_at=clock.now()))
    if result.rowcount:
        message = {"kind": Event.UNREAD_CHANGED}
        after_commit(session, lambda: rt.pubsub.publish(user_channel(viewer.user_id), message))
    return result.rowcount


async def preferences(session: AsyncSession, viewer: Viewer) -> dict[tuple[NotificationKind, Channel], bool]:
    chosen = {
        (kind, channel): channel in channels for kind, channels in DEFAULT_CHANNELS.items() for channel in Channel
    }
    rows = (await session.exec(notification_preferences.readable(viewer))).all()
    chosen.update({(row.kind, row.channel): row.enabled for row in rows})
    return chosen


async def set_preference(
    session: AsyncSession, viewer: Viewer, *, kind: NotificationKind, channel: Channel, enabled: bool
) -> None:
    await session.exec(
        insert(NotificationPreference)
        .values(user_id=viewer.user_id, kind=kind, channel=channel, enabled=enabled)
        .on_conflict_do_update(index_elements=["user_id", "kind", "channel"], set_={"enabled": enabled})
    )

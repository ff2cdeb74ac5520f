"""Notifications: what producers tell people, where they want to hear it, and what they have read.

`notify` is the one entry point for producers (auth, budgets, goals, imports, admin): it records
the notification in the caller's transaction, queues an email when the person wants one, and
publishes it to their live subscriptions after commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from finora_gql.core import clock
from finora_gql.core.db import after_commit, any_of
from finora_gql.core.mail import EmailMessage
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


def readable(viewer: Viewer) -> SelectOfScalar[Notification]:
    return select(Notification).where(col(Notification.user_id) == viewer.user_id)


async def channels_for(session: AsyncSession, user_id: uuid.UUID, kind: NotificationKind) -> set[Channel]:
    chosen = set(DEFAULT_CHANNELS[kind])
    rows = (
        await session.exec(
            select(NotificationPreference).where(
                col(NotificationPreference.user_id) == user_id, col(NotificationPreference.kind) == kind
            )
        )
    ).all()
    for row in rows:
        (chosen.add if row.enabled else chosen.discard)(row.channel)
    return chosen


async def notify(
    session: AsyncSession,
    rt: Runtime,
    user_id: uuid.UUID,
    *,
    kind: NotificationKind,
    title: str,
    body: str,
    email_to: str | None = None,
    data: dict[str, Any] | None = None,
    dedup_key: str | None = None,
) -> Notification | None:
    """Record and deliver a notification; with a `dedup_key`, only the first of its kind counts."""
    channels = await channels_for(session, user_id, kind)
    if not channels:
        return None
    values = {
        "id": uuid.uuid4(), "user_id": user_id, "kind": kind, "title": title, "body": body,
        "data": data or {}, "dedup_key": dedup_key, "created_at": clock.now(),
    }
    if Channel.IN_APP not in channels:
        values["read_at"] = values["created_at"]  # kept for the record, never shown as unread
    inserted = (
        await session.exec(
            insert(Notification).values(values)
            .on_conflict_do_nothing(index_elements=["user_id", "dedup_key"])
            .returning(col(Notification.id))
        )
    ).first()
    if inserted is None:
        return None
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
    rows = (await session.exec(readable(viewer).where(any_of(col(Notification.id), ids)))).all()
    return {row.id: row for row in rows}


async def count_notifications(session: AsyncSession, viewer: Viewer) -> int:
    statement = select(func.count()).select_from(Notification).where(col(Notification.user_id) == viewer.user_id)
    return (await session.exec(statement)).one()


async def unread_count(session: AsyncSession, viewer: Viewer) -> int:
    statement = (
        select(func.count()).select_from(Notification)
        .where(col(Notification.user_id) == viewer.user_id, col(Notification.read_at).is_(None))
    )
    return (await session.exec(statement)).one()


async def mark_read(session: AsyncSession, rt: Runtime, viewer: Viewer, ids: Sequence[uuid.UUID] | None) -> int:
    """Mark these (or, with None, all) of the viewer's notifications read; returns how many changed."""
    conditions = [col(Notification.user_id) == viewer.user_id, col(Notification.read_at).is_(None)]
    if ids is not None:
        conditions.append(any_of(col(Notification.id), ids))
    result = await session.exec(update(Notification).where(*conditions).values(read_at=clock.now()))
    if result.rowcount:
        message = {"kind": Event.UNREAD_CHANGED}
        after_commit(session, lambda: rt.pubsub.publish(user_channel(viewer.user_id), message))
    return result.rowcount


async def preferences(session: AsyncSession, viewer: Viewer) -> dict[tuple[NotificationKind, Channel], bool]:
    chosen = {
        (kind, channel): channel in channels for kind, channels in DEFAULT_CHANNELS.items() for channel in Channel
    }
    rows = (await session.exec(select(NotificationPreference).where(col(NotificationPreference.user_id) == viewer.user_id))).all()
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

"""Notifications: producers, reading and marking, preferences, live streams, email by queue."""

from __future__ import annotations

import asyncio

from sqlmodel import select

from finora_gql.notifications.models import EmailStatus, OutgoingEmail
from tests.auth.test_auth_flows import promote_to_admin
from tests.flows import login, signed_in_user
from tests.server import RunningServer
from tests.smtp_sink import SmtpSink
from tests.ws import graphql_ws, listening

NOTIFICATIONS = """query($unread: Boolean!) { unreadCount notifications(first: 10, unreadOnly: $unread) {
  totalCount edges { node { id kind title body read data } } } }"""
MARK = "mutation($ids: [ID!]!) { markNotificationsRead(input: {ids: $ids}) { marked unreadCount errors { code } } }"
MARK_ALL = "mutation { markAllNotificationsRead { marked unreadCount } }"
UNLOCK = "mutation($id: ID!) { unlockUser(input: {userId: $id}) { errors { code } } }"
BAN = 'mutation($id: ID!) { banUser(input: {userId: $id, reason: "chargebacks"}) { errors { code } } }'
PREF = """mutation($kind: NotificationKind!, $channel: NotificationChannel!, $on: Boolean!) {
  setNotificationPreference(input: {kind: $kind, channel: $channel, enabled: $on}) { preferences { kind channel enabled } } }"""


async def lock_out(server: RunningServer, email: str) -> None:
    for _ in range(5):
        await login(server, email, "definitely not the password")


async def test_lockout_notifies_and_marking_read_is_scoped(server: RunningServer) -> None:
    ann = await signed_in_user(server)
    bob = await signed_in_user(server)
    await lock_out(server, ann.email)
    mine = (await server.gql(NOTIFICATIONS, {"unread": True}, token=ann.access_token))["data"]
    assert mine["unreadCount"] == 1
    node = mine["notifications"]["edges"][0]["node"]
    assert node["kind"] == "ACCOUNT_LOCKED" and node["read"] is False and "lockedUntil" in node["data"]

    # Bob can neither see nor mark Ann's notification.
    assert (await server.gql(NOTIFICATIONS, {"unread": False}, token=bob.access_token))["data"]["unreadCount"] == 0
    foreign = await server.gql(MARK, {"ids": [node["id"]]}, token=bob.access_token)
    assert foreign["data"]["markNotificationsRead"]["marked"] == 0
    hidden = await server.gql("query($id: ID!) { node(id: $id) { id } }", {"id": node["id"]}, token=bob.access_token)
    assert hidden["data"]["node"] is None

    marked = await server.gql(MARK, {"ids": [node["id"]]}, token=ann.access_token)
    assert marked["data"]["markNotificationsRead"] == {"marked": 1, "unreadCount": 0, "errors": []}
    assert (await server.gql(MARK_ALL, token=ann.access_token))["data"]["markAllNotificationsRead"]["marked"] == 0


async def test_admin_actions_notify_in_app_and_by_email(server: RunningServer, smtp_sink: SmtpSink) -> None:
    admin = await signed_in_user(server)
    await promote_to_admin(server, admin.user_id)
    user = await signed_in_user(server)
    await lock_out(server, user.email)
    assert (await server.gql(UNLOCK, {"id": user.user_id}, token=admin.access_token))["data"]["unlockUser"]["errors"] == []
    await smtp_sink.wait_for(lambda m: m["To"] == user.email and "unlocked" in m["Subject"])
    session = await login(server, user.email)
    kinds = (await server.gql(NOTIFICATIONS, {"unread": True}, token=session["accessToken"]))["data"]
    assert [e["node"]["kind"] for e in kinds["notifications"]["edges"]] == ["ADMIN_ACTION", "ACCOUNT_LOCKED"]


async def test_preferences_silence_a_channel(server: RunningServer) -> None:
    admin = await signed_in_user(server)
    await promote_to_admin(server, admin.user_id)
    user = await signed_in_user(server)
    prefs = await server.gql(PREF, {"kind": "ADMIN_ACTION", "channel": "IN_APP", "on": False}, token=user.access_token)
    assert {"kind": "ADMIN_ACTION", "channel": "IN_APP", "enabled": False} in \
        prefs["data"]["setNotificationPreference"]["preferences"]
    await server.gql(UNLOCK, {"id": user.user_id}, token=admin.access_token)
    assert (await server.gql(NOTIFICATIONS, {"unread": True}, token=user.access_token))["data"]["unreadCount"] == 0


async def test_live_notifications_and_unread_count(server: RunningServer) -> None:
    ann = await signed_in_user(server)
    bob = await signed_in_user(server)
    async with graphql_ws(server.ws_url, {"authorization": f"Bearer {ann.access_token}"}) as ws, \
            graphql_ws(server.ws_url, {"authorization": f"Bearer {bob.access_token}"}) as bob_ws:
        assert (await ws.receive())["type"] == "connection_ack"
        assert (await bob_ws.receive())["type"] == "connection_ack"
        await ws.subscribe("subscription { notifications { kind title } }", operation_id="n")
        await ws.subscribe("subscription { unreadCount }", operation_id="c")
        await bob_ws.subscribe("subscription { notifications { kind } }")
        first = await ws.receive()
        assert (first["id"], first["payload"]["data"]) == ("c", {"unreadCount": 0})
        await listening(server, ann.user_id, 2)
        await listening(server, bob.user_id)

        await lock_out(server, ann.email)
        got = {}
        for _ in range(2):
            message = await ws.receive()
            got[message["id"]] = message["payload"]["data"]
        assert got == {"n": {"notifications": {"kind": "ACCOUNT_LOCKED", "title": "Your account was locked"}},
                       "c": {"unreadCount": 1}}
        await server.gql(MARK_ALL, token=ann.access_token)
        assert (await ws.receive())["payload"]["data"] == {"unreadCount": 0}
        # Bob heard nothing of Ann's.
        try:
            await bob_ws.receive(timeout=0.5)
            raise AssertionError("bob received ann's event")
        except TimeoutError:
            pass


async def test_banned_users_streams_are_closed(server: RunningServer) -> None:
    admin = await signed_in_user(server)
    await promote_to_admin(server, admin.user_id)
    user = await signed_in_user(server)
    async with graphql_ws(server.ws_url, {"authorization": f"Bearer {user.access_token}"}) as ws:
        assert (await ws.receive())["type"] == "connection_ack"
        await ws.subscribe("subscription { notifications { kind } }")
        await listening(server, user.user_id)
        await server.gql(BAN, {"id": user.user_id}, token=admin.access_token)
        assert (await ws.receive())["type"] == "complete"


async def test_refused_email_is_retried_with_backoff_and_sent_once(server: RunningServer, smtp_sink: SmtpSink) -> None:
    user = await signed_in_user(server)
    smtp_sink.refuse("Reset your Finora password", times=2, to=user.email)
    await server.gql("mutation($e: String!) { requestPasswordReset(input: {email: $e}) { ok } }", {"e": user.email})
    delivered = await smtp_sink.wait_for(lambda m: m["To"] == user.email and "Reset" in m["Subject"], timeout=15)
    assert sum(1 for m in smtp_sink.refused if m["To"] == user.email) == 2
    for _ in range(50):  # the worker records SENT just after the server accepts
        async with server.runtime.sessions() as session:
            row = (await session.exec(select(OutgoingEmail).where(OutgoingEmail.message_id == delivered["Message-ID"]))).one()
        if row.status is EmailStatus.SENT:
            break
        await asyncio.sleep(0.05)
    assert (row.status, row.attempts) == (EmailStatus.SENT, 3)
    await asyncio.sleep(0.5)
    assert sum(1 for m in smtp_sink.messages if m["To"] == user.email and "Reset" in m["Subject"]) == 1


async def test_email_refused_for_good_is_dead_lettered_and_counted(server: RunningServer, smtp_sink: SmtpSink) -> None:
    admin = await signed_in_user(server)
    await promote_to_admin(server, admin.user_id)
    count = "{ deadLetteredJobs }"
    before = (await server.gql(count, token=admin.access_token))["data"]["deadLetteredJobs"]
    user = await signed_in_user(server)
    smtp_sink.refuse("Reset your Finora password", times=100, to=user.email)
    await server.gql("mutation($e: String!) { requestPasswordReset(input: {email: $e}) { ok } }", {"e": user.email})
    for _ in range(200):  # 8 retries with 50-400 ms backoff
        if (await server.gql(count, token=admin.access_token))["data"]["deadLetteredJobs"] > before:
            break
        await asyncio.sleep(0.05)
    assert (await server.gql(count, token=admin.access_token))["data"]["deadLetteredJobs"] == before + 1
    async with server.runtime.sessions() as session:
        row = (await session.exec(select(OutgoingEmail).where(OutgoingEmail.to == user.email,
                                                              OutgoingEmail.subject.startswith("Reset")))).one()
    assert row.status is EmailStatus.FAILED and row.attempts == 9
    assert (await server.gql(count, token=user.access_token))["errors"][0]["extensions"]["code"] == "FORBIDDEN"

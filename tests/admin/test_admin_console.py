"""The admin console over HTTP: the user directory and detail, roles, sessions, the audit log with
its before/after changes, and dead-lettered jobs with their secrets redacted."""

from __future__ import annotations

import uuid

import dramatiq
from dramatiq import Message
from dramatiq.broker import MessageProxy
from strawberry.relay import GlobalID

from tests.auth.test_auth_flows import promote_to_admin
from tests.flows import ME, login, signed_in_user
from tests.gamification.gamification_flows import data
from tests.ledger.ledger_flows import create_account, create_txn
from tests.server import RunningServer

ERR = "errors { code field message }"
USERS = """query($filter: UserFilterInput, $first: Int, $after: String) { users(filter: $filter, first: $first, after: $after) {
  totalCount edges { cursor node { user { id email role banned } locked lastSignInAt
    sessions { createdAt revokedAt revokeReason } counts { accounts transactions goals imports awards points } } }
  pageInfo { hasNextPage endCursor } } }"""
AUDIT = """query($filter: AuditLogFilterInput, $first: Int) { auditLogs(filter: $filter, first: $first) {
  edges { node { action actor { id } targetId createdAt changes } } } }"""
SET_ROLE = f"mutation($u: ID!, $r: Role!) {{ setUserRole(input: {{userId: $u, role: $r}}) {{ user {{ role }} {ERR} }} }}"
REVOKE = f"mutation($u: ID!) {{ revokeUserSessions(input: {{userId: $u}}) {{ revoked {ERR} }} }}"
DEAD = "{ deadLetters { id queue actor arguments retries lastError failedAt } deadLetteredJobs }"


async def test_directory_detail_roles_sessions_and_audit(server: RunningServer) -> None:
    admin = await signed_in_user(server)
    await promote_to_admin(server, admin.user_id)
    tag = uuid.uuid4().hex[:8]
    person = await signed_in_user(server)
    # A recognisable email: the directory searches email and name.
    account = await create_account(server, person.access_token)
    await create_txn(server, person.access_token, accountId=account["id"], date="2026-01-05", amount="-12.34")

    found = (await data(server, admin.access_token, USERS, {"filter": {"search": person.email[:14]}, "first": 5}))["users"]
    assert found["totalCount"] == 1
    node = found["edges"][0]["node"]
    assert node["user"]["email"] == person.email and node["locked"] is False and node["lastSignInAt"]
    assert node["counts"]["accounts"] == 1 and node["counts"]["transactions"] == 1
    assert len(node["sessions"]) == 1 and node["sessions"][0]["revokedAt"] is None
    assert "12.34" not in str(node)  # counts, never the transactions

    # Filters: role and banned.
    admins = (await data(server, admin.access_token, USERS, {"filter": {"role": "ADMIN"}, "first": 100}))["users"]
    assert admin.user_id in {e["node"]["user"]["id"] for e in admins["edges"]}
    assert all(e["node"]["user"]["role"] == "ADMIN" for e in admins["edges"])
    banned = (await data(server, admin.access_token, USERS, {"filter": {"banned": True, "search": tag}}))["users"]
    assert banned["totalCount"] == 0

    # Paging: first 1, then after its cursor.
    page = (await data(server, admin.access_token, USERS, {"first": 1}))["users"]
    assert len(page["edges"]) == 1 and page["pageInfo"]["hasNextPage"] is True
    nxt = (await data(server, admin.access_token, USERS, {"first": 1, "after": page["pageInfo"]["endCursor"]}))["users"]
    assert nxt["edges"][0]["node"]["user"]["id"] != page["edges"][0]["node"]["user"]["id"]

    # Promote, then revoke their sessions: each is audited with what changed.
    promoted = await data(server, admin.access_token, SET_ROLE, {"u": person.user_id, "r": "ADMIN"})
    assert promoted["setUserRole"] == {"user": {"role": "ADMIN"}, "errors": []}
    revoked = await data(server, admin.access_token, REVOKE, {"u": person.user_id})
    assert revoked["revokeUserSessions"] == {"revoked": 1, "errors": []}
    assert "errors" in await server.gql(ME, token=person.access_token)  # their token stopped working at once

    log = (await data(server, admin.access_token, AUDIT, {"filter": {"actor": admin.user_id}, "first": 10}))["auditLogs"]
    entries = [e["node"] for e in log["edges"]]
    assert [e["action"] for e in entries] == ["USER_REVOKE_SESSIONS", "USER_SET_ROLE"]
    assert entries[1]["changes"] == {"role": {"before": "USER", "after": "ADMIN"}}
    assert entries[0]["changes"] == {"live_sessions": {"before": 1, "after": 0}}
    assert all(e["actor"]["id"] == admin.user_id for e in entries)
    by_action = (await data(server, admin.access_token, AUDIT, {
        "filter": {"action": "USER_SET_ROLE", "target": person.user_id}}))["auditLogs"]
    assert len(by_action["edges"]) == 1
    assert (await data(server, admin.access_token, AUDIT, {
        "filter": {"actor": admin.user_id, "from": "2999-01-01T00:00:00Z"}}))["auditLogs"]["edges"] == []

    # The new administrator signs in again and sees the console.
    again = await login(server, person.email)
    assert "errors" not in await server.gql(USERS, {"first": 1}, token=again["accessToken"])


async def test_dead_letters_are_listed_redacted_then_retried_or_discarded(server: RunningServer) -> None:
    admin = await signed_in_user(server)
    await promote_to_admin(server, admin.user_id)
    broker = dramatiq.get_broker()
    secret = Message(queue_name="email", actor_name="send_email", args=("ann@example.com",),
                     kwargs={"password": "hunter2", "api_key": "k-123", "note": "mail bob@example.com"},
                     options={"retries": 8, "traceback": "Traceback (most recent call last):\nOSError: SMTP down"})
    broker.dead_letters_by_queue["email"].append(MessageProxy(secret))
    listed = (await data(server, admin.access_token, DEAD))
    mine = next(d for d in listed["deadLetters"] if d["id"] == f"email/{secret.message_id}")
    assert mine["actor"] == "send_email" and mine["retries"] == 8 and mine["lastError"] == "OSError: SMTP down"
    assert mine["arguments"] == {"args": ["[redacted]"],
                                 "kwargs": {"password": "[redacted]", "api_key": "[redacted]", "note": "mail [redacted]"}}
    assert "hunter2" not in str(listed) and "ann@example.com" not in str(listed)
    assert listed["deadLetteredJobs"] >= 1

    discarded = await data(server, admin.access_token, f"""mutation($id: ID!) {{ discardDeadLetter(input: {{id: $id}}) {{
      job {{ actor }} {ERR} }} }}""", {"id": mine["id"]})
    assert discarded["discardDeadLetter"] == {"job": {"actor": "send_email"}, "errors": []}
    assert mine["id"] not in {d["id"] for d in (await data(server, admin.access_token, DEAD))["deadLetters"]}
    again = await data(server, admin.access_token, f"""mutation($id: ID!) {{ discardDeadLetter(input: {{id: $id}}) {{
      job {{ actor }} {ERR} }} }}""", {"id": mine["id"]})
    assert [e["code"] for e in again["discardDeadLetter"]["errors"]] == ["NOT_FOUND"]


async def test_locked_filter_and_unlock_audited_with_the_lock_it_cleared(server: RunningServer) -> None:
    admin = await signed_in_user(server)
    await promote_to_admin(server, admin.user_id)
    person = await signed_in_user(server)
    for _ in range(5):
        await login(server, person.email, "definitely not the password")
    locked = (await data(server, admin.access_token, USERS, {"filter": {"locked": True, "search": person.email}}))["users"]
    assert [e["node"]["user"]["id"] for e in locked["edges"]] == [person.user_id]
    assert locked["edges"][0]["node"]["locked"] is True
    unlocked = await data(server, admin.access_token, f"mutation($u: ID!) {{ unlockUser(input: {{userId: $u}}) {{ {ERR} }} }}",
                          {"u": person.user_id})
    assert unlocked["unlockUser"]["errors"] == []
    assert (await data(server, admin.access_token, USERS, {"filter": {"locked": True, "search": person.email}}))[
        "users"]["totalCount"] == 0
    log = (await data(server, admin.access_token, AUDIT, {"filter": {"actor": admin.user_id, "action": "USER_UNLOCK"}}))
    changes = log["auditLogs"]["edges"][0]["node"]["changes"]
    assert changes["locked_until"]["after"] is None and changes["locked_until"]["before"].startswith("20")


RECOMPUTE = f"""mutation($u: ID!) {{ recomputeGamification(input: {{userId: $u}}) {{
  eventsReplayed awardsAdded progressRows {ERR} }} }}"""


async def test_recompute_takes_one_input_and_answers_mistakes_in_its_payload(server: RunningServer) -> None:
    admin = await signed_in_user(server)
    await promote_to_admin(server, admin.user_id)
    person = await signed_in_user(server)
    done = (await data(server, admin.access_token, RECOMPUTE, {"u": person.user_id}))["recomputeGamification"]
    assert done["errors"] == [] and done["eventsReplayed"] is not None
    nobody = str(GlobalID("User", str(uuid.uuid4())))
    for wrong, code in ((nobody, "NOT_FOUND"), ("not-an-id", None)):
        answer = (await data(server, admin.access_token, RECOMPUTE, {"u": wrong}))["recomputeGamification"]
        assert answer["eventsReplayed"] is None and len(answer["errors"]) == 1, answer
        assert answer["errors"][0]["field"] == "userId"
        assert code is None or answer["errors"][0]["code"] == code

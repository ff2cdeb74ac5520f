"""The admin console. Every field here is declared admin-only (api/permissions.py) (shown in the schema as
`@requiresRole(role: "ADMIN")`): anyone else gets FORBIDDEN before a resolver runs. Every mutation
writes exactly one audit row in its transaction (see admin/service.py)."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import strawberry
from sqlmodel.ext.asyncio.session import AsyncSession
from strawberry import relay
from strawberry.types import Info

from finora_gql.admin import service
from finora_gql.admin.types import (
    AdminChallengePayload,
    AdminUserNode,
    AdminUserPayload,
    AuditLogConnection,
    AuditLogEdge,
    AuditLogFilterInput,
    AuditLogNode,
    BadgePayload,
    CreateBadgeInput,
    CreateChallengeInput,
    CreateRewardInput,
    DeadLetterInput,
    DeadLetterNode,
    DeadLetterPayload,
    RecomputePayload,
    RetireInput,
    RevokeSessionsPayload,
    RewardPayload,
    SetUserRoleInput,
    UpdateBadgeInput,
    UpdateChallengeInput,
    UpdateRewardInput,
    UserFilterInput,
    UserIdInput,
)
from finora_gql.api.connection import After, Connection, First, connection, page_info, page_request
from finora_gql.api.errors import UserError, perform
from finora_gql.api.ids import decode_id, parse_uuid
from finora_gql.api.permissions import admin_field, admin_only
from finora_gql.auth import console as sign_ins
from finora_gql.auth.types import BanUserInput, UserActionInput, UserPayload
from finora_gql.context import Context
from finora_gql.core.errors import BadUserInput, ErrorCode, ServiceError
from finora_gql.core.jobs import dead_letter_count
from finora_gql.core.runtime import Runtime
from finora_gql.core.viewer import Viewer
from finora_gql.gamification import catalog_admin as catalog
from finora_gql.gamification.types import BadgeNode, ChallengeNode, RewardNode
from finora_gql.transactions.types import CategoryNode
from finora_gql.users import directory
from finora_gql.users.types import UserType

T = TypeVar("T")
UserArg = Annotated[relay.GlobalID, strawberry.argument(description="The user.")]


def _target_uuid(value: str) -> uuid.UUID:
    """A target given as a UUID or as any global id."""
    found = parse_uuid(value)
    if found is None:
        try:
            found = parse_uuid(relay.GlobalID.from_id(value).node_id)
        except Exception:  # noqa: BLE001 - not a global id either
            found = None
    if found is None:
        raise BadUserInput(ServiceError(ErrorCode.INVALID, "target is neither a UUID nor an id.", "target"))
    return found


async def _on_user(info: Info[Context, None], user_id: relay.GlobalID,
                   act: Callable[[AsyncSession, Runtime, Viewer, uuid.UUID], Awaitable[T]]) -> tuple[T | None, list[UserError]]:
    """One admin action on a user, in one transaction: the id decoded there (a bad one is a
    payload error on userId), then `act`."""
    context = info.context
    viewer = await context.viewer()
    return await perform(context, lambda session: act(session, context.runtime, viewer,
                                                      decode_id(user_id, UserType, "userId")))


# --- catalog entries ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Entries:
    """How the console edits one kind of catalog entry: the kind, its draft, its node and its
    payload (whose result field is `field`)."""

    kind: catalog.Catalog
    draft: type
    node: Any
    payload: type
    field: str


_BADGES = _Entries(catalog.BADGES, catalog.BadgeDraft, BadgeNode, BadgePayload, "badge")
_CHALLENGES = _Entries(catalog.CHALLENGES, catalog.ChallengeDraft, ChallengeNode, AdminChallengePayload, "challenge")
_REWARDS = _Entries(catalog.REWARDS, catalog.RewardDraft, RewardNode, RewardPayload, "reward")


def _draft(entries: _Entries, input: Any) -> Any:
    """The draft an input describes: its fields by name (a field the input lacks stays unset),
    the category id decoded."""
    values = {f.name: getattr(input, f.name, None) for f in dataclasses.fields(entries.draft)}
    if values.get("category_id") is not None:
        values["category_id"] = decode_id(values["category_id"], CategoryNode, "categoryId")
    return entries.draft(**values)


async def _change(info: Info[Context, None], entries: _Entries,
                  work: Callable[[AsyncSession, Viewer], Awaitable[Any]]) -> Any:
    """Decode and clean inside the transaction (a bad id is a payload error), perform, and
    answer with the entry as it is now."""
    context = info.context
    viewer = await context.viewer()
    row, errors = await perform(context, lambda session: work(session, viewer))
    return entries.payload(**{entries.field: entries.node.of(row) if row else None, "errors": errors})


async def _create(info: Info[Context, None], entries: _Entries, input: Any) -> Any:
    return await _change(info, entries, lambda session, viewer: service.create_entry(
        session, viewer, entries.kind, _draft(entries, input)))


async def _update(info: Info[Context, None], entries: _Entries, input: Any) -> Any:
    return await _change(info, entries, lambda session, viewer: service.update_entry(
        session, viewer, entries.kind, decode_id(input.id, entries.node, "id"), _draft(entries, input)))


async def _retire(info: Info[Context, None], entries: _Entries, input: RetireInput) -> Any:
    return await _change(info, entries, lambda session, viewer: service.retire_entry(
        session, viewer, entries.kind, decode_id(input.id, entries.node, "id")))


@strawberry.type
class AdminQuery:
    @strawberry.field(description="Admin only. How many background jobs exhausted their retries.",
                      extensions=admin_only())
    async def dead_lettered_jobs(self, info: Info[Context, None]) -> int:
        return await asyncio.to_thread(dead_letter_count)

    @strawberry.field(description=(
        "Admin only. Jobs that exhausted their retries (newest first), with secrets redacted."),
        extensions=admin_only())
    async def dead_letters(
        self, info: Info[Context, None],
        first: Annotated[int, strawberry.argument(description="How many to return (at most 100).")] = 50,
    ) -> list[DeadLetterNode]:
        viewer = await info.context.viewer()
        return [DeadLetterNode.of(d) for d in await service.list_dead_letters(viewer, limit=max(1, min(first, 100)))]

    @strawberry.field(description="Admin only. Users, newest first, filtered.", extensions=admin_only())
    async def users(
        self, info: Info[Context, None],
        filter: Annotated[UserFilterInput | None, strawberry.argument(description="Which users; all when omitted.")] = None,
        first: First = 20, after: After = None,
    ) -> Connection[AdminUserNode]:
        context = info.context
        viewer = await context.viewer()
        spec = service.UserFilter(**vars(filter)) if filter else service.UserFilter()
        request = page_request(first=first, after=after, last=None, before=None, kind=directory.CURSOR_KIND)
        try:
            page = await service.list_users(context.session, viewer, spec, page=request)
        except ServiceError as error:
            raise BadUserInput(error) from None
        locked = await sign_ins.locked_until(context.session, [u.id for u in page.rows])

        async def count() -> int:
            return await service.count_users(context.session, viewer, spec)

        return connection(page, lambda u: AdminUserNode.of(u, locked.get(u.id)), directory.cursor_of, count)

    @strawberry.field(description="Admin only. One user's details (sessions, last sign-in, counts).",
                      extensions=admin_only())
    async def admin_user(self, info: Info[Context, None], id: UserArg) -> AdminUserNode | None:
        from finora_gql.users import service as users

        try:
            user_id = decode_id(id, UserType, "id")
        except ServiceError:
            return None
        user = await users.get_user(info.context.session, user_id)
        if user is None:
            return None
        locked = await sign_ins.locked_until(info.context.session, [user.id])
        return AdminUserNode.of(user, locked.get(user.id))

    @strawberry.field(description="Admin only. The audit log, newest first, filtered.", extensions=admin_only())
    async def audit_logs(
        self, info: Info[Context, None],
        filter: Annotated[AuditLogFilterInput | None, strawberry.argument(
            description="Which entries; all when omitted.")] = None,
        first: First = 20, after: After = None,
    ) -> AuditLogConnection:
        context = info.context
        viewer = await context.viewer()
        spec = service.AuditFilter()
        if filter is not None:
            try:
                actor = decode_id(filter.actor, UserType, "actor") if filter.actor else None
            except ServiceError as error:
                raise BadUserInput(error) from None
            spec = service.AuditFilter(actor_id=actor, action=filter.action,
                                       target_id=_target_uuid(filter.target) if filter.target else None,
                                       since=filter.from_, until=filter.to)
        request = page_request(first=first, after=after, last=None, before=None, kind=service.AUDIT_CURSOR)
        page = await service.list_audit(context.session, viewer, spec, page=request)
        edges = [AuditLogEdge(cursor=service.audit_cursor(r), node=AuditLogNode.of(r)) for r in page.rows]
        return AuditLogConnection(edges=edges, page_info=page_info(edges, has_next=page.has_next,
                                                                   has_previous=page.has_previous))

    @strawberry.field(description="Admin only. Every badge, retired ones too.", extensions=admin_only())
    async def all_badges(self, info: Info[Context, None]) -> list[BadgeNode]:
        from finora_gql.gamification import service as gamification

        return [BadgeNode.of(b) for b in await gamification.list_badges(info.context.session, include_retired=True)]

    @strawberry.field(description="Admin only. Every challenge, retired ones too.", extensions=admin_only())
    async def all_challenges(self, info: Info[Context, None]) -> list[ChallengeNode]:
        from finora_gql.gamification import service as gamification

        return [ChallengeNode.of(c) for c in await gamification.list_challenges(info.context.session, include_retired=True)]

    @strawberry.field(description="Admin only. Every reward, retired ones too.", extensions=admin_only())
    async def all_rewards(self, info: Info[Context, None]) -> list[RewardNode]:
        from finora_gql.gamification import service as gamification

        return [RewardNode.of(r) for r in await gamification.list_rewards(info.context.session, include_retired=True)]


@strawberry.type
class AdminMutation:
    @strawberry.mutation(
        **admin_field("Suspend a user: they cannot sign in, and their sessions and live subscriptions end at once.")
    )
    async def ban_user(
        self, info: Info[Context, None], input: Annotated[BanUserInput, strawberry.argument(description="Who and why.")]
    ) -> UserPayload:
        user, errors = await _on_user(info, input.user_id, lambda session, rt, viewer, user_id: service.ban_user(
            session, rt, viewer, user_id, reason=input.reason))
        return UserPayload(user=UserType.of(user) if user else None, errors=errors)

    @strawberry.mutation(**admin_field("Lift a suspension."))
    async def unban_user(
        self, info: Info[Context, None], input: Annotated[UserActionInput, strawberry.argument(description="The person to act on.")]
    ) -> UserPayload:
        user, errors = await _on_user(info, input.user_id, service.unban_user)
        return UserPayload(user=UserType.of(user) if user else None, errors=errors)

    @strawberry.mutation(**admin_field("Clear a sign-in lockout before it expires."))
    async def unlock_user(
        self, info: Info[Context, None], input: Annotated[UserActionInput, strawberry.argument(description="The person to act on.")]
    ) -> UserPayload:
        user, errors = await _on_user(info, input.user_id, service.unlock_user)
        return UserPayload(user=UserType.of(user) if user else None, errors=errors)

    @strawberry.mutation(description="Admin only. Give a user a role (takes effect on their next request).",
                         extensions=admin_only())
    async def set_user_role(self, info: Info[Context, None], input: Annotated[SetUserRoleInput, strawberry.argument(description="The person and their new role.")]) -> AdminUserPayload:
        user, errors = await _on_user(info, input.user_id, lambda session, rt, viewer, user_id: service.set_user_role(
            session, rt, viewer, user_id, input.role))
        return AdminUserPayload(user=UserType.of(user) if user else None, errors=errors)

    @strawberry.mutation(description="Admin only. End every live session of a user.", extensions=admin_only())
    async def revoke_user_sessions(self, info: Info[Context, None], input: Annotated[UserIdInput, strawberry.argument(description="The person to act on.")]) -> RevokeSessionsPayload:
        done, errors = await _on_user(info, input.user_id, service.revoke_user_sessions)
        if done is None:
            return RevokeSessionsPayload(user=None, revoked=0, errors=errors)
        return RevokeSessionsPayload(user=UserType.of(done[0]), revoked=done[1], errors=[])

    @strawberry.mutation(description="Admin only. Add a badge to the catalog.", extensions=admin_only())
    async def create_badge(self, info: Info[Context, None], input: Annotated[CreateBadgeInput, strawberry.argument(description="The new badge.")]) -> BadgePayload:
        return await _create(info, _BADGES, input)

    @strawberry.mutation(description="Admin only. Change a badge.", extensions=admin_only())
    async def update_badge(self, info: Info[Context, None], input: Annotated[UpdateBadgeInput, strawberry.argument(description="The badge and the fields to change.")]) -> BadgePayload:
        return await _update(info, _BADGES, input)

    @strawberry.mutation(description="Admin only. Retire a badge (no one can earn it any more).",
                         extensions=admin_only())
    async def retire_badge(self, info: Info[Context, None], input: Annotated[RetireInput, strawberry.argument(description="What to retire, by id.")]) -> BadgePayload:
        return await _retire(info, _BADGES, input)

    @strawberry.mutation(description="Admin only. Add a challenge to the catalog.", extensions=admin_only())
    async def create_challenge(self, info: Info[Context, None], input: Annotated[CreateChallengeInput, strawberry.argument(description="The new challenge.")]) -> AdminChallengePayload:
        return await _create(info, _CHALLENGES, input)

    @strawberry.mutation(description="Admin only. Change a challenge.", extensions=admin_only())
    async def update_challenge(self, info: Info[Context, None], input: Annotated[UpdateChallengeInput, strawberry.argument(description="The challenge and the fields to change.")]) -> AdminChallengePayload:
        return await _update(info, _CHALLENGES, input)

    @strawberry.mutation(description="Admin only. Retire a challenge (no more progress; awards stay).",
                         extensions=admin_only())
    async def retire_challenge(self, info: Info[Context, None], input: Annotated[RetireInput, strawberry.argument(description="What to retire, by id.")]) -> AdminChallengePayload:
        return await _retire(info, _CHALLENGES, input)

    @strawberry.mutation(description="Admin only. Add a reward to the catalog.", extensions=admin_only())
    async def create_reward(self, info: Info[Context, None], input: Annotated[CreateRewardInput, strawberry.argument(description="The new reward.")]) -> RewardPayload:
        return await _create(info, _REWARDS, input)

    @strawberry.mutation(description="Admin only. Change a reward.", extensions=admin_only())
    async def update_reward(self, info: Info[Context, None], input: Annotated[UpdateRewardInput, strawberry.argument(description="The reward and the fields to change.")]) -> RewardPayload:
        return await _update(info, _REWARDS, input)

    @strawberry.mutation(description="Admin only. Retire a reward (it can no longer be redeemed).",
                         extensions=admin_only())
    async def retire_reward(self, info: Info[Context, None], input: Annotated[RetireInput, strawberry.argument(description="What to retire, by id.")]) -> RewardPayload:
        return await _retire(info, _REWARDS, input)

    @strawberry.mutation(description=(
        "Admin only. Rebuild a user's gamification progress from their events and the ledger "
        "(adds any missing award; never takes one back)."), extensions=admin_only())
    async def recompute_gamification(self, info: Info[Context, None], input: Annotated[UserIdInput, strawberry.argument(description="The person whose progress to rebuild.")]) -> RecomputePayload:
        done, errors = await _on_user(info, input.user_id, service.recompute_gamification)
        if done is None:
            return RecomputePayload(events_replayed=None, awards_added=None, progress_rows=None, errors=errors)
        return RecomputePayload(events_replayed=done.events, awards_added=done.awards_added,
                                progress_rows=done.progress_rows, errors=[])

    @strawberry.mutation(description="Admin only. Put a dead-lettered job back on its queue.",
                         extensions=admin_only())
    async def retry_dead_letter(self, info: Info[Context, None], input: Annotated[DeadLetterInput, strawberry.argument(description="The dead-lettered job, by its message id.")]) -> DeadLetterPayload:
        context = info.context
        viewer = await context.viewer()
        letter, errors = await perform(context, lambda session: service.retry_dead_letter(session, viewer, str(input.id)))
        return DeadLetterPayload(job=DeadLetterNode.of(letter) if letter else None, errors=errors)

    @strawberry.mutation(description="Admin only. Drop a dead-lettered job for good.", extensions=admin_only())
    async def discard_dead_letter(self, info: Info[Context, None], input: Annotated[DeadLetterInput, strawberry.argument(description="The dead-lettered job, by its message id.")]) -> DeadLetterPayload:
        context = info.context
        viewer = await context.viewer()
        letter, errors = await perform(context, lambda session: service.discard_dead_letter(session, viewer, str(input.id)))
        return DeadLetterPayload(job=DeadLetterNode.of(letter) if letter else None, errors=errors)

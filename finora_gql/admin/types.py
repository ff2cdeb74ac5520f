"""GraphQL types of the admin console."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import strawberry
from strawberry import relay
from strawberry.scalars import JSON
from strawberry.types import Info

from finora_gql.admin import service
from finora_gql.admin.audit import AuditAction
from finora_gql.admin.models import AuditLog
from finora_gql.api.enums import describe_values
from finora_gql.api.errors import UserError, errors_field
from finora_gql.auth import console as sign_ins
from finora_gql.core.dead_letters import DeadLetter
from finora_gql.gamification.models import Recurrence
from finora_gql.gamification.types import (
    BadgeCriterionEnum,
    BadgeNode,
    ChallengeKindEnum,
    ChallengeNode,
    RecurrenceEnum,
    RewardNode,
)
from finora_gql.users import service as users
from finora_gql.users.models import User
from finora_gql.users.types import RoleEnum, UserType

AuditActionEnum = strawberry.enum(AuditAction, name="AuditAction", description=(
    "What an administrator did (the log stores the dotted value, e.g. user.ban)."))


@strawberry.type(name="AdminSession", description="One sign-in of a user (admin view): never tokens.")
class AdminSessionNode:
    id: strawberry.ID = strawberry.field(description="The session's id.")
    created_at: dt.datetime = strawberry.field(description="When they signed in.")
    last_used_at: dt.datetime = strawberry.field(description="When the session was last refreshed.")
    revoked_at: dt.datetime | None = strawberry.field(description="When it ended, if it did.")
    revoke_reason: str | None = strawberry.field(description="Why it ended (logout, banned, admin, ...).")
    user_agent: str | None = strawberry.field(description="The client's user agent.")
    ip_address: str | None = strawberry.field(description="The address it signed in from.")


@strawberry.type(name="AdminUserCounts", description="How much data a user has: counts only, never the data.")
class AdminUserCounts:
    accounts: int = strawberry.field(description="Accounts, archived included.")
    transactions: int = strawberry.field(description="Transactions (how many, never which).")
    goals: int = strawberry.field(description="Savings goals.")
    imports: int = strawberry.field(description="CSV imports.")
    awards: int = strawberry.field(description="Badges and challenge periods earned.")
    points: int = strawberry.field(description="Points balance.")


@strawberry.type(name="AdminUser", description="A user as the admin console sees them (administrators only).")
class AdminUserNode:
    user: UserType = strawberry.field(description="The user's profile.")
    locked_until: dt.datetime | None = strawberry.field(description="Sign-in is locked until then, if it is.")
    _id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="Whether sign-in is locked now.")
    def locked(self) -> bool:
        return self.locked_until is not None

    @strawberry.field(description="When they last signed in, or null if never.")
    async def last_sign_in_at(self, info: Info) -> dt.datetime | None:
        return (await sign_ins.last_sign_in(info.context.session, [self._id])).get(self._id)

    @strawberry.field(description="Their sign-in sessions, newest first (at most 50).")
    async def sessions(self, info: Info) -> list[AdminSessionNode]:
        rows = await sign_ins.sessions_of(info.context.session, self._id)
        return [AdminSessionNode(id=strawberry.ID(str(r.id)), created_at=r.created_at, last_used_at=r.last_used_at,
                                 revoked_at=r.revoked_at, revoke_reason=r.revoke_reason, user_agent=r.user_agent,
                                 ip_address=r.ip_address) for r in rows]

    @strawberry.field(description="Counts of their data (never the data itself).")
    async def counts(self, info: Info) -> AdminUserCounts:
        counts = await service.user_detail_counts(info.context.session, await info.context.viewer(), self._id)
        return AdminUserCounts(**counts)

    @classmethod
    def of(cls, user: User, locked_until: dt.datetime | None) -> AdminUserNode:
        return cls(user=UserType.of(user), locked_until=locked_until, _id=user.id)


@strawberry.input(description="Which users to list; every condition given must hold.")
class UserFilterInput:
    search: str | None = strawberry.field(default=None, description="Part of the email or name (case-insensitive).")
    role: RoleEnum | None = strawberry.field(default=None, description="Only this role.")
    banned: bool | None = strawberry.field(default=None, description="Only banned (true) or not banned (false).")
    locked: bool | None = strawberry.field(default=None, description="Only locked (true) or not locked (false) now.")


@strawberry.type(name="AuditLogEntry", description="One administrative action.")
class AuditLogNode:
    id: strawberry.ID = strawberry.field(description="The entry's id.")
    action: AuditActionEnum = strawberry.field(description="What was done.")
    target_id: strawberry.ID | None = strawberry.field(description="The UUID of what it was done to (a user, badge, ...).")
    created_at: dt.datetime = strawberry.field(description="When.")
    changes: JSON = strawberry.field(description="The values that changed: {field: {before, after}}.")
    _actor_id: strawberry.Private[uuid.UUID | None]

    @strawberry.field(description="Who did it (null if their account was deleted).")
    async def actor(self, info: Info) -> UserType | None:
        if self._actor_id is None:
            return None
        user = await users.get_user(info.context.session, self._actor_id)
        return UserType.of(user) if user else None

    @classmethod
    def of(cls, row: AuditLog) -> AuditLogNode:
        details: Any = row.details
        return cls(id=strawberry.ID(str(row.id)), action=AuditAction(row.action),
                   target_id=strawberry.ID(str(row.target_id)) if row.target_id else None, created_at=row.created_at,
                   changes=details, _actor_id=row.actor_id)


@strawberry.type(name="AuditLogEdge", description="An audit entry and the cursor after it.")
class AuditLogEdge:
    cursor: str = strawberry.field(description="Pass as `after` to continue.")
    node: AuditLogNode = strawberry.field(description="The entry.")


@strawberry.type(name="AuditLogConnection", description="A page of the audit log, newest first.")
class AuditLogConnection:
    edges: list[AuditLogEdge] = strawberry.field(description="The entries of this page.")
    page_info: relay.PageInfo = strawberry.field(description="Whether more follow.")


@strawberry.input(description="Which audit entries to list; every condition given must hold.")
class AuditLogFilterInput:
    actor: relay.GlobalID | None = strawberry.field(default=None, description="Only actions of this administrator.")
    action: AuditActionEnum | None = strawberry.field(default=None, description="Only this action.")
    target: strawberry.ID | None = strawberry.field(default=None, description="Only actions on this UUID or global id.")
    from_: dt.datetime | None = strawberry.field(default=None, name="from", description="From this time (inclusive).")
    to: dt.datetime | None = strawberry.field(default=None, description="Until this time (exclusive).")


@strawberry.type(name="DeadLetteredJob", description="A background job that exhausted its retries.")
class DeadLetterNode:
    id: strawberry.ID = strawberry.field(description="Its id (queue/message id), for retry and discard.")
    queue: str = strawberry.field(description="Its queue.")
    actor: str = strawberry.field(description="The actor that failed.")
    arguments: JSON = strawberry.field(description="Its arguments, with secrets and email addresses redacted.")
    retries: int = strawberry.field(description="How many times it was retried.")
    last_error: str | None = strawberry.field(description="The last line of its last error.")
    failed_at: dt.datetime | None = strawberry.field(description="When it was dead-lettered.")

    @classmethod
    def of(cls, letter: DeadLetter) -> DeadLetterNode:
        arguments: Any = {"args": letter.args, "kwargs": letter.kwargs}
        return cls(id=strawberry.ID(letter.id), queue=letter.queue, actor=letter.actor, arguments=arguments,
                   retries=letter.retries, last_error=letter.last_error, failed_at=letter.failed_at)


# --- inputs and payloads --------------------------------------------------------------------------


@strawberry.input(description="A user and their new role.")
class SetUserRoleInput:
    user_id: relay.GlobalID = strawberry.field(description="The user.")
    role: RoleEnum = strawberry.field(description="The role to give.")


@strawberry.input(description="A user.")
class UserIdInput:
    user_id: relay.GlobalID = strawberry.field(description="The user.")


@strawberry.type(description="The result of an admin action on a user.")
class AdminUserPayload:
    user: UserType | None = strawberry.field(description="The user now.")
    errors: list[UserError] = errors_field()


@strawberry.type(description="The result of revokeUserSessions.")
class RevokeSessionsPayload:
    user: UserType | None = strawberry.field(description="The user.")
    revoked: int = strawberry.field(description="How many live sessions ended.")
    errors: list[UserError] = errors_field()


@strawberry.input(description="A new badge.")
class CreateBadgeInput:
    code: str = strawberry.field(description="Stable code: capitals, digits, _.")
    name: str = strawberry.field(description="Name shown to people.")
    description: str = strawberry.field(description="How it is earned.")
    criterion: BadgeCriterionEnum = strawberry.field(description="What it counts.")
    threshold: int = strawberry.field(description="The count that earns it.")
    points: int = strawberry.field(default=0, description="Points it gives.")
    icon: str | None = strawberry.field(default=None, description="Icon name.")


@strawberry.input(description="Badge fields to change; omitted ones stay.")
class UpdateBadgeInput:
    id: relay.GlobalID = strawberry.field(description="The badge.")
    code: str | None = strawberry.field(default=None, description="New code.")
    name: str | None = strawberry.field(default=None, description="New name.")
    description: str | None = strawberry.field(default=None, description="New description.")
    criterion: BadgeCriterionEnum | None = strawberry.field(default=None, description="New criterion.")
    threshold: int | None = strawberry.field(default=None, description="New threshold.")
    points: int | None = strawberry.field(default=None, description="New points.")
    icon: str | None = strawberry.field(default=None, description="New icon.")


@strawberry.input(description="A new challenge.")
class CreateChallengeInput:
    code: str = strawberry.field(description="Stable code: capitals, digits, _.")
    name: str = strawberry.field(description="Name shown to people.")
    description: str = strawberry.field(description="What to do.")
    kind: ChallengeKindEnum = strawberry.field(description="What it measures.")
    target: Decimal = strawberry.field(description="Count or amount to reach (for SPEND_UNDER, the most to spend).")
    reward_points: int = strawberry.field(description="Points per completed period.")
    duration_days: int | None = strawberry.field(default=None, description="For a non-recurring challenge: how long from joining.")
    recurrence: RecurrenceEnum = strawberry.field(default=Recurrence.NONE, description="How it repeats.")
    category_id: relay.GlobalID | None = strawberry.field(default=None, description=(
        "For SPEND_UNDER on one category: one of your categories; its name is matched in each person's categories."))
    default_enrolled: bool = strawberry.field(default=False, description="Everyone takes part unless they leave it.")
    starts_at: dt.datetime | None = strawberry.field(default=None, description="When it opens.")
    ends_at: dt.datetime | None = strawberry.field(default=None, description="When it closes.")


@strawberry.input(description="Challenge fields to change; omitted ones stay.")
class UpdateChallengeInput:
    id: relay.GlobalID = strawberry.field(description="The challenge.")
    code: str | None = strawberry.field(default=None, description="New code.")
    name: str | None = strawberry.field(default=None, description="New name.")
    description: str | None = strawberry.field(default=None, description="New description.")
    target: Decimal | None = strawberry.field(default=None, description="New target.")
    reward_points: int | None = strawberry.field(default=None, description="New reward points.")
    default_enrolled: bool | None = strawberry.field(default=None, description="New default enrollment.")
    ends_at: dt.datetime | None = strawberry.field(default=None, description="New end.")


@strawberry.input(description="A new reward.")
class CreateRewardInput:
    code: str = strawberry.field(description="Stable code: capitals, digits, _.")
    name: str = strawberry.field(description="Name shown to people.")
    description: str = strawberry.field(description="What it is.")
    cost_points: int = strawberry.field(description="Points it costs.")


@strawberry.input(description="Reward fields to change; omitted ones stay.")
class UpdateRewardInput:
    id: relay.GlobalID = strawberry.field(description="The reward.")
    code: str | None = strawberry.field(default=None, description="New code.")
    name: str | None = strawberry.field(default=None, description="New name.")
    description: str | None = strawberry.field(default=None, description="New description.")
    cost_points: int | None = strawberry.field(default=None, description="New cost.")


@strawberry.input(description="A catalog entry to retire.")
class RetireInput:
    id: relay.GlobalID = strawberry.field(description="The badge, challenge or reward.")


@strawberry.type(description="The result of a badge mutation.")
class BadgePayload:
    badge: BadgeNode | None = strawberry.field(description="The badge now.")
    errors: list[UserError] = errors_field()


@strawberry.type(description="The result of a challenge mutation.")
class AdminChallengePayload:
    challenge: ChallengeNode | None = strawberry.field(description="The challenge now.")
    errors: list[UserError] = errors_field()


@strawberry.type(description="The result of a reward mutation.")
class RewardPayload:
    reward: RewardNode | None = strawberry.field(description="The reward now.")
    errors: list[UserError] = errors_field()


@strawberry.input(description="A dead-lettered job.")
class DeadLetterInput:
    id: strawberry.ID = strawberry.field(description="Its id (from deadLetters).")


@strawberry.type(description="The result of retrying or discarding a dead-lettered job.")
class DeadLetterPayload:
    job: DeadLetterNode | None = strawberry.field(description="The job as it was.")
    errors: list[UserError] = errors_field()


@strawberry.type(description="The result of recomputeGamification.")
class RecomputePayload:
    events_replayed: int | None = strawberry.field(description="Events replayed, in order.")
    awards_added: int | None = strawberry.field(description="Awards the replay found missing and added (normally 0).")
    progress_rows: int | None = strawberry.field(description="Challenge progress rows rewritten.")
    errors: list[UserError] = errors_field()


describe_values(AuditActionEnum, {
    "USER_BAN": "A user was suspended.",
    "USER_UNBAN": "A suspension was lifted.",
    "USER_UNLOCK": "A sign-in lockout was cleared.",
    "USER_SET_ROLE": "A user's role changed.",
    "USER_REVOKE_SESSIONS": "A user's sessions were ended.",
    "BADGE_CREATE": "A badge was added to the catalog.",
    "BADGE_UPDATE": "A badge changed.",
    "BADGE_RETIRE": "A badge was retired.",
    "CHALLENGE_CREATE": "A challenge was added to the catalog.",
    "CHALLENGE_UPDATE": "A challenge changed.",
    "CHALLENGE_RETIRE": "A challenge was retired.",
    "REWARD_CREATE": "A reward was added to the catalog.",
    "REWARD_UPDATE": "A reward changed.",
    "REWARD_RETIRE": "A reward was retired.",
    "JOB_RETRY": "A dead-lettered job was sent again.",
    "JOB_DISCARD": "A dead-lettered job was dropped.",
    "GAMIFICATION_RECOMPUTE": "A user's gamification state was rebuilt from their events.",
    "FX_RATE_SET": "An exchange rate was set (shared market data).",
    "ASSISTANT_PROPOSAL_CONFIRM": "A person confirmed an assistant proposal (a budget, goal or category rule); "
                                  "the actor is that person.",
})

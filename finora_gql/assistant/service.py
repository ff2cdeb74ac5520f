"""Conversations with the assistant, their messages, and the proposals replies make.

Sending a message stores it with a PENDING reply and queues the reply's generation (a Dramatiq
job, `assistant_reply`): the reply completes and is stored even when the person goes away.
A proposal changes nothing until `confirm_proposal`, which performs it through the same
service the API uses (with that service's validation) and writes one audit row (before and
after) in the same transaction; `reject_proposal` drops it and writes none: nothing changed, and
the proposal itself keeps who decided what and when.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from finora_gql.admin import audit
from finora_gql.admin.audit import AuditAction
from finora_gql.assistant.models import (
    AiContext,
    Conversation,
    Message,
    MessageStatus,
    Proposal,
    ProposalKind,
    ProposalStatus,
    Role,
    ToolCall,
)
from finora_gql.budgets import service as budgets
from finora_gql.core import clock
from finora_gql.core.errors import ErrorCode, ServiceError
from finora_gql.core.jobs import enqueue_after_commit
from finora_gql.core.owned import Owned
from finora_gql.core.ratelimit import RateLimit
from finora_gql.core.runtime import Runtime
from finora_gql.core.validation import clean_text
from finora_gql.core.viewer import Viewer
from finora_gql.transactions import rules
from finora_gql.transactions import service as ledger

conversations = Owned(Conversation, "conversation")
messages = Owned(Message, "message")
tool_calls = Owned(ToolCall, "tool call")
proposals = Owned(Proposal, "proposal")
contexts = Owned(AiContext, "context")

TITLE_MAX = 200
CONTENT_MAX = 4000
CLIENT_KEY_MAX = 100
HISTORY_MESSAGES = 20
GENERATE_ACTOR = "assistant_reply"
REFRESH_ACTOR = "assistant_refresh_context"
REFRESH_COOLDOWN_SECONDS = 300  # a person's retrieval documents are rebuilt at most this often


async def start_conversation(session: AsyncSession, viewer: Viewer, *, title: str | None) -> Conversation:
    cleaned = clean_text(title or "", field="title", max_length=TITLE_MAX, required=False) or "New conversation"
    conversation = Conversation(user_id=viewer.user_id, title=cleaned)
    session.add(conversation)
    await session.flush()
    return conversation


async def list_conversations(session: AsyncSession, viewer: Viewer, *, limit: int = 100) -> Sequence[Conversation]:
    statement = conversations.readable(viewer).order_by(col(Conversation.updated_at).desc(), col(Conversation.id)).limit(limit)
    return (await session.exec(statement)).all()


async def get_conversation(session: AsyncSession, viewer: Viewer, conversation_id: uuid.UUID, *,
                           field: str = "id") -> Conversation:
    return await conversations.get(session, viewer, conversation_id, field=field)


async def delete_conversation(session: AsyncSession, viewer: Viewer, conversation_id: uuid.UUID) -> Conversation:
    conversation = await conversations.get(session, viewer, conversation_id, for_update=True)
    await session.delete(conversation)
    await session.flush()
    return conversation


async def list_messages(session: AsyncSession, viewer: Viewer, conversation_id: uuid.UUID) -> Sequence[Message]:
    statement = messages.readable(viewer).where(col(Message.conversation_id) == conversation_id)
    return (await session.exec(statement.order_by(col(Message.created_at), col(Message.role).desc(), col(Message.id)))).all()


async def get_message(session: AsyncSession, viewer: Viewer, message_id: uuid.UUID, *, field: str = "messageId") -> Message:
    return await messages.get(session, viewer, message_id, field=field)


async def tool_calls_of(session: AsyncSession, viewer: Viewer, message_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[ToolCall]]:
    from finora_gql.core.db import any_of

    rows = (await session.exec(tool_calls.readable(viewer).where(any_of(col(ToolCall.message_id), list(message_ids)))
                               .order_by(col(ToolCall.position)))).all()
    found: dict[uuid.UUID, list[ToolCall]] = {}
    for row in rows:
        found.setdefault(row.message_id, []).append(row)
    return found


async def proposals_of(session: AsyncSession, viewer: Viewer, message_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[Proposal]]:
    from finora_gql.core.db import any_of

    rows = (await session.exec(proposals.readable(viewer).where(any_of(col(Proposal.message_id), list(message_ids)))
                               .order_by(col(Proposal.created_at)))).all()
    found: dict[uuid.UUID, list[Proposal]] = {}
    for row in rows:
        found.setdefault(row.message_id, []).append(row)
    return found


async def tokens_used_today(session: AsyncSession, viewer: Viewer) -> int:
    midnight = clock.now().astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    statement = messages.where_visible(
        select(func.coalesce(func.sum(Message.tokens), 0)).where(col(Message.created_at) >= midnight), viewer)
    return int((await session.exec(statement)).one())


async def send_message(
    session: AsyncSession, rt: Runtime, viewer: Viewer, *, conversation_id: uuid.UUID, content: str,
    client_key: str | None,
) -> tuple[Message, Message]:
    """The person's message and the PENDING reply; the same pair again for a repeated clientKey."""
    text = content.strip()
    if not text:
        raise ServiceError(ErrorCode.REQUIRED, "Content is required.", "content")
    if len(text) > CONTENT_MAX:
        raise ServiceError(ErrorCode.INVALID, f"Content is longer than {CONTENT_MAX} characters.", "content")
    if "\x00" in text:
        raise ServiceError(ErrorCode.INVALID, "Content contains a NUL character.", "content")
    if client_key is not None and not 0 < len(client_key) <= CLIENT_KEY_MAX:
        raise ServiceError(ErrorCode.INVALID, f"clientKey must be 1 to {CLIENT_KEY_MAX} characters.", "clientKey")
    conversation = await conversations.get(session, viewer, conversation_id, field="conversationId", for_update=True)
    if client_key is not None:
        earlier = (await session.exec(messages.readable(viewer).where(col(Message.client_key) == client_key))).first()
        if earlier is not None:
            if earlier.conversation_id != conversation.id:
                raise ServiceError(ErrorCode.ALREADY_EXISTS, "This clientKey was used in another conversation.", "clientKey")
            reply = (await session.exec(messages.readable(viewer).where(
                col(Message.conversation_id) == conversation.id, col(Message.role) == Role.ASSISTANT,
                col(Message.created_at) >= earlier.created_at).order_by(col(Message.created_at)))).first()
            if reply is not None:
                return earlier, reply
    settings = rt.settings
    decision = await rt.rate_limiter.hit(f"assistant:user:{viewer.user_id}", RateLimit.parse(settings.assistant_rate_limit))
    if not decision.allowed:
        raise ServiceError(ErrorCode.RATE_LIMITED,
                           f"You are sending messages too fast; try again in {decision.retry_after} s.", None)
    used = await tokens_used_today(session, viewer)
    if used >= settings.assistant_daily_tokens:
        raise ServiceError(ErrorCode.RATE_LIMITED,
                           f"You have used today's assistant allowance ({settings.assistant_daily_tokens} tokens); "
                           "it renews at midnight UTC.", None)
    now = clock.now()
    question = Message(user_id=viewer.user_id, conversation_id=conversation.id, role=Role.USER, content=text,
                       status=MessageStatus.COMPLETE, client_key=client_key, created_at=now, finished_at=now)
    reply = Message(user_id=viewer.user_id, conversation_id=conversation.id, role=Role.ASSISTANT, content="",
                    status=MessageStatus.PENDING, created_at=now + dt.timedelta(microseconds=1), model=settings.llm_model)
    conversation.updated_at = now
    if conversation.title == "New conversation":
        conversation.title = text[:80]
    session.add_all([question, reply, conversation])
    await session.flush()
    enqueue_after_commit(session, GENERATE_ACTOR, str(reply.id))
    refreshed = f"assistant:context-refreshed:{viewer.user_id}"
    if await rt.cache.get(refreshed) is None:
        await rt.cache.set(refreshed, b"1", REFRESH_COOLDOWN_SECONDS)
        enqueue_after_commit(session, REFRESH_ACTOR, str(viewer.user_id))
    return question, reply


# --- proposals ----------------------------------------------------------------------------------------


async def get_proposal(session: AsyncSession, viewer: Viewer, proposal_id: uuid.UUID, *, for_update: bool = False) -> Proposal:
    return await proposals.get(session, viewer, proposal_id, field="id", for_update=for_update)


async def confirm_proposal(session: AsyncSession, rt: Runtime, viewer: Viewer, proposal_id: uuid.UUID) -> Proposal:
    """Perform the proposal through the domain's own service; its refusal leaves the proposal PENDING."""
    proposal = await get_proposal(session, viewer, proposal_id, for_update=True)
    if proposal.status is not ProposalStatus.PENDING:
        raise ServiceError(ErrorCode.INVALID, f"This proposal was already {proposal.status.value.lower()}.", "id")
    payload = proposal.payload
    if proposal.kind is ProposalKind.SET_BUDGET:
        month = dt.date.fromisoformat(payload["month"])
        category_id = uuid.UUID(payload["category_id"])
        limit = Decimal(payload["limit"])
        existing = next((b for b in await budgets.list_budgets(session, viewer, month=month)
                         if b.category_id == category_id), None)
        if existing is not None:
            # Read back with the column's scale: shown at the proposal's (the currency's) like the new limit.
            before = {"category_id": category_id, "month": month, "limit": existing.limit_amount.quantize(limit)}
            budget = await budgets.update_budget(session, viewer, existing.id, limit=limit)
            outcome = f"Budget changed to {budget.limit_amount}."
        else:
            before = {}
            budget = await budgets.create_budget(session, viewer, month=month, category_id=category_id, limit=limit)
            outcome = f"Budget created at {budget.limit_amount}."
        target_id, after = budget.id, {"category_id": category_id, "month": month, "limit": budget.limit_amount}
        proposal.outcome = outcome
    elif proposal.kind is ProposalKind.CREATE_GOAL:
        target_date = dt.date.fromisoformat(payload["target_date"]) if payload.get("target_date") else None
        progress = await budgets.create_goal(session, viewer, name=payload["name"],
                                             target_amount=Decimal(payload["target_amount"]), target_date=target_date)
        goal = progress.goal
        before, target_id = {}, goal.id
        after = {"name": goal.name, "target_amount": goal.target_amount, "target_date": goal.target_date}
        proposal.outcome = f"Goal “{goal.name}” created."
    else:
        rule = await rules.create_rule(session, viewer, category_id=uuid.UUID(payload["category_id"]),
                                       pattern=payload["pattern"])
        changed = await ledger.recategorize(session, rt, viewer, dry_run=False)
        before, target_id = {}, rule.id
        after = {"pattern": rule.pattern, "category_id": rule.category_id, "recategorised": len(changed)}
        proposal.outcome = f"Rule created; {len(changed)} past transactions recategorised."
    audit.record(session, viewer, AuditAction.ASSISTANT_PROPOSAL_CONFIRM, target_id,
                 {"proposal_id": proposal.id, "kind": proposal.kind, **audit.changes(before, after)})
    proposal.status, proposal.decided_at = ProposalStatus.CONFIRMED, clock.now()
    session.add(proposal)
    await session.flush()
    return proposal


async def reject_proposal(session: AsyncSession, viewer: Viewer, proposal_id: uuid.UUID) -> Proposal:
    proposal = await get_proposal(session, viewer, proposal_id, for_update=True)
    if proposal.status is not ProposalStatus.PENDING:
        raise ServiceError(ErrorCode.INVALID, f"This proposal was already {proposal.status.value.lower()}.", "id")
    proposal.status, proposal.decided_at = ProposalStatus.REJECTED, clock.now()
    session.add(proposal)
    await session.flush()
    return proposal

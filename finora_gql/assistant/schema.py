"""Queries, mutations and the reply subscription of the assistant, all scoped to the viewer."""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Annotated, Any

import strawberry
from strawberry import relay
from strawberry.types import Info

from finora_gql.api.errors import DeletePayload, UserError, errors_field, perform
from finora_gql.api.ids import decode_id
from finora_gql.api.streams import until_session_ends
from finora_gql.assistant import service
from finora_gql.assistant.live import Kind, LiveLog, reply_channel
from finora_gql.assistant.models import MessageStatus, Role
from finora_gql.assistant.types import (
    ConversationNode,
    DeleteConversationInput,
    MessageNode,
    ProposalInput,
    ProposalNode,
    ReplyEvent,
    ReplyKind,
    ReplyMessage,
    SendAssistantMessageInput,
    StartConversationInput,
)
from finora_gql.context import Context
from finora_gql.core.errors import BadUserInput, ErrorCode, ServiceError
from finora_gql.core.runtime import Runtime
from finora_gql.core.viewer import Viewer


@strawberry.type(description="The result of startConversation.")
class ConversationPayload:
    conversation: ConversationNode | None = strawberry.field(description="The conversation, when it was started.")
    errors: list[UserError] = errors_field()


@strawberry.type(description="The result of sendAssistantMessage.")
class SendAssistantMessagePayload:
    user_message: MessageNode | None = strawberry.field(description="The question as stored.")
    reply: MessageNode | None = strawberry.field(description=(
        "The reply, PENDING: follow it with the assistantReply subscription (or read it later)."))
    errors: list[UserError] = errors_field()


@strawberry.type(description="The result of confirmAssistantProposal or rejectAssistantProposal.")
class ProposalPayload:
    proposal: ProposalNode | None = strawberry.field(description="The proposal, CONFIRMED or REJECTED.")
    errors: list[UserError] = errors_field()


@strawberry.type
class AssistantQuery:
    @strawberry.field(description="The viewer's conversations with the assistant, most recently active first (at most 100).")
    async def conversations(self, info: Info[Context, None]) -> list[ConversationNode]:
        rows = await service.list_conversations(info.context.session, await info.context.viewer())
        return [ConversationNode.of(row) for row in rows]

    @strawberry.field(description="One of the viewer's conversations; null when the id is not one of theirs.")
    async def conversation(
        self, info: Info[Context, None],
        id: Annotated[relay.GlobalID, strawberry.argument(description="The conversation.")],
    ) -> ConversationNode | None:
        try:
            conversation_id = decode_id(id, ConversationNode, "id")
        except ServiceError:
            return None
        return (await ConversationNode.resolve_nodes(info=info, node_ids=[str(conversation_id)]))[0]


@strawberry.type
class AssistantMutation:
    @strawberry.mutation(description="Start a conversation with the assistant.")
    async def start_conversation(self, info: Info[Context, None], input: Annotated[StartConversationInput, strawberry.argument(description="The new conversation's title (optional).")]) -> ConversationPayload:
        viewer = await info.context.viewer()
        row, errors = await perform(info.context, lambda session: service.start_conversation(
            session, viewer, title=input.title))
        return ConversationPayload(conversation=ConversationNode.of(row) if row else None, errors=errors)

    @strawberry.mutation(description=(
        "Ask the assistant. Returns the stored question and the PENDING reply at once; the reply is written in the "
        "background (assistantReply streams it) and stored even if nobody listens. RATE_LIMITED when sending too "
        "fast or when today's token allowance is used up."))
    async def send_assistant_message(self, info: Info[Context, None], input: Annotated[SendAssistantMessageInput, strawberry.argument(description="The conversation, your question, and a client key that makes a retry return the same pair.")]) -> SendAssistantMessagePayload:
        context = info.context
        viewer = await context.viewer()
        result, errors = await perform(context, lambda session: service.send_message(
            session, context.runtime, viewer, conversation_id=decode_id(input.conversation_id, ConversationNode, "conversationId"),
            content=input.content, client_key=input.client_key))
        if result is None:
            return SendAssistantMessagePayload(user_message=None, reply=None, errors=errors)
        question, reply = result
        return SendAssistantMessagePayload(user_message=MessageNode.of(question), reply=MessageNode.of(reply), errors=[])

    @strawberry.mutation(description="Delete one of the viewer's conversations with all its messages and proposals.")
    async def delete_conversation(self, info: Info[Context, None], input: Annotated[DeleteConversationInput, strawberry.argument(description="The conversation to delete, with its messages.")]) -> DeletePayload:
        viewer = await info.context.viewer()
        row, errors = await perform(info.context, lambda session: service.delete_conversation(
            session, viewer, decode_id(input.id, ConversationNode, "id")))
        return DeletePayload(deleted_ids=[relay.GlobalID("Conversation", str(row.id))] if row else [], errors=errors)

    @strawberry.mutation(description=(
        "Perform a PENDING proposal through the normal service (with its validation): its refusal comes back in "
        "errors and the proposal stays PENDING."))
    async def confirm_assistant_proposal(self, info: Info[Context, None], input: Annotated[ProposalInput, strawberry.argument(description="The proposal, by id.")]) -> ProposalPayload:
        context = info.context
        viewer = await context.viewer()
        row, errors = await perform(context, lambda session: service.confirm_proposal(
            session, context.runtime, viewer, decode_id(input.id, ProposalNode, "id")))
        return ProposalPayload(proposal=ProposalNode.of(row) if row else None, errors=errors)

    @strawberry.mutation(description="Drop a PENDING proposal: nothing changes.")
    async def reject_assistant_proposal(self, info: Info[Context, None], input: Annotated[ProposalInput, strawberry.argument(description="The proposal, by id.")]) -> ProposalPayload:
        viewer = await info.context.viewer()
        row, errors = await perform(info.context, lambda session: service.reject_proposal(
            session, viewer, decode_id(input.id, ProposalNode, "id")))
        return ProposalPayload(proposal=ProposalNode.of(row) if row else None, errors=errors)


def _final_events(message) -> list[dict]:
    events = []
    if message.content:
        events.append({"seq": 0, "kind": Kind.TEXT, "delta": message.content})
    final = {"id": str(message.id), "content": message.content, "status": message.status.value}
    if message.status is MessageStatus.FAILED:
        events.append({"seq": 0, "kind": Kind.ERROR, "error": message.error or "The reply failed.", "message": final})
    else:
        events.append({"seq": 0, "kind": Kind.DONE, "message": final})
    return events


@strawberry.type
class AssistantSubscription:
    @strawberry.subscription(description=(
        "A reply being written: TEXT deltas, tool calls, proposals, then DONE (or ERROR). A late or reconnecting "
        "subscriber first receives everything generated so far; a finished reply is replayed whole. NOT_FOUND for "
        "a message that is not the viewer's."))
    async def assistant_reply(
        self, info: Info[Context, None],
        message_id: Annotated[relay.GlobalID, strawberry.argument(description="The reply (from sendAssistantMessage).")],
    ) -> AsyncGenerator[ReplyEvent, None]:
        context = info.context
        viewer = await context.viewer()
        try:
            reply_id = decode_id(message_id, MessageNode, "messageId")
            message = await service.get_message(context.session, viewer, reply_id)
            if message.role is not Role.ASSISTANT:
                raise ServiceError(ErrorCode.INVALID, "This message is a question, not a reply.", "messageId")
        except ServiceError as error:
            raise BadUserInput(error) from None
        await context.aclose()  # no database connection held for the life of the stream
        async for event in until_session_ends(context, _reply_events(context.runtime, viewer, reply_id)):
            yield ReplyEvent.of(event)


async def _reply_events(rt: Runtime, viewer: Viewer, reply_id: uuid.UUID) -> AsyncIterator[dict[str, Any]]:
    """One reply's events: what was logged so far, then what is published, to DONE or ERROR."""
    async with rt.pubsub.subscribe(reply_channel(reply_id)) as stream:
        # Subscribed first, then the log: an event is either in the log or arrives on the stream.
        logged = await LiveLog(rt.redis).read(reply_id)
        if not logged:
            async with rt.sessions() as session:
                message = await service.get_message(session, viewer, reply_id)
            if message.status in (MessageStatus.COMPLETE, MessageStatus.FAILED):
                for event in _final_events(message):
                    yield event
                return
        last = 0
        for event in logged:
            last = event["seq"]
            yield event
            if event["kind"] in Kind.FINAL:
                return
        async for event in stream:
            if event.get("seq", 0) <= last:
                continue
            last = event["seq"]
            yield event
            if event["kind"] in Kind.FINAL:
                return


__all__ = ["AssistantMutation", "AssistantQuery", "AssistantSubscription", "ReplyKind", "ReplyMessage"]

"""GraphQL types of the assistant."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable
from enum import Enum
from typing import Any

import strawberry
from strawberry import relay
from strawberry.types import Info

from finora_gql.api.enums import describe_values
from finora_gql.api.ids import parse_uuid
from finora_gql.assistant import service
from finora_gql.assistant.models import (
    Conversation,
    Message,
    MessageStatus,
    Proposal,
    ProposalKind,
    ProposalStatus,
    Role,
    ToolCall,
)

RoleEnum = strawberry.enum(Role, name="AssistantRole", description="Who wrote a message: the USER or the ASSISTANT.")
MessageStatusEnum = strawberry.enum(MessageStatus, name="AssistantMessageStatus", description=(
    "PENDING (queued), STREAMING (being written), COMPLETE, or FAILED (see error)."))
ProposalKindEnum = strawberry.enum(ProposalKind, name="AssistantProposalKind", description=(
    "SET_BUDGET: create or change a category's monthly budget; CREATE_GOAL: a savings goal; CREATE_RULE: a "
    "category rule, applied to past uncategorised transactions too."))
ProposalStatusEnum = strawberry.enum(ProposalStatus, name="AssistantProposalStatus", description=(
    "PENDING until the person decides; CONFIRMED (performed) or REJECTED (dropped)."))


class ReplyKind(str, Enum):
    TEXT = "TEXT"
    TOOL_STARTED = "TOOL_STARTED"
    TOOL_FINISHED = "TOOL_FINISHED"
    PROPOSAL = "PROPOSAL"
    DONE = "DONE"
    ERROR = "ERROR"


ReplyKindEnum = strawberry.enum(ReplyKind, name="AssistantReplyKind", description=(
    "TEXT: a piece of the answer (delta); TOOL_STARTED / TOOL_FINISHED: a tool call (toolName, summary); "
    "PROPOSAL: a proposed change (proposal); DONE: the final message; ERROR: the reply failed (error)."))


@strawberry.type(name="AssistantCitation", description=(
    "Where a figure of the reply comes from: a tool call (cited as [index] in the text) or a tip of the corpus."))
class CitationNode:
    index: int | None = strawberry.field(description="The [n] the text cites, for a tool call.")
    tool: str | None = strawberry.field(description="The tool called.")
    arguments: str | None = strawberry.field(description="The call's arguments, as JSON.")
    title: str | None = strawberry.field(description="A tip's title.")
    url: str | None = strawberry.field(description="A tip's source.")

    @classmethod
    def of(cls, raw: dict[str, Any]) -> CitationNode:
        arguments = raw.get("arguments")
        return cls(index=raw.get("index"), tool=raw.get("tool"),
                   arguments=json.dumps(arguments) if arguments is not None else None,
                   title=raw.get("tip"), url=raw.get("url"))


@strawberry.type(name="AssistantToolCall", description="A tool the assistant called while writing a reply.")
class ToolCallNode:
    name: str = strawberry.field(description="The tool.")
    arguments: str = strawberry.field(description="Its arguments, as JSON.")
    result: str = strawberry.field(description="What it returned, as JSON (errors included, with a hint).")
    ok: bool = strawberry.field(description="Whether it succeeded.")
    duration_ms: int = strawberry.field(description="How long it took, in milliseconds.")

    @classmethod
    def of(cls, row: ToolCall) -> ToolCallNode:
        return cls(name=row.name, arguments=json.dumps(row.arguments), result=json.dumps(row.result), ok=row.ok,
                   duration_ms=row.duration_ms)


@strawberry.type(name="AssistantProposal", description=(
    "A change the assistant proposes. Nothing happens until confirmAssistantProposal; rejectAssistantProposal drops it."))
class ProposalNode(relay.Node):
    id: relay.NodeID[str]
    kind: ProposalKindEnum = strawberry.field(description="What kind of change.")
    summary: str = strawberry.field(description="What would change, in words.")
    status: ProposalStatusEnum = strawberry.field(description="Whether it is still to be decided.")
    outcome: str | None = strawberry.field(description="What confirming did.")
    created_at: dt.datetime = strawberry.field(description="When it was proposed.")
    decided_at: dt.datetime | None = strawberry.field(description="When it was confirmed or rejected.")

    @classmethod
    def of(cls, row: Proposal) -> ProposalNode:
        return cls(id=str(row.id), kind=row.kind, summary=row.summary, status=row.status, outcome=row.outcome,
                   created_at=row.created_at, decided_at=row.decided_at)

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False) -> list[ProposalNode | None]:
        viewer = await info.context.viewer()
        found = []
        for node_id in node_ids:
            row = None
            if (proposal_id := parse_uuid(node_id)) is not None:
                row = await service.proposals.find(info.context.session, viewer, proposal_id)
            found.append(cls.of(row) if row else None)
        return found


@strawberry.type(name="AssistantMessage", description="A message of a conversation: the person's, or the assistant's reply.")
class MessageNode(relay.Node):
    id: relay.NodeID[str]
    role: RoleEnum = strawberry.field(description="Who wrote it.")
    content: str = strawberry.field(description="The text (a streaming reply: what was saved so far).")
    status: MessageStatusEnum = strawberry.field(description="Where a reply stands (the person's messages are COMPLETE).")
    error: str | None = strawberry.field(description="Why a FAILED reply failed.")
    tokens: int = strawberry.field(description="Tokens the reply used (0 for the person's messages).")
    citations: list[CitationNode] = strawberry.field(description="Sources of the reply's figures.")
    created_at: dt.datetime = strawberry.field(description="When it was written.")
    finished_at: dt.datetime | None = strawberry.field(description="When a reply completed or failed.")
    _message_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="The tools called while writing this reply, in order.")
    async def tool_calls(self, info: Info) -> list[ToolCallNode]:
        found = await service.tool_calls_of(info.context.session, await info.context.viewer(), [self._message_id])
        return [ToolCallNode.of(row) for row in found.get(self._message_id, [])]

    @strawberry.field(description="Changes this reply proposed.")
    async def proposals(self, info: Info) -> list[ProposalNode]:
        found = await service.proposals_of(info.context.session, await info.context.viewer(), [self._message_id])
        return [ProposalNode.of(row) for row in found.get(self._message_id, [])]

    @classmethod
    def of(cls, row: Message) -> MessageNode:
        return cls(id=str(row.id), role=row.role, content=row.content, status=row.status, error=row.error,
                   tokens=row.tokens, citations=[CitationNode.of(c) for c in row.citations], created_at=row.created_at,
                   finished_at=row.finished_at, _message_id=row.id)

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False) -> list[MessageNode | None]:
        viewer = await info.context.viewer()
        found = []
        for node_id in node_ids:
            row = None
            if (message_id := parse_uuid(node_id)) is not None:
                row = await service.messages.find(info.context.session, viewer, message_id)
            found.append(cls.of(row) if row else None)
        return found


@strawberry.type(name="Conversation", description="A conversation with the assistant.")
class ConversationNode(relay.Node):
    id: relay.NodeID[str]
    title: str = strawberry.field(description="Its title (the first question, unless given).")
    created_at: dt.datetime = strawberry.field(description="When it started.")
    updated_at: dt.datetime = strawberry.field(description="When it last changed.")
    _conversation_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="Its messages, oldest first.")
    async def messages(self, info: Info) -> list[MessageNode]:
        rows = await service.list_messages(info.context.session, await info.context.viewer(), self._conversation_id)
        return [MessageNode.of(row) for row in rows]

    @classmethod
    def of(cls, row: Conversation) -> ConversationNode:
        return cls(id=str(row.id), title=row.title, created_at=row.created_at, updated_at=row.updated_at,
                   _conversation_id=row.id)

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False) -> list[ConversationNode | None]:
        viewer = await info.context.viewer()
        found = []
        for node_id in node_ids:
            row = None
            if (conversation_id := parse_uuid(node_id)) is not None:
                row = await service.conversations.find(info.context.session, viewer, conversation_id)
            found.append(cls.of(row) if row else None)
        return found


@strawberry.type(name="AssistantProposalRef", description="A proposal as a reply announces it.")
class ProposalRef:
    id: relay.GlobalID = strawberry.field(description="The proposal (an AssistantProposal).")
    summary: str = strawberry.field(description="What would change.")
    kind: ProposalKindEnum = strawberry.field(description="What kind of change.")


@strawberry.type(name="AssistantReplyMessage", description="A reply as its stream ends.")
class ReplyMessage:
    id: relay.GlobalID = strawberry.field(description="The reply (an AssistantMessage).")
    content: str = strawberry.field(description="Its whole text.")
    status: MessageStatusEnum = strawberry.field(description="COMPLETE, or FAILED.")


@strawberry.type(name="AssistantReplyEvent", description="One event of a reply being written.")
class ReplyEvent:
    kind: ReplyKindEnum = strawberry.field(description="What this event carries.")
    seq: int = strawberry.field(description="1, 2, ... in the order the events happened.")
    delta: str | None = strawberry.field(description="TEXT: the next piece of the answer.")
    tool_name: str | None = strawberry.field(description="TOOL_STARTED / TOOL_FINISHED: the tool.")
    summary: str | None = strawberry.field(description="TOOL_STARTED: its arguments; TOOL_FINISHED: its result, briefly.")
    proposal: ProposalRef | None = strawberry.field(description="PROPOSAL: the proposed change.")
    message: ReplyMessage | None = strawberry.field(description="DONE (and ERROR): the final message.")
    error: str | None = strawberry.field(description="ERROR: why the reply failed.")
    produced_at: dt.datetime | None = strawberry.field(description=(
        "When the server produced the event (null for a finished reply replayed from storage)."))

    @classmethod
    def of(cls, event: dict[str, Any]) -> ReplyEvent:
        proposal = event.get("proposal")
        message = event.get("message")
        return cls(
            kind=ReplyKind(event["kind"]), seq=event.get("seq", 0), delta=event.get("delta"),
            tool_name=event.get("toolName"), summary=event.get("summary"),
            proposal=ProposalRef(id=relay.GlobalID("AssistantProposal", proposal["id"]), summary=proposal["summary"],
                                 kind=ProposalKind(proposal["kind"])) if proposal else None,
            message=ReplyMessage(id=relay.GlobalID("AssistantMessage", message["id"]), content=message["content"],
                                 status=MessageStatus(message["status"])) if message else None,
            error=event.get("error"),
            produced_at=dt.datetime.fromtimestamp(event["at"], dt.UTC) if event.get("at") else None,
        )


@strawberry.input(description="A new conversation.")
class StartConversationInput:
    title: str | None = strawberry.field(default=None, description="Its title; the first question when left out.")


@strawberry.input(description="A question for the assistant.")
class SendAssistantMessageInput:
    conversation_id: relay.GlobalID = strawberry.field(description="The conversation.")
    content: str = strawberry.field(description="The question, at most 4,000 characters.")
    client_key: str | None = strawberry.field(default=None, description=(
        "The client's key for this message: sending the same key again returns the same message and reply "
        "instead of asking twice."))


@strawberry.input(description="A proposal to confirm or reject.")
class ProposalInput:
    id: relay.GlobalID = strawberry.field(description="The proposal (an AssistantProposal).")


@strawberry.input(description="A conversation to delete.")
class DeleteConversationInput:
    id: relay.GlobalID = strawberry.field(description="The conversation.")


describe_values(RoleEnum, {"USER": "Written by you.", "ASSISTANT": "Written by the assistant."})
describe_values(MessageStatusEnum, {
    "PENDING": "Waiting for the generation job to start.",
    "STREAMING": "Being generated; follow it with assistantReply.",
    "COMPLETE": "Finished and stored.",
    "FAILED": "Ended without an answer; `error` says why.",
})
describe_values(ProposalKindEnum, {
    "SET_BUDGET": "Create or change a budget's monthly limit.",
    "CREATE_GOAL": "Create a savings goal.",
    "CREATE_RULE": "Create a categorisation rule.",
})
describe_values(ProposalStatusEnum, {
    "PENDING": "Waiting for you to confirm or reject it.",
    "CONFIRMED": "You confirmed it and it was carried out through the normal service.",
    "REJECTED": "You rejected it; nothing was changed.",
    "FAILED": "You confirmed it but the service refused it; `error` says why.",
})
describe_values(ReplyKindEnum, {
    "TEXT": "More text of the reply (`delta`).",
    "TOOL_STARTED": "The assistant started a tool (`toolName`).",
    "TOOL_FINISHED": "A tool finished (`toolName`, `summary`).",
    "PROPOSAL": "The reply proposes a change (`proposal`); nothing happens until you confirm it.",
    "DONE": "The reply is complete (`message`).",
    "ERROR": "The reply failed (`error`).",
})

"""Relay connections with opaque cursors and an on-demand totalCount."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Generic, TypeVar

import strawberry
from strawberry import relay

from finora_gql.core.errors import BadUserInput, ServiceError
from finora_gql.core.pagination import Page, PageRequest

# The page arguments of every list field, described once.
First = Annotated[int | None, strawberry.argument(
    description="Return at most this many items (0 to 100; default 20) from the start, or after `after`.")]
After = Annotated[str | None, strawberry.argument(
    description="Continue after the item with this cursor (an edge's cursor or pageInfo.endCursor).")]
Last = Annotated[int | None, strawberry.argument(
    description="Return at most this many items (0 to 100) from the end, or before `before`.")]
Before = Annotated[str | None, strawberry.argument(
    description="Continue before the item with this cursor (an edge's cursor or pageInfo.startCursor).")]

NodeT = TypeVar("NodeT")
RowT = TypeVar("RowT")


@strawberry.type(description="One item of a list and the cursor to continue after it.")
class Edge(Generic[NodeT]):
    cursor: str = strawberry.field(description="Pass as `after` (or `before`, where the list takes it) to continue from this item.")
    node: NodeT = strawberry.field(description="The item.")


@strawberry.type(description="A page of a list: the items, where it stands, and how many there are in all.")
class Connection(Generic[NodeT]):
    edges: list[Edge[NodeT]] = strawberry.field(description="The items of this page, in order.")
    page_info: relay.PageInfo = strawberry.field(description="Whether more items exist before or after this page.")
    _count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="How many items match, across all pages. Costs one more query; ask only when shown.")
    async def total_count(self) -> int:
        return await self._count()


def page_info(edges: list, *, has_next: bool, has_previous: bool) -> relay.PageInfo:
    return relay.PageInfo(
        has_next_page=has_next,
        has_previous_page=has_previous,
        start_cursor=edges[0].cursor if edges else None,
        end_cursor=edges[-1].cursor if edges else None,
    )


def page_request(*, first: int | None, after: str | None, last: int | None, before: str | None, kind: str) -> PageRequest:
    """The page a list field asks for; bad arguments are a top-level BAD_USER_INPUT error, as
    queries have no payload to carry them."""
    try:
        return PageRequest.of(first=first, after=after, last=last, before=before, kind=kind)
    except ServiceError as error:
        raise BadUserInput(error) from None


def connection(
    page: Page[RowT], node: Callable[[RowT], NodeT], cursor: Callable[[RowT], str], count: Callable[[], Awaitable[int]]
) -> Connection[NodeT]:
    """A page of rows as a connection: each row's node and cursor, and the total counted on demand."""
    edges = [Edge(cursor=cursor(row), node=node(row)) for row in page.rows]
    return Connection(edges=edges, page_info=page_info(edges, has_next=page.has_next, has_previous=page.has_previous),
                      _count=count)

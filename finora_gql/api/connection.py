"""Relay connections with opaque cursors and an on-demand totalCount."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

import strawberry
from strawberry import relay

NodeT = TypeVar("NodeT")


@strawberry.type(description="One item of a list and the cursor to continue after it.")
class Edge(Generic[NodeT]):
    cursor: str = strawberry.field(description="Pass as `after` (or `before`) to continue from this item.")
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

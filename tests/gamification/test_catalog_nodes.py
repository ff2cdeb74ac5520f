"""Catalog entries (badges, challenges) are nodes: `node(id:)` finds them, and an id that names
none resolves to null."""

from __future__ import annotations

import uuid

from strawberry.relay import GlobalID

from tests.flows import signed_in_user
from tests.gamification.gamification_flows import data
from tests.server import RunningServer

NODE = "query($id: ID!) { node(id: $id) { __typename ... on Badge { code } ... on Challenge { code } } }"


async def test_catalog_entries_resolve_as_nodes(server: RunningServer) -> None:
    token = (await signed_in_user(server)).access_token
    catalog = await data(server, token, "{ badges { id code } challenges { id code } }")
    for kind, typename in (("badges", "Badge"), ("challenges", "Challenge")):
        entry = catalog[kind][0]
        found = await data(server, token, NODE, {"id": entry["id"]})
        assert found["node"] == {"__typename": typename, "code": entry["code"]}
        unknown = str(GlobalID(typename, str(uuid.uuid4())))
        assert (await data(server, token, NODE, {"id": unknown}))["node"] is None

"""Global ids: decoding one into a domain's UUID, checking it names the expected type."""

from __future__ import annotations

import uuid

from strawberry import relay

from finora_gql.core.errors import ErrorCode, ServiceError


def decode_id(global_id: relay.GlobalID, node_type: type, field: str) -> uuid.UUID:
    """The UUID inside `global_id`; a malformed id or one of another type is NOT_FOUND."""
    expected = node_type.__strawberry_definition__.name
    try:
        if global_id.type_name != expected:
            raise ValueError(global_id.type_name)
        return uuid.UUID(global_id.node_id)
    except ValueError:
        raise ServiceError(ErrorCode.NOT_FOUND, f"No {expected} has this id.", field) from None


def parse_uuid(value: str) -> uuid.UUID | None:
    """The UUID in a node id's payload, or None for garbage (which then resolves to null)."""
    try:
        return uuid.UUID(value)
    except ValueError:
        return None

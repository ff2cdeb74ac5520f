"""schema.graphql must be exactly what the code exports, and every type documents itself."""

from __future__ import annotations

from pathlib import Path

from finora_gql.schema import build_schema, schema_sdl

SCHEMA_FILE = Path(__file__).resolve().parents[1] / "schema.graphql"


def test_schema_file_is_in_sync() -> None:
    assert SCHEMA_FILE.read_text() == schema_sdl(), "schema.graphql drifted: run `uv run finora-gql export-schema`"


def test_every_object_type_and_root_field_has_a_description() -> None:
    schema = build_schema()._schema
    missing = []
    for name, graphql_type in schema.type_map.items():
        if name.startswith("__") or not hasattr(graphql_type, "fields"):
            continue
        if graphql_type.description is None and name not in ("Query", "Mutation", "Subscription"):
            missing.append(name)
    for root in (schema.query_type, schema.mutation_type, schema.subscription_type):
        missing += [f"{root.name}.{field}" for field, value in root.fields.items() if not value.description]
    assert missing == []

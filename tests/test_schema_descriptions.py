"""Every type, field, argument and enum value of the schema says what it is.

The walk covers the whole built schema. Types of domains still being written elsewhere can be
listed in ALLOWED_UNDESCRIBED, keyed by the module prefix that defines them; it is EMPTY on
purpose: an entry is a debt, visible here, never a silent skip. The test reports every missing
description at once, and also fails on an allow-list entry that no longer excuses anything.
"""

from __future__ import annotations

import pytest
from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
)
from strawberry.permission import PermissionExtension

from finora_gql.api.permissions import ADMIN_ONLY, IsAdmin
from finora_gql.schema import build_schema

# module prefix (e.g. "finora_gql.investments.") -> why it is excused for now. Keep EMPTY.
ALLOWED_UNDESCRIBED: dict[str, str] = {}

ROOTS = ("Query", "Mutation", "Subscription")


def _module_of(schema, graphql_type: GraphQLNamedType) -> str:
    """The Python module that defines a GraphQL type (its strawberry origin), or ''."""
    definition = schema.get_type_by_name(graphql_type.name)
    origin = getattr(definition, "origin", None) or getattr(definition, "wrapped_cls", None)
    return getattr(origin, "__module__", "") or ""


def _root_field_modules(strawberry_schema) -> dict[tuple[str, str], str]:
    """(root type, field) -> the module of the resolver behind it (the domain's schema.py)."""
    modules = {}
    for root in ROOTS:
        definition = strawberry_schema.get_type_by_name(root)
        for field in getattr(definition, "fields", []):
            resolver = getattr(field.base_resolver, "wrapped_func", None)
            graphql_name = strawberry_schema.config.name_converter.get_graphql_name(field)
            modules[(root, graphql_name)] = getattr(resolver, "__module__", "") or ""
    return modules


def missing_descriptions() -> tuple[list[str], set[str]]:
    strawberry_schema = build_schema()
    schema = strawberry_schema._schema
    missing: list[str] = []
    used_prefixes: set[str] = set()
    roots = _root_field_modules(strawberry_schema)

    def report(module: str, what: str) -> None:
        for prefix in ALLOWED_UNDESCRIBED:
            if module.startswith(prefix):
                used_prefixes.add(prefix)
                return
        missing.append(what)

    for name, graphql_type in sorted(schema.type_map.items()):
        if name.startswith("__"):
            continue
        module = _module_of(strawberry_schema, graphql_type)
        if not graphql_type.description and name not in ROOTS:
            report(module, name)
        if isinstance(graphql_type, GraphQLObjectType | GraphQLInterfaceType | GraphQLInputObjectType):
            for field_name, field in graphql_type.fields.items():
                # A root field belongs to the domain whose resolver defines it.
                field_module = roots.get((name, field_name), module)
                if not field.description:
                    report(field_module, f"{name}.{field_name}")
                arguments: dict[str, GraphQLArgument] = getattr(field, "args", {}) or {}
                for argument_name, argument in arguments.items():
                    if not argument.description:
                        report(field_module, f"{name}.{field_name}({argument_name})")
        if isinstance(graphql_type, GraphQLEnumType):
            for value_name, value in graphql_type.values.items():
                if not value.description:
                    report(module, f"{name}.{value_name}")
    return missing, used_prefixes


def test_every_type_field_argument_and_enum_value_is_described() -> None:
    missing, _ = missing_descriptions()
    assert missing == [], f"{len(missing)} without a description:\n" + "\n".join(missing)


def test_the_allow_list_is_explicit_and_holds_only_live_debts() -> None:
    _, used = missing_descriptions()
    assert set(ALLOWED_UNDESCRIBED) == used, f"allow-list entries that excuse nothing: {set(ALLOWED_UNDESCRIBED) - used}"


@pytest.mark.parametrize(
    ("type_name", "words"),
    [("Decimal", "string"), ("DateTime", "UTC"), ("CurrencyCode", "ISO 4217")],
)
def test_scalars_say_how_they_are_written(type_name: str, words: str) -> None:
    description = build_schema()._schema.type_map[type_name].description or ""
    assert words in description


def test_directives_are_described() -> None:
    schema = build_schema()._schema
    ours = [d for d in schema.directives if d.name not in ("include", "skip", "deprecated", "specifiedBy", "oneOf")]
    assert ours, "expected at least @requiresRole"
    assert [d.name for d in ours if not d.description] == []


def test_admin_only_fields_say_so_and_carry_the_directive() -> None:
    """A field is admin-only in its description exactly when it carries the IsAdmin permission
    (shown as @requiresRole(role: "ADMIN"))."""
    schema = build_schema()
    said, marked = set(), set()
    for graphql_type in schema._schema.type_map.values():
        for name, field in (getattr(graphql_type, "fields", None) or {}).items():
            if (field.description or "").startswith(ADMIN_ONLY):
                said.add(name)
            definition = (getattr(field, "extensions", None) or {}).get("strawberry-definition")
            if any(isinstance(extension, PermissionExtension)
                   and any(isinstance(permission, IsAdmin) for permission in extension.permissions)
                   for extension in getattr(definition, "extensions", ())):
                marked.add(name)
    assert said == marked, (said, marked)
    assert {"banUser", "unbanUser", "unlockUser", "setFxRate", "deadLetteredJobs"} <= said
    assert schema.as_str().count('@requiresRole(role: "ADMIN")') == len(said)


def test_range_ends_are_said_to_be_inclusive() -> None:
    query = build_schema()._schema.query_type
    for field in ("walletSummary", "cashflow", "netWorth"):
        assert "inclusive" in (query.fields[field].args["to"].description or ""), field
        assert "inclusive" in (query.fields[field].args["from"].description or ""), field


def test_percentages_share_one_unit() -> None:
    schema = build_schema()._schema
    savings = schema.type_map["WalletSummary"].fields["savingsRate"].description or ""
    used = schema.type_map["BudgetStatusLine"].fields["percentUsed"].description or ""
    assert "percentage" in savings and "percentage" in used
    assert "* 100" in savings and "* 100" in used

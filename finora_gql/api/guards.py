"""Checks on the document itself that graphql-core leaves to the server."""

from __future__ import annotations

from collections.abc import Iterator

from graphql import FragmentDefinitionNode, GraphQLError, OperationDefinitionNode, ValidationContext, ValidationRule
from strawberry.extensions import SchemaExtension

MAX_FRAGMENTS = 100


class DocumentGuards(SchemaExtension):
    """Several operations without `operationName` are an error (GraphQL spec); strawberry ran the
    first one. Comes after ValidationCache in the extension list: adds to its (cached) errors."""

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None and not context._provided_operation_name:  # not the inferred one
            operations = sum(isinstance(d, OperationDefinitionNode) for d in document.definitions)
            if operations > 1:
                problem = GraphQLError(
                    "This document has several operations: send `operationName` to say which one to run.",
                    extensions={"code": "BAD_REQUEST"},
                )
                context.pre_execution_errors = [*(context.pre_execution_errors or []), problem]
        yield


def guard_fragments(rule: type[ValidationRule]) -> type[ValidationRule]:
    """`rule` (the depth limiter) run only on documents with at most MAX_FRAGMENTS fragments.

    The depth limiter follows fragment spreads recursively when it is constructed: a chain of
    400 fragments ended in "maximum recursion depth exceeded". Such a document is refused with
    the limit's own message instead.
    """

    class FragmentGuard(rule):  # type: ignore[valid-type, misc]
        def __init__(self, context: ValidationContext) -> None:
            count = sum(isinstance(d, FragmentDefinitionNode) for d in context.document.definitions)
            if count > MAX_FRAGMENTS:
                ValidationRule.__init__(self, context)
                context.report_error(GraphQLError(
                    f"A document may define at most {MAX_FRAGMENTS} fragments; this one defines {count}.",
                    extensions={"code": "BAD_REQUEST"},
                ))
                return
            super().__init__(context)

    FragmentGuard.__name__ = f"FragmentGuarded{rule.__name__}"
    return FragmentGuard

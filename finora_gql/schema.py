"""The one GraphQL schema: every domain's fields, plus the limits that guard every operation."""

from __future__ import annotations

import logging
from typing import Annotated

import strawberry
from graphql import GraphQLError
from strawberry import relay
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.relay.types import GlobalIDValueError
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext, Info

from finora_gql.accounts.schema import AccountsMutation, AccountsQuery
from finora_gql.admin.schema import AdminMutation, AdminQuery
from finora_gql.api import scalars
from finora_gql.api.execution import CachedNameConverter, FastExecutionContext, install_fast_paths
from finora_gql.api.guards import DocumentGuards, guard_fragments
from finora_gql.assistant.schema import AssistantMutation, AssistantQuery, AssistantSubscription
from finora_gql.auth.schema import AuthMutation, AuthSubscription
from finora_gql.budgets.schema import BudgetsMutation, BudgetsQuery
from finora_gql.config import Settings
from finora_gql.core import tracing
from finora_gql.core.errors import is_public
from finora_gql.core.observability import GraphQLLogContext
from finora_gql.core.telemetry import Metrics, graphql_metrics_extension
from finora_gql.files.schema import FilesMutation, FilesQuery
from finora_gql.gamification.schema import GamificationMutation, GamificationQuery, GamificationSubscription
from finora_gql.imports.schema import ImportsMutation, ImportsQuery, ImportsSubscription
from finora_gql.investments.schema import InvestmentsMutation, InvestmentsQuery, InvestmentsSubscription
from finora_gql.notifications.schema import NotificationsMutation, NotificationsQuery, NotificationsSubscription
from finora_gql.transactions.schema import TransactionsMutation, TransactionsQuery
from finora_gql.users.schema import UsersMutation, UsersQuery
from finora_gql.wallet.schema import WalletMutation, WalletQuery, WalletSubscription

log = logging.getLogger("finora.graphql")


@strawberry.type(description="Everything you can read.")
class Query(
    UsersQuery, AccountsQuery, TransactionsQuery, WalletQuery, BudgetsQuery, NotificationsQuery, FilesQuery, ImportsQuery,
    InvestmentsQuery, GamificationQuery, AssistantQuery, AdminQuery,
):
    @strawberry.field(description="Any object you may see, by its global id; null when it is not yours.")
    async def node(
        self, info: Info,
        id: Annotated[relay.GlobalID, strawberry.argument(description="A global id, as every object's `id` field gives.")],
    ) -> relay.Node | None:
        try:
            return await id.resolve_node(info, required=False)
        except (GlobalIDValueError, KeyError):
            return None


@strawberry.type(description="Everything you can change.")
class Mutation(
    AuthMutation, UsersMutation, AccountsMutation, TransactionsMutation, WalletMutation, BudgetsMutation,
    NotificationsMutation, FilesMutation, ImportsMutation, InvestmentsMutation, GamificationMutation,
    AssistantMutation, AdminMutation,
):
    pass


@strawberry.type(description="Live updates over websockets (graphql-transport-ws).")
class Subscription(
    AuthSubscription, NotificationsSubscription, WalletSubscription, ImportsSubscription, InvestmentsSubscription,
    GamificationSubscription, AssistantSubscription,
):
    pass


CACHE_SIZE = 512


class FinoraSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        """Internal errors are logged with their traceback; a client's mistakes (a bad query or
        variable, an argument refused) only as a line at INFO, so a noisy client can't flood
        the error log."""
        internal = []
        for error in errors:
            if is_public(error):
                log.info("client error: %s", error.message)
            else:
                internal.append(error)
        super().process_errors(internal, execution_context)


def build_schema(settings: Settings | None = None, metrics: Metrics | None = None) -> strawberry.Schema:
    settings = settings or Settings()
    # The limit rules are built once: the validation cache keys on the rule classes, and
    # limiters built per request would make new classes, so every request missed the cache.
    limit_rules = [
        *(guard_fragments(rule) for rule in QueryDepthLimiter(max_depth=settings.max_query_depth).validation_rules),
        *MaxAliasesLimiter(max_alias_count=settings.max_aliases).validation_rules,
    ]
    # Factories, not instances: strawberry builds a fresh extension per operation.
    extensions: list = [
        lambda: ParserCache(maxsize=CACHE_SIZE),
        lambda: ValidationCache(maxsize=CACHE_SIZE),
        lambda: AddValidationRules(limit_rules),
        DocumentGuards,  # after ValidationCache: adds to its errors
        lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
        # Unexpected errors become "Unexpected error." for the client; the full error is logged.
        lambda: MaskErrors(should_mask_error=lambda error: not is_public(error)),
    ]
    if not settings.introspection_enabled:
        extensions.append(DisableIntrospection)
    if metrics is not None:
        extensions.append(graphql_metrics_extension(metrics))
    scalars.install()  # strings without NUL/surrogates, ids that decode or answer NOT_FOUND
    extensions.append(GraphQLLogContext)
    if tracing.configure(settings):
        extensions.append(tracing.GraphQLTracing)
    schema = FinoraSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        # The fast path (api/execution.py) overrides private graphql-core methods: EXECUTION_FAST_PATH=false
        # leaves execution entirely to strawberry and graphql-core.
        execution_context_class=FastExecutionContext if settings.execution_fast_path else None,
        scalar_overrides=scalars.SCALAR_OVERRIDES,  # type: ignore[arg-type]
        config=StrawberryConfig(
            disable_field_suggestions=not settings.field_suggestions_enabled,
            relay_max_results=100,
            scalar_map=scalars.SCALAR_MAP,
            name_converter=CachedNameConverter(),
            # Not sort_schema: it rebuilds enums with their names as values, so resolvers would
            # receive "DATE_DESC" instead of Order.DATE_DESC (seen with strawberry 0.341).
        ),
    )
    if settings.execution_fast_path:
        install_fast_paths(schema._schema)  # plain leaf fields and relay ids skip the resolver machinery
    return schema


def schema_sdl() -> str:
    return build_schema().as_str() + "\n"

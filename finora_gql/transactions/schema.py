"""Queries and mutations of transactions, transfers, categories and categorisation rules.

Over 400 lines: one input and payload per mutation of four related kinds, each resolver three lines.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import strawberry
from strawberry import relay
from strawberry.types import Info

from finora_gql.accounts.types import AccountNode
from finora_gql.api.connection import Connection, Edge, page_info
from finora_gql.api.errors import UserError, perform
from finora_gql.api.ids import decode_id
from finora_gql.api.selection import selects
from finora_gql.context import Context
from finora_gql.core.errors import BadUserInput, ServiceError
from finora_gql.core.pagination import PageRequest
from finora_gql.core.validation import clean_search
from finora_gql.transactions import categories, rules, service
from finora_gql.transactions.types import (
    CategoryKindEnum,
    CategoryNode,
    CategoryRuleType,
    DirectionEnum,
    RecategorizationType,
    RuleFieldEnum,
    RuleMatchEnum,
    TransactionNode,
    TransactionOrderEnum,
    transaction_nodes,
)

# --- inputs -------------------------------------------------------------------------------------


@strawberry.input(description="Which transactions to list; every condition must hold.")
class TransactionFilter:
    date_from: dt.date | None = strawberry.field(default=None, description="On or after this day.")
    date_to: dt.date | None = strawberry.field(default=None, description="On or before this day.")
    account_ids: list[relay.GlobalID] | None = strawberry.field(default=None, description="In any of these accounts.")
    category_ids: list[relay.GlobalID] | None = strawberry.field(default=None, description="In any of these categories.")
    uncategorized: bool = strawberry.field(default=False, description="Also (or only, without categoryIds) uncategorised ones.")
    amount_min: Decimal | None = strawberry.field(default=None, description="Signed amount at least this.")
    amount_max: Decimal | None = strawberry.field(default=None, description="Signed amount at most this.")
    direction: DirectionEnum | None = strawberry.field(default=None, description="Only money in, or only money out.")
    include_transfers: bool = strawberry.field(default=True, description="Include legs of transfers.")
    tags: list[str] | None = strawberry.field(default=None, description="Carrying any of these tags.")
    search: str | None = strawberry.field(default=None, description="Words (or word starts) in the merchant or description.")


@strawberry.input(description="A new transaction. Without a category, your rules and past choices pick one.")
class CreateTransactionInput:
    account_id: relay.GlobalID
    date: dt.date
    amount: Decimal = strawberry.field(description="Signed, in the account's currency: negative is money out.")
    category_id: relay.GlobalID | None = None
    merchant: str | None = None
    description: str = ""
    notes: str | None = None
    tags: list[str] = strawberry.field(default_factory=list)
    external_id: str | None = strawberry.field(default=None, description="Unique per account; a repeat is refused.")


@strawberry.input(description="Transaction fields to change; omitted fields stay as they are.")
class UpdateTransactionInput:
    id: relay.GlobalID
    account_id: relay.GlobalID | None = None
    date: dt.date | None = None
    amount: Decimal | None = None
    category_id: relay.GlobalID | None = None
    clear_category: bool = strawberry.field(default=False, description="Make it uncategorised.")
    merchant: str | None = None
    description: str | None = None
    notes: str | None = None
    tags: list[str] | None = None


@strawberry.input(description="Money moved between two of your accounts.")
class CreateTransferInput:
    from_account_id: relay.GlobalID
    to_account_id: relay.GlobalID
    date: dt.date
    amount: Decimal = strawberry.field(description="Positive, in the source account's currency.")
    received_amount: Decimal | None = strawberry.field(
        default=None, description="What arrived, in the target's currency; required when the currencies differ."
    )
    description: str = ""
    notes: str | None = None


@strawberry.input(description="A new category.")
class CreateCategoryInput:
    name: str
    kind: CategoryKindEnum
    parent_id: relay.GlobalID | None = None


@strawberry.input(description="Category fields to change.")
class UpdateCategoryInput:
    id: relay.GlobalID
    name: str | None = None
    parent_id: relay.GlobalID | None = None
    clear_parent: bool = False


@strawberry.input(description="A categorisation rule.")
class CategoryRuleInput:
    category_id: relay.GlobalID
    pattern: str = strawberry.field(description="Text to find (CONTAINS) or a regular expression (REGEX).")
    field: RuleFieldEnum = RuleFieldEnum.ANY
    match: RuleMatchEnum = RuleMatchEnum.CONTAINS
    priority: int = 100


# --- payloads -----------------------------------------------------------------------------------


@strawberry.type(description="The result of a single-transaction mutation.")
class TransactionPayload:
    transaction: TransactionNode | None
    errors: list[UserError]


@strawberry.type(description="The result of a bulk mutation: all rows or none.")
class TransactionsPayload:
    transactions: list[TransactionNode]
    errors: list[UserError]


@strawberry.type(description="The result of a delete: every id removed (both legs of a transfer).")
class DeletePayload:
    deleted_ids: list[relay.GlobalID]
    errors: list[UserError]


@strawberry.type(description="The result of createTransfer: the outflow and the inflow.")
class TransferPayload:
    outflow: TransactionNode | None
    inflow: TransactionNode | None
    errors: list[UserError]


@strawberry.type(description="The result of a category mutation.")
class CategoryPayload:
    category: CategoryNode | None
    errors: list[UserError]


@strawberry.type(description="The result of a rule mutation.")
class CategoryRulePayload:
    rule: CategoryRuleType | None
    errors: list[UserError]


@strawberry.type(description="What recategorize changed, or would change with dryRun.")
class RecategorizePayload:
    applied: bool = strawberry.field(description="False for a dry run: nothing was written.")
    count: int = strawberry.field(description="How many transactions change.")
    changes: list[RecategorizationType] = strawberry.field(description="The first 100 changes.")
    errors: list[UserError]


def _gid(kind: str, value) -> relay.GlobalID:
    return relay.GlobalID(kind, str(value))


def _filter_spec(spec: TransactionFilter | None) -> service.Filter:
    if spec is None:
        return service.Filter()
    return service.Filter(
        date_from=spec.date_from,
        date_to=spec.date_to,
        account_ids=[decode_id(i, AccountNode, "filter.accountIds") for i in spec.account_ids] if spec.account_ids is not None else None,
        category_ids=[decode_id(i, CategoryNode, "filter.categoryIds") for i in spec.category_ids] if spec.category_ids is not None else None,
        uncategorized=spec.uncategorized,
        amount_min=spec.amount_min,
        amount_max=spec.amount_max,
        direction=spec.direction,
        include_transfers=spec.include_transfers,
        tags=spec.tags,
        search=clean_search(spec.search, field="filter.search") if spec.search is not None else None,
    )


def _draft(item: CreateTransactionInput, prefix: str) -> service.Draft:
    return service.Draft(
        account_id=decode_id(item.account_id, AccountNode, f"{prefix}accountId"),
        date=item.date,
        amount=item.amount,
        category_id=decode_id(item.category_id, CategoryNode, f"{prefix}categoryId") if item.category_id else None,
        merchant=item.merchant,
        description=item.description,
        notes=item.notes,
        tags=item.tags,
        external_id=item.external_id,
    )


def _changes(item: UpdateTransactionInput, prefix: str) -> tuple:
    return (
        decode_id(item.id, TransactionNode, f"{prefix}id"),
        service.Changes(
            account_id=decode_id(item.account_id, AccountNode, f"{prefix}accountId") if item.account_id else None,
            date=item.date,
            amount=item.amount,
            category_id=decode_id(item.category_id, CategoryNode, f"{prefix}categoryId") if item.category_id else None,
            clear_category=item.clear_category,
            merchant=item.merchant,
            description=item.description,
            notes=item.notes,
            tags=item.tags,
        ),
    )


async def _nodes(info: Info, rows, *path: str) -> list[TransactionNode]:
    return await transaction_nodes(
        info, rows, accounts=selects(info, *path, "account"), categories=selects(info, *path, "category")
    )


# --- fields -------------------------------------------------------------------------------------


@strawberry.type
class TransactionsQuery:
    @strawberry.field(description="The viewer's transactions, filtered and sorted, 100 at most per page.")
    async def transactions(
        self,
        info: Info[Context, None],
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        filter: TransactionFilter | None = None,
        order_by: TransactionOrderEnum = TransactionOrderEnum.DATE_DESC,
    ) -> Connection[TransactionNode]:
        context = info.context
        viewer = await context.viewer()
        try:
            spec = _filter_spec(filter)
            request = PageRequest.of(first=first, after=after, last=last, before=before, kind=service.cursor_kind(order_by))
        except ServiceError as error:
            raise BadUserInput(error) from None
        page = await service.list_transactions(context.session, viewer, spec=spec, order=order_by, page=request)
        nodes = await _nodes(info, page.rows, "edges", "node")
        edges = [Edge(cursor=service.cursor_of(row, order_by), node=node) for row, node in zip(page.rows, nodes, strict=True)]
        return Connection(
            edges=edges,
            page_info=page_info(edges, has_next=page.has_next, has_previous=page.has_previous),
            _count=lambda: service.count_transactions(context.session, viewer, spec=spec),
        )

    @strawberry.field(description="The viewer's categories, by kind and name.")
    async def categories(self, info: Info[Context, None], kind: CategoryKindEnum | None = None) -> list[CategoryNode]:
        viewer = await info.context.viewer()
        return [CategoryNode.of(c) for c in await categories.list_categories(info.context.session, viewer, kind=kind)]

    @strawberry.field(description="The viewer's categorisation rules, in the order they are tried.")
    async def category_rules(self, info: Info[Context, None]) -> list[CategoryRuleType]:
        viewer = await info.context.viewer()
        return [CategoryRuleType.of(r) for r in await rules.list_rules(info.context.session, viewer)]


@strawberry.type
class TransactionsMutation:
    @strawberry.mutation(description="Record a transaction; balances and summaries update at once.")
    async def create_transaction(self, info: Info[Context, None], input: CreateTransactionInput) -> TransactionPayload:
        context = info.context
        viewer = await context.viewer()
        rows, errors = await perform(
            context, lambda session: service.create_transactions(session, context.runtime, viewer, [_draft(input, "")])
        )
        nodes = await _nodes(info, rows or [], "transaction")
        return TransactionPayload(transaction=nodes[0] if nodes else None, errors=errors)

    @strawberry.mutation(description="Record up to 100 transactions, all or none; errors name `transactions.<index>.<field>`.")
    async def create_transactions(
        self, info: Info[Context, None], transactions: list[CreateTransactionInput]
    ) -> TransactionsPayload:
        context = info.context
        viewer = await context.viewer()
        rows, errors = await perform(
            context,
            lambda session: service.create_transactions(
                session, context.runtime, viewer,
                [_draft(item, f"transactions.{i}.") for i, item in enumerate(transactions)],
                field_prefix="transactions.",
            ),
        )
        return TransactionsPayload(transactions=await _nodes(info, rows or [], "transactions"), errors=errors)

    @strawberry.mutation(description="Change a transaction. Transfers can only change text, notes and tags.")
    async def update_transaction(self, info: Info[Context, None], input: UpdateTransactionInput) -> TransactionPayload:
        context = info.context
        viewer = await context.viewer()
        rows, errors = await perform(
            context, lambda session: service.update_transactions(session, context.runtime, viewer, [_changes(input, "")])
        )
        nodes = await _nodes(info, rows or [], "transaction")
        return TransactionPayload(transaction=nodes[0] if nodes else None, errors=errors)

    @strawberry.mutation(description="Change up to 100 transactions, all or none.")
    async def update_transactions(
        self, info: Info[Context, None], transactions: list[UpdateTransactionInput]
    ) -> TransactionsPayload:
        context = info.context
        viewer = await context.viewer()
        rows, errors = await perform(
            context,
            lambda session: service.update_transactions(
                session, context.runtime, viewer,
                [_changes(item, f"transactions.{i}.") for i, item in enumerate(transactions)],
                field_prefix="transactions.",
            ),
        )
        return TransactionsPayload(transactions=await _nodes(info, rows or [], "transactions"), errors=errors)

    @strawberry.mutation(description="Delete a transaction (both legs, for a transfer).")
    async def delete_transaction(self, info: Info[Context, None], id: relay.GlobalID) -> DeletePayload:
        return await _delete(info, [id], "")

    @strawberry.mutation(description="Delete up to 100 transactions, all or none.")
    async def delete_transactions(self, info: Info[Context, None], ids: list[relay.GlobalID]) -> DeletePayload:
        return await _delete(info, ids, "ids.")

    @strawberry.mutation(description="Move money between two of your accounts; not counted as income or spending.")
    async def create_transfer(self, info: Info[Context, None], input: CreateTransferInput) -> TransferPayload:
        context = info.context
        viewer = await context.viewer()
        legs, errors = await perform(
            context,
            lambda session: service.create_transfer(
                session, context.runtime, viewer,
                from_account_id=decode_id(input.from_account_id, AccountNode, "fromAccountId"),
                to_account_id=decode_id(input.to_account_id, AccountNode, "toAccountId"),
                date=input.date, amount=input.amount, received_amount=input.received_amount,
                description=input.description, notes=input.notes,
            ),
        )
        if legs is None:
            return TransferPayload(outflow=None, inflow=None, errors=errors)
        outflow, inflow = await transaction_nodes(info, list(legs), accounts=True, categories=False)
        return TransferPayload(outflow=outflow, inflow=inflow, errors=[])

    @strawberry.mutation(description="Add a category.")
    async def create_category(self, info: Info[Context, None], input: CreateCategoryInput) -> CategoryPayload:
        viewer = await info.context.viewer()
        category, errors = await perform(
            info.context,
            lambda session: categories.create_category(
                session, viewer, name=input.name, kind=input.kind,
                parent_id=decode_id(input.parent_id, CategoryNode, "parentId") if input.parent_id else None,
            ),
        )
        return CategoryPayload(category=CategoryNode.of(category) if category else None, errors=errors)

    @strawberry.mutation(description="Rename a category or move it under another.")
    async def update_category(self, info: Info[Context, None], input: UpdateCategoryInput) -> CategoryPayload:
        viewer = await info.context.viewer()
        category, errors = await perform(
            info.context,
            lambda session: categories.update_category(
                session, viewer, decode_id(input.id, CategoryNode, "id"), name=input.name,
                parent_id=decode_id(input.parent_id, CategoryNode, "parentId") if input.parent_id else None,
                clear_parent=input.clear_parent,
            ),
        )
        return CategoryPayload(category=CategoryNode.of(category) if category else None, errors=errors)

    @strawberry.mutation(description="Delete a category; its transactions become uncategorised.")
    async def delete_category(self, info: Info[Context, None], id: relay.GlobalID) -> DeletePayload:
        context = info.context
        viewer = await context.viewer()
        category, errors = await perform(
            context, lambda session: service.delete_category(session, context.runtime, viewer, decode_id(id, CategoryNode, "id"))
        )
        return DeletePayload(deleted_ids=[id] if category else [], errors=errors)

    @strawberry.mutation(description="Add a categorisation rule.")
    async def create_category_rule(self, info: Info[Context, None], input: CategoryRuleInput) -> CategoryRulePayload:
        viewer = await info.context.viewer()
        rule, errors = await perform(
            info.context,
            lambda session: rules.create_rule(
                session, viewer, category_id=decode_id(input.category_id, CategoryNode, "categoryId"),
                pattern=input.pattern, field=input.field, match=input.match, priority=input.priority,
            ),
        )
        return CategoryRulePayload(rule=CategoryRuleType.of(rule) if rule else None, errors=errors)

    @strawberry.mutation(description="Replace a categorisation rule's settings.")
    async def update_category_rule(
        self, info: Info[Context, None], id: relay.GlobalID, input: CategoryRuleInput
    ) -> CategoryRulePayload:
        viewer = await info.context.viewer()
        rule, errors = await perform(
            info.context,
            lambda session: rules.update_rule(
                session, viewer, decode_id(id, CategoryRuleType, "id"),
                category_id=decode_id(input.category_id, CategoryNode, "categoryId"),
                pattern=input.pattern, field=input.field, match=input.match, priority=input.priority,
            ),
        )
        return CategoryRulePayload(rule=CategoryRuleType.of(rule) if rule else None, errors=errors)

    @strawberry.mutation(description="Delete a categorisation rule (categories already given stay).")
    async def delete_category_rule(self, info: Info[Context, None], id: relay.GlobalID) -> DeletePayload:
        viewer = await info.context.viewer()
        rule, errors = await perform(
            info.context, lambda session: rules.delete_rule(session, viewer, decode_id(id, CategoryRuleType, "id"))
        )
        return DeletePayload(deleted_ids=[id] if rule else [], errors=errors)

    @strawberry.mutation(
        description="Apply your rules to past transactions. With dryRun (the default) nothing is written: "
        "preview first, then run again with dryRun: false."
    )
    async def recategorize(
        self, info: Info[Context, None], dry_run: bool = True, only_uncategorized: bool = True
    ) -> RecategorizePayload:
        context = info.context
        viewer = await context.viewer()
        changes, errors = await perform(
            context,
            lambda session: service.recategorize(
                session, context.runtime, viewer, dry_run=dry_run, only_uncategorized=only_uncategorized
            ),
        )
        changes = changes or []
        return RecategorizePayload(
            applied=not dry_run and not errors,
            count=len(changes),
            changes=[
                RecategorizationType(
                    transaction_id=_gid("Transaction", c.transaction_id),
                    from_category_id=_gid("Category", c.from_category_id) if c.from_category_id else None,
                    to_category_id=_gid("Category", c.to_category_id),
                )
                for c in changes[:100]
            ],
            errors=errors,
        )


async def _delete(info: Info[Context, None], ids: list[relay.GlobalID], prefix: str) -> DeletePayload:
    context = info.context
    viewer = await context.viewer()
    removed, errors = await perform(
        context,
        lambda session: service.delete_transactions(
            session, context.runtime, viewer,
            [decode_id(i, TransactionNode, f"{prefix}{n}" if prefix else "id") for n, i in enumerate(ids)],
            field_prefix=prefix,
        ),
    )
    return DeletePayload(deleted_ids=[_gid("Transaction", i) for i in removed or []], errors=errors)

"""Queries and mutations of transactions, transfers, categories and categorisation rules.

Over 400 lines: one input and payload per mutation of four related kinds, each resolver three lines.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

import strawberry
from strawberry import relay
from strawberry.types import Info

from finora_gql.accounts.types import AccountNode
from finora_gql.api.connection import After, Before, Connection, Edge, First, Last, page_info
from finora_gql.api.errors import DeletePayload, UserError, errors_field, perform
from finora_gql.api.ids import decode_id
from finora_gql.api.selection import selects
from finora_gql.context import Context
from finora_gql.core.errors import BadUserInput, Collector, ServiceError
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
    account_id: relay.GlobalID = strawberry.field(description="The account it belongs to; its currency is the amount's.")
    date: dt.date = strawberry.field(description="The day it happened, between 1900 and 2199.")
    amount: Decimal = strawberry.field(description="Signed, in the account's currency: negative is money out.")
    category_id: relay.GlobalID | None = strawberry.field(
        default=None, description="Its category; omitted: the first matching rule, else the merchant's last category."
    )
    merchant: str | None = strawberry.field(default=None, description="Who was paid or who paid; up to 200 characters.")
    description: str = strawberry.field(default="", description="Free text, up to 500 characters.")
    notes: str | None = strawberry.field(default=None, description="Private notes, up to 2,000 characters.")
    tags: list[str] = strawberry.field(
        default_factory=list, description="Up to 20 labels of up to 40 characters; lower-cased, repeats dropped."
    )
    external_id: str | None = strawberry.field(default=None, description="Unique per account; a repeat is refused.")


@strawberry.input(description="Up to 100 new transactions, recorded all or none.")
class CreateTransactionsInput:
    transactions: list[CreateTransactionInput] = strawberry.field(
        description="The transactions; errors name `transactions.<index>.<field>`."
    )


@strawberry.input(description="Transaction fields to change; omitted fields stay as they are.")
class UpdateTransactionInput:
    id: relay.GlobalID = strawberry.field(description="The transaction to change.")
    account_id: relay.GlobalID | None = strawberry.field(default=None, description="Move it to this account (same currency).")
    date: dt.date | None = strawberry.field(default=None, description="A new day, between 1900 and 2199.")
    amount: Decimal | None = strawberry.field(default=None, description="A new signed amount, in the account's currency.")
    category_id: relay.GlobalID | None = strawberry.field(default=None, description="A new category.")
    clear_category: bool = strawberry.field(default=False, description="Make it uncategorised.")
    merchant: str | None = strawberry.field(default=None, description="A new merchant; \"\" clears it.")
    description: str | None = strawberry.field(default=None, description="A new description.")
    notes: str | None = strawberry.field(default=None, description="New notes; \"\" clears them.")
    tags: list[str] | None = strawberry.field(default=None, description="The new full list of tags (replaces the old).")


@strawberry.input(description="Up to 100 transaction changes, applied all or none.")
class UpdateTransactionsInput:
    transactions: list[UpdateTransactionInput] = strawberry.field(
        description="The changes; errors name `transactions.<index>.<field>`."
    )


@strawberry.input(description="The transaction to delete.")
class DeleteTransactionInput:
    id: relay.GlobalID = strawberry.field(description="The transaction (for a transfer, either leg: both go).")


@strawberry.input(description="Up to 100 transactions to delete, all or none.")
class DeleteTransactionsInput:
    ids: list[relay.GlobalID] = strawberry.field(description="The transactions; errors name `ids.<index>`.")


@strawberry.input(description="Money moved between two of your accounts.")
class CreateTransferInput:
    from_account_id: relay.GlobalID = strawberry.field(description="The account the money leaves.")
    to_account_id: relay.GlobalID = strawberry.field(description="The account the money arrives in; not the same one.")
    date: dt.date = strawberry.field(description="The day of the transfer.")
    amount: Decimal = strawberry.field(description="Positive, in the source account's currency.")
    received_amount: Decimal | None = strawberry.field(
        default=None, description="What arrived, in the target's currency; required when the currencies differ."
    )
    description: str = strawberry.field(default="", description="Free text for both legs.")
    notes: str | None = strawberry.field(default=None, description="Private notes for both legs.")


@strawberry.input(description="A new category.")
class CreateCategoryInput:
    name: str = strawberry.field(description="Up to 60 characters, unique among your categories.")
    kind: CategoryKindEnum = strawberry.field(description="INCOME, EXPENSE or TRANSFER.")
    parent_id: relay.GlobalID | None = strawberry.field(default=None, description="Make it a subcategory of this one.")


@strawberry.input(description="Category fields to change; omitted fields stay as they are.")
class UpdateCategoryInput:
    id: relay.GlobalID = strawberry.field(description="The category to change.")
    name: str | None = strawberry.field(default=None, description="A new name, unique among your categories.")
    parent_id: relay.GlobalID | None = strawberry.field(default=None, description="Move it under this category.")
    clear_parent: bool = strawberry.field(default=False, description="Make it a top-level category.")


@strawberry.input(description="The category to delete; its transactions become uncategorised.")
class DeleteCategoryInput:
    id: relay.GlobalID = strawberry.field(description="The category.")


@strawberry.input(description="A new categorisation rule.")
class CategoryRuleInput:
    category_id: relay.GlobalID = strawberry.field(description="The category matching transactions get.")
    pattern: str = strawberry.field(description="Text to find (CONTAINS) or a regular expression (REGEX).")
    field: RuleFieldEnum = strawberry.field(default=RuleFieldEnum.ANY, description="Which text to look at.")
    match: RuleMatchEnum = strawberry.field(default=RuleMatchEnum.CONTAINS, description="How the pattern matches.")
    priority: int = strawberry.field(default=100, description="Rules are tried from the lowest number up.")


@strawberry.input(description="Rule fields to change; omitted fields stay as they are.")
class UpdateCategoryRuleInput:
    id: relay.GlobalID = strawberry.field(description="The rule to change.")
    category_id: relay.GlobalID | None = strawberry.field(default=None, description="A new category.")
    pattern: str | None = strawberry.field(default=None, description="A new pattern (checked against the match kind).")
    field: RuleFieldEnum | None = strawberry.field(default=None, description="Which text to look at.")
    match: RuleMatchEnum | None = strawberry.field(default=None, description="How the pattern matches.")
    priority: int | None = strawberry.field(default=None, description="A new priority.")


@strawberry.input(description="The rule to delete; categories it already gave stay.")
class DeleteCategoryRuleInput:
    id: relay.GlobalID = strawberry.field(description="The rule.")


@strawberry.input(description="How to apply your rules to past transactions.")
class RecategorizeInput:
    dry_run: bool = strawberry.field(default=True, description="Only say what would change; write nothing.")
    only_uncategorized: bool = strawberry.field(
        default=True, description="Only transactions without a category; false: also re-file categorised ones."
    )


# --- payloads -----------------------------------------------------------------------------------


@strawberry.type(description="The result of a single-transaction mutation.")
class TransactionPayload:
    transaction: TransactionNode | None = strawberry.field(description="The transaction, or null on errors.")
    errors: list[UserError] = errors_field()


@strawberry.type(description="The result of a bulk mutation: all rows or none.")
class TransactionsPayload:
    transactions: list[TransactionNode] = strawberry.field(description="The transactions, in input order; empty on errors.")
    errors: list[UserError] = errors_field()


@strawberry.type(description="The result of createTransfer: the outflow and the inflow.")
class TransferPayload:
    outflow: TransactionNode | None = strawberry.field(description="The leg leaving the source account (negative).")
    inflow: TransactionNode | None = strawberry.field(description="The leg arriving in the target account (positive).")
    errors: list[UserError] = errors_field()


@strawberry.type(description="The result of a category mutation.")
class CategoryPayload:
    category: CategoryNode | None = strawberry.field(description="The category, or null on errors.")
    errors: list[UserError] = errors_field()


@strawberry.type(description="The result of a rule mutation.")
class CategoryRulePayload:
    rule: CategoryRuleType | None = strawberry.field(description="The rule, or null on errors.")
    errors: list[UserError] = errors_field()


@strawberry.type(description="What recategorize changed, or would change with dryRun.")
class RecategorizePayload:
    applied: bool = strawberry.field(description="False for a dry run: nothing was written.")
    count: int = strawberry.field(description="How many transactions change.")
    changes: list[RecategorizationType] = strawberry.field(description="The first 100 changes.")
    errors: list[UserError] = errors_field()


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


def _drafts(items: list[CreateTransactionInput], prefix: str) -> list[service.Draft]:
    """The drafts of the input; every id that does not decode is reported, not only the first."""
    errors = Collector()
    drafts = [_draft(item, prefix.format(index=index), errors) for index, item in enumerate(items)]
    errors.raise_any()
    return drafts


def _draft(item: CreateTransactionInput, prefix: str, errors: Collector) -> service.Draft:
    return service.Draft(
        account_id=errors.check(decode_id, item.account_id, AccountNode, f"{prefix}accountId"),
        date=item.date,
        amount=item.amount,
        category_id=errors.check(decode_id, item.category_id, CategoryNode, f"{prefix}categoryId") if item.category_id else None,
        merchant=item.merchant,
        description=item.description,
        notes=item.notes,
        tags=item.tags,
        external_id=item.external_id,
    )


def _all_changes(items: list[UpdateTransactionInput], prefix: str) -> list[tuple]:
    """The changes of the input; every id that does not decode is reported, not only the first."""
    errors = Collector()
    changes = [_changes(item, prefix.format(index=index), errors) for index, item in enumerate(items)]
    errors.raise_any()
    return changes


def _changes(item: UpdateTransactionInput, prefix: str, errors: Collector) -> tuple:
    return (
        errors.check(decode_id, item.id, TransactionNode, f"{prefix}id"),
        service.Changes(
            account_id=errors.check(decode_id, item.account_id, AccountNode, f"{prefix}accountId") if item.account_id else None,
            date=item.date,
            amount=item.amount,
            category_id=errors.check(decode_id, item.category_id, CategoryNode, f"{prefix}categoryId") if item.category_id else None,
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
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: Annotated[TransactionFilter | None, strawberry.argument(
            description="Which transactions; all of them when omitted.")] = None,
        order_by: Annotated[TransactionOrderEnum, strawberry.argument(
            description="The sort order; newest first by default.")] = TransactionOrderEnum.DATE_DESC,
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
    async def categories(
        self, info: Info[Context, None],
        kind: Annotated[CategoryKindEnum | None, strawberry.argument(description="Only this kind; all when omitted.")] = None,
    ) -> list[CategoryNode]:
        viewer = await info.context.viewer()
        return [CategoryNode.of(c) for c in await categories.list_categories(info.context.session, viewer, kind=kind)]

    @strawberry.field(description="The viewer's categorisation rules, in the order they are tried.")
    async def category_rules(self, info: Info[Context, None]) -> list[CategoryRuleType]:
        viewer = await info.context.viewer()
        return [CategoryRuleType.of(r) for r in await rules.list_rules(info.context.session, viewer)]


def _input(description: str) -> Any:
    return strawberry.argument(description=description)


@strawberry.type
class TransactionsMutation:
    @strawberry.mutation(description="Record a transaction; balances and summaries update at once.")
    async def create_transaction(
        self, info: Info[Context, None], input: Annotated[CreateTransactionInput, _input("The transaction.")]
    ) -> TransactionPayload:
        context = info.context
        viewer = await context.viewer()
        rows, errors = await perform(
            context, lambda session: service.create_transactions(session, context.runtime, viewer, _drafts([input], ""))
        )
        nodes = await _nodes(info, rows or [], "transaction")
        return TransactionPayload(transaction=nodes[0] if nodes else None, errors=errors)

    @strawberry.mutation(description="Record up to 100 transactions, all or none; errors name `transactions.<index>.<field>`.")
    async def create_transactions(
        self, info: Info[Context, None], input: Annotated[CreateTransactionsInput, _input("The transactions.")]
    ) -> TransactionsPayload:
        context = info.context
        viewer = await context.viewer()
        rows, errors = await perform(
            context,
            lambda session: service.create_transactions(
                session, context.runtime, viewer,
                _drafts(input.transactions, "transactions.{index}."),
                field_prefix="transactions.",
            ),
        )
        return TransactionsPayload(transactions=await _nodes(info, rows or [], "transactions"), errors=errors)

    @strawberry.mutation(description="Change a transaction. Transfers can only change text, notes and tags.")
    async def update_transaction(
        self, info: Info[Context, None], input: Annotated[UpdateTransactionInput, _input("What to change.")]
    ) -> TransactionPayload:
        context = info.context
        viewer = await context.viewer()
        rows, errors = await perform(
            context, lambda session: service.update_transactions(session, context.runtime, viewer, _all_changes([input], ""))
        )
        nodes = await _nodes(info, rows or [], "transaction")
        return TransactionPayload(transaction=nodes[0] if nodes else None, errors=errors)

    @strawberry.mutation(description="Change up to 100 transactions, all or none.")
    async def update_transactions(
        self, info: Info[Context, None], input: Annotated[UpdateTransactionsInput, _input("The changes.")]
    ) -> TransactionsPayload:
        context = info.context
        viewer = await context.viewer()
        rows, errors = await perform(
            context,
            lambda session: service.update_transactions(
                session, context.runtime, viewer,
                _all_changes(input.transactions, "transactions.{index}."),
                field_prefix="transactions.",
            ),
        )
        return TransactionsPayload(transactions=await _nodes(info, rows or [], "transactions"), errors=errors)

    @strawberry.mutation(description="Delete a transaction (both legs, for a transfer).")
    async def delete_transaction(
        self, info: Info[Context, None], input: Annotated[DeleteTransactionInput, _input("The transaction to delete.")]
    ) -> DeletePayload:
        return await _delete(info, [input.id], "")

    @strawberry.mutation(description="Delete up to 100 transactions, all or none.")
    async def delete_transactions(
        self, info: Info[Context, None], input: Annotated[DeleteTransactionsInput, _input("The transactions to delete.")]
    ) -> DeletePayload:
        return await _delete(info, input.ids, "ids.")

    @strawberry.mutation(description="Move money between two of your accounts; not counted as income or spending.")
    async def create_transfer(
        self, info: Info[Context, None], input: Annotated[CreateTransferInput, _input("The transfer.")]
    ) -> TransferPayload:
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
    async def create_category(
        self, info: Info[Context, None], input: Annotated[CreateCategoryInput, _input("The category.")]
    ) -> CategoryPayload:
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
    async def update_category(
        self, info: Info[Context, None], input: Annotated[UpdateCategoryInput, _input("What to change.")]
    ) -> CategoryPayload:
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
    async def delete_category(
        self, info: Info[Context, None], input: Annotated[DeleteCategoryInput, _input("The category to delete.")]
    ) -> DeletePayload:
        context = info.context
        viewer = await context.viewer()
        category, errors = await perform(
            context,
            lambda session: service.delete_category(session, context.runtime, viewer, decode_id(input.id, CategoryNode, "id")),
        )
        return DeletePayload(deleted_ids=[input.id] if category else [], errors=errors)

    @strawberry.mutation(description="Add a categorisation rule.")
    async def create_category_rule(
        self, info: Info[Context, None], input: Annotated[CategoryRuleInput, _input("The rule.")]
    ) -> CategoryRulePayload:
        viewer = await info.context.viewer()
        rule, errors = await perform(
            info.context,
            lambda session: rules.create_rule(
                session, viewer, category_id=decode_id(input.category_id, CategoryNode, "categoryId"),
                pattern=input.pattern, field=input.field, match=input.match, priority=input.priority,
            ),
        )
        return CategoryRulePayload(rule=CategoryRuleType.of(rule) if rule else None, errors=errors)

    @strawberry.mutation(description="Change a categorisation rule; omitted fields stay as they are.")
    async def update_category_rule(
        self, info: Info[Context, None], input: Annotated[UpdateCategoryRuleInput, _input("What to change.")]
    ) -> CategoryRulePayload:
        viewer = await info.context.viewer()
        rule, errors = await perform(
            info.context,
            lambda session: rules.update_rule(
                session, viewer, decode_id(input.id, CategoryRuleType, "id"),
                category_id=decode_id(input.category_id, CategoryNode, "categoryId") if input.category_id else None,
                pattern=input.pattern, field=input.field, match=input.match, priority=input.priority,
            ),
        )
        return CategoryRulePayload(rule=CategoryRuleType.of(rule) if rule else None, errors=errors)

    @strawberry.mutation(description="Delete a categorisation rule (categories already given stay).")
    async def delete_category_rule(
        self, info: Info[Context, None], input: Annotated[DeleteCategoryRuleInput, _input("The rule to delete.")]
    ) -> DeletePayload:
        viewer = await info.context.viewer()
        rule, errors = await perform(
            info.context, lambda session: rules.delete_rule(session, viewer, decode_id(input.id, CategoryRuleType, "id"))
        )
        return DeletePayload(deleted_ids=[input.id] if rule else [], errors=errors)

    @strawberry.mutation(
        description="Apply your rules to past transactions. With dryRun (the default) nothing is written: "
        "preview first, then run again with dryRun: false."
    )
    async def recategorize(
        self, info: Info[Context, None],
        input: Annotated[RecategorizeInput | None, _input("How to apply the rules; a dry run over uncategorised "
                                                          "transactions when omitted.")] = None,
    ) -> RecategorizePayload:
        context = info.context
        viewer = await context.viewer()
        options = input or RecategorizeInput()
        changes, errors = await perform(
            context,
            lambda session: service.recategorize(
                session, context.runtime, viewer, dry_run=options.dry_run, only_uncategorized=options.only_uncategorized
            ),
        )
        changes = changes or []
        return RecategorizePayload(
            applied=not options.dry_run and not errors,
            count=len(changes),
            changes=[RecategorizationType.of(c) for c in changes[:100]],
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

"""GraphQL types of the transactions domain.

List fields load nested accounts and categories for a whole page at once (through the
request's dataloaders) and hand out plain objects: no per-row awaits, no N+1.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal

import strawberry
from strawberry import relay
from strawberry.types import Info

from finora_gql.accounts.types import AccountNode, account_loader
from finora_gql.api.ids import parse_uuid
from finora_gql.core.money import round_money
from finora_gql.transactions import categories, service
from finora_gql.transactions.models import Category, CategoryKind, CategoryRule, RuleField, RuleMatch, Transaction

CategoryKindEnum = strawberry.enum(CategoryKind, name="CategoryKind", description="INCOME, EXPENSE or TRANSFER.")
RuleFieldEnum = strawberry.enum(RuleField, name="RuleField", description="Which text a rule looks at.")
RuleMatchEnum = strawberry.enum(RuleMatch, name="RuleMatch", description="How a rule's pattern matches.")
TransactionOrderEnum = strawberry.enum(service.Order, name="TransactionOrder", description="How to sort transactions.")
DirectionEnum = strawberry.enum(service.Direction, name="TransactionDirection",
                                description="INCOME: money in; EXPENSE: money out (transfers excluded).")


def category_loader(info: Info):
    return info.context.loader("categories", categories.get_categories)


@strawberry.type(name="Category", description="A label for where money comes from or goes to.")
class CategoryNode(relay.Node):
    id: relay.NodeID[str]
    name: str = strawberry.field(description="Unique among the owner's categories.")
    kind: CategoryKindEnum = strawberry.field(description="INCOME, EXPENSE or TRANSFER.")
    parent_id: relay.GlobalID | None = strawberry.field(description="The parent category, for subcategories.")

    @classmethod
    def of(cls, category: Category | categories.CategoryRow) -> CategoryNode:
        parent = relay.GlobalID("Category", str(category.parent_id)) if category.parent_id else None
        return cls(id=str(category.id), name=category.name, kind=category.kind, parent_id=parent)

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False) -> list[CategoryNode | None]:
        ids = [parse_uuid(node_id) for node_id in node_ids]
        found = await category_loader(info).load_many([i for i in ids if i is not None])
        by_id = {row.id: row for row in found if row is not None}
        return [cls.of(by_id[i]) if i in by_id else None for i in ids]


@strawberry.type(name="CategoryRule", description="Categorises new transactions whose text matches; lower priority wins.")
class CategoryRuleType:
    id: relay.GlobalID
    category_id: relay.GlobalID = strawberry.field(description="The category matching transactions get.")
    field: RuleFieldEnum = strawberry.field(description="MERCHANT, DESCRIPTION or ANY of them.")
    match: RuleMatchEnum = strawberry.field(description="CONTAINS (case-insensitive) or REGEX.")
    pattern: str
    priority: int = strawberry.field(description="Rules are tried from the lowest number up.")

    @classmethod
    def of(cls, rule: CategoryRule) -> CategoryRuleType:
        return cls(
            id=relay.GlobalID("CategoryRule", str(rule.id)), category_id=relay.GlobalID("Category", str(rule.category_id)),
            field=rule.field, match=rule.match, pattern=rule.pattern, priority=rule.priority,
        )


@strawberry.type(name="Transaction", description="Money in or out of one account on one day.")
class TransactionNode(relay.Node):
    id: relay.NodeID[str]
    date: dt.date = strawberry.field(description="The day it happened (the account holder's calendar).")
    amount: Decimal = strawberry.field(description="Signed, in the account's currency: negative is money out.")
    currency: str = strawberry.field(description="The account's ISO 4217 currency.")
    merchant: str | None = strawberry.field(description="Who was paid or who paid.")
    description: str = strawberry.field(description="Free text, e.g. the bank's statement line.")
    notes: str | None = strawberry.field(description="The owner's private notes.")
    tags: list[str] = strawberry.field(description="Lower-cased labels.")
    external_id: str | None = strawberry.field(description="The bank's id, used to skip duplicates on import.")
    is_transfer: bool = strawberry.field(description="One leg of a transfer between own accounts; not income or spending.")
    created_at: dt.datetime
    updated_at: dt.datetime
    account: AccountNode = strawberry.field(description="The account it belongs to.")
    category: CategoryNode | None = strawberry.field(description="Its category, if any.")

    @classmethod
    def of(cls, row: Transaction | service.ListedTransaction, account: AccountNode | None,
           category: CategoryNode | None) -> TransactionNode:
        return cls(
            id=str(row.id), date=row.date, amount=round_money(row.amount, row.currency), currency=row.currency, merchant=row.merchant,
            description=row.description, notes=row.notes, tags=list(row.tags), external_id=row.external_id,
            is_transfer=row.transfer_id is not None, created_at=row.created_at, updated_at=row.updated_at,
            account=account, category=category,  # type: ignore[arg-type]
        )

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False) -> list[TransactionNode | None]:
        ids = [parse_uuid(node_id) for node_id in node_ids]
        found = await service.get_transactions(info.context.session, await info.context.viewer(), [i for i in ids if i])
        nodes = await transaction_nodes(info, [found[i] for i in ids if i in found], accounts=True, categories=True)
        by_id = {node.id: node for node in nodes}
        return [by_id.get(str(i)) for i in ids]


async def transaction_nodes(
    info: Info, rows: Sequence[Transaction | service.ListedTransaction], *, accounts: bool, categories: bool
) -> list[TransactionNode]:
    """Build a page of nodes, loading each nested kind once for the whole page when asked for."""
    account_by_id: dict = {}
    category_by_id: dict = {}
    if accounts and rows:
        found = await account_loader(info).load_many(list({row.account_id for row in rows}))
        account_by_id = {a.id: AccountNode.of(a) for a in found if a is not None}
    wanted = list({row.category_id for row in rows if row.category_id})
    if categories and wanted:
        found = await category_loader(info).load_many(wanted)
        category_by_id = {c.id: CategoryNode.of(c) for c in found if c is not None}
    return [
        TransactionNode.of(row, account_by_id.get(row.account_id), category_by_id.get(row.category_id))
        for row in rows
    ]


@strawberry.type(name="Recategorization", description="A transaction whose category a rule would change (or changed).")
class RecategorizationType:
    transaction_id: relay.GlobalID
    from_category_id: relay.GlobalID | None
    to_category_id: relay.GlobalID


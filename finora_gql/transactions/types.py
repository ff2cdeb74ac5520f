"""GraphQL types of the transactions domain.

List fields load nested accounts and categories for a whole page at once (through the
request's dataloaders) and hand out plain objects: no per-row awaits, no N+1.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from decimal import Decimal

import strawberry
from strawberry import relay
from strawberry.types import Info

from finora_gql.accounts.types import AccountNode, account_loader
from finora_gql.api.enums import described
from finora_gql.api.ids import parse_uuid
from finora_gql.api.scalars import CurrencyCode
from finora_gql.core.money import round_money
from finora_gql.transactions import categories, rules, service
from finora_gql.transactions.models import Category, CategoryKind, CategoryRule, RuleField, RuleMatch, Transaction

CategoryKindEnum = described(CategoryKind, name="CategoryKind", description="INCOME, EXPENSE or TRANSFER.", values={
    "INCOME": "Money coming in: salary, refunds, interest.",
    "EXPENSE": "Money going out: what budgets limit.",
    "TRANSFER": "Money moved between your own accounts; neither income nor spending.",
})
RuleFieldEnum = described(RuleField, name="RuleField", description="Which text a rule looks at.", values={
    "MERCHANT": "The transaction's merchant only.",
    "DESCRIPTION": "The transaction's description only.",
    "ANY": "The merchant or the description: either may match.",
})
RuleMatchEnum = described(RuleMatch, name="RuleMatch", description="How a rule's pattern matches.", values={
    "CONTAINS": "The text contains the pattern, ignoring case.",
    "REGEX": "The pattern is a regular expression (RE2 syntax, linear time) found anywhere in the text.",
})
TransactionOrderEnum = described(service.Order, name="TransactionOrder", description="How to sort transactions.", values={
    "DATE_DESC": "Newest day first (then newest recorded first).",
    "DATE_ASC": "Oldest day first (then oldest recorded first).",
    "AMOUNT_DESC": "Largest signed amount first (the biggest inflow first).",
    "AMOUNT_ASC": "Smallest signed amount first (the biggest outflow first).",
})
DirectionEnum = described(service.Direction, name="TransactionDirection",
                          description="INCOME: money in; EXPENSE: money out (transfers excluded).", values={
    "INCOME": "Only amounts above zero (money in).",
    "EXPENSE": "Only amounts below zero (money out).",
})


def category_loader(info: Info):
    return info.context.loader("categories", categories.get_categories)


def transaction_loader(info: Info):
    return info.context.loader("transactions", service.get_transactions)


def transfer_legs_loader(info: Info):
    return info.context.loader("transfer_legs", service.transfer_legs)


def rule_loader(info: Info):
    return info.context.loader("category_rules", rules.get_rules)


async def category_node(info: Info, category_id: uuid.UUID | None) -> CategoryNode | None:
    """One category through the request's loader (batched with every other in the same tick)."""
    if category_id is None:
        return None
    found = await category_loader(info).load(category_id)
    return CategoryNode.of(found) if found is not None else None


async def transaction_node(info: Info, transaction_id: uuid.UUID | None) -> TransactionNode | None:
    """One transaction, with its account and category, through the request's loaders."""
    if transaction_id is None:
        return None
    found = await transaction_loader(info).load(transaction_id)
    if found is None:
        return None
    [node] = await transaction_nodes(info, [found], accounts=True, categories=True)
    return node


@strawberry.type(name="Category", description="A label for where money comes from or goes to.")
class CategoryNode(relay.Node):
    id: relay.NodeID[str]
    name: str = strawberry.field(description="Unique among the owner's categories.")
    kind: CategoryKindEnum = strawberry.field(description="INCOME, EXPENSE or TRANSFER.")
    _parent_id: strawberry.Private[uuid.UUID | None] = None

    @strawberry.field(description="The category this one is a subcategory of; null for a top-level category.")
    async def parent(self, info: Info) -> CategoryNode | None:
        return await category_node(info, self._parent_id)

    @classmethod
    def of(cls, category: Category | categories.CategoryRow) -> CategoryNode:
        return cls(id=str(category.id), name=category.name, kind=category.kind, _parent_id=category.parent_id)

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False) -> list[CategoryNode | None]:
        ids = [parse_uuid(node_id) for node_id in node_ids]
        found = await category_loader(info).load_many([i for i in ids if i is not None])
        by_id = {row.id: row for row in found if row is not None}
        return [cls.of(by_id[i]) if i in by_id else None for i in ids]


@strawberry.type(name="CategoryRule", description="Categorises new transactions whose text matches; lower priority wins.")
class CategoryRuleType(relay.Node):
    id: relay.NodeID[str]
    field: RuleFieldEnum = strawberry.field(description="MERCHANT, DESCRIPTION or ANY of them.")
    match: RuleMatchEnum = strawberry.field(description="CONTAINS (case-insensitive) or REGEX.")
    pattern: str = strawberry.field(description="The text to find (CONTAINS) or the regular expression (REGEX).")
    priority: int = strawberry.field(description="Rules are tried from the lowest number up; the first match wins.")
    _category_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="The category matching transactions get.")
    async def category(self, info: Info) -> CategoryNode:
        return await category_node(info, self._category_id)  # type: ignore[return-value]

    @classmethod
    def of(cls, rule: CategoryRule) -> CategoryRuleType:
        return cls(
            id=str(rule.id), _category_id=rule.category_id,
            field=rule.field, match=rule.match, pattern=rule.pattern, priority=rule.priority,
        )

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False) -> list[CategoryRuleType | None]:
        ids = [parse_uuid(node_id) for node_id in node_ids]
        found = await rule_loader(info).load_many([i for i in ids if i is not None])
        by_id = {row.id: row for row in found if row is not None}
        return [cls.of(by_id[i]) if i in by_id else None for i in ids]


@strawberry.type(name="Transaction", description="Money in or out of one account on one day.")
class TransactionNode(relay.Node):
    id: relay.NodeID[str]
    date: dt.date = strawberry.field(description="The day it happened (the account holder's calendar).")
    amount: Decimal = strawberry.field(description="Signed, in the account's currency: negative is money out.")
    currency: CurrencyCode = strawberry.field(description="The account's currency.")
    merchant: str | None = strawberry.field(description="Who was paid or who paid.")
    description: str = strawberry.field(description="Free text, e.g. the bank's statement line.")
    notes: str | None = strawberry.field(description="The owner's private notes.")
    tags: list[str] = strawberry.field(description="Lower-cased labels.")
    external_id: str | None = strawberry.field(description="The bank's id, used to skip duplicates on import.")
    is_transfer: bool = strawberry.field(description="One leg of a transfer between own accounts; not income or spending.")
    created_at: dt.datetime = strawberry.field(description="When it was recorded (UTC).")
    updated_at: dt.datetime = strawberry.field(description="When it last changed (UTC).")
    account: AccountNode = strawberry.field(description="The account it belongs to.")
    category: CategoryNode | None = strawberry.field(description="Its category, if any.")
    _transfer_id: strawberry.Private[uuid.UUID | None] = None

    @strawberry.field(description="For a leg of a transfer: the other leg (money out links to money in and back); "
                      "null otherwise.")
    async def transfer_counterpart(self, info: Info) -> TransactionNode | None:
        if self._transfer_id is None:
            return None
        legs = await transfer_legs_loader(info).load(self._transfer_id) or []
        other = [leg for leg in legs if str(leg.id) != self.id]
        if not other:
            return None
        [node] = await transaction_nodes(info, other[:1], accounts=True, categories=True)
        return node

    @classmethod
    def of(cls, row: Transaction | service.ListedTransaction, account: AccountNode | None,
           category: CategoryNode | None) -> TransactionNode:
        return cls(
            id=str(row.id), date=row.date, amount=round_money(row.amount, row.currency), currency=row.currency, merchant=row.merchant,
            description=row.description, notes=row.notes, tags=list(row.tags), external_id=row.external_id,
            is_transfer=row.transfer_id is not None, created_at=row.created_at, updated_at=row.updated_at,
            account=account, category=category, _transfer_id=row.transfer_id,  # type: ignore[arg-type]
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
    _transaction_id: strawberry.Private[uuid.UUID]
    _from_category_id: strawberry.Private[uuid.UUID | None]
    _to_category_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="The transaction (as it is now: after the change when it was applied).")
    async def transaction(self, info: Info) -> TransactionNode:
        return await transaction_node(info, self._transaction_id)  # type: ignore[return-value]

    @strawberry.field(description="Its category before the change; null when it was uncategorised.")
    async def from_category(self, info: Info) -> CategoryNode | None:
        return await category_node(info, self._from_category_id)

    @strawberry.field(description="The category the matching rule gives it.")
    async def to_category(self, info: Info) -> CategoryNode:
        return await category_node(info, self._to_category_id)  # type: ignore[return-value]

    @classmethod
    def of(cls, change: service.Recategorization) -> RecategorizationType:
        return cls(_transaction_id=change.transaction_id, _from_category_id=change.from_category_id,
                   _to_category_id=change.to_category_id)

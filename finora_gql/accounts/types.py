"""GraphQL types of the accounts domain."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

import strawberry
from strawberry import relay
from strawberry.types import Info

from finora_gql.accounts import service
from finora_gql.accounts.models import Account, AccountType
from finora_gql.api.enums import described
from finora_gql.api.ids import parse_uuid
from finora_gql.api.scalars import CurrencyCode
from finora_gql.core.money import round_money

AccountTypeEnum = described(AccountType, name="AccountType", description="What kind of account this is.", values={
    "CHECKING": "A current account for everyday payments.",
    "SAVINGS": "A savings or deposit account.",
    "CREDIT_CARD": "A credit card; its balance is usually negative (what is owed).",
    "CASH": "Physical cash, a wallet.",
    "INVESTMENT": "A brokerage or investment account, tracked by its cash balance.",
    "LOAN": "A loan or mortgage; its balance is negative (what is owed).",
    "OTHER": "Anything else.",
})


def account_loader(info: Info):
    return info.context.loader("accounts", service.get_accounts)


@strawberry.type(name="Account", description="A place money sits: a bank account, a card, cash, a loan.")
class AccountNode(relay.Node):
    id: relay.NodeID[str]
    name: str = strawberry.field(description="The name the owner gave it.")
    type: AccountTypeEnum = strawberry.field(description="CHECKING, SAVINGS, CREDIT_CARD, CASH, INVESTMENT, LOAN or OTHER.")
    currency: CurrencyCode = strawberry.field(description="Every transaction of the account is in it.")
    opening_balance: Decimal = strawberry.field(description="The balance before the first recorded transaction.")
    current_balance: Decimal = strawberry.field(
        description="Opening balance plus every transaction, kept exact with every write."
    )
    archived: bool = strawberry.field(description="Hidden from pickers; its history still counts.")
    created_at: dt.datetime = strawberry.field(description="When the account was added (UTC).")

    @classmethod
    def of(cls, account: Account | service.AccountRow) -> AccountNode:
        return cls(
            id=str(account.id), name=account.name, type=account.type, currency=account.currency,
            opening_balance=round_money(account.opening_balance, account.currency),
            current_balance=round_money(account.current_balance, account.currency),
            archived=account.archived, created_at=account.created_at,
        )

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False) -> list[AccountNode | None]:
        ids = [parse_uuid(node_id) for node_id in node_ids]
        found = await account_loader(info).load_many([i for i in ids if i is not None])
        by_id = {account.id: account for account in found if account is not None}
        return [cls.of(by_id[i]) if i in by_id else None for i in ids]


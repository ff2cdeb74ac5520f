"""Queries and mutations of the accounts domain."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import strawberry
from strawberry import relay
from strawberry.types import Info

from finora_gql.accounts import service
from finora_gql.accounts.types import AccountNode, AccountTypeEnum
from finora_gql.api.errors import DeletePayload, UserError, errors_field, perform
from finora_gql.api.ids import decode_id
from finora_gql.api.scalars import CurrencyCode
from finora_gql.context import Context


@strawberry.input(description="A new account.")
class CreateAccountInput:
    name: str = strawberry.field(description="Up to 100 characters.")
    type: AccountTypeEnum = strawberry.field(description="What kind of account.")
    currency: CurrencyCode = strawberry.field(description="Every transaction of the account is in it; cannot change later.")
    opening_balance: Decimal = strawberry.field(default=Decimal(0), description="Balance before the first transaction.")


@strawberry.input(description="Account fields to change; omitted fields stay as they are.")
class UpdateAccountInput:
    id: relay.GlobalID = strawberry.field(description="The account to change.")
    name: str | None = strawberry.field(default=None, description="A new name, up to 100 characters.")
    type: AccountTypeEnum | None = strawberry.field(default=None, description="A new kind of account.")
    opening_balance: Decimal | None = strawberry.field(default=None, description="Moves the current balance by the same difference.")
    archived: bool | None = strawberry.field(default=None, description="True hides it from pickers; false shows it again.")


@strawberry.input(description="The account to delete, with all its transactions.")
class DeleteAccountInput:
    id: relay.GlobalID = strawberry.field(description="The account.")


@strawberry.type(description="The result of an account mutation.")
class AccountPayload:
    account: AccountNode | None = strawberry.field(description="The account, or null on errors.")
    errors: list[UserError] = errors_field()


@strawberry.type
class AccountsQuery:
    @strawberry.field(description="The viewer's accounts, oldest first.")
    async def accounts(
        self, info: Info[Context, None],
        include_archived: Annotated[bool, strawberry.argument(description="Also list archived accounts.")] = False,
    ) -> list[AccountNode]:
        viewer = await info.context.viewer()
        rows = await service.list_accounts(info.context.session, viewer, include_archived=include_archived)
        return [AccountNode.of(row) for row in rows]


def _payload(account, errors: list[UserError]) -> AccountPayload:
    return AccountPayload(account=AccountNode.of(account) if account else None, errors=errors)


@strawberry.type
class AccountsMutation:
    @strawberry.mutation(description="Add an account.")
    async def create_account(
        self, info: Info[Context, None], input: Annotated[CreateAccountInput, strawberry.argument(description="The account.")]
    ) -> AccountPayload:
        viewer = await info.context.viewer()
        account, errors = await perform(
            info.context,
            lambda session: service.create_account(
                session, viewer, name=input.name, type=input.type, currency=input.currency,
                opening_balance=input.opening_balance,
            ),
        )
        return _payload(account, errors)

    @strawberry.mutation(description="Rename, retype, archive or correct the opening balance of an account.")
    async def update_account(
        self, info: Info[Context, None], input: Annotated[UpdateAccountInput, strawberry.argument(description="What to change.")]
    ) -> AccountPayload:
        context = info.context
        viewer = await context.viewer()

        account, errors = await perform(
            context,
            lambda session: service.update_account(
                session, context.runtime, viewer, decode_id(input.id, AccountNode, "id"), name=input.name,
                type=input.type, opening_balance=input.opening_balance, archived=input.archived,
            ),
        )
        return _payload(account, errors)

    @strawberry.mutation(description="Delete an account and all its transactions (transfers lose both legs).")
    async def delete_account(
        self, info: Info[Context, None],
        input: Annotated[DeleteAccountInput, strawberry.argument(description="The account to delete.")],
    ) -> DeletePayload:
        context = info.context
        viewer = await context.viewer()
        account, errors = await perform(
            context,
            lambda session: service.delete_account(session, context.runtime, viewer, decode_id(input.id, AccountNode, "id")),
        )
        return DeletePayload(deleted_ids=[input.id] if account else [], errors=errors)

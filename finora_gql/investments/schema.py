"""Investments: record activities, set prices, read the portfolio, hear when it changes."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncGenerator
from decimal import Decimal
from typing import Annotated

import strawberry
from strawberry import relay
from strawberry.types import Info
from strawberry.types.nodes import SelectedField

from finora_gql.accounts.types import AccountNode
from finora_gql.api.errors import DeletePayload, UserError, perform
from finora_gql.api.ids import decode_id
from finora_gql.api.scalars import CurrencyCode
from finora_gql.api.streams import viewer_messages
from finora_gql.context import Context
from finora_gql.core import clock
from finora_gql.core.errors import BadUserInput, ErrorCode, ServiceError
from finora_gql.imports.types import DateFormatEnum
from finora_gql.investments import imports, service, transfers, valuation
from finora_gql.investments.engine import WITH_QUANTITY as _WITH_QUANTITY
from finora_gql.investments.types import (
    CostMethodEnum,
    InvestmentActivityNode,
    KindEnum,
    PortfolioChangeNode,
    PortfolioNode,
    PriceNode,
    SecurityNode,
)

From = Annotated[dt.date, strawberry.argument(name="from", description="First day of the range (inclusive).")]
To = Annotated[dt.date, strawberry.argument(description="Last day of the range (inclusive).")]
Symbol = Annotated[str, strawberry.argument(description="The ticker or your own code (any case; trimmed).")]


@strawberry.input(description="A new investment activity. Which fields a kind needs: BUY and SELL a symbol, quantity, "
                  "and price or amount; TRANSFER_IN a symbol, quantity and price or amount (the cost); TRANSFER_OUT a "
                  "symbol and quantity; SPLIT a symbol, splitFrom and splitTo; DIVIDEND, INTEREST, FEE, TAX, DEPOSIT "
                  "and WITHDRAWAL an amount (DIVIDEND, FEE and TAX may name a symbol).")
class RecordInvestmentActivityInput:
    account_id: relay.GlobalID = strawberry.field(description="One of your INVESTMENT accounts.")
    kind: KindEnum = strawberry.field(description="What happened.")
    date: dt.date = strawberry.field(description="The day; not in the future.")
    symbol: str | None = strawberry.field(default=None, description="The security; an unknown symbol becomes your own "
                                          "manual security, in the account's currency.")
    quantity: Decimal | None = strawberry.field(default=None, description="Units, greater than 0 (10 decimals).")
    price: Decimal | None = strawberry.field(default=None, description="Per unit, in the account's currency; without "
                                             "`amount`, amount = quantity x price + fee + tax (BUY) or - fee - tax (SELL).")
    amount: Decimal | None = strawberry.field(default=None, description="The total as on the broker's statement, in the "
                                              "account's currency (see InvestmentActivity.amount).")
    fee: Decimal | None = strawberry.field(default=None, description="Fees within the amount (BUY, SELL) or deducted "
                                           "from it (DIVIDEND, INTEREST).")
    tax: Decimal | None = strawberry.field(default=None, description="Taxes, as for fee.")
    split_from: Decimal | None = strawberry.field(default=None, description="SPLIT: old units (1 of 1:10).")
    split_to: Decimal | None = strawberry.field(default=None, description="SPLIT: new units (10 of 1:10).")
    note: str | None = strawberry.field(default=None, description="Up to 500 characters.")


@strawberry.input(description="Fields of an activity to change; omitted fields stay. Changing the kind asks for that "
                  "kind's fields again.")
class UpdateInvestmentActivityInput:
    id: relay.GlobalID = strawberry.field(description="The activity.")
    kind: KindEnum | None = strawberry.field(default=None, description="A new kind.")
    date: dt.date | None = strawberry.field(default=None, description="A new day.")
    symbol: str | None = strawberry.field(default=None, description="Another security.")
    quantity: Decimal | None = strawberry.field(default=None, description="New units.")
    price: Decimal | None = strawberry.field(default=None, description="New price per unit (recomputes the amount "
                                             "unless one is given).")
    amount: Decimal | None = strawberry.field(default=None, description="New total.")
    fee: Decimal | None = strawberry.field(default=None, description="New fee.")
    tax: Decimal | None = strawberry.field(default=None, description="New tax.")
    split_from: Decimal | None = strawberry.field(default=None, description="New old units of a split.")
    split_to: Decimal | None = strawberry.field(default=None, description="New new units of a split.")
    note: str | None = strawberry.field(default=None, description="New note.")


@strawberry.input(description="A close price of a security on a day.")
class SetPriceInput:
    symbol: str = strawberry.field(description="Your own security (any person), or a market one (administrators; a "
                                   "new symbol becomes a market security).")
    date: dt.date = strawberry.field(description="The day of the close.")
    price: Decimal = strawberry.field(description="Greater than 0, in the security's currency (10 decimals).")
    currency: CurrencyCode | None = strawberry.field(default=None, description="The security's currency: required for a new "
                                            "symbol, checked otherwise.")


@strawberry.input(description="A CSV of activities for one INVESTMENT account: a header row naming the columns "
                  "(date, kind, symbol, quantity, price, amount, fee, tax, splitFrom, splitTo, note; any order and case; "
                  "type, ticker, shares, total also understood), then one activity per row.")
class ImportInvestmentActivitiesInput:
    account_id: relay.GlobalID = strawberry.field(description="One of your INVESTMENT accounts.")
    csv: str = strawberry.field(description="The file's text (at most 5,000 rows, 2 MB).")
    dry_run: bool = strawberry.field(default=True, description="Check and preview only (the default); nothing is kept.")
    date_format: DateFormatEnum | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="How dates are written; default: detected (ambiguous day/month is an error).")
    decimal_separator: str | None = strawberry.field(default=None, description="\".\" or \",\"; default: detected.")


@strawberry.input(description="A CSV of closes: symbol, date, price (or close) and, for a new symbol, currency.")
class ImportPricesInput:
    csv: str = strawberry.field(description="The file's text (at most 5,000 rows). Each row follows setPrice's rules.")


@strawberry.input(description="The investment activity to delete.")
class DeleteInvestmentActivityInput:
    id: relay.GlobalID = strawberry.field(description="The activity.")


@strawberry.input(description="The investment import to undo.")
class UndoInvestmentImportInput:
    import_id: str = strawberry.field(description="The importId importInvestmentActivities answered.")


@strawberry.input(description="The cost method to use by default.")
class SetCostMethodInput:
    method: CostMethodEnum = strawberry.field(description="FIFO or AVERAGE.")  # type: ignore[valid-type]


@strawberry.type(name="InvestmentImportRowError", description="A row of an import that was left out, and why.")
class ImportRowErrorNode:
    line: int = strawberry.field(description="The row's line in the file (1 is the header).")
    field: str | None = strawberry.field(description="The column at fault (as in recordInvestmentActivity's input), or null.")
    message: str = strawberry.field(description="What is wrong.")


@strawberry.type(name="InvestmentImportRow", description="A row that was (or, in a dry run, would be) added.")
class ImportRowNode:
    line: int = strawberry.field(description="The row's line in the file.")
    kind: KindEnum = strawberry.field(description="The activity's kind.")
    date: dt.date = strawberry.field(description="Its day.")
    symbol: str | None = strawberry.field(description="Its security's symbol, if any.")
    quantity: Decimal | None = strawberry.field(description="Units, for kinds that move units.")
    amount: Decimal = strawberry.field(description="Its total, in the account's currency.")
    fee: Decimal = strawberry.field(description="Its fee.")
    tax: Decimal = strawberry.field(description="Its tax.")


@strawberry.type(description="The result of importInvestmentActivities.")
class ImportInvestmentActivitiesPayload:
    import_id: str | None = strawberry.field(description="Give it to undoInvestmentImport to remove what was added; null "
                                             "for a dry run or when nothing was added.")
    dry_run: bool = strawberry.field(description="Whether this was only a preview.")
    rows: int = strawberry.field(description="Rows read (the header not counted).")
    added: list[ImportRowNode] = strawberry.field(description="Rows added (or that would be).")
    duplicates: list[int] = strawberry.field(description="Lines skipped as equal to an existing activity or an earlier row.")
    row_errors: list[ImportRowErrorNode] = strawberry.field(description="Rows left out, with the reason.")
    errors: list[UserError] = strawberry.field(description="Why the file as a whole was refused, if so.")


@strawberry.type(description="The result of undoInvestmentImport.")
class UndoInvestmentImportPayload:
    removed: int = strawberry.field(description="Activities removed.")
    errors: list[UserError] = strawberry.field(description="Why nothing was removed, if so.")


@strawberry.type(description="The result of importPrices.")
class ImportPricesPayload:
    stored: int = strawberry.field(description="Closes stored.")
    row_errors: list[ImportRowErrorNode] = strawberry.field(description="Rows left out, with the reason.")
    errors: list[UserError] = strawberry.field(description="Why the file as a whole was refused, if so.")


@strawberry.type(description="The result of recording or changing an investment activity.")
class InvestmentActivityPayload:
    activity: InvestmentActivityNode | None = strawberry.field(description="The activity, or null on errors.")
    errors: list[UserError] = strawberry.field(description="Why nothing was changed, if so.")


@strawberry.type(description="The result of setPrice.")
class SetPricePayload:
    price: PriceNode | None = strawberry.field(description="The stored price, or null on errors.")
    errors: list[UserError] = strawberry.field(description="Why nothing was stored, if so.")


@strawberry.input(description="Units of a security to move from one of your INVESTMENT accounts to another (both in one "
                  "currency), keeping their lots' first days and cost.")
class TransferSecuritiesInput:
    from_account_id: relay.GlobalID = strawberry.field(description="The INVESTMENT account the units leave.")
    to_account_id: relay.GlobalID = strawberry.field(description="The INVESTMENT account they arrive in.")
    symbol: str = strawberry.field(description="The security.")
    quantity: Decimal = strawberry.field(description="Units, greater than 0 and at most what the source holds that day.")
    date: dt.date = strawberry.field(description="The day of the transfer; not in the future.")
    note: str | None = strawberry.field(default=None, description="Up to 500 characters, on both sides.")


@strawberry.type(description="The result of transferSecurities.")
class TransferSecuritiesPayload:
    transfer_out: InvestmentActivityNode | None = strawberry.field(
        description="The TRANSFER_OUT in the source account (its amount: the cost moved).")
    transfers_in: list[InvestmentActivityNode] = strawberry.field(
        description="The TRANSFER_INs in the target account, one per lot moved (oldest first), with the lot's first "
                    "day and cost.")
    errors: list[UserError] = strawberry.field(description="Why nothing was moved, if so.")


@strawberry.type(description="The result of setCostMethod.")
class SetCostMethodPayload:
    cost_method: CostMethodEnum | None = strawberry.field(description="Your cost method now.")
    errors: list[UserError] = strawberry.field(description="Why nothing was changed, if so.")


# The portfolio's fields that need the positions replayed (the others come from the days' values).
POSITION_FIELDS = ("cash", "costBasis", "unrealizedGain", "realizedGain", "dividends", "interest", "fees", "taxes",
                   "holdings", "allocation", "missing")


def _selects(selections, name: str) -> bool:
    """Whether `name` is selected right below these fields, fragments included."""
    for selection in selections:
        for child in selection.selections:
            if isinstance(child, SelectedField):
                if child.name == name:
                    return True
            elif _selects([child], name):  # an inline fragment or a fragment spread: look inside
                return True
    return False


def _data(input: RecordInvestmentActivityInput | UpdateInvestmentActivityInput) -> service.ActivityInput:
    return service.ActivityInput(
        kind=input.kind, date=input.date, symbol=input.symbol, quantity=input.quantity, price=input.price,
        amount=input.amount, fee=input.fee, tax=input.tax, split_from=input.split_from, split_to=input.split_to,
        note=input.note,
    )


@strawberry.type
class InvestmentsQuery:
    @strawberry.field(description="Your investment accounts (or the ones named) between two days, in your base "
                      "currency: value, cash, cost basis, gains, income, fees, taxes, TWR, XIRR, holdings, allocation "
                      "and history. Uncomputable figures are null with a reason.")
    async def portfolio(
        self, info: Info[Context, None], from_: From, to: To,
        account_ids: Annotated[list[relay.GlobalID] | None, strawberry.argument(
            description="INVESTMENT accounts of yours; default: all of them.")] = None,
        cost_method: Annotated[CostMethodEnum | None, strawberry.argument(  # type: ignore[valid-type]
            description="FIFO or AVERAGE; default: your setting (FIFO unless changed).")] = None,
    ) -> PortfolioNode:
        context = info.context
        viewer = await context.viewer()
        wants_history = _selects(info.selected_fields, "history")
        positions = any(_selects(info.selected_fields, name) for name in POSITION_FIELDS)
        try:
            ids = [decode_id(i, AccountNode, "accountIds") for i in account_ids] if account_ids else None
            found = await valuation.portfolio(context.session, context.runtime, viewer, account_ids=ids, start=from_,
                                            end=to, method=cost_method, history=wants_history, positions=positions)
        except ServiceError as error:
            raise BadUserInput(error) from None
        return PortfolioNode.of(found)

    @strawberry.field(description="Your investment activities, oldest first (at most 1,000).")
    async def investment_activities(
        self, info: Info[Context, None],
        account_ids: Annotated[list[relay.GlobalID] | None, strawberry.argument(
            description="Only these accounts.")] = None,
        from_: Annotated[dt.date | None, strawberry.argument(name="from", description="First day (inclusive).")] = None,
        to: Annotated[dt.date | None, strawberry.argument(description="Last day (inclusive).")] = None,
    ) -> list[InvestmentActivityNode]:
        context = info.context
        viewer = await context.viewer()
        try:
            ids = [decode_id(i, AccountNode, "accountIds") for i in account_ids] if account_ids else None
        except ServiceError:
            return []
        rows = await service.list_activities(context.session, viewer, account_ids=ids, start=from_, end=to)
        return [InvestmentActivityNode.of(row) for row in rows]

    @strawberry.field(description="Your own security or a market one by symbol (yours shadows the market's); null "
                      "when there is none. Its closes: securityPrices.")
    async def security(self, info: Info[Context, None], symbol: Symbol) -> SecurityNode | None:
        context = info.context
        viewer = await context.viewer()
        try:
            found = await service.find_security(context.session, viewer, service.clean_symbol(symbol))
        except ServiceError:
            return None
        return SecurityNode.of(found) if found else None

    @strawberry.field(description="Recent closes of a security (newest first, at most 100).")
    async def security_prices(self, info: Info[Context, None], symbol: Symbol) -> list[PriceNode]:
        context = info.context
        viewer = await context.viewer()
        try:
            security, rows = await service.list_prices(context.session, viewer, symbol=symbol)
        except ServiceError:
            return []
        return [PriceNode(symbol=security.symbol, date=r.date, price=r.close.normalize(), currency=r.currency,
                          source=r.source) for r in rows]

    @strawberry.field(description="Your cost method setting (FIFO unless changed).")
    async def cost_method(self, info: Info[Context, None]) -> CostMethodEnum:  # type: ignore[valid-type]
        context = info.context
        return await service.cost_method(context.session, await context.viewer())


@strawberry.type
class InvestmentsMutation:
    @strawberry.mutation(description="Record an investment activity. Selling more than is held, withdrawing more cash "
                         "than is in the account, or splitting nothing is INVALID on the field at fault.")
    async def record_investment_activity(
        self, info: Info[Context, None],
        input: Annotated[RecordInvestmentActivityInput, strawberry.argument(description="The activity to record.")],
    ) -> InvestmentActivityPayload:
        context = info.context
        viewer = await context.viewer()
        row, errors = await perform(context, lambda session: service.record_activity(
            session, context.runtime, viewer, account_id=decode_id(input.account_id, AccountNode, "accountId"),
            data=_data(input)))
        return InvestmentActivityPayload(activity=InvestmentActivityNode.of(row) if row else None, errors=errors)

    @strawberry.mutation(description="Change an activity; refused when it would make a later one impossible.")
    async def update_investment_activity(
        self, info: Info[Context, None],
        input: Annotated[UpdateInvestmentActivityInput, strawberry.argument(
            description="The activity and the fields to change.")],
    ) -> InvestmentActivityPayload:
        context = info.context
        viewer = await context.viewer()
        row, errors = await perform(context, lambda session: service.update_activity(
            session, context.runtime, viewer, decode_id(input.id, InvestmentActivityNode, "id"), data=_data(input)))
        return InvestmentActivityPayload(activity=InvestmentActivityNode.of(row) if row else None, errors=errors)

    @strawberry.mutation(description="Delete an activity (of a transfer between your accounts: all of its activities); "
                         "refused when a later one depends on it (a sale of its units).")
    async def delete_investment_activity(
        self, info: Info[Context, None],
        input: Annotated[DeleteInvestmentActivityInput, strawberry.argument(description="The activity to delete.")],
    ) -> DeletePayload:
        context = info.context
        viewer = await context.viewer()
        deleted, errors = await perform(context, lambda session: service.delete_activity(
            session, context.runtime, viewer, decode_id(input.id, InvestmentActivityNode, "id")))
        return DeletePayload(deleted_ids=[relay.GlobalID("InvestmentActivity", str(i)) for i in deleted or ()],
                             errors=errors)

    @strawberry.mutation(description="Move units of a security between two of your INVESTMENT accounts with their lots "
                         "(first days and cost): a TRANSFER_OUT and one TRANSFER_IN per lot, linked (deleting one "
                         "deletes all). More than held is INVALID on quantity, the same account or another currency "
                         "INVALID on toAccountId.")
    async def transfer_securities(
        self, info: Info[Context, None],
        input: Annotated[TransferSecuritiesInput, strawberry.argument(description="The accounts, security, units and day.")],
    ) -> TransferSecuritiesPayload:
        context = info.context
        viewer = await context.viewer()
        moved, errors = await perform(context, lambda session: transfers.transfer_securities(
            session, context.runtime, viewer, from_account_id=decode_id(input.from_account_id, AccountNode, "fromAccountId"),
            to_account_id=decode_id(input.to_account_id, AccountNode, "toAccountId"), symbol=input.symbol,
            quantity=input.quantity, date=input.date, note=input.note))
        if moved is None:
            return TransferSecuritiesPayload(transfer_out=None, transfers_in=[], errors=errors)
        return TransferSecuritiesPayload(transfer_out=InvestmentActivityNode.of(moved.out),
                                         transfers_in=[InvestmentActivityNode.of(row) for row in moved.ins], errors=[])

    @strawberry.mutation(description="Store a close price of your own (manual) security; a new symbol becomes one. "
                         "Market securities are admin only: administrators price them (and an administrator's new "
                         "symbol becomes a market security); anyone else gets FORBIDDEN on symbol.")
    async def set_price(
        self, info: Info[Context, None],
        input: Annotated[SetPriceInput, strawberry.argument(description="The security, day, close and currency.")],
    ) -> SetPricePayload:
        context = info.context
        viewer = await context.viewer()
        price, errors = await perform(context, lambda session: service.set_price(
            session, context.runtime, viewer, symbol=input.symbol, date=input.date, price=input.price,
            currency=input.currency))
        node = None
        if price is not None:
            node = PriceNode(symbol=service.clean_symbol(input.symbol), date=price.date, price=price.close.normalize(),
                             currency=price.currency, source=price.source)
        return SetPricePayload(price=node, errors=errors)

    @strawberry.mutation(description="Import activities from a CSV into an INVESTMENT account: each row is validated "
                         "like recordInvestmentActivity, bad rows are reported and left out, duplicates skipped. "
                         "dryRun (the default) previews without keeping anything. In the request, at most 5,000 rows; "
                         "startImport into the INVESTMENT account runs the same checks as a background job (uploads, "
                         "progress, confirmImport, undoImport).")
    async def import_investment_activities(
        self, info: Info[Context, None],
        input: Annotated[ImportInvestmentActivitiesInput, strawberry.argument(
            description="The account, the CSV and how to read it.")],
    ) -> ImportInvestmentActivitiesPayload:
        context = info.context
        viewer = await context.viewer()
        result, errors = await perform(context, lambda session: imports.import_activities(
            session, context.runtime, viewer, account_id=decode_id(input.account_id, AccountNode, "accountId"),
            csv=input.csv, dry_run=input.dry_run, date_format=input.date_format,
            decimal_separator=input.decimal_separator))
        if result is None:
            return ImportInvestmentActivitiesPayload(import_id=None, dry_run=input.dry_run, rows=0, added=[],
                                                     duplicates=[], row_errors=[], errors=errors)
        return ImportInvestmentActivitiesPayload(
            import_id=str(result.import_id) if result.import_id else None, dry_run=result.dry_run, rows=result.rows,
            added=[ImportRowNode(line=r.line, kind=r.activity.kind, date=r.activity.date, symbol=r.symbol,
                                 quantity=r.activity.quantity.normalize() if r.activity.kind in _WITH_QUANTITY else None,
                                 amount=r.activity.amount, fee=r.activity.fee, tax=r.activity.tax) for r in result.added],
            duplicates=result.duplicates,
            row_errors=[ImportRowErrorNode(line=i.line, field=i.field, message=i.message) for i in result.issues],
            errors=[],
        )

    @strawberry.mutation(description="Remove every activity an import added; refused when later activities depend on them.")
    async def undo_investment_import(
        self, info: Info[Context, None],
        input: Annotated[UndoInvestmentImportInput, strawberry.argument(description="The import to undo.")],
    ) -> UndoInvestmentImportPayload:
        context = info.context
        viewer = await context.viewer()

        async def work(session):
            try:
                parsed = uuid.UUID(input.import_id)
            except ValueError:
                raise ServiceError(ErrorCode.NOT_FOUND, "No import of yours has this id.", "importId") from None
            return await imports.undo_import(session, context.runtime, viewer, parsed)

        removed, errors = await perform(context, work)
        return UndoInvestmentImportPayload(removed=removed or 0, errors=errors)

    @strawberry.mutation(description="Store closes from a CSV (symbol, date, price, currency), each row by setPrice's rules "
                         "(market securities are admin only; their rows are refused for anyone else).")
    async def import_prices(
        self, info: Info[Context, None],
        input: Annotated[ImportPricesInput, strawberry.argument(description="The CSV of closes.")],
    ) -> ImportPricesPayload:
        context = info.context
        viewer = await context.viewer()
        result, errors = await perform(context, lambda session: imports.import_prices(
            session, context.runtime, viewer, csv=input.csv))
        stored, issues = result if result else (0, [])
        return ImportPricesPayload(stored=stored, row_errors=[
            ImportRowErrorNode(line=i.line, field=i.field, message=i.message) for i in issues], errors=errors)

    @strawberry.mutation(description="Choose the cost method portfolio uses by default.")
    async def set_cost_method(
        self, info: Info[Context, None],
        input: Annotated[SetCostMethodInput, strawberry.argument(description="The method to use by default.")],
    ) -> SetCostMethodPayload:
        context = info.context
        viewer = await context.viewer()
        chosen, errors = await perform(context, lambda session: service.set_cost_method(session, viewer, input.method))
        return SetCostMethodPayload(cost_method=chosen, errors=errors)


@strawberry.type
class InvestmentsSubscription:
    @strawberry.subscription(description="Fires after your activities or an investment account's ledger rows change, "
                             "or a security you hold gets a new price.")
    async def portfolio_changed(self, info: Info[Context, None]) -> AsyncGenerator[PortfolioChangeNode, None]:
        async for _, message in viewer_messages(info.context, {service.PORTFOLIO_CHANGED}):
            yield PortfolioChangeNode(at=clock.now(), reason=str(message.get("reason", "ACTIVITY")))

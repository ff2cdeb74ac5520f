"""Tools over the person's transactions: search and total them, and find the recurring charges."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from finora_gql.assistant.tools.arguments import (
    ToolFailure,
    ToolRun,
    account_arg,
    category_arg,
    date_arg,
    decimal_arg,
)
from finora_gql.assistant.tools.names import fuzzy
from finora_gql.budgets import service as budgets
from finora_gql.core.money import round_money
from finora_gql.core.pagination import PageRequest
from finora_gql.transactions import service as ledger

MAX_ROWS_SCANNED = 5000
SAMPLE_ROWS = 8


async def search_transactions(session: AsyncSession, run: ToolRun, args: dict[str, Any]) -> dict[str, Any]:
    names = run.names
    start = date_arg(args.get("date_from"), "date_from", dt.date(1900, 1, 1))
    end = date_arg(args.get("date_to"), "date_to", names.today)
    merchant = None
    if args.get("merchant"):
        merchant = fuzzy(str(args["merchant"]), names.merchants)
        if merchant is None:
            raise ToolFailure(f"No merchant like {args['merchant']!r} appears in the transactions.",
                              "Search with `text` instead, or check the spelling.")
    category = category_arg(names, args.get("category"))
    account = account_arg(names, args.get("account"))
    direction = {"EXPENSE": ledger.Direction.EXPENSE, "INCOME": ledger.Direction.INCOME}.get(args.get("direction") or "")
    # The ledger's search matches whole words by prefix; "Trader Joe's" is searched by its plain words
    # (the apostrophe splits the indexed word) and then kept to that exact merchant below.
    text = (" ".join(w for w in merchant.split() if w.isalnum()) or None) if merchant else (args.get("text") or None)
    spec = ledger.Filter(
        date_from=start, date_to=end, direction=direction,
        category_ids=[category[1]] if category else None, account_ids=[account[1]] if account else None,
        amount_min=decimal_arg(args.get("min_amount"), "min_amount"), amount_max=decimal_arg(args.get("max_amount"), "max_amount"),
        search=text,
    )
    try:
        order = ledger.Order(args.get("order") or "DATE_DESC")
    except ValueError:
        raise ToolFailure(f"Unknown order {args.get('order')!r}.", "Use DATE_DESC, AMOUNT_ASC or AMOUNT_DESC.") from None
    key = "date" if order in (ledger.Order.DATE_DESC, ledger.Order.DATE_ASC) else "amount"
    rows: list[ledger.ListedTransaction] = []
    cursor = None
    while len(rows) < MAX_ROWS_SCANNED:
        page = await ledger.list_transactions(session, run.viewer, spec=spec, order=order,
                                              page=PageRequest(size=100, cursor=cursor, backward=False))
        rows.extend(page.rows)
        if not page.has_next or not page.rows:
            break
        cursor = (getattr(page.rows[-1], key), page.rows[-1].id)
    if merchant is not None:
        rows = [row for row in rows if (row.merchant or "").lower() == merchant.lower()]
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        totals[row.currency] += row.amount
    account_names = {v: k for k, v in names.accounts.items()}
    return {
        "period": {"from": str(start), "to": str(end)}, "merchant": merchant,
        "category": category[0] if category else None, "account": account[0] if account else None,
        "count": len(rows), "truncated": len(rows) >= MAX_ROWS_SCANNED,
        "totals_by_currency": {code: str(round_money(total, code)) for code, total in sorted(totals.items())},
        "transactions": [
            {"date": str(row.date), "amount": str(row.amount), "currency": row.currency, "merchant": row.merchant,
             "description": row.description, "account": account_names.get(row.account_id), "note": row.notes}
            for row in rows[:SAMPLE_ROWS]
        ],
    }


async def recurring_merchants(session: AsyncSession, run: ToolRun, args: dict[str, Any]) -> dict[str, Any]:
    months = int(args.get("months") or 6)
    if not 2 <= months <= 24:
        raise ToolFailure("months must be between 2 and 24.", "Use 6.")
    first = budgets.add_months(run.names.today.replace(day=1), -(months - 1))
    spec = ledger.Filter(date_from=first, date_to=run.names.today, direction=ledger.Direction.EXPENSE)
    seen: dict[tuple[str, str], dict[dt.date, list[Decimal]]] = defaultdict(lambda: defaultdict(list))
    cursor, scanned = None, 0
    while scanned < MAX_ROWS_SCANNED:
        page = await ledger.list_transactions(session, run.viewer, spec=spec, order=ledger.Order.DATE_DESC,
                                              page=PageRequest(size=100, cursor=cursor, backward=False))
        for row in page.rows:
            if row.merchant:
                seen[(row.merchant, row.currency)][row.date.replace(day=1)].append(row.amount)
        scanned += len(page.rows)
        if not page.has_next or not page.rows:
            break
        cursor = (page.rows[-1].date, page.rows[-1].id)
    found = []
    for (merchant, currency), by_month in seen.items():
        amounts = [a for values in by_month.values() for a in values]
        if len(by_month) < 3 or len(amounts) > len(by_month) * 1.5:
            continue
        typical = sorted(amounts)[len(amounts) // 2]
        if all(abs(a - typical) <= abs(typical) * Decimal("0.1") for a in amounts):
            found.append({"merchant": merchant, "currency": currency, "typical_amount": str(-typical),
                          "months_seen": len(by_month), "last_charged": str(max(by_month))[:7]})
    found.sort(key=lambda item: -Decimal(item["typical_amount"]))
    return {"since": str(first)[:7], "recurring": found}

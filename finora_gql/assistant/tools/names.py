"""The viewer's own names (categories, accounts, merchants, securities), for the tools' schemas
(as enums) and for matching what a model or a person wrote to them, fuzzily.
"""

from __future__ import annotations

import datetime as dt
import difflib
import uuid
from dataclasses import dataclass, field

from sqlmodel.ext.asyncio.session import AsyncSession

from finora_gql.accounts import service as accounts
from finora_gql.accounts.models import AccountType
from finora_gql.assistant.name_matching import find_name
from finora_gql.assistant.wording import norm
from finora_gql.budgets import service as budgets
from finora_gql.core.viewer import Viewer
from finora_gql.investments import service as investments
from finora_gql.transactions import categories
from finora_gql.transactions import service as ledger
from finora_gql.transactions.models import CategoryKind


@dataclass
class Names:
    """The viewer's own names, for schemas (enums) and fuzzy matching."""

    categories: dict[str, uuid.UUID] = field(default_factory=dict)  # every category, by name
    expense_categories: list[str] = field(default_factory=list)
    accounts: dict[str, uuid.UUID] = field(default_factory=dict)
    investment_accounts: dict[str, uuid.UUID] = field(default_factory=dict)
    securities: list[str] = field(default_factory=list)  # symbols the person has activities in
    merchants: list[str] = field(default_factory=list)
    base_currency: str = "USD"
    today: dt.date = dt.date(2000, 1, 1)
    category_parent: dict[str, str | None] = field(default_factory=dict)


async def load_names(session: AsyncSession, viewer: Viewer) -> Names:
    user = await budgets.current_user(session, viewer)
    rows = await categories.list_categories(session, viewer)
    by_id = {row.id: row for row in rows}
    names = Names(base_currency=user.base_currency, today=budgets.today_of(user))
    for row in rows:
        names.categories[row.name] = row.id
        names.category_parent[row.name] = by_id[row.parent_id].name if row.parent_id in by_id else None
        if row.kind is CategoryKind.EXPENSE:
            names.expense_categories.append(row.name)
    for account in await accounts.list_accounts(session, viewer):
        names.accounts[account.name] = account.id
        if account.type is AccountType.INVESTMENT:
            names.investment_accounts[account.name] = account.id
    names.merchants = await ledger.merchants(session, viewer)
    if names.investment_accounts:
        names.securities = await investments.held_symbols(session, viewer)
    return names


def fuzzy(value: str, options: list[str], *, cutoff: float = 0.72) -> str | None:
    """The option `value` names: exact (any case), then a prefix or containment, then close spelling."""
    if not value:
        return None
    wanted = norm(value)
    normalized = {norm(option): option for option in options}
    if wanted in normalized:
        return normalized[wanted]
    contained = [o for n, o in normalized.items() if n.startswith(wanted) or (len(wanted) >= 4 and wanted in n)]
    if len(contained) >= 1:
        return min(contained, key=len)
    close = difflib.get_close_matches(wanted, list(normalized), n=1, cutoff=cutoff)
    if close:
        return normalized[close[0]]
    return find_name(value, options, min_len=3)  # "blue botle": the start of one name, misspelt

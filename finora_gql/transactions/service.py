"""The transactions domain's service, one import for its callers; the code lives by concern:

- `cleaning`: drafts and changes as clients describe them, and the field rules;
- `ledger`: writes (transactions, transfers, the import COPY path), each moving balances and
  the daily totals in the same database transaction;
- `listing`: filters, cursors and the compiled page reads;
- `recategorization`: past rows given new categories (rules applied again, a category deleted);
- `categories` and `rules` for the viewer's categories and categorisation rules.
"""

from __future__ import annotations

from finora_gql.transactions.cleaning import EARLIEST, LATEST, MAX_TAGS, Changes, Draft
from finora_gql.transactions.ledger import (
    COPY_CHUNK,
    MAX_BULK,
    ImportedRow,
    add_imported,
    create_transaction,
    create_transactions,
    create_transfer,
    delete_transactions,
    get_transaction,
    get_transactions,
    readable,
    remembered_categories,
    remove_account_transactions,
    remove_imported,
    transactions,
    transfer_legs,
    update_transactions,
)
from finora_gql.transactions.listing import (
    Direction,
    Filter,
    ListedTransaction,
    Order,
    count_transactions,
    cursor_kind,
    cursor_of,
    filtered,
    list_transactions,
    merchants,
)
from finora_gql.transactions.recategorization import Recategorization, delete_category, recategorize

__all__ = [
    "COPY_CHUNK", "EARLIEST", "LATEST", "MAX_BULK", "MAX_TAGS", "Changes", "Direction", "Draft", "Filter",
    "ImportedRow", "ListedTransaction", "Order", "Recategorization", "add_imported", "count_transactions",
    "create_transaction", "create_transactions", "create_transfer", "cursor_kind", "cursor_of", "delete_category",
    "delete_transactions", "filtered", "get_transaction", "get_transactions", "list_transactions", "merchants", "readable",
    "recategorize", "remembered_categories", "remove_account_transactions", "remove_imported", "transactions",
    "transfer_legs", "update_transactions",
]

"""Categories of past transactions: the viewer's rules applied again (`recategorize`), and a
category's deletion leaving its transactions uncategorised. Both move the daily totals from one
category to another in the same transaction, as every ledger write does."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from finora_gql.core.db import any_of
from finora_gql.core.runtime import Runtime
from finora_gql.core.viewer import Viewer
from finora_gql.transactions import categories, ledger, rules
from finora_gql.transactions.models import Category, Transaction
from finora_gql.wallet import totals
from finora_gql.wallet.events import wallet_changed


@dataclass(frozen=True)
class Recategorization:
    transaction_id: uuid.UUID
    from_category_id: uuid.UUID | None
    to_category_id: uuid.UUID


async def recategorize(
    session: AsyncSession, rt: Runtime, viewer: Viewer, *, dry_run: bool, only_uncategorized: bool = True
) -> list[Recategorization]:
    """Apply the viewer's rules to past transactions; with `dry_run`, only say what would change."""
    matcher = await rules.matcher(session, viewer)
    if not matcher.rules:
        return []
    statement = ledger.readable(viewer).where(col(Transaction.transfer_id).is_(None))
    if only_uncategorized:
        statement = statement.where(col(Transaction.category_id).is_(None))
    rows = (await session.exec(statement.order_by(col(Transaction.date).desc(), col(Transaction.id)))).all()
    changes: list[Recategorization] = []
    moved: dict[uuid.UUID, list[Transaction]] = defaultdict(list)
    for row in rows:
        target = matcher.category_for(row.merchant, row.description)
        if target is not None and target != row.category_id:
            changes.append(Recategorization(row.id, row.category_id, target))
            moved[target].append(row)
    if dry_run or not changes:
        return changes
    before = [ledger.snapshot(row) for group in moved.values() for row in group]
    for target, group in moved.items():
        await session.exec(
            update(Transaction).where(any_of(col(Transaction.id), [row.id for row in group])).values(category_id=target)
        )
    after = [ledger.replace_category(ledger.snapshot(row), target) for target, group in moved.items() for row in group]
    await totals.apply_changes(session, added=after, removed=before)
    wallet_changed(session, rt, viewer.user_id)
    ledger.check_budgets_later(session, viewer, before)
    return changes


async def delete_category(session: AsyncSession, rt: Runtime, viewer: Viewer, category_id: uuid.UUID) -> Category:
    """Delete a category; its transactions become uncategorised (and the totals follow)."""
    category = await categories.get_category(session, viewer, category_id, field="id")
    affected = (await session.exec(ledger.readable(viewer).where(col(Transaction.category_id) == category.id))).all()
    before = [ledger.snapshot(row) for row in affected]
    after = [ledger.replace_category(snapshot, None) for snapshot in before]
    await session.delete(category)
    await session.flush()
    await totals.apply_changes(session, added=after, removed=before)
    wallet_changed(session, rt, viewer.user_id)
    ledger.check_budgets_later(session, viewer, before)
    return category

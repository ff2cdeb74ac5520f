"""Retrieval: the person's own documents (kept by jobs) and the shipped corpus of tips.

Per-user retrieval is an exact scan of that person's rows (a subquery on user_id, then ORDER BY
distance): an HNSW index with a user filter applies the filter after the index scan and returned
3-4 of 10 rows at 100k vectors. The HNSW index (partial, user_id IS NULL) serves the corpus only.
"""

from __future__ import annotations

import functools
import hashlib
import json
import uuid
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from pgvector.sqlalchemy import Vector
from sqlalchemy import bindparam, delete, text
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from finora_gql.assistant import embeddings
from finora_gql.assistant.models import EMBEDDING_DIMENSION, AiContext
from finora_gql.assistant.service import contexts
from finora_gql.budgets import service as budgets
from finora_gql.core import clock
from finora_gql.core.db import CompiledRead, fetch
from finora_gql.core.pagination import PageRequest
from finora_gql.core.runtime import Runtime
from finora_gql.core.viewer import Viewer
from finora_gql.transactions import categories
from finora_gql.transactions import service as ledger
from finora_gql.wallet import service as wallet
from finora_gql.wallet.totals import Bucket

CORPUS_FILE = Path(__file__).with_name("corpus.json")
CORPUS_EF_SEARCH = 100
NOTES_MAX = 200
USER_SOURCES = frozenset({"monthly", "categories", "merchants", "budgets", "goals", "note"})


@dataclass(frozen=True)
class Document:
    source: str
    key: str
    title: str
    content: str
    url: str | None = None

    @property
    def hash(self) -> str:
        return hashlib.sha256(f"{self.title}\n{self.content}".encode()).hexdigest()


@dataclass(frozen=True)
class Hit:
    source: str
    title: str
    content: str
    url: str | None
    distance: float


def corpus() -> list[Document]:
    return [Document("tip", item["key"], item["title"], item["content"], item["url"])
            for item in json.loads(CORPUS_FILE.read_text())]


async def _upsert(session: AsyncSession, rt: Runtime, user_id: uuid.UUID | None, documents: list[Document], *,
                  force: bool = False) -> int:
    """Store `documents` (embedding only those new or changed, or all with `force`); drop the
    owner's rows of the same sources that are no longer among them. Returns how many were embedded."""
    model = embeddings.model_name(rt.settings)
    owner = AiContext.user_id.is_(None) if user_id is None else contexts.owned_by(user_id)  # type: ignore[union-attr]
    known = {(row.source, row.key): (row.content_hash, row.model) for row in (await session.exec(
        select(AiContext).where(owner))).all()}
    wanted = {(d.source, d.key): d for d in documents}
    sources = {"tip"} if user_id is None else USER_SOURCES
    stale = [key for key in known if key not in wanted and key[0] in sources]
    for source, key in stale:
        await session.exec(delete(AiContext).where(owner, col(AiContext.source) == source, col(AiContext.key) == key))
    changed = [d for k, d in wanted.items() if force or known.get(k) != (d.hash, model)]
    for start in range(0, len(changed), 256):
        batch = changed[start:start + 256]
        vectors = await embeddings.embed(rt.settings, [f"{d.title}. {d.content}" for d in batch])
        rows = [{"id": uuid.uuid4(), "user_id": user_id, "source": d.source, "key": d.key, "title": d.title[:300],
                 "content": d.content, "url": d.url, "embedding": v, "model": model, "dimension": len(v),
                 "content_hash": d.hash, "updated_at": clock.now()} for d, v in zip(batch, vectors, strict=True)]
        statement = insert(AiContext).values(rows)
        await session.exec(statement.on_conflict_do_update(
            constraint="uq_ai_context_source_key",
            set_={name: statement.excluded[name] for name in
                  ("title", "content", "url", "embedding", "model", "dimension", "content_hash", "updated_at")}))
    return len(changed)


async def ensure_corpus(session: AsyncSession, rt: Runtime, *, force: bool = False) -> int:
    """The shipped tips, embedded with the configured model (a no-op when already there)."""
    return await _upsert(session, rt, None, corpus(), force=force)


async def user_documents(session: AsyncSession, rt: Runtime, viewer: Viewer) -> list[Document]:
    """What the assistant should be able to recall about one person, from the same services the API uses."""
    today = budgets.today_of(await budgets.current_user(session, viewer))
    first = today.replace(day=1)
    docs: list[Document] = []
    start = budgets.add_months(first, -11)
    summary = await wallet.cashflow(session, rt, viewer, start=start, end=today, granularity=Bucket.MONTH)
    for flow in summary.buckets:
        docs.append(Document("monthly", str(flow.period)[:7], f"{flow.period:%B %Y} summary",
                             f"In {flow.period:%B %Y} income was {flow.income} {summary.currency}, expenses "
                             f"{flow.expenses} {summary.currency}, net {flow.net} {summary.currency}."))
    rows = await categories.list_categories(session, viewer)
    docs.append(Document("categories", "all", "Categories",
                         "Categories: " + ", ".join(f"{c.name} ({c.kind.value.lower()})" for c in rows)))
    merchants = await ledger.merchants(session, viewer, limit=100)
    if merchants:
        docs.append(Document("merchants", "all", "Merchants", "Merchants most often paid: " + ", ".join(merchants)))
    status = await budgets.budget_status(session, viewer, month=first)
    names = {c.id: c.name for c in rows}
    if status.lines:
        docs.append(Document("budgets", str(first)[:7], f"Budgets {first:%B %Y}", "; ".join(
            f"{names.get(line.budget.category_id, '?')}: limit {line.limit}, spent {line.spent}, remaining "
            f"{line.remaining} {status.currency}" for line in status.lines)))
    progress = await budgets.goal_progress(session, viewer, await budgets.list_goals(session, viewer), today=today)
    for p in progress:
        docs.append(Document("goals", str(p.goal.id), f"Goal {p.goal.name}",
                             f"Goal {p.goal.name}: {p.progress} of {p.goal.target_amount} {p.goal.currency}"
                             f"{', target date ' + str(p.goal.target_date) if p.goal.target_date else ''}."))
    page = await ledger.list_transactions(
        session, viewer, spec=ledger.Filter(date_from=budgets.add_months(first, -12)), order=ledger.Order.DATE_DESC,
        page=PageRequest(size=100, cursor=None, backward=False))
    noted = [row for row in page.rows if row.notes][:NOTES_MAX]
    for row in noted:
        docs.append(Document("note", str(row.id), f"Note on {row.merchant or row.description} {row.date}",
                             f"Transaction note (the person's own words, data only): {row.notes}"))
    return docs


async def refresh_user(session: AsyncSession, rt: Runtime, user_id: uuid.UUID, *, force: bool = False) -> int:
    viewer = Viewer.acting_for(user_id)
    return await _upsert(session, rt, user_id, await user_documents(session, rt, viewer), force=force)


def _vector_literal(vector: list[float]) -> str:
    return "[" + ",".join(f"{x:.6f}" for x in vector) + "]"


@functools.cache
def _user_read() -> CompiledRead:
    """The viewer's rows by distance: compiled once. The HNSW index is partial (the corpus only), so
    this is always an exact scan of the person's own rows (through ix_ai_context_user): full recall.
    Every stored and query vector is unit length (embeddings.py), so the order by negative inner
    product is the cosine order, at ~60% of its cost (no norms per row); cosine distance = 1 + it."""
    query = bindparam("query", type_=Vector(EMBEDDING_DIMENSION))
    mine = sa_select(AiContext).where(contexts.owned_by(bindparam("user_id"))).subquery()
    negative_inner = mine.c.embedding.max_inner_product(query)
    return CompiledRead(sa_select(mine.c.source, mine.c.title, mine.c.content, mine.c.url,
                                  (1 + negative_inner).label("distance"))
                        .order_by(negative_inner).limit(bindparam("k")))


async def search_user(session: AsyncSession, viewer: Viewer, vector: list[float], *, k: int = 10) -> list[Hit]:
    """The viewer's k nearest documents: an exact scan of their own rows (full recall)."""
    if k <= 0:
        return []
    rows = await fetch(session, _user_read(), {"user_id": viewer.user_id, "query": vector, "k": k})
    return [Hit(*row) for row in rows]


async def search_corpus(session: AsyncSession, vector: list[float], *, k: int = 10, exact: bool = False) -> list[Hit]:
    """The k nearest tips of the shared corpus, through its HNSW index (or exactly, for measuring)."""
    distance = col(AiContext.embedding).cosine_distance(vector)
    # Exact: an ordering the index cannot serve, written as different SQL (asyncpg caches plans per
    # SQL text, so a SET would not change an already prepared statement's plan).
    order = distance + 0 if exact else distance
    statement = (select(AiContext.source, AiContext.title, AiContext.content, AiContext.url, distance.label("distance"))
                 .where(col(AiContext.user_id).is_(None)).order_by(order).limit(k))
    if not exact:
        # Read by the index scan as it starts (not at planning), so a cached plan still honours it.
        await session.exec(text(f"SET LOCAL hnsw.ef_search = {CORPUS_EF_SEARCH}"))
    rows = (await session.exec(statement)).all()
    return [Hit(*row) for row in rows]


async def retrieve(session: AsyncSession, rt: Runtime, viewer: Viewer, question: str, *, mine: int = 4,
                   tips: int = 3) -> list[Hit]:
    vector = (await embeddings.embed(rt.settings, [question]))[0]
    found = await search_user(session, viewer, vector, k=mine)
    found += await search_corpus(session, vector, k=tips)
    return found


def money_text(value: Decimal) -> str:
    return f"{value:,.2f}"


async def reindex(rt: Runtime, *, users: bool = True, force: bool = True) -> dict[str, int]:
    """Rebuild every embedding with the configured model (after a change of embedder)."""
    from finora_gql.users.models import User

    counts = {"corpus": 0, "users": 0, "documents": 0}
    async with rt.sessions() as session:
        counts["corpus"] = await ensure_corpus(session, rt, force=force)
        await session.commit()
    if users:
        async with rt.sessions() as session:
            user_ids = (await session.exec(select(User.id))).all()
        for user_id in user_ids:
            async with rt.sessions() as session:
                counts["documents"] += await refresh_user(session, rt, user_id, force=force)
                await session.commit()
            counts["users"] += 1
    return counts

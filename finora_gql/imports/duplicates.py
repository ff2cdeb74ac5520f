"""Telling a row already in the ledger from a new one.

Exact: the same external id in the account, or the same content hash. The hash covers the
date, the amount and the texts, plus how many identical rows came before it in the same file,
so two real coffees of the same price on one day both import, and a second import of the
file matches both. Likely: a row of the same account and amount within three days whose
merchant reads similarly; flagged with a score and the reason, for a person to decide.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from difflib import SequenceMatcher

WINDOW_DAYS = 3
MIN_SIMILARITY = 0.6
_NOISE = re.compile(r"[^a-z0-9]+")


def _normal(text: str | None) -> str:
    return _NOISE.sub(" ", (text or "").lower()).strip()


class ContentHasher:
    """Hashes rows of one file in order; identical rows get distinct hashes by occurrence."""

    def __init__(self) -> None:
        self._seen: Counter[str] = Counter()

    def __call__(self, date: dt.date, amount: Decimal, description: str, merchant: str | None) -> str:
        content = f"{date.isoformat()}|{amount}|{_normal(description)}|{_normal(merchant)}"
        occurrence = self._seen[content]
        self._seen[content] = occurrence + 1
        return hashlib.sha256(f"{content}|{occurrence}".encode()).hexdigest()[:40]


@dataclass(frozen=True, slots=True)
class Existing:
    id: object
    date: dt.date
    amount: Decimal
    text: str  # normalised merchant, else description


@dataclass(frozen=True, slots=True)
class LikelyMatch:
    transaction_id: object
    score: float
    reason: str


def label(merchant: str | None, description: str) -> str:
    return _normal(merchant) or _normal(description)


class LikelyDuplicates:
    """Existing rows of one account indexed by amount, then by date, for quick neighbour lookups."""

    def __init__(self, rows: Iterable[Existing]) -> None:
        by_amount: dict[Decimal, list[Existing]] = defaultdict(list)
        for row in rows:
            by_amount[row.amount].append(row)
        self._by_amount = {amount: sorted(group, key=lambda r: r.date) for amount, group in by_amount.items()}
        self._dates = {amount: [r.date for r in group] for amount, group in self._by_amount.items()}

    def best(self, date: dt.date, amount: Decimal, merchant: str | None, description: str) -> LikelyMatch | None:
        group = self._by_amount.get(amount)
        if not group:
            return None
        text = label(merchant, description)
        start = bisect_left(self._dates[amount], date - dt.timedelta(days=WINDOW_DAYS))
        best: LikelyMatch | None = None
        for candidate in group[start:]:
            days = (candidate.date - date).days
            if days > WINDOW_DAYS:
                break
            similarity = SequenceMatcher(None, text, candidate.text).ratio() if text and candidate.text else 0.5
            if similarity < MIN_SIMILARITY and (text or candidate.text):
                continue
            # Closeness in time and in name count equally; the amount is already the same.
            score = round(0.5 * similarity + 0.5 * (1 - abs(days) / (WINDOW_DAYS + 1)), 2)
            if best is None or score > best.score:
                apart = "the same day" if days == 0 else f"{abs(days)} day{'s' if abs(days) > 1 else ''} apart"
                reason = (f"same amount {amount}, {apart}, "
                          f"“{text or '—'}” reads like “{candidate.text or '—'}” ({round(similarity * 100)}%)")
                best = LikelyMatch(candidate.id, score, reason)
        return best

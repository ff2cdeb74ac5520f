"""Which of the person's own names (categories, merchants, accounts) a question mentions: whole
names, synonyms, then close spellings of a name or of its distinctive start ("blue botle").
"""

from __future__ import annotations

import difflib
import functools
from dataclasses import dataclass

from finora_gql.assistant.wording import SYNONYMS, has, norm


def find_name(text: str, options: list[str], *, synonyms: bool = False, min_len: int = 3) -> str | None:
    """Which of the person's names the question mentions: whole-name match, then synonyms, then
    close spellings of single words and word pairs."""
    padded = f" {norm(text)} "
    best: tuple[str, str] | None = None  # (option, the phrase that named it): the longest phrase wins
    for option in options:
        name = norm(option)
        plural = name[:-1] if name.endswith("s") else name + "s"
        for phrase in (name, plural if len(name) >= 4 else ""):
            if phrase and f" {phrase} " in padded and (best is None or len(phrase) > len(best[1])):
                best = (option, phrase)
    if synonyms:
        for option in options:
            for word in SYNONYMS.get(option, ()):
                phrase = norm(word)
                if f" {phrase} " in padded and (best is None or len(phrase) > len(best[1])):
                    best = (option, phrase)
    if best:
        return best[0]
    words = padded.split()
    grams = words + [" ".join(words[i:i + 2]) for i in range(len(words) - 1)] + [
        " ".join(words[i:i + 3]) for i in range(len(words) - 2)]
    index = _name_index(tuple(options))
    best_score, best_option = 0.0, None
    for gram in grams:
        if len(gram) < min_len or gram in STOP:
            continue
        if gram in index.heads:
            return index.heads[gram]
        size = len(gram.split())
        shared: dict[int, int] = {}
        for trigram in _trigrams(gram):
            for target_id in index.by_trigram.get(trigram, ()):
                shared[target_id] = shared.get(target_id, 0) + 1
        for target_id, count in shared.items():
            target, option, penalty, words_in = index.targets[target_id]
            if count < 2 or (penalty and not (size == words_in and (size >= 2 or len(gram) >= 5))):
                continue
            floor = max(best_score, 0.84) + penalty
            if gram[0] != target[0]:  # a typo rarely hits the first letter; "right" is not "bright"
                continue
            if 2 * min(len(gram), len(target)) / (len(gram) + len(target)) <= floor:
                continue
            score = difflib.SequenceMatcher(None, gram, target).ratio() - penalty
            if score > best_score:
                best_score, best_option = score, option
    return best_option if best_score >= 0.84 else None  # noqa: RET504

@dataclass(frozen=True)
class _NameIndex:
    heads: dict[str, str]  # a distinctive first word ("starbucks") -> its one name
    targets: list[tuple[str, str, float, int]]  # (text, option, penalty, words) to compare a phrase with
    by_trigram: dict[str, list[int]]

def _trigrams(text: str) -> set[str]:
    padded = f" {text} "
    return {padded[i:i + 3] for i in range(len(padded) - 2)}

@functools.lru_cache(maxsize=64)
def _name_index(options: tuple[str, ...]) -> _NameIndex:
    """What fuzzy matching compares a question's phrases with, built once per list of names: each
    name, and each start of a name nobody else's starts with ("blue bottle" for "Blue Bottle
    Coffee", slightly penalised); a phrase is compared only with targets sharing two trigrams."""
    normalized = {norm(o): o for o in options}
    starts: dict[str, str | None] = {}
    for name, option in normalized.items():
        parts = name.split()
        for size in range(1, len(parts)):
            prefix = " ".join(parts[:size])
            starts[prefix] = option if prefix not in starts else None
    heads = {prefix: option for prefix, option in starts.items()
             if option is not None and " " not in prefix and len(prefix) >= 5}
    targets = [(name, option, 0.0, len(name.split())) for name, option in normalized.items()]
    targets += [(prefix, option, 0.02, len(prefix.split())) for prefix, option in starts.items() if option is not None]
    by_trigram: dict[str, list[int]] = {}
    for target_id, target in enumerate(targets):
        for trigram in _trigrams(target[0]):
            by_trigram.setdefault(trigram, []).append(target_id)
    return _NameIndex(heads, targets, by_trigram)

STOP = {"what", "much", "spend", "spent", "spending", "this", "that", "last", "month", "year", "with", "from", "have",
        "about", "budget", "money", "total", "there", "their", "which", "where", "when", "into", "make", "made",
        "show", "list", "tell", "give", "account", "accounts", "balance", "income", "goal", "goals", "cost", "costs",
        "week", "days", "many", "times", "every", "each", "more", "less", "over", "under", "left", "still",
        "save", "saved", "savings", "would", "could", "should", "if i", "by", "cut", "what if", "the", "and", "for",
        "my", "in", "on", "at", "to", "did", "do", "i", "me", "how", "was", "is", "are", "of", "a", "an"}


ACCOUNT_WORDS = {"checking": ("checking", "current account"), "savings": ("savings", "saving account"),
                 "credit": ("credit card", "card"), "euro": ("euro", "eur")}

def find_account(text: str, accounts: list[str]) -> str | None:
    direct = find_name(text, accounts, min_len=6)
    if direct:
        return direct
    for key, words in ACCOUNT_WORDS.items():
        if has(text, *words):
            matches = [a for a in accounts if key in a.lower() or any(w in a.lower() for w in words)]
            if len(matches) == 1:
                return matches[0]
    return None

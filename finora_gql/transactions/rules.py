"""Categorisation rules: the viewer's own patterns, tried in priority order.

Regular expressions run on RE2 (google-re2): matching takes time linear in the text, so no
pattern a user writes can stall the process; patterns RE2 cannot take are refused on `pattern`.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import re2
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from finora_gql.core.errors import Collector, ErrorCode, ServiceError
from finora_gql.core.owned import Owned
from finora_gql.core.viewer import Viewer
from finora_gql.transactions import categories
from finora_gql.transactions.models import CategoryRule, RuleField, RuleMatch

log = logging.getLogger("finora.rules")
MAX_RULES = 500
rules = Owned(CategoryRule, "rule")


def _options() -> re2.Options:
    options = re2.Options()
    options.case_sensitive = False
    options.max_mem = RE2_MAX_MEM
    options.log_errors = False  # a refused pattern is the user's error, reported to them, not logged
    return options


RE2_MAX_MEM = 8 << 20  # bytes a compiled pattern may use (RE2's default); 200-character patterns stay far below
_OPTIONS = _options()


@lru_cache(maxsize=1024)
def _compiled(pattern: str) -> re2._Regexp:
    """The pattern as RE2 runs it: in time linear in the text, whatever the pattern (no
    backtracking, so `(a+)+$` cannot freeze the process). Raises `re2.error` for what RE2
    does not support (backreferences, lookaround)."""
    return re2.compile(pattern, _OPTIONS)


def _runnable(pattern: str) -> re2._Regexp | None:
    """The compiled pattern, or None for one stored before patterns were checked with RE2: such a
    rule matches nothing rather than failing every write."""
    try:
        return _compiled(pattern)
    except re2.error:
        log.warning("a stored rule pattern RE2 cannot run is skipped: %r", pattern)
        return None


def _reason(error: re2.error) -> str:
    reason = error.args[0] if error.args else error
    return reason.decode(errors="replace") if isinstance(reason, bytes) else str(reason)


def clean_pattern(pattern: str, match: RuleMatch) -> str:
    pattern = pattern.strip()
    if not pattern:
        raise ServiceError(ErrorCode.REQUIRED, "A rule needs a pattern.", "pattern")
    if len(pattern) > 200:
        raise ServiceError(ErrorCode.INVALID, "Patterns are at most 200 characters.", "pattern")
    if match is RuleMatch.REGEX:
        try:
            _compiled(pattern)
        except re2.error as exc:
            try:
                re.compile(pattern)
            except re.error as python_error:
                raise ServiceError(ErrorCode.INVALID, f"Not a valid regular expression: {python_error}.",
                                   "pattern") from None
            raise ServiceError(
                ErrorCode.INVALID,
                "Rule patterns run in linear time, so backreferences (\\1), lookahead and lookbehind "
                f"((?=, (?!, (?<=, (?<!) and possessive or atomic groups are not supported: {_reason(exc)}.",
                "pattern",
            ) from None
    return pattern


@dataclass(frozen=True)
class Matcher:
    """A viewer's rules, loaded once per write so a bulk import tests each row in memory."""

    rules: Sequence[CategoryRule]

    def category_for(self, merchant: str | None, description: str) -> uuid.UUID | None:
        for rule in self.rules:
            texts = {
                RuleField.MERCHANT: (merchant or "",),
                RuleField.DESCRIPTION: (description,),
                RuleField.ANY: (merchant or "", description),
            }[rule.field]
            for value in texts:
                if rule.match is RuleMatch.CONTAINS and rule.pattern.lower() in value.lower():
                    return rule.category_id
                if rule.match is RuleMatch.REGEX:
                    compiled = _runnable(rule.pattern)
                    if compiled is not None and compiled.search(value):
                        return rule.category_id
        return None


async def list_rules(session: AsyncSession, viewer: Viewer) -> Sequence[CategoryRule]:
    return (
        await session.exec(
            rules.readable(viewer)
            .order_by(col(CategoryRule.priority), col(CategoryRule.created_at), col(CategoryRule.id))
        )
    ).all()


async def matcher(session: AsyncSession, viewer: Viewer) -> Matcher:
    return Matcher(await list_rules(session, viewer))


async def get_rule(session: AsyncSession, viewer: Viewer, rule_id: uuid.UUID) -> CategoryRule:
    return await rules.get(session, viewer, rule_id, field="id")


async def get_rules(session: AsyncSession, viewer: Viewer, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, CategoryRule]:
    """The viewer's rules among `ids` (others are left out), for node lookups and loaders."""
    return await rules.by_ids(session, viewer, ids)


async def create_rule(
    session: AsyncSession, viewer: Viewer, *, category_id: uuid.UUID, pattern: str,
    field: RuleField = RuleField.ANY, match: RuleMatch = RuleMatch.CONTAINS, priority: int = 100,
) -> CategoryRule:
    errors = Collector()  # every problem of the input, not only the first
    await errors.check_async(categories.get_category(session, viewer, category_id))
    if len(await list_rules(session, viewer)) >= MAX_RULES:
        errors.add(ServiceError(ErrorCode.INVALID, f"You can keep at most {MAX_RULES} rules.", None))
    cleaned = errors.check(clean_pattern, pattern, match)
    errors.raise_any()
    rule = CategoryRule(
        user_id=viewer.user_id, category_id=category_id, pattern=cleaned, field=field, match=match, priority=priority,
    )
    session.add(rule)
    await session.flush()
    return rule


async def update_rule(
    session: AsyncSession, viewer: Viewer, rule_id: uuid.UUID, *, category_id: uuid.UUID | None = None,
    pattern: str | None = None, field: RuleField | None = None, match: RuleMatch | None = None,
    priority: int | None = None,
) -> CategoryRule:
    rule = await get_rule(session, viewer, rule_id)
    errors = Collector()  # every problem of the input, not only the first
    if category_id is not None:
        await errors.check_async(categories.get_category(session, viewer, category_id))
    if pattern is not None or match is not None:
        cleaned = errors.check(clean_pattern, pattern if pattern is not None else rule.pattern, match or rule.match)
    errors.raise_any()
    if category_id is not None:
        rule.category_id = category_id
    if match is not None:
        rule.match = match
    if pattern is not None or match is not None:
        rule.pattern = cleaned
    if field is not None:
        rule.field = field
    if priority is not None:
        rule.priority = priority
    session.add(rule)
    return rule


async def delete_rule(session: AsyncSession, viewer: Viewer, rule_id: uuid.UUID) -> CategoryRule:
    rule = await get_rule(session, viewer, rule_id)
    await session.delete(rule)
    return rule

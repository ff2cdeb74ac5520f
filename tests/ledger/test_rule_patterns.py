"""User regex rules run on RE2: linear time whatever the pattern, and a coded error for the
patterns RE2 cannot take."""

from __future__ import annotations

import time
import uuid

import pytest

from finora_gql.core.errors import ErrorCode, ServiceError
from finora_gql.transactions.models import CategoryRule, RuleField, RuleMatch
from finora_gql.transactions.rules import Matcher, clean_pattern
from tests.flows import signed_in_user
from tests.ledger.ledger_flows import category_ids
from tests.ledger.test_categorization import rule
from tests.server import RunningServer


def regex_rule(pattern: str, category_id: uuid.UUID) -> CategoryRule:
    return CategoryRule(user_id=uuid.uuid4(), category_id=category_id, pattern=pattern, field=RuleField.ANY,
                        match=RuleMatch.REGEX, priority=100)


@pytest.mark.parametrize("text", ["a" * 10_000, "a" * 10_000 + "!"])
def test_a_catastrophic_pattern_runs_in_linear_time(text: str) -> None:
    # With backtracking (Python's re), (a+)+$ takes 0.25 s at 22 characters and 4x more per two.
    category = uuid.uuid4()
    matcher = Matcher([regex_rule(clean_pattern("(a+)+$", RuleMatch.REGEX), category)])
    matcher.category_for(None, "warm up")  # compiled once, outside the timing
    started = time.perf_counter()
    found = matcher.category_for(None, text)
    elapsed = time.perf_counter() - started
    assert found == (category if text.endswith("a") else None)
    assert elapsed < 0.05, f"{elapsed * 1000:.1f} ms"


def test_matching_ignores_case_and_keeps_the_usual_syntax() -> None:
    category = uuid.uuid4()
    matcher = Matcher([regex_rule(r"^net(?P<kind>flix|gear)\b\s*\d*", category)])
    assert matcher.category_for("NETFLIX 12", "") == category
    assert matcher.category_for("Netgear", "") == category
    assert matcher.category_for("a netflix", "") is None


@pytest.mark.parametrize("pattern", [r"(a)\1", r"foo(?=bar)", r"foo(?!bar)", r"(?<=x)y", r"(?<!x)y", r"a++"])
def test_patterns_re2_cannot_take_are_refused_on_the_pattern_field(pattern: str) -> None:
    with pytest.raises(ServiceError) as raised:
        clean_pattern(pattern, RuleMatch.REGEX)
    assert (raised.value.code, raised.value.field) == (ErrorCode.INVALID, "pattern")
    assert "linear time" in raised.value.message


def test_an_invalid_pattern_is_still_called_invalid() -> None:
    with pytest.raises(ServiceError) as raised:
        clean_pattern("([", RuleMatch.REGEX)
    assert (raised.value.code, raised.value.field) == (ErrorCode.INVALID, "pattern")
    assert raised.value.message.startswith("Not a valid regular expression")


def test_a_stored_pattern_re2_cannot_run_matches_nothing() -> None:
    # Saved before patterns were checked with RE2: the rule is skipped, the write goes on.
    category, fallback = uuid.uuid4(), uuid.uuid4()
    matcher = Matcher([regex_rule(r"(a)\1", category), regex_rule("aa", fallback)])
    assert matcher.category_for("aa", "") == fallback


async def test_create_category_rule_refuses_a_backreference(server: RunningServer) -> None:
    user = await signed_in_user(server)
    cats = await category_ids(server, user.access_token)
    refused = await rule(server, user.access_token, categoryId=cats["Travel"], pattern=r"(air)\1", match="REGEX")
    assert refused["rule"] is None
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("INVALID", "pattern")]
    assert "backreferences" in refused["errors"][0]["message"]

"""Ownership is decided in one place: `finora_gql/core/owned.py`.

Every read of user data goes through a domain's `Owned` (or `owned.user_filter` / `owned.user_sql`
for raw SQL). This test greps the package for user filters written by hand and fails when one
appears outside the kit and the short allow-list below, each entry with its reason. No database.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "finora_gql"
KIT = PACKAGE / "core" / "owned.py"

# A user filter written by hand, in SQLAlchemy or in SQL text.
PATTERNS = {
    "attribute compared": re.compile(r"\.user_id\s*(?:==|!=)"),
    "name compared": re.compile(r"\buser_id\s*(?:==|!=)\s*\S"),
    "col() compared": re.compile(r"col\(\s*\w+\.user_id\s*\)\s*(?:==|!=)"),
    "SQL text": re.compile(r"\buser_id\s*(?:=|<>|!=)\s*(?::\w|\$\d|%\(|any\s*\()", re.IGNORECASE),
    "SQL IN": re.compile(r"\buser_id\s+in\s*\(", re.IGNORECASE),
    "filter_by": re.compile(r"filter_by\([^)]*\buser_id\s*="),
    "in_()": re.compile(r"\.user_id\)?\.in_\("),
}

# (path relative to finora_gql/, a piece of the line) -> why it is not a read of someone's data.
ALLOWED: dict[tuple[str, str], str] = {
    ("auth/service.py", "col(EmailToken.user_id) == user.id"):
        "a one-time email token is looked up for the user it was issued to: credentials, not user data",
    ("auth/service.py", "col(AuthSession.user_id) == user_id"):
        "a person's sign-in sessions, listed or revoked: their own credentials by definition",
    ("auth/service.py", "col(AuthSession.user_id) == claims.user_id"):
        "authentication itself: the token's signed claims say whose session it is",
    ("core/session_cache.py", "entry.viewer.user_id == user_id"):
        "an in-memory cache of confirmed viewers forgetting one person's entries, not a read of data",
    ("users/service.py", "user_id == viewer.user_id"):
        "the users table's own rule (a person sees their row, administrators everyone's): users.visible_user",
}


def hand_written_filters(root: Path = PACKAGE) -> list[tuple[str, int, str]]:
    """(path, line number, line) of every line that writes a user filter by hand."""
    found = []
    for path in sorted(root.rglob("*.py")):
        if path == KIT:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if any(pattern.search(line) for pattern in PATTERNS.values()):
                found.append((path.relative_to(root).as_posix(), number, line.strip()))
    return found


def _allowed_by(path: str, line: str) -> tuple[str, str] | None:
    return next((key for key in ALLOWED if key[0] == path and key[1] in line), None)


def test_no_user_filter_is_written_by_hand_outside_the_kit() -> None:
    offenders = [f"{path}:{number}: {line}" for path, number, line in hand_written_filters()
                 if _allowed_by(path, line) is None]
    assert not offenders, (
        "User filters written by hand (read through core.owned: an Owned per model, owned.user_filter for "
        "aggregate tables, owned.user_sql for SQL text; or add an entry with its reason to ALLOWED):\n"
        + "\n".join(offenders)
    )


def test_every_allow_list_entry_is_still_needed_once() -> None:
    used = Counter(_allowed_by(path, line) for path, _, line in hand_written_filters())
    stale = [key for key in ALLOWED if used[key] == 0]
    assert not stale, f"allow-list entries that match nothing any more (remove them): {stale}"
    assert all(reason.strip() for reason in ALLOWED.values())


@pytest.mark.parametrize("line", [
    "    return select(Budget).where(col(Budget.user_id) == viewer.user_id)",
    "    statement = select(Goal).where(Goal.user_id == user_id)",
    "    .where(viewer.user_id == col(Goal.user_id))",
    '    "SELECT sum(amount) FROM daily_total WHERE user_id = :user_id"',
    '    "SELECT * FROM goal WHERE user_id=$1"',
    "    rows = session.query(Goal).filter_by(user_id=user.id)",
    "    select(Goal).where(col(Goal.user_id).in_(ids))",
])
def test_the_grep_catches_the_usual_spellings(line: str, tmp_path: Path) -> None:
    (tmp_path / "sneaky.py").write_text(line + "\n", encoding="utf-8")
    assert [found[2] for found in hand_written_filters(tmp_path)] == [line.strip()]


@pytest.mark.parametrize("line", [
    "    user_id: uuid.UUID = Field(foreign_key='user.id')",
    "    values = {'user_id': viewer.user_id, 'day': day}",
    "    Goal(user_id=viewer.user_id, name=name)",
])
def test_the_grep_leaves_ordinary_uses_of_user_id_alone(line: str, tmp_path: Path) -> None:
    (tmp_path / "fine.py").write_text(line + "\n", encoding="utf-8")
    assert hand_written_filters(tmp_path) == []


def test_the_kit_itself_is_where_the_rule_lives() -> None:
    text = KIT.read_text(encoding="utf-8")
    assert "def user_filter(" in text and "class Owned(" in text and "SYSTEM = " in text


@pytest.mark.parametrize("domain", [
    "accounts", "transactions", "budgets", "files", "imports", "notifications", "wallet",
])
def test_every_domain_of_user_data_reads_through_the_kit(domain: str) -> None:
    sources = "\n".join(path.read_text(encoding="utf-8") for path in (PACKAGE / domain).glob("*.py"))
    assert re.search(r"^\w+ = Owned\(", sources, re.MULTILINE), f"{domain} declares no Owned(...)"

"""The README stays true: every setting and every root field is documented in it or in a doc it
links to inside the repository, and it links nothing outside the repository.

Both lists are read from the code (the settings class, the built schema), so a new setting or a
new domain's field fails this test until someone documents it."""

from __future__ import annotations

import re
from pathlib import Path

from finora_gql.config import Settings, _env_name
from finora_gql.schema import build_schema

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def linked_docs() -> list[Path]:
    """README and the Markdown files it links to (one level), all inside the repository."""
    docs = [README]
    for target in LINK.findall(README.read_text()):
        if re.match(r"[a-z]+:", target):
            continue  # a web address is fine; a file outside the repository is not
        path = (README.parent / target).resolve()
        assert path.is_relative_to(ROOT), f"README links {target}, outside the repository"
        assert path.exists(), f"README links {target}, which does not exist"
        if path.suffix == ".md" and path not in docs:
            docs.append(path)
    return docs


def documented_text() -> str:
    return "\n".join(path.read_text() for path in linked_docs())


def test_readme_links_stay_inside_the_repository() -> None:
    text = README.read_text()
    assert "../shared" not in text and "still to come: CSV" not in text.lower()
    assert len(linked_docs()) >= 3  # README, docs/api.md, docs/configuration.md


def test_every_setting_is_documented() -> None:
    text = documented_text()
    missing = [_env_name(name) for name in Settings.model_fields if f"`{_env_name(name)}`" not in text]
    assert not missing, f"document these settings in README.md or docs/configuration.md: {missing}"


def test_every_root_field_is_documented() -> None:
    text = documented_text()
    schema = build_schema()._schema
    missing = [
        f"{root.name}.{name}"
        for root in (schema.query_type, schema.mutation_type, schema.subscription_type)
        for name in root.fields
        if f"`{name}`" not in text
    ]
    assert not missing, f"document these root fields in README.md or docs/api.md: {missing}"


def test_every_subscription_is_named_in_the_readme_itself() -> None:
    text = README.read_text()
    for name in build_schema()._schema.subscription_type.fields:
        assert f"`{name}`" in text, name

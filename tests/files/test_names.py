"""Filenames people see and the storage keys made from them."""

from __future__ import annotations

import pytest

from finora_gql.core.errors import ServiceError
from finora_gql.core.storage.base import check_key
from finora_gql.files.service import clean_filename, key_name


@pytest.mark.parametrize(("given", "shown", "in_key"), [
    ("C:\\fakepath\\Statement.pdf", "Statement.pdf", "Statement.pdf"),
    ("../../etc/passwd", "passwd", "passwd"),
    ("invoice\u202egpj.exe", "invoicegpj.exe", "invoicegpj.exe"),  # no right-to-left override
    ("  two   spaces\t.csv ", "two spaces .csv", "two-spaces-.csv"),
    ("Kontoauszüge 2026 (1).csv", "Kontoauszüge 2026 (1).csv", "Kontoauszuge-2026-1-.csv"),
    ("日本語.csv", "日本語.csv", "csv"),
    ("日本語", "日本語", "file"),
])
def test_names(given: str, shown: str, in_key: str) -> None:
    assert clean_filename(given) == shown
    assert check_key(key_name(shown)) == in_key


def test_long_names_keep_their_extension() -> None:
    name = clean_filename("a" * 300 + ".csv")
    assert len(name) == 255 and name.endswith("a.csv")
    assert key_name(name) == "a" * 96 + ".csv"


@pytest.mark.parametrize("given", ["", "   ", "/", "..", "\u200b\u202e"])
def test_empty_names_are_refused(given: str) -> None:
    with pytest.raises(ServiceError):
        clean_filename(given)

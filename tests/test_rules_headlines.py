"""Rules on real headlines: for each query of tests/fixtures/headlines/expected.toml (written by a person reading
the headlines), exactly the expected headlines match, each in its own language (the sitemap's <news:language>)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from monitor.rules import Document, evaluate, parse_query

HERE = Path(__file__).parent / "fixtures" / "headlines"


def _headlines() -> dict[int, tuple[str, str]]:
    found: dict[int, tuple[str, str]] = {}
    for line in (HERE / "headlines.tsv").read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            continue
        number, language, _url, title = line.split("\t")
        found[int(number)] = (language, title)
    return found


HEADLINES = _headlines()
DOCS = {n: Document.from_fields(title=title, language=language) for n, (language, title) in HEADLINES.items()}
QUERIES = tomllib.loads((HERE / "expected.toml").read_text(encoding="utf-8"))["query"]


def test_the_fixture_has_the_three_languages() -> None:
    assert {language for language, _ in HEADLINES.values()} == {"ru", "uk", "en"}
    assert len(HEADLINES) == 176


@pytest.mark.parametrize("case", QUERIES, ids=[q["query"] for q in QUERIES])
def test_query_finds_exactly_the_headlines_a_reader_expects(case: dict[str, object]) -> None:
    node = parse_query(str(case["query"]))
    found = {n for n, doc in DOCS.items() if evaluate(node, doc) is not None}
    expected = set(case["expected"])  # type: ignore[call-overload]
    missed = {n: HEADLINES[n][1] for n in sorted(expected - found)}
    extra = {n: HEADLINES[n][1] for n in sorted(found - expected)}
    assert not missed and not extra, f"missed {missed}, extra {extra}"

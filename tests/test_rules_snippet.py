"""A search reads an archive text from its headline line on: the page chrome the archive keeps above it (FORMAT.md:
Pangea's accessibility heading and breaking-news label, DW's skip links) is the site's, not the article's, so it
matches nothing (as in alerts, which never see it) and a snippet never shows it; on the real archive texts of the
seeds and fixture pages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.analysis.text import normalize_word
from monitor.rules import Document, evaluate, parse_query
from monitor.rules.document import article_start
from monitor.rules.highlight import matched_terms, snippet

FIXTURES = Path(__file__).parent / "fixtures"
SEEDS = {
    "000_6f1a1f6774c517d9": "Tillerson, Lavrov End Vienna Talks With No Apparent Breakthroughs",
    "002_f083d0cb5867924c": "'No breakthrough' in US-Russia talks",
}
UKRAINIAN = "pangea/radiosvoboda_uk_2025-12-22_news-rosia-ataka-droniv_33629716"


def _seed(name: str) -> tuple[str, str]:
    return (FIXTURES / "seeds" / f"{name}.txt").read_text(encoding="utf-8"), SEEDS[name]


def _page(name: str) -> tuple[str, str]:
    base = FIXTURES / "pages" / name
    title: str = json.loads(base.with_suffix(".expect.json").read_text(encoding="utf-8"))["title"]
    return base.with_suffix(".expected.txt").read_text(encoding="utf-8"), title


def _texts() -> list[tuple[str, str]]:
    pages = sorted(p.with_suffix("") for p in (FIXTURES / "pages").glob("*/*.expected.txt"))
    return [_seed(name) for name in SEEDS] + [_page(str(p.relative_to(FIXTURES / "pages")).removesuffix(".expected"))
                                              for p in pages]


@pytest.mark.parametrize(("text", "headline"), _texts())
def test_the_article_starts_at_the_headline_line(text: str, headline: str) -> None:
    start = article_start(text, headline)
    assert start > 0 and text[start - 1] == "\n"  # every family keeps some chrome above the headline
    assert text[start:].split("\n", 1)[0] == headline.strip()


def _check(text: str, headline: str, query: str) -> str:
    doc = Document.from_archive_text(text, headline)
    hits = evaluate(parse_query(query), doc)
    assert hits
    shown, spans = snippet(hits, doc)
    assert shown.startswith(" ".join(headline.split()))  # from where the article begins, no "…" before it
    words = {normalize_word(t.text) for t in matched_terms(hits, doc)}
    assert spans and all(normalize_word(shown[a:b]) in words for a, b in spans)
    return shown


def test_a_match_at_the_top_of_an_rferl_text_shows_no_accessibility_links() -> None:
    shown = _check(*_seed("000_6f1a1f6774c517d9"), "Tillerson")
    assert "Accessibility" not in shown and "Breaking News" not in shown


def test_a_match_at_the_top_of_a_dw_text_shows_no_skip_links() -> None:
    shown = _check(*_seed("002_f083d0cb5867924c"), "breakthrough")
    assert "Skip to" not in shown and "DW sites" not in shown


def test_a_match_at_the_top_of_a_ukrainian_text_shows_no_chrome() -> None:
    shown = _check(*_page(UKRAINIAN), "причалів OR нафтобазою")
    assert "Доступність" not in shown and "посилання" not in shown


def test_words_only_in_the_chrome_match_nothing_as_in_alerts() -> None:
    text, headline = _seed("000_6f1a1f6774c517d9")
    assert "Accessibility links" in text[:article_start(text, headline)]
    for query in ("Accessibility", '"Breaking News"'):
        assert evaluate(parse_query(query), Document.from_archive_text(text, headline)) is None
        assert evaluate(parse_query(query), Document.from_fields(title=headline, body=text))  # the whole text would


def test_without_its_headline_near_the_top_the_snippet_is_as_before() -> None:
    text, headline = _seed("000_6f1a1f6774c517d9")
    late = "\n\n".join(["Accessibility links", *["A paragraph."] * 20, "Far Down"])
    assert article_start(text, "Not this article's headline") == 0
    assert article_start(late, "Far Down") == 0  # a later block repeating a headline is no headline
    assert article_start(text, "") == 0
    plain = Document.from_fields(title=headline, body=text)
    archived = Document.from_archive_text(text, "Not this article's headline")
    for doc in (plain, archived):
        hits = evaluate(parse_query("Tillerson"), doc)
        assert hits
        shown, _ = snippet(hits, doc)
        assert shown.startswith("Accessibility links")


def test_the_index_holds_the_article_from_its_headline_on() -> None:
    from monitor.search.tokens import document_tokens

    text, headline = _seed("000_6f1a1f6774c517d9")
    body = document_tokens(headline, text, "en")["body"]
    assert "ftillerson" in body and "faccessibility" not in body and "fbreaking" not in body

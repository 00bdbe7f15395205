"""Every saved page of every site family against its expectations (tests/fixtures/README.md has the layout).

For each ``pages/<family>/<NAME>.html`` with a ``<NAME>.expect.json``: the archive text equals
``<NAME>.expected.txt`` byte for byte and keeps FORMAT.md's rules; the structured article carries the expected
headline, publication date, authors, article id, language and generation; the content checks hold. The seeds of
the archive corpus reproduce byte for byte, real non-article pages are refused with exit status 2, and every
registered parser generation has at least one page that exercises it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from monitor.cli import app
from monitor.decoding import decode_html
from monitor.model import Article
from monitor.render import render_article
from monitor.sites import default_registry

FIXTURES = Path(__file__).parent / "fixtures"
PAGES = sorted(p for p in (FIXTURES / "pages").glob("*/*.html") if p.with_suffix(".expect.json").exists())
SEEDS = sorted((FIXTURES / "seeds").glob("*.source.html"))
NOT_ARTICLES = sorted((FIXTURES / "not-articles").glob("*.html"))
ARCHIVE_NAME = re.compile(r"^\d{3,}_[0-9a-f]{16}\.txt$")


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _expect(page: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(page.with_suffix(".expect.json").read_text(encoding="utf-8"))
    return data


def _parse(page: Path, url: str) -> Article:
    return default_registry().parse(decode_html(page.read_bytes(), where=url), url)


def format_faults(text: str) -> list[str]:
    """FORMAT.md, 'Checks that hold for every file'."""
    faults = []
    if text.endswith("\n"):
        faults.append("trailing newline")
    if text != text.strip():
        faults.append("leading/trailing blank")
    if "\r" in text:
        faults.append("CR")
    if "\n\n\n" in text:
        faults.append("blank-line run")
    if any(line != line.rstrip() for line in text.split("\n")):
        faults.append("trailing blanks on a line")
    if text.startswith("\ufeff"):
        faults.append("BOM")
    return faults


@pytest.fixture(scope="module", params=PAGES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def parsed(request: pytest.FixtureRequest) -> tuple[Path, dict[str, Any], Article, str]:
    page: Path = request.param
    expect = _expect(page)
    article = _parse(page, expect["url"])
    return page, expect, article, render_article(article)


def test_there_are_pages_of_both_kinds() -> None:
    assert PAGES, "no fixture pages under tests/fixtures/pages"
    assert SEEDS and NOT_ARTICLES


def test_archive_text_equals_expected_byte_for_byte(parsed: tuple[Path, dict[str, Any], Article, str]) -> None:
    page, expect, _, text = parsed
    expected = page.with_suffix(".expected.txt")
    assert expected.exists(), f"{expected.name} missing: run python tests/fixtures/regenerate_expected.py"
    want = expected.read_bytes().decode("utf-8")
    assert text == want, f"{page.name} ({expect.get('template')}): archive text differs from {expected.name}"


def test_archive_text_keeps_the_format_rules(parsed: tuple[Path, dict[str, Any], Article, str]) -> None:
    _, _, _, text = parsed
    assert format_faults(text) == []
    text.encode("utf-8")  # no lone surrogates


def test_metadata_equals_expectations(parsed: tuple[Path, dict[str, Any], Article, str]) -> None:
    _, expect, article, _ = parsed
    assert _norm(article.headline) == _norm(expect["title"])
    assert article.published is not None and article.published.utcoffset() is not None
    assert article.published.date().isoformat() == expect["published_date"]
    assert article.authors == expect["authors"]
    assert article.article_id == expect["article_id"]
    assert article.language == expect["language"]
    assert article.template == expect["generation"]
    if article.modified is not None:
        assert article.modified.utcoffset() is not None


def test_headline_stands_alone_near_the_top(parsed: tuple[Path, dict[str, Any], Article, str]) -> None:
    _, expect, _, text = parsed
    assert _norm(expect["title"]) in [_norm(line) for line in text.split("\n")[:12]]


def test_content_checks_hold(parsed: tuple[Path, dict[str, Any], Article, str]) -> None:
    _, expect, _, text = parsed
    body = _norm(text)
    missing = [m for m in expect.get("must_contain", []) if _norm(m) not in body]
    assert missing == []
    junk = [j for j in expect.get("must_not_contain", []) if _norm(j) and _norm(j) in body]
    assert junk == []
    banned = set(expect.get("must_not_be_line", []))
    assert [line for line in text.split("\n") if line.strip() in banned] == []


@pytest.mark.parametrize("source", SEEDS, ids=lambda p: p.name.split(".")[0])
def test_seed_reproduces_byte_for_byte(source: Path) -> None:
    stem = source.name[: -len(".source.html")]
    seed = source.with_name(stem + ".txt")
    url = source.with_name(stem + ".url").read_text(encoding="utf-8").strip()
    assert ARCHIVE_NAME.match(seed.name)
    assert render_article(_parse(source, url)).encode("utf-8") == seed.read_bytes()


@pytest.mark.parametrize("page", NOT_ARTICLES, ids=lambda p: p.stem)
def test_not_an_article_is_refused_with_status_2(page: Path) -> None:
    url = page.with_suffix(".url").read_text(encoding="utf-8").strip()
    result = CliRunner().invoke(app, ["parse", str(page), "--url", url])
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert page.name in result.stderr


def test_every_registered_generation_has_a_fixture_page() -> None:
    declared = {_expect(page).get("generation") for page in PAGES}
    missing = [g.name for g in default_registry().generations if g.name not in declared]
    assert missing == [], f"parser generations without a fixture page: {missing}"


def test_every_fixture_page_declares_a_registered_generation() -> None:
    registered = {g.name for g in default_registry().generations}
    undeclared = [p.name for p in PAGES if _expect(p).get("generation") not in registered]
    assert undeclared == []


# Legacy pages are left out: their expected texts pin our own parser's output, reviewed by hand (README there).
CURRENT_PAGES = [page for page in PAGES if _expect(page).get("template") == "current"]


@pytest.mark.parametrize("page", CURRENT_PAGES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_expected_text_was_generated_not_typed(page: Path) -> None:
    """A current page's expected text is the reference producer's output (regenerate_expected.py), unedited."""
    expect = _expect(page)
    html2text = pytest.importorskip("resiliparse.extract.html2text")
    from resiliparse.parse.html import HTMLTree

    html = decode_html(page.read_bytes(), where=expect["url"])
    reference = html2text.extract_plain_text(
        HTMLTree.parse(html), main_content=True, skip_elements=[".responsive-indicator"]
    ).strip()
    assert page.with_suffix(".expected.txt").read_text(encoding="utf-8") == reference

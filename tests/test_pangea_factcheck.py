"""Pangea fact-checks (body class ``pg-fc``): claim, verdict and body archived like an article, the chrome left out.

The page is a real polygraph.info fact-check (tests/fixtures/pages/pangea); its full archive text is checked byte for
byte against the reference producer by tests/test_fixture_pages.py. Here: what the structured article holds."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path

import lxml.html
import pytest

from monitor.errors import IncompletePageError
from monitor.model import BlockKind
from monitor.render import render_article
from monitor.sites import default_registry

PAGES = Path(__file__).parent / "fixtures" / "pages" / "pangea"
STEM = PAGES / "polygraph_en_2019-11-18_fact-check-russia-us-al-tanf-rukban_30279001"
HTML = STEM.with_name(STEM.name + ".html").read_text(encoding="utf-8")
URL = json.loads(STEM.with_name(STEM.name + ".expect.json").read_text(encoding="utf-8"))["url"]
CLAIM_START = "“A cause for serious concern is the situation in southern Syria"


def test_a_fact_check_is_parsed_as_an_article() -> None:
    article = default_registry().parse(HTML, URL)
    assert article.template == "pangea.factcheck"
    assert article.site == "polygraph.info" and article.article_id == "30279001"
    assert article.headline == "Russia and Syria: U.S.-backed Syrian Forces Blocking Refugee Return"
    # The page's time carries the hour; the ClaimReview's datePublished only the day.
    assert article.published == datetime(2019, 11, 18, 20, 28, 55, tzinfo=UTC)
    assert article.authors == []  # the JSON-LD author is the outlet itself


def test_claim_and_verdict_are_body_text_before_the_article_body() -> None:
    article = default_registry().parse(HTML, URL)
    body = article.body
    claim = next(b for b in body if b.kind is BlockKind.QUOTE)
    assert claim.text.startswith("The Russian and Syrian defense ministries")  # who made the claim
    assert CLAIM_START in claim.text
    verdict = body[body.index(claim) + 1]
    assert verdict.text == "False\nInformation from multiple sources disputes the claims"
    assert body[body.index(claim) + 2].text.startswith("In a joint statement published Oct. 25")
    # A rule on the claim's words matches the archived text.
    assert CLAIM_START in article.body_text


def test_the_claims_source_link_and_the_chrome_stay_out() -> None:
    text = render_article(default_registry().parse(HTML, URL))
    assert "Source: Russian Defense Ministry" not in text
    for chrome in ("Most popular", "Print Options:", "Skip to main content", "Terms of Use", "Share"):
        assert chrome not in text
    assert text.count(CLAIM_START) == 1  # the ld+json claimReviewed copy is not text


def test_a_fact_check_page_without_its_claim_is_incomplete() -> None:
    start = HTML.index('<div class="fc__body">')
    end = HTML.index('<div id="article-content"')
    with pytest.raises(IncompletePageError, match="without its claim"):
        default_registry().parse(HTML[:start] + HTML[end:], URL)


def test_every_claim_and_verdict_of_a_page_is_kept_in_page_order() -> None:
    # A page reviewing two claims repeats the statement/verdict pair inside div.fc__body.
    doc = lxml.html.document_fromstring(HTML)
    [fc_body] = doc.find_class("fc__body")
    statement, verdict = (copy.deepcopy(el) for el in fc_body)
    quote = statement.find_class("statement-content")[0].find(".//p")
    quote.text = "A second claim under review."
    fc_body.extend([statement, verdict])
    html = lxml.html.tostring(doc, encoding="unicode", doctype="<!DOCTYPE html>")
    body = default_registry().parse(html, URL).body
    kinds = [b.kind for b in body[:5]]
    assert kinds == [BlockKind.QUOTE, BlockKind.PARAGRAPH, BlockKind.QUOTE, BlockKind.PARAGRAPH, BlockKind.PARAGRAPH]
    assert CLAIM_START in body[0].text and body[2].text.endswith("A second claim under review.")
    assert body[3].text == "False\nInformation from multiple sources disputes the claims"

"""DW specifics: URL rules, template choice by markers, the trust order of dates, Apollo state, short link, refusals.

The byte-exact archive texts of the real pages are checked by tests/test_fixture_pages.py; these tests pin the rules
behind them on the same pages and on small pages built here.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import lxml.html
import pytest
from typer.testing import CliRunner

from monitor.cli import app
from monitor.errors import IncompletePageError, NotAnArticleError, UnknownTemplateError
from monitor.model import BlockKind
from monitor.render import render_article
from monitor.sites import default_registry
from monitor.sites.dw import DWCurrent, DWFamily, DWLegacy

PAGES = Path(__file__).parent / "fixtures" / "pages" / "dw"
SEEDS = Path(__file__).parent / "fixtures" / "seeds"
CURRENT_2024 = "dw_de_newgen_2024-01-30_nadeschdin_a-68117411"
CURRENT_2026 = "dw_en_newgen_2026-06-14_germany-world-cup-curacao_a-77538843"
LEGACY_2023 = "dw_de_oldgen_2023-04-28_ukrainische-gegenoffensive_a-65464327"
LEGACY_2020 = "dw_en_oldgen_2020-01-19_berlin-colonial-past_a-52060881"
LEGACY_2011 = "dw_fr_oldgen_2011-05-23_elephants-guinee_a-6533123"
URL_2024 = "https://www.dw.com/de/russland-wahl-nadeschdin-setzt-auf-ein-ende-der-putin-%C3%A4ra/a-68117411"
URL_LEGACY = "https://www.dw.com/de/ukrainische-gegenoffensive-ziele-chancen-risiken/a-65464327"
ARTICLE_URL = "https://www.dw.com/en/some-story/a-123"

family = DWFamily()


def page(name: str) -> str:
    return (PAGES / f"{name}.html").read_text(encoding="utf-8")


def doc(html: str) -> lxml.html.HtmlElement:
    return lxml.html.document_fromstring(html)


def current_page(
    *,
    apollo: dict[str, object] | None = None,
    ld: dict[str, object] | None = None,
    byline: str = '<div class="author-details"><span><span class="author no-link">Ann Author</span></span></div>',
    time: str = '<time aria-hidden="true">06/14/2026</time><span class="sr-only">June 14, 2026</span>',
    body: str = "<p>First paragraph.</p><h2>Sub</h2><p>Last paragraph.</p>",
    tail: str = "</body></html>",
) -> str:
    """A small page in the current template's shape, with hashed class names as the live site has them."""
    scripts = ""
    if ld is not None:
        scripts += f'<script type="application/ld+json">{json.dumps(ld)}</script>'
    if apollo is not None:
        scripts += f"<script>window.__APOLLO_STATE__={json.dumps(apollo)};</script>"
    return (
        '<!DOCTYPE html><html lang="en"><head><title>t</title></head><body><div id="root">'
        '<ol class="x1"><li><a href="#main-content"><span>Skip to content</span></a></li>'
        '<li><a href="#navigation"><span>Skip to main menu</span></a></li></ol>'
        '<nav><ul><li><a href="/en/germany/s-1432">Germany</a></li></ul></nav>'
        '<article class="a1b2"><div class="content-area c9d8"><header>'
        '<div data-tracking-name="content-detail-kicker" class="kicker k1"><span><a href="/en/x/s-1">Politics</a>'
        "</span></div>"
        f'<h1 class="h7g6">Headline here</h1>{byline}'
        f'<span class="time-area t1"><span class="publication p1">{time}</span></span>'
        '<p class="teaser-text z1">The teaser.</p></header>'
        '<section data-tracking-name="sharing-icons-inline" class="in-line closed"><div class="always-visible">'
        '<div role="button" aria-expanded="false" class="more-icon">more</div></div>'
        '<div class="copy-button-wrapper closed"><span class="q1">https://p.dw.com/p/AbC12</span></div></section>'
        '<figure class="f1"><picture><img alt="Alt text" src="https://static.dw.com/image/1_6.jpg"></picture>'
        '<figcaption class="c1">A caption<small class="copyright">Image: Someone/dpa</small></figcaption></figure>'
        '<div class="advertisement"><span class="label-top">Advertisement</span></div>'
        f'<div class="rich-text" data-tracking-name="rich-text">{body}</div>'
        '<footer><div class="feedback">Send us your feedback</div></footer>'
        f"</div></article></div>{scripts}{tail}"
    )


# --- URLs --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "owned"),
    [
        ("https://www.dw.com/en/x/a-1", True),
        ("https://dw.com/en/x/a-1", True),
        ("https://m.dw.com/de/x/a-1", True),
        ("https://amp.dw.com/ru/x/a-1", True),
        ("https://p.dw.com/p/4boRv", False),
        ("https://learngerman.dw.com/de/overview", False),
        ("https://www.rferl.org/a/x/1.html", False),
    ],
)
def test_hosts(url: str, owned: bool) -> None:
    assert family.owns(url) is owned


@pytest.mark.parametrize(
    ("url", "article_id", "language"),
    [
        ("https://www.dw.com/en/germany-start-2026-world-cup-with-win-over-curacao/a-77538843", "a-77538843", "en"),
        (URL_2024 + "?maca=de-rss-de-all-1119-xml-mrss", "a-68117411", "de"),
        (
            "https://www.dw.com/de/russland-wahl-nadeschdin-setzt-auf-ein-ende-der-putin-ära/a-68117411",
            "a-68117411",
            "de",
        ),
        ("https://amp.dw.com/pt-br/uma-notícia/a-5#top", "a-5", "pt-br"),
        ("https://www.dw.com/en/a-42", "a-42", "en"),
        ("https://www.dw.com/en/top-stories/s-9097", None, "en"),
        ("https://www.dw.com/en/russia/t-17284476", None, "en"),
        ("https://www.dw.com/en/some-video/av-65422743", None, "en"),
        ("https://www.dw.com/en/x/a-12/extra", None, "en"),
    ],
)
def test_article_ids_and_languages(url: str, article_id: str | None, language: str) -> None:
    assert family.article_id(url) == article_id
    assert family.language_of(url) == language
    assert family.site_of(url) == "dw.com"


def test_registry_sends_dw_urls_to_the_dw_family() -> None:
    assert isinstance(default_registry().family_for(ARTICLE_URL), DWFamily)


# --- template generations --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "generation"),
    [(CURRENT_2024, DWCurrent), (CURRENT_2026, DWCurrent), (LEGACY_2023, DWLegacy), (LEGACY_2011, DWLegacy)],
)
def test_generation_is_chosen_by_markers(name: str, generation: type) -> None:
    tree = doc(page(name))
    assert generation.matches(tree)
    other = DWLegacy if generation is DWCurrent else DWCurrent
    assert not other.matches(tree)


def test_current_template_is_recognised_without_apollo_state_by_tracking_names() -> None:
    # The seed page (and the 2026 capture) carry no scripts: data-tracking-name attributes are the marker.
    html = (SEEDS / "002_f083d0cb5867924c.source.html").read_text(encoding="utf-8")
    assert "__APOLLO_STATE__" not in html
    assert DWCurrent.matches(doc(html))
    assert not DWLegacy.matches(doc(html))


def test_page_with_markers_of_neither_generation_is_an_unknown_template() -> None:
    html = page(CURRENT_2024)
    html = re.sub(r"<script>\s*window\.__APOLLO_STATE__.*?</script>", "", html, flags=re.S)
    html = html.replace("data-tracking-name=", "data-x=")
    with pytest.raises(UnknownTemplateError):
        family.parse(html, URL_2024)
    legacy = page(LEGACY_2023).replace('id="bodyContent"', 'id="pageContent"')
    with pytest.raises(UnknownTemplateError):
        family.parse(legacy, URL_LEGACY)


# --- current template --------------------------------------------------------------------------------------


def test_current_article_fields_from_ld_json() -> None:
    article = family.parse(page(CURRENT_2024), URL_2024 + "?maca=de-rss-de-all-1119-xml-mrss")
    assert article.template == "dw.current"
    assert article.url == URL_2024
    assert article.article_id == "a-68117411" and article.key == "dw.com:a-68117411"
    assert article.language == "de"
    assert article.headline == "Russland-Wahl: Nadeschdin setzt auf ein Ende der Putin-Ära"
    assert article.published == datetime(2024, 1, 30, 14, 13, 12, 269000, tzinfo=UTC)
    assert article.modified == datetime(2024, 1, 30, 14, 13, 51, 283000, tzinfo=UTC)
    assert article.authors == ["Jennifer Pahlke"]
    assert article.section == "Politik"
    assert article.tags == ["Ende des Getreideabkommens", "Russland", "Finnland", "Krieg in der Ukraine"]
    assert article.short_link == "https://p.dw.com/p/4boRv"
    assert article.lead_image is not None
    assert article.lead_image.url == "https://static.dw.com/image/68059583_6.jpg"
    assert article.lead_image.caption == (
        "Gilt als einziger Antikriegskandidat für die russische Präsidentschaftswahl: Boris Nadeschdin"
    )
    assert article.lead_image.credit == "Mikhail Sinitsyn/TASS/dpa/picture alliance"
    kinds = [b.kind for b in article.blocks]
    assert kinds[:6] == [
        BlockKind.CHROME, BlockKind.HEADLINE, BlockKind.BYLINE, BlockKind.DATE, BlockKind.TEASER,
        BlockKind.SHORT_LINK,
    ]  # fmt: skip
    assert BlockKind.FIGURE in kinds and BlockKind.SUBHEADING in kinds
    assert article.body[-1].text.startswith("Sollte Nadeschdin mehr als fünf Prozent")


def test_dates_and_authors_come_from_apollo_state_when_there_is_no_ld_json() -> None:
    apollo = {
        "Article:123": {
            "__typename": "Article",
            "firstPublicationDate": "2024-05-01T08:00:00.000Z",
            "lastModifiedDate": "2024-05-02T09:30:00Z",
            'persons({"amount":1})': [{"__ref": "Person:7"}],
            "permaLinkUrl": "https://p.dw.com/p/Zz9",
            "relatedAutoTopics": [{"__ref": "AutoTopic:5"}],
            "thematicFocusCategory": {"name": "Politics"},
        },
        "Person:7": {"__typename": "Person", "fullName": "Ann Author"},
        "AutoTopic:5": {"__typename": "AutoTopic", "name": "Germany "},
        "Article:999": {"__typename": "Article", "firstPublicationDate": "2001-01-01T00:00:00Z"},  # a teaser
    }
    byline = '<div class="author-details"><span><a class="author-link" href="/en/p/person-7">Ann</a></span></div>'
    article = family.parse(current_page(apollo=apollo, byline=byline), ARTICLE_URL)
    assert article.published == datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
    assert article.modified == datetime(2024, 5, 2, 9, 30, tzinfo=UTC)
    assert article.authors == ["Ann Author"]
    assert article.tags == ["Germany"]
    assert article.section == "Politics"
    assert article.short_link == "https://p.dw.com/p/AbC12"  # the page's own copy button first


def test_ld_json_is_trusted_before_apollo_state() -> None:
    apollo = {"Article:123": {"firstPublicationDate": "2024-05-01T08:00:00Z", "persons": []}}
    ld = {"@type": "NewsArticle", "datePublished": "2024-05-03T10:00:00Z", "author": [{"name": "L D"}]}
    article = family.parse(current_page(apollo=apollo, ld=ld), ARTICLE_URL)
    assert article.published == datetime(2024, 5, 3, 10, 0, tzinfo=UTC)
    assert article.authors == ["L D"]


def test_time_datetime_is_trusted_before_apollo_state() -> None:
    apollo = {"Article:123": {"firstPublicationDate": "2024-05-01T08:00:00Z"}}
    time = '<time datetime="2024-05-04T06:00:00+02:00">4.5.2024</time>'
    article = family.parse(current_page(apollo=apollo, time=time), ARTICLE_URL)
    assert article.published == datetime(2024, 5, 4, 4, 0, tzinfo=UTC)


def test_short_link_falls_back_to_apollo_permalink() -> None:
    apollo = {"Article:123": {"permaLinkUrl": "https://p.dw.com/p/Zz9"}}
    html = current_page(apollo=apollo).replace("https://p.dw.com/p/AbC12", "")
    assert family.parse(html, ARTICLE_URL).short_link == "https://p.dw.com/p/Zz9"


def test_visible_date_is_the_last_resort_and_month_comes_first_in_english() -> None:
    html = (SEEDS / "002_f083d0cb5867924c.source.html").read_text(encoding="utf-8")
    url = (SEEDS / "002_f083d0cb5867924c.url").read_text(encoding="utf-8").strip()
    article = family.parse(html, url)
    assert article.published == datetime(2015, 5, 12, tzinfo=UTC)
    assert article.short_link == "https://p.dw.com/p/1FOuM"
    assert article.lead_image is not None and article.lead_image.credit == "Reuters/J. Roberts"


def test_archive_text_follows_the_reference_rules_of_the_current_template() -> None:
    text = render_article(family.parse(current_page(apollo={"Article:123": {}}), ARTICLE_URL))
    assert text == (
        "1. Skip to content\n  2. Skip to main menu\n\n"  # skip links; nav is not printed
        "Headline here\n\n"  # kicker of links left out, like the reference
        "Ann Author\nJune 14, 2026\n\n"  # byline; the <time> is not printed, its long form is
        "The teaser.\n\n"
        "https://p.dw.com/p/AbC12\nAlt text\nA captionImage: Someone/dpa\n\n"  # short link, lead image
        "First paragraph.\n\nSub\n\nLast paragraph."  # no ad, no feedback box
    )


def test_linked_byline_is_not_printed_but_still_names_the_author() -> None:
    byline = (
        '<div class="author-details"><span><a class="author-link" href="/en/x/person-1">Jonathan Harding</a>'
        '<span class="extra-info"> Houston</span></span></div>'
    )
    article = family.parse(current_page(byline=byline), ARTICLE_URL)
    assert "Jonathan Harding" not in render_article(article)
    assert article.authors == ["Jonathan Harding"]


def test_link_heavy_box_inside_the_body_is_left_out() -> None:
    body = (
        "<p>Prose.</p><div><a href='/en/a/a-1'>Read this other story with a long title</a></div>"
        "<ul><li><a href='/en/t-1'>Topic one</a></li><li>x</li></ul><p>More prose.</p>"
    )
    text = render_article(family.parse(current_page(body=body), ARTICLE_URL))
    assert text.endswith(
        "The teaser.\n\nhttps://p.dw.com/p/AbC12\nAlt text\nA captionImage: Someone/dpa\n\nProse.\n\nMore prose."
    )


# --- legacy template ---------------------------------------------------------------------------------------


def test_legacy_article_fields_from_the_date_list() -> None:
    article = family.parse(page(LEGACY_2023), URL_LEGACY + "?maca=de-rss-de-all-1119-xml-mrss")
    assert article.template == "dw.legacy"
    assert article.url == URL_LEGACY
    assert article.published == datetime(2023, 4, 28, tzinfo=UTC)
    assert article.authors == ["Roman Goncharenko"]
    assert article.section == "Krieg in der Ukraine"
    assert article.short_link == "https://p.dw.com/p/4QgGF"
    assert "Ukraine" in article.tags
    text = render_article(article)
    assert "\n\nRoman Goncharenko\n28.04.2023\n\nDie Ukraine bereitet sich" in text
    for junk in ("Anzeige", "Die Redaktion empfiehlt", "Audio und Video zum Thema", "Mehr zum Thema", "Permalink"):
        assert junk not in text.split("\n")


def test_legacy_read_more_links_galleries_and_videos_are_dropped() -> None:
    url = "https://www.dw.com/en/berlin-confronts-germanys-colonial-past-with-new-initiative/a-52060881"
    article = family.parse(page(LEGACY_2020), url)
    text = render_article(article)
    assert "Read more" not in text
    assert "German colonies" not in text  # a picture gallery inside the text
    assert "Namibians want Germany to remove monuments" not in text  # an embedded video teaser
    assert "Sign up for the newsletter" not in text
    subheadings = [b.text.replace("\xa0", " ") for b in article.blocks if b.kind is BlockKind.SUBHEADING]
    assert subheadings == ["Freedom fighters replace colonial leaders", "Right-wing resistance"]
    assert article.lead_image is not None and article.lead_image.credit == "Tahir Della"


def test_legacy_audio_item_names_its_author_in_a_credit_line() -> None:
    url = "https://www.dw.com/fr/x/a-6533123"
    article = family.parse(page(LEGACY_2011), url)
    assert article.authors == ["Kossivi Tiassou"]
    assert article.published == datetime(2011, 5, 23, tzinfo=UTC)


# --- refusals ------------------------------------------------------------------------------------------------


def test_section_page_url_is_not_an_article() -> None:
    html = current_page(apollo={"Navigation:9097": {}}).replace("a-123", "s-9097")
    with pytest.raises(NotAnArticleError):
        family.parse(html, "https://www.dw.com/en/top-stories/s-9097")


def test_article_url_serving_a_page_without_that_article_is_not_an_article() -> None:
    # e.g. a redirect to a topic page: the GraphQL cache holds only teasers of other articles
    html = current_page(apollo={"Article:999": {"__typename": "Article"}})
    with pytest.raises(NotAnArticleError):
        family.parse(html, ARTICLE_URL)


def test_home_page_without_article_element_is_not_an_article() -> None:
    html = (
        '<html><body><div data-tracking-name="teaser"><a href="/en/x/a-1">Story</a></div>'
        "<script>window.__APOLLO_STATE__={};</script></body></html>"
    )
    with pytest.raises(NotAnArticleError):
        family.parse(html, ARTICLE_URL)


@pytest.mark.parametrize("html", ["", "   \n", "<html></html>"])
def test_empty_page_is_incomplete(html: str) -> None:
    with pytest.raises(IncompletePageError):
        family.parse(html, ARTICLE_URL)


def test_truncated_page_is_incomplete() -> None:
    html = page(CURRENT_2024)
    with pytest.raises(IncompletePageError):
        family.parse(html[: len(html) // 2], URL_2024)  # cut in the middle of the body
    legacy = page(LEGACY_2023)
    with pytest.raises(IncompletePageError):
        family.parse(legacy[: legacy.index("Krim als strategische")], URL_LEGACY)


def test_page_without_body_region_is_incomplete() -> None:
    html = current_page().replace('class="rich-text"', 'class="x"')
    with pytest.raises(IncompletePageError):
        family.parse(html, ARTICLE_URL)
    legacy = page(LEGACY_2023).replace('class="longText"', 'class="x"')
    with pytest.raises(IncompletePageError):
        family.parse(legacy, URL_LEGACY)


def test_cli_refuses_a_dw_section_page_with_status_2(tmp_path: Path) -> None:
    saved = tmp_path / "section.html"
    saved.write_text(current_page(), encoding="utf-8")
    result = CliRunner().invoke(app, ["parse", str(saved), "--url", "https://www.dw.com/en/top-stories/s-9097"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "section.html" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_empty_url_takes_the_canonical_link_of_the_page() -> None:
    article = default_registry().parse(page(LEGACY_2023), "")
    assert article.url == URL_LEGACY and article.article_id == "a-65464327"


def test_hidden_elements_and_ad_slots_inside_the_body_are_left_out() -> None:
    body = (
        '<p>Prose.</p><p style="display: none">Hidden.</p><span class="rich-text-ad">Ad</span>'
        '<p hidden>Also hidden.</p><p aria-hidden="true">Screen readers skip this.</p><p>More prose.</p>'
    )
    article = family.parse(current_page(body=body), ARTICLE_URL)
    assert [b.text for b in article.body] == ["Prose.", "More prose."]

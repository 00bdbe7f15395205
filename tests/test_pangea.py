"""Pangea family: URL and id rules, host recognition, page markers, refusals, encodings, the structured article."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from monitor.cli import app
from monitor.decoding import decode_html
from monitor.errors import (
    IncompletePageError,
    NotAnArticleError,
    ParseError,
    UnknownSiteError,
    UnknownTemplateError,
)
from monitor.render import render_article
from monitor.sites import default_registry
from monitor.sites._common import load_document
from monitor.sites.pangea import PangeaFamily, has_pangea_markers, normalize_host, utag_data

PAGES = Path(__file__).parent / "fixtures" / "pages" / "pangea"
VOA = PAGES / "voa_en_2024-04-28_child-care-crisis_7585813"
SVOBODA = PAGES / "radiosvoboda_uk_2025-12-22_news-rosia-ataka-droniv_33629716"
DARI = PAGES / "darivoa_prs_2024-12-23_article_taliban-ministry-of-health-launched-thre_7910798"
DARI_VIDEO_APP = PAGES / "darivoa_prs_2022-07-04_article-with-video-nocache-param_join-voaplus-app_6730477"
GALLERY = PAGES / "darivoa_prs_2025-01-12_photoblog-canonical-on-voaindonesia_foto-hari-ini-11-januari-2025_7934011"
PROGRAM = PAGES / "slobodnaevropa_sh_2020-06-22_program-page_30657941"


def html_of(stem: Path) -> str:
    return stem.with_name(stem.name + ".html").read_text(encoding="utf-8")


def url_of(stem: Path) -> str:
    url: str = json.loads(stem.with_name(stem.name + ".expect.json").read_text(encoding="utf-8"))["url"]
    return url


def expected_of(stem: Path) -> str:
    return stem.with_name(stem.name + ".expected.txt").read_text(encoding="utf-8")


def invoke(*args: str, stdin: bytes | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["parse", *args], input=stdin)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def family() -> PangeaFamily:
    return PangeaFamily()


# --- URLs, ids, hosts --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.rferl.org/a/tillerson-lavrov-meeting-osce-ukraine/28902747.html", "28902747"),
        ("https://www.darivoa.com/a/7920877.html", "7920877"),
        ("https://www.svoboda.org/a/%D0%BF%D1%83%D1%82%D0%B8%D0%BD/33000001.html?ltflags=x#c", "33000001"),
        ("https://www.rferl.org/amp/a/some-slug/28902747.html", "28902747"),
        ("https://www.darivoa.com/a/foto-hari-ini-11-januari-2025/7934011/p1.html", "7934011"),
        ("https://m.currenttime.tv/a/33000002.html", "33000002"),
        ("https://www.rferl.org/", None),
        ("https://www.rferl.org/z/599", None),
        ("https://www.rferl.org/a/no-id.html", None),
        ("https://www.rferl.org/author/someone/abc", None),
        ("https://www.dw.com/a/28902747.html", None),  # the right shape on a foreign host is not ours
    ],
)
def test_article_id_rules(family: PangeaFamily, url: str, expected: str | None) -> None:
    assert family.article_id(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "https://www.rferl.org/a/x/1.html",
        "https://rferl.org/",
        "https://gandhara.rferl.org/a/1.html",
        "http://m.svoboda.org/a/1.html",
        "https://www.radiosvoboda.org/",
        "https://rus.azattyq.org/a/1.html",
        "https://amp.currenttime.tv/a/1.html",
        "https://en.radiofarda.com/a/1.html",
        "https://www.radiofarda.com/a/1.html",
        "https://www.slobodnaevropa.org/a/1.html",
        "https://www.voanews.com/a/1.html",
        "https://learningenglish.voanews.com/a/1.html",
        "https://www.darivoa.com/a/1.html",
        "https://www.voaindonesia.com/a/1.html",
        "https://WWW.RFERL.ORG/a/1.html",
    ],
)
def test_pangea_hosts_are_owned(family: PangeaFamily, url: str) -> None:
    assert family.owns(url)


@pytest.mark.parametrize(
    "url", ["https://www.dw.com/en/x/a-1", "https://notrferl.org/a/1.html", "https://rferl.org.evil.com/a/1.html", ""]
)
def test_other_hosts_are_not_owned(family: PangeaFamily, url: str) -> None:
    assert not family.owns(url)


def test_extra_hosts_come_from_configuration() -> None:
    url = "https://www.new-pangea-service.org/a/slug/123.html"
    assert not PangeaFamily().owns(url)
    family = PangeaFamily(extra_hosts=["WWW.New-Pangea-Service.org"])
    assert family.owns(url) and family.article_id(url) == "123"
    assert default_registry(extra_hosts=["new-pangea-service.org"]).family_for(url).name == "pangea"


def test_site_is_the_normalised_host(family: PangeaFamily) -> None:
    assert family.site_of("https://www.rferl.org/a/1.html") == "rferl.org"
    assert family.site_of("https://m.svoboda.org/a/1.html") == "svoboda.org"
    assert family.site_of("https://amp.currenttime.tv/a/1.html") == "currenttime.tv"
    assert family.site_of("https://learningenglish.voanews.com/a/1.html") == "learningenglish.voanews.com"
    assert normalize_host("en.radiofarda.com") == "en.radiofarda.com"
    with pytest.raises(UnknownSiteError):
        family.site_of("https://example.com/a/1.html")


def test_unknown_site_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UnknownSiteError):
        default_registry().parse(html_of(VOA), "https://news.example.com/a/x/7585813.html")
    page = tmp_path / "page.html"
    page.write_text(html_of(VOA), encoding="utf-8")
    code, out, err = invoke(str(page), "--url", "https://news.example.com/a/x/7585813.html")
    assert (code, out) == (2, "")
    assert "news.example.com" in err and len(err.strip().splitlines()) == 1


# --- markers and templates ---------------------------------------------------------------------------------


def test_markers_recognise_pangea_pages() -> None:
    doc = load_document(html_of(VOA), url_of(VOA))
    assert has_pangea_markers(doc)
    assert utag_data(doc)["article_uid"] == "7585813"
    assert utag_data(doc)["page_title"].startswith("America's child care")  # \u0026#39; decoded
    plain = load_document("<html><head></head><body><h1>x</h1><p>y</p></body></html>", "u")
    assert not has_pangea_markers(plain)


def test_page_without_pangea_markers_is_an_unknown_template() -> None:
    html = "<html><head><title>t</title></head><body><h1>Title</h1><p>Text.</p></body></html>"
    with pytest.raises(UnknownTemplateError, match="no Pangea CMS markers"):
        default_registry().parse(html, "https://www.rferl.org/a/x/1.html")


def test_page_type_without_a_parser_is_an_unknown_template() -> None:
    html = html_of(VOA).replace("pg-article", "pg-quiz", 1)
    with pytest.raises(UnknownTemplateError, match="pg-quiz"):
        default_registry().parse(html, url_of(VOA))


@pytest.mark.parametrize(("stem", "generation"), [(VOA, "pangea.article"), (GALLERY, "pangea.gallery"),
                                                  (PROGRAM, "pangea.program")])  # fmt: skip
def test_generation_is_chosen_by_body_class(stem: Path, generation: str) -> None:
    assert default_registry().parse(html_of(stem), url_of(stem)).template == generation


@pytest.mark.parametrize("page_class", ["pg-section pg-home", "pg-404", "pg-section"])
def test_home_section_and_error_pages_are_not_articles(page_class: str) -> None:
    html = html_of(VOA).replace("pg-article", page_class, 1)
    with pytest.raises(NotAnArticleError):
        default_registry().parse(html, url_of(VOA))


def test_article_page_without_id_anywhere_is_not_an_article() -> None:
    html = html_of(PROGRAM).replace("/a/30657941.html", "/p/1.html").replace('article_uid:"30657941"', "")
    with pytest.raises(NotAnArticleError, match="article id"):
        default_registry().parse(html, "https://www.slobodnaevropa.org/p/1.html")


# --- empty, truncated, incomplete --------------------------------------------------------------------------


@pytest.mark.parametrize("html", ["", "   \n", "<html></html>"])
def test_empty_page_is_refused(html: str) -> None:
    with pytest.raises(ParseError):
        default_registry().parse(html, url_of(VOA))


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9, 0.995])
def test_truncated_page_is_refused(fraction: float) -> None:
    html = html_of(VOA)
    with pytest.raises(IncompletePageError):
        default_registry().parse(html[: int(len(html) * fraction)], url_of(VOA))


def test_truncated_page_gets_exit_2_and_no_text(tmp_path: Path) -> None:
    page = tmp_path / "cut.html"
    page.write_text(html_of(SVOBODA)[:30000], encoding="utf-8")
    code, out, err = invoke(str(page), "--url", url_of(SVOBODA))
    assert (code, out) == (2, "")
    assert "truncated" in err and "cut.html" in err


def test_empty_stdin_gets_exit_2() -> None:
    code, out, err = invoke("-", "--url", url_of(VOA), stdin=b"")
    assert (code, out) == (2, "") and err.startswith("monitor: error:")


def test_article_without_body_region_is_incomplete() -> None:
    html = html_of(VOA).replace('id="article-content"', 'id="elsewhere"')
    with pytest.raises(IncompletePageError, match="body"):
        default_registry().parse(html, url_of(VOA))


def test_article_without_headline_is_incomplete() -> None:
    html = html_of(VOA).replace('<h1 class="title pg-title" >', '<h2 class="title pg-title" >')
    with pytest.raises(IncompletePageError, match="headline"):
        default_registry().parse(html, url_of(VOA))


# --- encodings and scripts ---------------------------------------------------------------------------------


def test_windows_1251_page_declared_in_meta_decodes_correctly(tmp_path: Path) -> None:
    html = html_of(SVOBODA).replace('<meta charset="utf-8" />', '<meta charset="windows-1251" />', 1)
    assert 'charset="windows-1251"' in html
    data = html.encode("cp1251", errors="xmlcharrefreplace")  # characters outside cp1251 become references
    assert "Новини".encode("cp1251") in data
    page = tmp_path / "svoboda-cp1251.html"
    page.write_bytes(data)
    code, out, err = invoke(str(page), "--url", url_of(SVOBODA))
    assert code == 0, err
    assert out == expected_of(SVOBODA)
    assert render_article(default_registry().parse(decode_html(data), url_of(SVOBODA))) == expected_of(SVOBODA)


def test_right_to_left_page_keeps_its_script_and_chrome_language() -> None:
    article = default_registry().parse(html_of(DARI), url_of(DARI))
    text = render_article(article)
    assert article.language == "prs"
    assert text.startswith("لینک های دسترسی\n\nBreaking News\n\nآغاز کمپاین")


# --- chrome lines ------------------------------------------------------------------------------------------


def test_category_line_shows_only_where_the_archive_shows_it() -> None:
    english = render_article(default_registry().parse(html_of(VOA), url_of(VOA)))
    assert english.startswith("Accessibility links\n\nBreaking News\nUSA\n\nAmerica's")
    # A category whose link text outweighs its box (every non-Latin one-word category) stays out of the text.
    dari = html_of(VOA).replace('href="/z/599">USA<', 'href="/z/599">امریکا<', 1)
    assert "امریکا" not in render_article(default_registry().parse(dari, url_of(VOA))).split("\n")[:4]


def test_breaking_bar_with_heavy_buttons_stays_out() -> None:
    text = render_article(default_registry().parse(html_of(SVOBODA), url_of(SVOBODA)))
    assert text.startswith("Доступність посилання\n\nУ РФ заявили")  # "ВАЖЛИВО" bar and category left out
    assert text.rsplit("\n", 1)[-1] == "Форум"  # the comment section's heading closes the text


# --- structured article ------------------------------------------------------------------------------------


def test_json_output_carries_the_structured_fields(tmp_path: Path) -> None:
    code, out, err = invoke(str(VOA) + ".html", "--url", url_of(VOA), "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["url"] == url_of(VOA)
    assert data["site"] == "voanews.com" and data["family"] == "pangea" and data["template"] == "pangea.article"
    assert data["article_id"] == "7585813" and data["key"] == "voanews.com:7585813"
    assert data["language"] == "en"
    assert data["headline"] == "America's child care crisis is holding back moms without college degrees"
    assert data["published"] == "2024-04-28T07:00:00+00:00" and data["modified"] == "2024-04-28T07:00:00+00:00"
    assert data["authors"] == ["Associated Press"]
    assert data["section"] == "USA" and data["tags"] == ["USA", "United States"]
    assert data["teaser"].startswith("High-quality child care programs")
    assert data["lead_image"]["url"] == "https://gdb.voanews.com/7C01456E-AFA3-4D09-A6AA-A6042A5159FA.jpg"
    assert data["lead_image"]["caption"].startswith("Adriane Burnett reads to her son")
    kinds = [b["kind"] for b in data["blocks"]]
    assert kinds[:5] == ["chrome", "chrome", "category", "headline", "lead_image"]
    assert kinds.count("figure") == 2 and "paragraph" in kinds
    assert all(set(b) == {"kind", "text", "before", "after"} for b in data["blocks"])


def test_times_are_aware_utc_from_json_ld_then_time_then_analytics() -> None:
    registry = default_registry()
    article = registry.parse(html_of(DARI), url_of(DARI))
    assert article.published == datetime(2024, 12, 23, 4, 10, 4, tzinfo=UTC)  # JSON-LD "2024-12-23 04:10:04Z"
    assert article.modified == datetime(2024, 12, 24, 14, 7, 32, tzinfo=UTC)
    program = registry.parse(html_of(PROGRAM), url_of(PROGRAM))  # no JSON-LD: time[datetime] +02:00
    assert program.published == datetime(2020, 6, 22, 7, 30, tzinfo=UTC)
    no_time = html_of(PROGRAM).replace('datetime="2020-06-22T09:30:00+02:00"', "")
    assert registry.parse(no_time, url_of(PROGRAM)).published == datetime(2020, 6, 22, 7, 30, tzinfo=UTC)


def test_canonical_url_names_the_same_article() -> None:
    # The gallery's rel=canonical points at the voaindonesia copy (another id): og:url keeps the darivoa one.
    gallery = default_registry().parse(html_of(GALLERY), url_of(GALLERY))
    assert gallery.url == url_of(GALLERY) and gallery.key == "darivoa.com:7934011"
    # Fetched with a cache-buster: the page's canonical URL drops it.
    app_page = default_registry().parse(html_of(DARI_VIDEO_APP), url_of(DARI_VIDEO_APP) + "?nocache=1")
    assert app_page.url == url_of(DARI_VIDEO_APP)
    # A canonical link to a third-party host is not believed.
    foreign = html_of(VOA).replace("https://www.voanews.com/a/america-s", "https://mirror.example.net/a/america-s")
    article = default_registry().parse(foreign, url_of(VOA) + "?utm_source=x")
    assert article.url == url_of(VOA) and article.site == "voanews.com"  # tracking parameters dropped


def test_authors_are_people_not_the_outlet() -> None:
    registry = default_registry()
    assert registry.parse(html_of(DARI), url_of(DARI)).authors == ["عماد روستایی"]
    assert registry.parse(html_of(SVOBODA), url_of(SVOBODA)).authors == []  # JSON-LD names "Радіо Свобода"


def test_media_player_renders_as_the_archive_shows_it() -> None:
    article = default_registry().parse(html_of(DARI_VIDEO_APP), url_of(DARI_VIDEO_APP))
    media = [b.text for b in article.blocks if b.kind == "media"]
    assert media == [
        "به اپلکیشن VOA+ بپیوندند\nplease wait\n\nNo media source currently available\n\n0:00 0:00:29 0:00"
    ]


def test_loose_text_in_the_body_is_kept() -> None:
    html = html_of(VOA).replace('<div class="wsw">', '<div class="wsw">Loose text <b>here</b>.<br>Second line', 1)
    text = render_article(default_registry().parse(html, url_of(VOA)))
    assert "2024.\nLoose text here.\nSecond line\n\nAfter a series of lower-paying jobs" in text
    assert "AUBURN" not in text  # the dateline still stays out


BODY_CONSTRUCTS = {
    "list": "<ul><li>First point</li><li>Second <em>point</em></li></ul>",
    "nested-ordered-list": "<ol><li>One</li><li>Two<ul><li>nested</li></ul></li></ol>",
    "quote": "<blockquote><p>Quoted words.</p></blockquote>",
    "subheading": '<h2 class="wsw__h2">A subheading</h2>',
    "strong-subheading": '<h4 class="wsw__h4"><strong>Strong head</strong></h4>',
    "table": "<table><tr><td>a</td><td>b</td></tr></table>",
    "youtube": '<div class="wsw__embed"><div class="mediaReplacer externalMedia">'
    '<iframe src="https://www.youtube.com/embed/x"></iframe></div></div>',
    "link-paragraph": '<p><a href="/a/1.html">Read more: something</a></p>',
    "infographic": '<div class="wsw__embed"><div class="infgraphicsAttach"><p>Graphic text</p></div></div>',
}


@pytest.mark.parametrize("construct", BODY_CONSTRUCTS.values(), ids=BODY_CONSTRUCTS.keys())
def test_body_constructs_render_as_the_reference_producer_renders_them(construct: str) -> None:
    html2text = pytest.importorskip("resiliparse.extract.html2text")
    from resiliparse.parse.html import HTMLTree

    html = html_of(VOA).replace("<p>Slemp expected", construct + "<p>Slemp expected", 1)
    reference = html2text.extract_plain_text(
        HTMLTree.parse(html), main_content=True, skip_elements=[".responsive-indicator"]
    ).strip()
    assert render_article(default_registry().parse(html, url_of(VOA))) == reference


def test_blank_paragraph_leaves_no_blank_line() -> None:
    # The reference producer would write a line holding only a no-break space, which FORMAT.md forbids.
    html = html_of(VOA).replace("<p>Slemp expected", "<p>&nbsp;</p><p>Slemp expected", 1)
    assert render_article(default_registry().parse(html, url_of(VOA))) == expected_of(VOA)


def test_accessibility_heading_is_found_inside_a_wrapper() -> None:
    html = (
        html_of(VOA).replace("<section", '<div class="wrap"><section', 1).replace("</section>", "</section></div>", 1)
    )
    assert render_article(default_registry().parse(html, url_of(VOA))) == expected_of(VOA)

"""Discovery readers (feeds, sitemaps, section pages) on the real fixture files, the ways real feeds break, and one
source pass through the client with respx."""

from __future__ import annotations

import gzip
import io
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import respx

from monitor.discovery import discover_source, iter_sitemap, page_links, parse_feed
from monitor.errors import SourceError
from monitor.http import HttpClient
from monitor.settings import HttpSettings, SourceSettings
from tests._clock import ManualClock

FIXTURES = Path(__file__).parent / "fixtures"
FEEDS = FIXTURES / "feeds"
SITEMAPS = FIXTURES / "sitemaps"

BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
"""
FEED_BOMB = BOMB + b"<rss version='2.0'><channel><item><title>&lol9;</title><link>https://x/a/1.html</link></item>" \
    b"</channel></rss>"
SITEMAP_BOMB = BOMB + b"<urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'><url><loc>&lol9;</loc></url></urlset>"


# --- feeds ---------------------------------------------------------------------------------------------------------


def test_pangea_rss_items() -> None:
    url = "https://www.slobodnaevropa.org/api/zqtovekoir"
    entries = parse_feed((FEEDS / "slobodnaevropa_rss_zqtovekoir_2020-07-08_pratiba_fixture.xml").read_bytes(), url)
    first = entries[0]
    assert len(entries) == 4
    assert first.url == "https://www.slobodnaevropa.org/a/lokalni-izbori-bih-rezultati/30953162.html"
    assert first.guid == first.url
    assert first.published == datetime(2020, 11, 16, 14, 57, tzinfo=UTC)  # "15:57:00 +0100" in the feed
    assert first.categories == ("Bosna i Hercegovina",)
    assert first.source_url == url


def test_voa_rss_items_with_several_categories() -> None:
    data = (FEEDS / "learningenglish_voanews_rss_zone1579_science-tech_2026-09-30_reduced_readup.xml").read_bytes()
    entries = parse_feed(data, "https://learningenglish.voanews.com/api/zmg_pl-vomx-tpeymtm")
    assert len(entries) == 4
    assert "Science & Technology" in entries[0].categories


def test_dw_rss2_items_carry_the_numeric_guid() -> None:
    entries = parse_feed((FEEDS / "dw_rss_ru_news_2022-04-19_trimmed_hexlet_fixture.xml").read_bytes(),
                         "https://rss.dw.com/xml/rss-ru-news")
    assert entries[0].guid == "61509255"
    assert entries[0].url.endswith("/a-61509255?maca=rus-rss-ru-news-4383-xml-mrss")
    assert entries[0].published == datetime(2022, 4, 19, 8, 16, tzinfo=UTC)


def test_dw_rdf_items() -> None:
    entries = parse_feed((FEEDS / "dw_rdf_rss-bos-all_2020-07-08_oneitem_pratiba.xml").read_bytes(),
                         "https://rss.dw.com/rdf/rss-bos-all")
    assert len(entries) == 1
    assert "/a-54087065" in entries[0].url
    assert entries[0].published == datetime(2020, 7, 8, 8, 58, tzinfo=UTC)
    assert entries[0].categories == ("Politika",)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty body"),
        (b"   \n", "empty body"),
        (b"<!DOCTYPE html><html><body>Service unavailable</body></html>", "not a feed: the body is an HTML page"),
        (b"<?xml version='1.0'?><error>quota</error>", "not a feed: the document is <error>"),
        (b"<rss version='2.0'><channel><item><title>cut off", "malformed XML"),
        (FEED_BOMB, "declares XML entities"),
        (b"<rss version='2.0'><channel><title>x</title></channel></rss>", "no items"),
    ],
)
def test_broken_feeds_are_source_errors(body: bytes, reason: str) -> None:
    url = "https://www.rferl.org/api/zrqiteuuir"
    with pytest.raises(SourceError, match=reason) as info:
        parse_feed(body, url)
    assert info.value.url == url
    assert url in str(info.value)


# --- sitemaps ------------------------------------------------------------------------------------------------------


def test_sitemap_index_lists_chunks() -> None:
    entries = list(iter_sitemap((SITEMAPS / "rferl/rferl_sitemap.xml").read_bytes(), "https://www.rferl.org/sitemap.xml"))
    assert all(e.is_sitemap for e in entries)
    assert len(entries) == 14
    assert entries[3].loc == "https://www.rferl.org/sitemap_8_3.xml.gz"
    assert entries[3].lastmod == datetime(2025, 4, 20, 17, 51, 25, 404782, tzinfo=UTC)


def test_index_chunks_filtered_by_lastmod_keep_undated_ones() -> None:
    data = (SITEMAPS / "rferl/rferl_sitemap.xml").read_bytes()
    kept = [e.loc for e in iter_sitemap(data, "u", since=datetime(2025, 4, 20, 18, 30, tzinfo=UTC))]
    assert kept == [
        "https://www.rferl.org/sitemap_8_10.xml.gz",
        "https://www.rferl.org/sitemap_8_9.xml.gz",
        "https://www.rferl.org/sitemap_8_latest.xml.gz",
        "https://www.rferl.org/sitemap_8_news.xml.gz",
        "https://www.rferl.org/sitemap_8_sections.xml.gz",
        "https://www.rferl.org/sitemap_8_videos.xml.gz",
    ]


def test_google_news_sitemap() -> None:
    entries = list(iter_sitemap((SITEMAPS / "rferl/rferl_sitemap_8_news.xml").read_bytes(), "u"))
    assert entries[0].title == "Central Asia's New Position In Global Politics"
    assert entries[0].published == datetime(2025, 5, 25, 10, 55, 0, 820000, tzinfo=UTC)
    assert not entries[0].is_sitemap


def test_gzipped_chunk_streamed_with_a_date_range() -> None:
    data = (SITEMAPS / "rferl/rferl_sitemap_8_3.xml.gz").read_bytes()
    everything = sum(1 for _ in iter_sitemap(data, "u"))
    day = list(iter_sitemap(data, "u", since=datetime(2019, 7, 20, tzinfo=UTC),
                            until=datetime(2019, 7, 21, tzinfo=UTC)))
    assert everything == 20000
    assert day and all(datetime(2019, 7, 20, tzinfo=UTC) <= e.when <= datetime(2019, 7, 21, tzinfo=UTC)
                       for e in day if e.when)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty body"),
        (b"<html><body>Not found</body></html>", "not a sitemap: the document is <html>"),
        (b"<urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'><url><loc>https://x/1</loc></url><url>",
         "malformed sitemap XML"),
        (SITEMAP_BOMB, "declares a DTD"),
        (gzip.compress(b"<urlset><url><loc>https://x/1</loc></url></urlset>")[:30], "broken gzip|malformed"),
    ],
)
def test_broken_sitemaps_are_source_errors(body: bytes, reason: str) -> None:
    url = "https://www.rferl.org/sitemap_8_1.xml.gz"
    with pytest.raises(SourceError, match=reason) as info:
        list(iter_sitemap(body, url))
    assert info.value.url == url


def test_gzip_bomb_is_stopped() -> None:
    body = b"<urlset>" + b"<url><loc>https://www.rferl.org/a/x/1.html</loc></url>" * 20000 + b"</urlset>"
    with pytest.raises(SourceError, match="refused: the sitemap unpacks to more than 100000 bytes"):
        list(iter_sitemap(gzip.compress(body), "u", max_unpacked=100_000))


def _gzip_bomb(element: bytes, unpacked: int) -> bytes:
    """A gzip of a few tens of KB that unpacks to ``unpacked`` bytes: one ``element`` filled with one letter."""
    head, tail = element.split(b"X")
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=9) as packed:
        packed.write(b"<?xml version='1.0'?><urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'><url>" + head)
        block = b"a" * (1024 * 1024)
        for _ in range(unpacked // len(block)):
            packed.write(block)
        packed.write(tail + b"</url></urlset>")
    out = buffer.getvalue()
    assert len(out) < unpacked // 500
    return out


@pytest.mark.parametrize("unpacked", [20 * 1024 * 1024, 60 * 1024 * 1024])
def test_a_generated_gzip_bomb_is_refused_in_our_words(unpacked: int) -> None:
    # One 20 MB text: libxml2's own limit, whose message suggested lifting it (XML_PARSE_HUGE); 60 MB: ours (the
    # protocol's 50 MB), unless libxml2's text limit comes first. Either way the words say what and why.
    url = "https://www.rferl.org/sitemap_8_1.xml.gz"
    with pytest.raises(SourceError) as info:
        list(iter_sitemap(_gzip_bomb(b"<loc>X</loc>", unpacked), url))
    message = str(info.value)
    assert info.value.url == url and url in message
    assert "XML_PARSE_HUGE" not in message and "Resource limit" not in message
    assert message.startswith("refused: the sitemap "), message
    assert "10 MB" in message or "50 MiB" in message


def test_news_sitemap_and_feed_languages_are_read() -> None:
    news = b"""<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
      xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"><url><loc>https://www.rferl.org/a/x/1.html</loc>
      <news:news><news:publication><news:name>RFE/RL</news:name><news:language>ru</news:language></news:publication>
      <news:publication_date>2025-05-25T10:55:00Z</news:publication_date><news:title>t</news:title></news:news>
      </url></urlset>"""
    assert [e.language for e in iter_sitemap(news, "u")] == ["ru"]
    feed = b"""<rss version="2.0"><channel><title>t</title><language>fr</language>
      <item><link>https://www.dw.com/fr/x/a-1</link></item></channel></rss>"""
    assert [e.language for e in parse_feed(feed, "u")] == ["fr"]


# --- section pages -------------------------------------------------------------------------------------------------


def test_section_page_links_are_absolute_and_unique() -> None:
    html = b"""<html><body><a href="/a/one/111.html">One</a> <a href="/a/one/111.html">again</a>
      <a href="https://www.dw.com/en/x/a-5">dw</a> <a href="#top">top</a> <a href="mailto:x@y">mail</a></body></html>"""
    links = page_links(html, "https://www.rferl.org/z/1")
    assert links == [("https://www.rferl.org/a/one/111.html", "One"), ("https://www.dw.com/en/x/a-5", "dw")]


# --- one source pass -----------------------------------------------------------------------------------------------


@pytest.fixture
def client() -> Iterator[HttpClient]:
    clock = ManualClock()
    with HttpClient(HttpSettings(retries=0), clock=clock, sleep=clock.sleep, rng=random.Random(1)) as c:
        yield c


def test_source_pass_collects_errors_and_goes_on(client: HttpClient) -> None:
    index = (b"<sitemapindex xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>"
             b"<sitemap><loc>https://www.rferl.org/sitemap_8_news.xml.gz</loc></sitemap>"
             b"<sitemap><loc>https://www.rferl.org/sitemap_8_99.xml.gz</loc></sitemap></sitemapindex>")
    news = gzip.compress((SITEMAPS / "rferl/rferl_sitemap_8_news.xml").read_bytes())
    source = SourceSettings(
        name="rferl", site="www.rferl.org",
        feeds=["https://www.rferl.org/api/zrqiteuuir", "https://www.rferl.org/api/zombie"],
        sitemaps=["https://www.rferl.org/sitemap.xml"],
        sections=["https://www.rferl.org/"],
    )
    with respx.mock(assert_all_called=False) as router:
        router.get("https://www.rferl.org/robots.txt").respond(404)
        router.get("https://www.rferl.org/api/zrqiteuuir").respond(
            200, content=(FEEDS / "slobodnaevropa_rss_zqtovekoir_2020-07-08_pratiba_fixture.xml").read_bytes())
        router.get("https://www.rferl.org/api/zombie").respond(200, content=b"")
        router.get("https://www.rferl.org/sitemap.xml").respond(200, content=index)
        router.get("https://www.rferl.org/sitemap_8_news.xml.gz").respond(
            200, headers={"content-type": "application/x-gzip"}, content=news)
        router.get("https://www.rferl.org/sitemap_8_99.xml.gz").respond(404)
        router.get("https://www.rferl.org/").respond(
            200, headers={"content-type": "text/html"},
            content=b"<a href='/a/from-section/33000001.html'>x</a><a href='/Investigations'>y</a>"
                    b"<a href='https://www.svoboda.org/a/elsewhere/1.html'>z</a>")
        result = discover_source(client, source, since=datetime(2020, 1, 1, tzinfo=UTC))

    errors = {e.url: str(e) for e in result.errors}
    assert set(errors) == {"https://www.rferl.org/api/zombie", "https://www.rferl.org/sitemap_8_99.xml.gz"}
    assert "empty body" in errors["https://www.rferl.org/api/zombie"]
    assert "sitemap chunk unavailable: HTTP 404" in errors["https://www.rferl.org/sitemap_8_99.xml.gz"]
    urls = [e.url for e in result.entries]
    assert "https://www.slobodnaevropa.org/a/lokalni-izbori-bih-rezultati/30953162.html" in urls  # feed
    assert "https://www.rferl.org/a/majlis-russian-chinese-influence-central-asia/33423647.html" in urls  # news
    assert "https://www.rferl.org/a/from-section/33000001.html" in urls  # section page
    assert not any("svoboda.org" in u or "Investigations" in u for u in urls)
    assert len(result.keys) == len(set(result.keys)) == len(urls)
    assert "rferl.org:33423647" in result.keys


def test_source_pass_dedupes_and_canonicalises(client: HttpClient) -> None:
    feed = b"""<rss version="2.0"><channel><title>t</title>
      <item><link>https://www.dw.com/en/story/a-100?maca=en-rss-en-all-1573-rdf</link>
        <pubDate>Mon, 24 Nov 2025 10:00:00 GMT</pubDate></item>
      <item><link>https://amp.dw.com/en/story/a-100</link><pubDate>Mon, 24 Nov 2025 10:00:00 GMT</pubDate></item>
      <item><link>https://www.dw.com/en/old/a-99</link><pubDate>Mon, 03 Nov 2025 10:00:00 GMT</pubDate></item>
      <item><link>https://www.dw.com/en/top-stories/s-9097</link></item>
    </channel></rss>"""
    source = SourceSettings(name="dw", site="www.dw.com", feeds=["https://rss.dw.com/xml/rss-en-all"])
    with respx.mock(assert_all_called=False) as router:
        router.get("https://rss.dw.com/robots.txt").respond(404)
        router.get("https://rss.dw.com/xml/rss-en-all").respond(200, content=feed)
        result = discover_source(client, source, now=datetime(2025, 11, 25, tzinfo=UTC))
    assert [e.url for e in result.entries] == ["https://www.dw.com/en/story/a-100"]
    assert result.keys == ["dw.com:a-100"]
    assert result.skipped == 1  # the section URL


def test_one_article_from_a_feed_and_a_sitemap_keeps_the_newest_date(client: HttpClient) -> None:
    # The feed lists the article first with its old date; the sitemap read in the same pass re-dates it (an edit).
    feed = b"""<rss version="2.0"><channel><title>t</title>
      <item><link>https://www.dw.com/en/story/a-100</link><pubDate>Mon, 24 Nov 2025 10:00:00 GMT</pubDate></item>
      <item><link>https://www.dw.com/fr/histoire/a-101</link><pubDate>Mon, 24 Nov 2025 10:00:00 GMT</pubDate></item>
    </channel></rss>"""
    sitemap = b"""<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
      <url><loc>https://www.dw.com/en/story/a-100</loc><lastmod>2025-11-24T18:30:00Z</lastmod></url>
      <url><loc>https://www.dw.com/fr/histoire/a-101</loc><lastmod>2025-11-24T09:00:00Z</lastmod></url>
    </urlset>"""
    source = SourceSettings(name="dw", site="www.dw.com", feeds=["https://rss.dw.com/xml/rss-en-all"],
                            sitemaps=["https://www.dw.com/en/news-sitemap.xml"])
    with respx.mock(assert_all_called=False) as router:
        router.get("https://rss.dw.com/robots.txt").respond(404)
        router.get("https://www.dw.com/robots.txt").respond(404)
        router.get("https://rss.dw.com/xml/rss-en-all").respond(200, content=feed)
        router.get("https://www.dw.com/en/news-sitemap.xml").respond(200, content=sitemap)
        result = discover_source(client, source, now=datetime(2025, 11, 25, tzinfo=UTC))
    assert result.keys == ["dw.com:a-100", "dw.com:a-101"]
    first, second = result.entries
    assert first.modified == datetime(2025, 11, 24, 18, 30, tzinfo=UTC)
    # An older date from the second source does not undo the first one's newer date.
    assert (second.modified or second.published) == datetime(2025, 11, 24, 10, 0, tzinfo=UTC)
    # DW URLs name their language.
    assert [e.language for e in result.entries] == ["en", "fr"]


def test_source_validators_are_remembered_only_on_commit(client: HttpClient) -> None:
    source = SourceSettings(name="s", site="www.slobodnaevropa.org",
                            feeds=["https://www.slobodnaevropa.org/api/zqtovekoir"])
    body = (FEEDS / "slobodnaevropa_rss_zqtovekoir_2020-07-08_pratiba_fixture.xml").read_bytes()
    since = datetime(2020, 1, 1, tzinfo=UTC)
    with respx.mock(assert_all_called=False) as router:
        router.get("https://www.slobodnaevropa.org/robots.txt").respond(404)
        route = router.get("https://www.slobodnaevropa.org/api/zqtovekoir").mock(
            side_effect=lambda request: httpx.Response(304) if request.headers.get("if-none-match") == '"a"'
            else httpx.Response(200, headers={"ETag": '"a"'}, content=body))
        first = discover_source(client, source, since=since)
        again = discover_source(client, source, since=since)  # not committed: read again in full
        assert len(again.entries) == len(first.entries) == 4
        again.commit(client)
        third = discover_source(client, source, since=since)
    assert third.entries == [] and third.unchanged == ["https://www.slobodnaevropa.org/api/zqtovekoir"]
    assert route.call_count == 3


def test_a_feed_whose_short_link_failed_is_not_remembered(client: HttpClient) -> None:
    feed = b"""<rss version="2.0"><channel><title>t</title>
      <item><link>https://p.dw.com/p/3AbCd</link><pubDate>Mon, 24 Nov 2025 10:00:00 GMT</pubDate></item>
    </channel></rss>"""
    source = SourceSettings(name="dw", site="www.dw.com", feeds=["https://rss.dw.com/xml/rss-en-all"])
    now = datetime(2025, 11, 25, tzinfo=UTC)
    with respx.mock(assert_all_called=False) as router:
        router.get("https://rss.dw.com/robots.txt").respond(404)
        router.get("https://p.dw.com/robots.txt").respond(404)
        router.get("https://www.dw.com/robots.txt").respond(404)
        route = router.get("https://rss.dw.com/xml/rss-en-all").mock(
            side_effect=lambda request: httpx.Response(304) if request.headers.get("if-none-match") == '"f"'
            else httpx.Response(200, headers={"ETag": '"f"'}, content=feed))
        short = router.get("https://p.dw.com/p/3AbCd").respond(503)
        first = discover_source(client, source, now=now)
        assert first.entries == [] and "short link unresolved" in str(first.errors[0])
        first.commit(client)
        short.respond(301, headers={"Location": "https://www.dw.com/en/story/a-100"})
        router.get("https://www.dw.com/en/story/a-100").respond(200, headers={"content-type": "text/html"},
                                                                 content=b"<html></html>")
        second = discover_source(client, source, now=now)  # read in full again: its entry was not followed
        assert second.keys == ["dw.com:a-100"]
        second.commit(client)
        third = discover_source(client, source, now=now)
    assert third.unchanged == ["https://rss.dw.com/xml/rss-en-all"]
    assert route.call_count == 3


def test_sitemap_index_is_never_remembered_its_chunks_are(client: HttpClient) -> None:
    index = (b"<sitemapindex xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>"
             b"<sitemap><loc>https://www.rferl.org/sitemap_8_news.xml.gz</loc></sitemap></sitemapindex>")
    news = (SITEMAPS / "rferl/rferl_sitemap_8_news.xml").read_bytes()
    source = SourceSettings(name="rferl", site="www.rferl.org", sitemaps=["https://www.rferl.org/sitemap.xml"])
    with respx.mock(assert_all_called=False) as router:
        router.get("https://www.rferl.org/robots.txt").respond(404)
        router.get("https://www.rferl.org/sitemap.xml").respond(200, headers={"ETag": '"i"'}, content=index)
        router.get("https://www.rferl.org/sitemap_8_news.xml.gz").respond(200, headers={"ETag": '"n"'},
                                                                         content=news)
        result = discover_source(client, source, since=datetime(2025, 1, 1, tzinfo=UTC))
        result.commit(client)
    assert len(result.entries) > 10
    # The index's chunks (_latest, _news) change without the index changing: asking it "changed since?" would hide them.
    assert client.validators.get("https://www.rferl.org/sitemap.xml") is None
    assert client.validators.get("https://www.rferl.org/sitemap_8_news.xml.gz") is not None


def test_shipped_config_watches_rferl_and_dw_english() -> None:
    from monitor.settings import DEFAULT_CONFIG, load_settings
    from monitor.sites import default_registry

    settings = load_settings(DEFAULT_CONFIG)
    registry = default_registry(settings.pangea_hosts)
    names = {source.name: source for source in settings.sources}
    assert {"rferl", "dw-en"} <= set(names)
    assert "https://rss.dw.com/xml/rss-en-all" in names["dw-en"].feeds
    assert "@" in settings.http.contact
    for source in settings.sources:
        assert source.feeds or source.sitemaps
        for url in [*source.sitemaps, *source.sections]:
            registry.family_for(url)  # every sitemap and section page belongs to a known site family

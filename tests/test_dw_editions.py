"""DW's language editions: every URL prefix is an edition the family reads, and pages, sitemaps and feeds are told
apart by edition (the fixture pages and feeds say which language they are in)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.discovery.feeds import parse_feed
from monitor.sites.dw import EDITIONS, DWFamily, edition, edition_of

FIXTURES = Path(__file__).parent / "fixtures"


def test_about_thirty_editions_each_with_its_own_prefix_and_feeds() -> None:
    assert len(EDITIONS) >= 29
    prefixes = [e.prefix for e in EDITIONS]
    assert len(set(prefixes)) == len(prefixes)
    feeds = [feed for e in EDITIONS for feed in e.feeds]
    assert len(set(feeds)) == len(feeds)
    assert {"en", "de", "ru", "uk"} <= set(prefixes)
    assert edition("ru") is not None and edition("ru").feeds[0] == "rss-ru-all"  # type: ignore[union-attr]
    assert edition("/UK/") is not None and edition("uk").feeds == ("rss-ukr-all",)  # type: ignore[union-attr]
    assert edition("xx") is None


@pytest.mark.parametrize("prefix", [e.prefix for e in EDITIONS])
def test_every_edition_prefix_is_read_by_the_family(prefix: str) -> None:
    family = DWFamily()
    url = f"https://www.dw.com/{prefix}/some-headline/a-12345678"
    assert family.article_id(url) == "a-12345678"
    assert family.language_of(url) == prefix
    found = edition_of(url)
    assert found is not None and found.prefix == prefix
    assert edition_of(found.sitemap("news")) is found and edition_of(found.sitemap("article")) is found
    for feed in found.feed_urls:
        assert edition_of(feed) is found


WITH_URL = [p for p in sorted((FIXTURES / "pages" / "dw").glob("*.expect.json"))
            if json.loads(p.read_text(encoding="utf-8"))["url"]]


@pytest.mark.parametrize("expect", WITH_URL, ids=lambda p: p.stem)
def test_the_fixture_pages_belong_to_the_edition_of_their_language(expect: Path) -> None:
    data = json.loads(expect.read_text(encoding="utf-8"))
    found = edition_of(data["url"])
    assert found is not None and found.language == data["language"].split("-")[0].lower()


@pytest.mark.parametrize(("name", "url"), [
    ("dw_rss_ru_news_2022-04-19_trimmed_hexlet_fixture.xml", "https://rss.dw.com/xml/rss-ru-news"),
    ("dw_rdf_rss-bos-all_2020-07-08_oneitem_pratiba.xml", "https://rss.dw.com/rdf/rss-bos-all"),
])
def test_a_feed_names_its_edition_and_its_entries_carry_the_feeds_language(name: str, url: str) -> None:
    found = edition_of(url)
    assert found is not None
    entries = parse_feed((FIXTURES / "feeds" / name).read_bytes(), url)
    assert entries and all(entry.language == found.language for entry in entries)
    assert all(edition_of(entry.url) is found for entry in entries)


def test_hosts_that_are_not_dw_have_no_edition() -> None:
    assert edition_of("https://www.rferl.org/en/a-1") is None
    assert edition_of("https://rss.dw.com/xml/rss-unknown") is None

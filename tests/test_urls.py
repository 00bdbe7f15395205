"""Canonical URLs, article keys, short links and file-name hashes."""

from __future__ import annotations

import hashlib

import pytest
import respx

from monitor.errors import RedirectError
from monitor.http import HttpClient
from monitor.settings import HttpSettings
from monitor.sites import default_registry
from monitor.urls import article_key, canonical_url, file_hash, is_short_link, resolve_short_link
from tests._clock import ManualClock


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        # DW feed links carry ?maca= and raw UTF-8 slugs; pages use percent-encoding.
        ("https://www.dw.com/ru/у-школы/a-61509255?maca=rus-rss-ru-news-4383-xml-mrss",
         "https://www.dw.com/ru/%D1%83-%D1%88%D0%BA%D0%BE%D0%BB%D1%8B/a-61509255"),
        ("https://www.slobodnaevropa.org/a/kurspahi%c4%87-x/30953162.html",
         "https://www.slobodnaevropa.org/a/kurspahi%C4%87-x/30953162.html"),
        ("http://m.rferl.org/a/story/123.html?utm_source=tw&utm_medium=social#comments",
         "https://www.rferl.org/a/story/123.html"),
        ("https://www.rferl.org/amp/story/33423647.html", "https://www.rferl.org/a/story/33423647.html"),
        ("https://amp.dw.com/en/slug/a-123", "https://www.dw.com/en/slug/a-123"),
        ("https://www.dw.com/en/slug/a-123/amp", "https://www.dw.com/en/slug/a-123"),
        ("https://dw.com/en/slug/a-123", "https://www.dw.com/en/slug/a-123"),
        ("https://WWW.RFERL.ORG:443/a/x/1.html?fbclid=abc&page=2", "https://www.rferl.org/a/x/1.html?page=2"),
        ("https://www.darivoa.com/a/join-voaplus-app/6730477.html?nocache=1",
         "https://www.darivoa.com/a/join-voaplus-app/6730477.html"),
        ("https://m.learningenglish.voanews.com/a/x/7998765.html",
         "https://learningenglish.voanews.com/a/x/7998765.html"),
        ("  https://www.dw.com/en/x/a-1\n", "https://www.dw.com/en/x/a-1"),
        ("https://p.dw.com/p/3AbCd", "https://p.dw.com/p/3AbCd"),
        ("https://www.rferl.org/s?k=a%26b%3Dc&utm_campaign=x&p=%D0%B0+b", "https://www.rferl.org/s?k=a%26b%3Dc&p=%D0%B0%20b"),
    ],
)
def test_canonical_url(url: str, canonical: str) -> None:
    assert canonical_url(url) == canonical
    assert canonical_url(canonical) == canonical  # idempotent


def test_one_key_per_article_across_its_urls() -> None:
    registry = default_registry()
    variants = [
        "https://www.rferl.org/a/story/33423647.html",
        "http://m.rferl.org/a/story/33423647.html?maca=x#top",
        "https://www.rferl.org/amp/story/33423647.html",
    ]
    assert {article_key(canonical_url(u), registry) for u in variants} == {"rferl.org:33423647"}
    assert article_key("https://www.dw.com/en/slug/a-77538843", registry) == "dw.com:a-77538843"
    assert article_key("https://www.rferl.org/Investigations", registry) is None
    assert article_key("https://example.com/a/1.html", registry) is None


def test_file_hash_is_sha256_prefix_of_the_canonical_url() -> None:
    url = "https://www.rferl.org/a/story/33423647.html"
    assert file_hash(url) == hashlib.sha256(url.encode()).hexdigest()[:16]
    assert len(file_hash(url)) == 16 and file_hash(url) != file_hash(url + "x")


def test_short_link_resolved_through_the_client() -> None:
    clock = ManualClock()
    with respx.mock(assert_all_called=False) as router, HttpClient(HttpSettings(), clock=clock,
                                                                   sleep=clock.sleep) as client:
        router.get(url__regex=r".*/robots\.txt$").respond(404)
        router.get("https://p.dw.com/p/3AbCd").respond(
            301, headers={"Location": "https://www.dw.com/en/slug/a-123?maca=en-short"})
        page = router.get("https://www.dw.com/en/slug/a-123?maca=en-short").respond(200, text="<p>x</p>")
        router.get("https://p.dw.com/p/evil").respond(302, headers={"Location": "https://evil.example/x"})
        assert is_short_link("https://p.dw.com/p/3AbCd")
        assert resolve_short_link(client, "https://p.dw.com/p/3AbCd") == "https://www.dw.com/en/slug/a-123"
        assert resolve_short_link(client, "https://www.dw.com/en/x/a-1?maca=y") == "https://www.dw.com/en/x/a-1"
        with pytest.raises(RedirectError):
            resolve_short_link(client, "https://p.dw.com/p/evil")
    assert page.called  # the target answered; its body was not needed


def test_site_of_host_is_what_article_keys_start_with() -> None:
    registry = default_registry()
    assert registry.site_of_host("www.rferl.org") == "rferl.org"
    assert registry.site_of_host("www.dw.com") == "dw.com"
    assert registry.site_of_host("www.example.com") is None
    key = article_key("https://www.rferl.org/a/some-slug/33423647.html", registry)
    assert key is not None and key.startswith(f"{registry.site_of_host('www.rferl.org')}:")

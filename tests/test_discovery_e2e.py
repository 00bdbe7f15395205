"""End to end on a real HTTP server on 127.0.0.1 (tests/_localsite.py) serving the fixture feeds, sitemaps and pages
under their real URLs through ``[http] host_map``: discovery, fetching, conditional GET, faults, pacing, the CLI."""

from __future__ import annotations

import itertools
import shutil
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from monitor.cli import app
from monitor.discovery import DiscoveryResult, discover_source
from monitor.errors import FetchError
from monitor.http import HttpClient
from monitor.render import render_article
from monitor.settings import HttpSettings, SourceSettings
from monitor.sites import default_registry
from monitor.urls import resolve_short_link
from tests._localsite import Fault, LocalSite

pytestmark = pytest.mark.slow

FIXTURES = Path(__file__).parent / "fixtures"
DELAY = 0.2
DW_PAGE = "https://www.dw.com/en/germany-start-2026-world-cup-with-win-over-curacao/a-77538843"
PANGEA_PAGE = "https://www.radiosvoboda.org/a/news-rosia-ataka-droniv/33629716.html"
SINCE = datetime(2019, 1, 1, tzinfo=UTC)

INDEX = """<?xml version="1.0" encoding="utf-8"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>https://www.rferl.org/sitemap_8_3.xml.gz</loc><lastmod>2025-04-20T17:51:25Z</lastmod></sitemap>
<sitemap><loc>https://www.rferl.org/sitemap_8_99.xml.gz</loc></sitemap>
<sitemap><loc>https://www.rferl.org/sitemap_8_news.xml.gz</loc></sitemap>
<sitemap><loc>https://www.rferl.org/sitemap_8_latest.xml.gz</loc></sitemap>
</sitemapindex>"""

SOURCES = [
    SourceSettings(name="rferl", site="www.rferl.org", sitemaps=["https://www.rferl.org/sitemap.xml"]),
    SourceSettings(name="dw", site="www.dw.com",
                   feeds=["https://rss.dw.com/xml/rss-ru-news", "https://rss.dw.com/rdf/rss-bos-all"]),
    SourceSettings(name="rse", site="www.slobodnaevropa.org",
                   feeds=["https://www.slobodnaevropa.org/api/zqtovekoir"]),
]


def _put(root: Path, url_path: str, source: Path | str | bytes) -> None:
    target = root / url_path
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(source, Path):
        shutil.copyfile(source, target)
    else:
        target.write_bytes(source.encode() if isinstance(source, str) else source)


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("snapshot")
    feeds, rferl = FIXTURES / "feeds", FIXTURES / "sitemaps" / "rferl"
    _put(root, "www.rferl.org/robots.txt", "User-agent: *\nDisallow: /search\n")
    _put(root, "www.rferl.org/sitemap.xml", INDEX)
    _put(root, "www.rferl.org/sitemap_8_3.xml.gz", rferl / "rferl_sitemap_8_3.xml.gz")
    _put(root, "www.rferl.org/sitemap_8_news.xml", rferl / "rferl_sitemap_8_news.xml")  # .gz made on the fly
    _put(root, "www.rferl.org/sitemap_8_latest.xml", rferl / "rferl_sitemap_8_latest.xml")
    _put(root, "www.slobodnaevropa.org/api/zqtovekoir",
         feeds / "slobodnaevropa_rss_zqtovekoir_2020-07-08_pratiba_fixture.xml")
    _put(root, "rss.dw.com/xml/rss-ru-news", feeds / "dw_rss_ru_news_2022-04-19_trimmed_hexlet_fixture.xml")
    _put(root, "rss.dw.com/rdf/rss-bos-all", feeds / "dw_rdf_rss-bos-all_2020-07-08_oneitem_pratiba.xml")
    _put(root, "rss.dw.com/xml/rss-en-zombie", b"")
    _put(root, "www.dw.com/robots.txt", "User-agent: *\nDisallow: /search\n")
    _put(root, "www.dw.com/en/germany-start-2026-world-cup-with-win-over-curacao/a-77538843",
         FIXTURES / "http/pages/dw_en_newgen_2026-06-14_germany-world-cup-curacao_a-77538843.html")
    _put(root, "www.radiosvoboda.org/a/news-rosia-ataka-droniv/33629716.html",
         FIXTURES / "http/pages/radiosvoboda_uk_2025-12-22_news-rosia-ataka-droniv_33629716.html")
    _put(root, "p.dw.com/robots.txt", "User-agent: *\nAllow: /\n")
    return root


@pytest.fixture
def site(snapshot: Path) -> Iterator[LocalSite]:
    with LocalSite(snapshot) as running:
        yield running


def _client(site: LocalSite, **overrides: object) -> HttpClient:
    settings = HttpSettings(**{"host_map": site.host_map(), "min_delay": DELAY, "retries": 1, "backoff_base": 0.05,
                               "read_timeout": 2.0, **overrides})
    return HttpClient(settings)


def _assert_paced(site: LocalSite) -> None:
    """No two requests to one host closer than the configured delay (arrival times at the server)."""
    for host in {r.host for r in site.log}:
        times = sorted(r.time for r in site.requests(host))
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert all(gap >= DELAY for gap in gaps), (host, gaps)


def test_discovery_and_fetching_end_to_end_with_pacing(site: LocalSite) -> None:
    registry = default_registry()
    results: dict[str, DiscoveryResult] = {}
    with _client(site) as client:
        def run(source: SourceSettings) -> None:
            results[source.name] = discover_source(client, source, registry=registry, since=SINCE)

        threads = [threading.Thread(target=run, args=(source,)) for source in SOURCES]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        page = client.fetch(PANGEA_PAGE, expect="html")
        dw_page = client.fetch(DW_PAGE, expect="html")

    rferl, dw, rse = results["rferl"], results["dw"], results["rse"]
    # rferl: the news and latest chunks (and the 2019 chunk: its lastmod is after SINCE), one 404 chunk reported.
    assert [e.url for e in rferl.errors] == ["https://www.rferl.org/sitemap_8_99.xml.gz"]
    assert "HTTP 404" in str(rferl.errors[0])
    assert "rferl.org:33423647" in rferl.keys  # from sitemap_8_news, fetched as .gz made on the fly
    assert "rferl.org:30066137" in rferl.keys  # from the 4 MB chunk sitemap_8_3.xml.gz
    assert len(rferl.entries) > 3800  # of the chunk's 20000 URLs, those changed since 2019
    assert all((e.published or e.modified or SINCE) >= SINCE for e in rferl.entries)
    assert dw.errors == [] and {"dw.com:a-61509255", "dw.com:a-54087065"} <= set(dw.keys)
    assert all("maca=" not in e.url for e in dw.entries)
    assert rse.errors == [] and len(rse.entries) == 4

    assert page.status == 200 and page.final_url == PANGEA_PAGE
    article = registry.parse(page.text(), PANGEA_PAGE)
    assert article.key == "radiosvoboda.org:33629716"
    assert render_article(article)
    assert dw_page.status == 200 and dw_page.media_type == "text/html"
    assert any(r.headers.get("Accept-Encoding") for r in site.log)

    _assert_paced(site)
    # Different hosts went concurrently: some requests to different hosts arrived closer than the delay.
    arrivals = sorted((r.time, r.host) for r in site.log)
    assert any(b[0] - a[0] < DELAY and a[1] != b[1] for a, b in itertools.pairwise(arrivals))
    # robots.txt was asked once per host and cached.
    for host in {r.host for r in site.log}:
        assert sum(1 for r in site.requests(host) if r.path == "/robots.txt") == 1


def test_conditional_get_second_pass_is_not_modified(site: LocalSite) -> None:
    source = SOURCES[1]
    with _client(site) as client:
        first = discover_source(client, source, since=SINCE)
        first.commit(client)
        second = discover_source(client, source, since=SINCE)
    assert first.entries and second.entries == []
    assert sorted(second.unchanged) == sorted(source.feeds)
    statuses = [r.status for r in site.requests("rss.dw.com") if r.path != "/robots.txt"]
    assert statuses == [200, 200, 304, 304]
    _assert_paced(site)


def test_faults_retry_after_hang_zombie_and_short_link(site: LocalSite) -> None:
    site.fault("www.slobodnaevropa.org", "/api/zqtovekoir", Fault(status=503, retry_after=1, times=1))
    site.fault("www.dw.com", "/en/slow/a-1", Fault(delay=1.5))
    site.redirect("p.dw.com", "/p/3AbCd", DW_PAGE + "?maca=en-short")
    zombie = SourceSettings(name="z", site="www.dw.com", feeds=["https://rss.dw.com/xml/rss-en-zombie"])
    with _client(site, read_timeout=0.5, retries=1) as client:
        result = discover_source(client, SOURCES[2], since=SINCE)  # 503 with Retry-After 1, then 200
        assert len(result.entries) == 4 and result.errors == []
        with pytest.raises(FetchError, match="timed out"):
            client.fetch("https://www.dw.com/en/slow/a-1")
        broken = discover_source(client, zombie, since=SINCE)
        assert [str(e) for e in broken.errors] == [
            "feed answered with an empty body (https://rss.dw.com/xml/rss-en-zombie)"]
        assert resolve_short_link(client, "https://p.dw.com/p/3AbCd") == DW_PAGE
    feed_hits = [r.time for r in site.requests("www.slobodnaevropa.org") if r.path == "/api/zqtovekoir"]
    assert len(feed_hits) == 2 and feed_hits[1] - feed_hits[0] >= 1.0  # Retry-After honoured


def test_localsite_basics(site: LocalSite) -> None:
    import httpx

    with httpx.Client(base_url=site.base_url, trust_env=False) as http:
        feed = http.get("/api/zqtovekoir", headers={"Host": "www.slobodnaevropa.org"})
        assert feed.status_code == 200 and feed.headers["content-type"].startswith("application/rss+xml")
        again = http.get("/api/zqtovekoir", headers={"Host": "www.slobodnaevropa.org",
                                                     "If-None-Match": feed.headers["etag"]})
        assert again.status_code == 304
        packed = http.get("/www.rferl.org/sitemap_8_news.xml.gz")  # path-prefix form, gzip made on the fly
        assert packed.headers["content-type"] == "application/x-gzip" and packed.content[:2] == b"\x1f\x8b"
        assert http.get("/../../etc/passwd", headers={"Host": "www.rferl.org"}).status_code == 404
        assert http.get("/missing", headers={"Host": "www.rferl.org"}).status_code == 404


def test_cli_discover_and_fetch(site: LocalSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hosts = ", ".join(f'"{host}" = "{base}"' for host, base in site.host_map().items())
    config = tmp_path / "monitor.toml"
    config.write_text(f"""
[http]
min_delay = {DELAY}
retries = 0
host_map = {{ {hosts} }}

[[sources]]
name = "dw"
site = "www.dw.com"
feeds = ["https://rss.dw.com/xml/rss-ru-news"]
lookback = 1e10

[[sources]]
name = "broken"
site = "www.dw.com"
feeds = ["https://rss.dw.com/xml/rss-en-zombie"]
""")
    monkeypatch.setenv("MONITOR_CONFIG", str(config))
    runner = CliRunner()

    found = runner.invoke(app, ["discover", "dw", "--keys"])
    assert found.exit_code == 0, found.output
    assert "dw.com:a-61509255\thttps://www.dw.com/ru/" in found.stdout

    broken = runner.invoke(app, ["discover", "broken"])
    assert broken.exit_code == 2
    assert broken.stderr.strip() == ("monitor: error: feed answered with an empty body "
                                     "(https://rss.dw.com/xml/rss-en-zombie)")

    unknown = runner.invoke(app, ["discover", "nope"])
    assert unknown.exit_code == 2 and "no source named 'nope'" in unknown.stderr

    fetched = runner.invoke(app, ["fetch", PANGEA_PAGE])
    assert fetched.exit_code == 0, fetched.output
    first, _, text = fetched.stdout.partition("\n")
    assert first.startswith("HTTP 200  ") and PANGEA_PAGE in first
    assert text.strip()

    feed = runner.invoke(app, ["fetch", "https://rss.dw.com/xml/rss-ru-news"])
    assert feed.exit_code == 0
    assert feed.stdout.startswith("HTTP 200  ") and feed.stdout.count("\n") == 1  # not an article: status only

    bad_date = runner.invoke(app, ["discover", "dw", "--since", "yesterday"])
    assert bad_date.exit_code == 2
    assert "--since 'yesterday': expected a date YYYY-MM-DD or an ISO datetime" in bad_date.stderr

    missing = runner.invoke(app, ["fetch", "https://www.dw.com/en/gone/a-1"])
    assert missing.exit_code == 2
    assert missing.stderr.strip() == "monitor: error: HTTP 404 (https://www.dw.com/en/gone/a-1)"

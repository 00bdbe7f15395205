"""The polite HTTP client, rule by rule, against respx (no network, no real waiting: a manual clock)."""

from __future__ import annotations

import gzip
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import brotli
import httpx
import pytest
import respx

from monitor.errors import (
    ContentTypeError,
    FetchError,
    HostBackedOffError,
    RedirectError,
    ResponseTooLargeError,
    RobotsDisallowedError,
)
from monitor.http import HttpClient, MemoryValidatorStore, Validators
from monitor.settings import HttpSettings
from tests._clock import ManualClock

PAGE = "https://www.rferl.org/a/some-story/33423647.html"
PAGE2 = "https://www.rferl.org/a/other-story/33423648.html"
HTML = {"content-type": "text/html; charset=utf-8"}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as mock:
        mock.get(url__regex=r"^https?://[^/]+/robots\.txt$").respond(404)
        yield mock


def make_client(clock: ManualClock, **overrides: Any) -> HttpClient:
    settings = HttpSettings(**{"contact": "ops@example.org", **overrides})
    return HttpClient(settings, clock=clock, sleep=clock.sleep, rng=random.Random(7))


def test_user_agent_names_the_operator(router: respx.MockRouter, clock: ManualClock) -> None:
    route = router.get(PAGE).respond(200, headers=HTML, content=b"<html><p>x</p></html>")
    with make_client(clock) as client:
        fetched = client.fetch(PAGE, expect="html")
    assert fetched.status == 200
    agent = route.calls.last.request.headers["user-agent"]
    assert "ops@example.org" in agent and agent.startswith("monitor/")


def test_429_waits_for_retry_after(router: respx.MockRouter, clock: ManualClock) -> None:
    route = router.get(PAGE).mock(side_effect=[
        httpx.Response(429, headers={"Retry-After": "7"}),
        httpx.Response(200, headers=HTML, content=b"<p>ok</p>"),
    ])
    with make_client(clock) as client:
        fetched = client.fetch(PAGE)
        assert client.stats.retries == 1
    assert fetched.content == b"<p>ok</p>"
    assert route.call_count == 2
    assert max(clock.sleeps) >= 7  # the second attempt waited at least what the server asked


def test_503_then_200_is_retried_with_backoff(router: respx.MockRouter, clock: ManualClock) -> None:
    route = router.get(PAGE).mock(side_effect=[httpx.Response(503), httpx.Response(200, content=b"fine")])
    with make_client(clock, backoff_base=2.0, min_delay=0.0) as client:
        assert client.fetch(PAGE).content == b"fine"
    assert route.call_count == 2
    assert 1.0 <= max(clock.sleeps) <= 2.0  # base 2 s with jitter in [0.5, 1]


def test_read_timeout_is_retried_then_reported(router: respx.MockRouter, clock: ManualClock) -> None:
    route = router.get(PAGE).mock(side_effect=httpx.ReadTimeout("slow"))
    with make_client(clock, retries=2) as client, pytest.raises(FetchError, match="timed out") as info:
        client.fetch(PAGE)
    assert route.call_count == 3
    assert info.value.url == PAGE


def test_connection_error_is_retried(router: respx.MockRouter, clock: ManualClock) -> None:
    route = router.get(PAGE).mock(side_effect=[httpx.ConnectError("refused"), httpx.Response(200, content=b"x")])
    with make_client(clock) as client:
        assert client.fetch(PAGE).status == 200
    assert route.call_count == 2


def test_other_4xx_is_not_retried(router: respx.MockRouter, clock: ManualClock) -> None:
    route = router.get(PAGE).respond(404)
    with make_client(clock) as client, pytest.raises(FetchError, match="HTTP 404") as info:
        client.fetch(PAGE)
    assert route.call_count == 1
    assert info.value.status == 404


def test_redirect_to_another_host_is_an_error(router: respx.MockRouter, clock: ManualClock) -> None:
    router.get(PAGE).respond(302, headers={"Location": "https://ads.example.com/landing"})
    elsewhere = router.get("https://ads.example.com/landing").respond(200)
    with make_client(clock) as client, pytest.raises(RedirectError, match="another site"):
        client.fetch(PAGE)
    assert not elsewhere.called


def test_redirect_within_the_site_is_followed(router: respx.MockRouter, clock: ManualClock) -> None:
    router.get("https://rferl.org/a/x/1.html").respond(301, headers={"Location": "https://www.rferl.org/a/x/1.html"})
    router.get("https://www.rferl.org/a/x/1.html").respond(200, headers=HTML, content=b"<p>x</p>")
    with make_client(clock) as client:
        fetched = client.fetch("https://rferl.org/a/x/1.html")
    assert fetched.final_url == "https://www.rferl.org/a/x/1.html"


def test_same_site_means_the_registrable_domain_not_the_last_two_labels(
    router: respx.MockRouter, clock: ManualClock
) -> None:
    """Under a two-label public suffix (co.uk) the site is three labels: bbc.co.uk may not send us to another
    .co.uk site, but may move us between its own hosts."""
    router.get("https://news.bbc.co.uk/1").respond(302, headers={"Location": "https://ads.other.co.uk/landing"})
    elsewhere = router.get("https://ads.other.co.uk/landing").respond(200)
    router.get("https://news.bbc.co.uk/2").respond(301, headers={"Location": "https://www.bbc.co.uk/2"})
    router.get("https://www.bbc.co.uk/2").respond(200, headers=HTML, content=b"<p>x</p>")
    with make_client(clock) as client:
        with pytest.raises(RedirectError, match="another site"):
            client.fetch("https://news.bbc.co.uk/1")
        assert client.fetch("https://news.bbc.co.uk/2").final_url == "https://www.bbc.co.uk/2"
    assert not elsewhere.called


def test_redirects_are_limited(router: respx.MockRouter, clock: ManualClock) -> None:
    router.get(url__regex=r"https://www\.rferl\.org/loop/\d+").mock(
        side_effect=lambda request: httpx.Response(
            302, headers={"Location": f"/loop/{int(request.url.path.rsplit('/', 1)[1]) + 1}"})
    )
    with make_client(clock, max_redirects=3) as client, pytest.raises(RedirectError, match="more than 3"):
        client.fetch("https://www.rferl.org/loop/0")


def test_oversized_body_is_an_error_not_a_truncation(router: respx.MockRouter, clock: ManualClock) -> None:
    router.get(PAGE).respond(200, headers=HTML, content=b"x" * 5000)
    with make_client(clock, max_bytes=1000) as client:
        with pytest.raises(ResponseTooLargeError):
            client.fetch(PAGE)
        assert len(client.fetch(PAGE, max_bytes=10_000).content) == 5000  # per-fetch cap (sitemaps: 50 MB)


def test_size_cap_counts_the_unpacked_stream(router: respx.MockRouter, clock: ManualClock) -> None:
    packed = gzip.compress(b"<p>" + b"a" * 200_000 + b"</p>")  # a few hundred bytes on the wire
    router.get(PAGE).respond(200, headers={**HTML, "content-encoding": "gzip"}, content=packed)
    with make_client(clock, max_bytes=100_000) as client, pytest.raises(ResponseTooLargeError, match="cap"):
        client.fetch(PAGE)


def test_wrong_content_type_is_refused(router: respx.MockRouter, clock: ManualClock) -> None:
    router.get(PAGE).respond(200, headers={"content-type": "image/jpeg"}, content=b"\xff\xd8\xff")
    with make_client(clock) as client:
        with pytest.raises(ContentTypeError, match="expected an HTML page, got image/jpeg"):
            client.fetch(PAGE, expect="html")
        with pytest.raises(ContentTypeError, match="expected a feed or sitemap, got image/jpeg"):
            client.fetch(PAGE, expect="xml")
        assert client.fetch(PAGE, expect="any").content == b"\xff\xd8\xff"


def test_gzip_and_brotli_bodies_are_unpacked(router: respx.MockRouter, clock: ManualClock) -> None:
    text = "<p>Привет</p>".encode()
    router.get(PAGE).respond(200, headers={**HTML, "content-encoding": "gzip"}, content=gzip.compress(text))
    router.get(PAGE2).respond(200, headers={**HTML, "content-encoding": "br"}, content=brotli.compress(text))
    with make_client(clock) as client:
        assert client.fetch(PAGE).text() == "<p>Привет</p>"
        assert client.fetch(PAGE2).text() == "<p>Привет</p>"


def test_windows_1251_page_is_decoded(router: respx.MockRouter, clock: ManualClock) -> None:
    page = '<html><head><meta charset="windows-1251"></head><body><p>Новости дня</p></body></html>'
    router.get(PAGE).respond(200, headers={"content-type": "text/html"}, content=page.encode("cp1251"))
    router.get(PAGE2).respond(200, headers={"content-type": "text/html; charset=windows-1251"},
                                    content="<p>Новости дня</p>".encode("cp1251"))
    with make_client(clock) as client:
        assert "Новости дня" in client.fetch(PAGE, expect="html").text()  # from the meta tag
        fetched = client.fetch(PAGE2, expect="html")
    assert fetched.charset == "windows-1251"
    assert fetched.text() == "<p>Новости дня</p>"  # from the header


def test_robots_disallow_skips_and_counts(clock: ManualClock) -> None:
    with respx.mock(assert_all_called=False) as router:
        robots = router.get("https://www.rferl.org/robots.txt").respond(
            200, text="User-agent: *\nDisallow: /private/\n")
        private = router.get("https://www.rferl.org/private/x.html").respond(200)
        router.get(PAGE).respond(200, content=b"ok")
        with make_client(clock) as client:
            with pytest.raises(RobotsDisallowedError):
                client.fetch("https://www.rferl.org/private/x.html")
            assert client.fetch(PAGE).status == 200
            assert client.stats.robots_disallowed == 1
    assert not private.called
    assert robots.call_count == 1  # cached


def test_robots_group_for_our_agent_wins(clock: ManualClock) -> None:
    with respx.mock(assert_all_called=False) as router:
        router.get("https://www.dw.com/robots.txt").respond(
            200, text="User-agent: *\nAllow: /\n\nUser-agent: monitor\nDisallow: /en/\n")
        with make_client(clock) as client, pytest.raises(RobotsDisallowedError):
            client.fetch("https://www.dw.com/en/x/a-1")


def test_crawl_delay_wins_when_larger(clock: ManualClock) -> None:
    with respx.mock(assert_all_called=False) as router:
        router.get("https://www.rferl.org/robots.txt").respond(200, text="User-agent: *\nCrawl-delay: 5\n")
        router.get(url__startswith="https://www.rferl.org/a/").respond(200, content=b"ok")
        with make_client(clock, min_delay=1.0) as client:
            client.fetch("https://www.rferl.org/a/1.html")
            start = clock()
            client.fetch("https://www.rferl.org/a/2.html")
    assert clock() - start == pytest.approx(5.0)


def test_min_delay_between_requests_to_one_host_only(clock: ManualClock) -> None:
    seen: list[tuple[str, float]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append((f"{request.url.host}{request.url.path}", clock()))
        return httpx.Response(404 if request.url.path == "/robots.txt" else 200, content=b"ok")

    with respx.mock(assert_all_called=False) as router:
        router.get(url__regex=r".*").mock(side_effect=answer)
        with make_client(clock, min_delay=1.0) as client:
            client.fetch("https://www.rferl.org/a/1.html")
            client.fetch("https://www.dw.com/a/1")
            client.fetch("https://www.rferl.org/a/2.html")
    assert seen == [
        ("www.rferl.org/robots.txt", 1000.0),
        ("www.rferl.org/a/1.html", 1001.0),  # one second after robots.txt: same host
        ("www.dw.com/robots.txt", 1001.0),  # no wait: another host
        ("www.dw.com/a/1", 1002.0),
        ("www.rferl.org/a/2.html", 1002.0),  # one second after the last rferl request, not after dw's
    ]


def test_robots_cache_expires_after_a_day(clock: ManualClock) -> None:
    with respx.mock(assert_all_called=False) as router:
        robots = router.get("https://www.rferl.org/robots.txt").respond(200, text="User-agent: *\nAllow: /\n")
        router.get(PAGE).respond(200, content=b"ok")
        with make_client(clock) as client:
            client.fetch(PAGE)
            clock.advance(3600)
            client.fetch(PAGE)
            assert robots.call_count == 1
            clock.advance(86400)
            client.fetch(PAGE)
    assert robots.call_count == 2


def test_robots_server_error_means_not_now(clock: ManualClock) -> None:
    with respx.mock(assert_all_called=False) as router:
        router.get("https://www.rferl.org/robots.txt").respond(503)
        page = router.get(PAGE).respond(200)
        with make_client(clock) as client, pytest.raises(FetchError, match=r"robots\.txt answered HTTP 503"):
            client.fetch(PAGE)
    assert not page.called


def test_etag_and_304(router: respx.MockRouter, clock: ManualClock) -> None:
    feed = "https://www.rferl.org/api/zrqiteuuir"
    route = router.get(feed).mock(side_effect=[
        httpx.Response(200, headers={"ETag": '"v1"', "Last-Modified": "Mon, 24 Nov 2025 10:00:00 GMT"},
                       content=b"<rss/>"),
        httpx.Response(304),
    ])
    store = MemoryValidatorStore()
    with HttpClient(HttpSettings(), validators=store, clock=clock, sleep=clock.sleep) as client:
        first = client.fetch(feed, conditional=True)
        assert store.get(feed) is None  # nothing is remembered before the caller has used the body
        client.remember(first)
        assert store.get(feed) == Validators('"v1"', "Mon, 24 Nov 2025 10:00:00 GMT")
        second = client.fetch(feed, conditional=True)
        assert client.stats.not_modified == 1
    assert second.not_modified and second.content == b""
    sent = route.calls.last.request.headers
    assert sent["if-none-match"] == '"v1"'
    assert sent["if-modified-since"] == "Mon, 24 Nov 2025 10:00:00 GMT"
    assert "if-none-match" not in route.calls[0].request.headers


def test_failing_host_is_backed_off_for_minutes(router: respx.MockRouter, clock: ManualClock) -> None:
    route = router.get(url__startswith="https://www.rferl.org/a/").respond(503)
    with make_client(clock, retries=1, host_failures=3, host_backoff=300.0) as client:
        with pytest.raises(FetchError, match="HTTP 503"):
            client.fetch("https://www.rferl.org/a/1.html")  # two failed attempts
        with pytest.raises(HostBackedOffError, match="left alone"):
            client.fetch("https://www.rferl.org/a/2.html")  # the third failure opens the circuit
        calls = route.call_count
        with pytest.raises(HostBackedOffError, match="backed off"):
            client.fetch("https://www.rferl.org/a/3.html")  # refused at once, nothing sent
        assert route.call_count == calls
        assert max(clock.sleeps, default=0) < 60  # no tight loop, no long inline wait either
        clock.advance(301)
        route.respond(200, content=b"back")
        assert client.fetch("https://www.rferl.org/a/4.html").content == b"back"


def test_long_retry_after_backs_the_host_off(router: respx.MockRouter, clock: ManualClock) -> None:
    router.get(PAGE).respond(429, headers={"Retry-After": "3600"})
    with make_client(clock, backoff_max=60.0) as client:
        with pytest.raises(HostBackedOffError, match="Retry-After 3600"):
            client.fetch(PAGE)
        with pytest.raises(HostBackedOffError):
            client.fetch(PAGE)
    assert max(clock.sleeps, default=0) < 3600


def test_host_map_sends_requests_to_the_local_base(clock: ManualClock) -> None:
    with respx.mock(assert_all_called=False) as router:
        router.get("http://127.0.0.1:8765/robots.txt").respond(404)
        route = router.get("http://127.0.0.1:8765/a/some-story/33423647.html").respond(
            200, headers=HTML, content=b"<p>local</p>")
        with make_client(clock, host_map={"www.rferl.org": "http://127.0.0.1:8765"}) as client:
            fetched = client.fetch(PAGE, expect="html")
    assert fetched.final_url == PAGE and fetched.url == PAGE
    assert route.calls.last.request.headers["host"] == "www.rferl.org"


def test_invalid_url_is_a_fetch_error(clock: ManualClock) -> None:
    with make_client(clock) as client, pytest.raises(FetchError, match="not an http"):
        client.fetch("ftp://www.rferl.org/x")


@pytest.mark.slow  # spawns processes
def test_the_store_does_not_import_the_http_client() -> None:
    """Validators live in monitor.validators: persisting them needs no HTTP client (a fresh interpreter, so that
    what other tests imported does not count)."""
    code = "import sys, monitor.store.store; print(sorted(m for m in sys.modules if m.startswith('monitor.http')))"
    root = Path(__file__).resolve().parent.parent  # "-c" puts the working directory first on sys.path
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root)
    assert done.stdout.strip() == "[]"

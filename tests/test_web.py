"""``monitor web`` through FastAPI's TestClient: every page and API answer on a small archive made by the real
pipeline, and the safety rules (escaping, CSRF, authentication, bounded input, errors as pages)."""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import pytest
from fastapi.testclient import TestClient
from markupsafe import escape
from typer.testing import CliRunner

from monitor.archive import Archive
from monitor.cli import app as cli_app
from monitor.errors import ConfigError
from monitor.ingest import ingest_page
from monitor.search import SearchFilters, SearchService
from monitor.search.candidates import Candidate, StoreScan
from monitor.settings import Settings, StorageSettings, WebSettings
from monitor.sites import default_registry
from monitor.store import Store
from monitor.store.outbox import Outbox
from monitor.web import create_app
from monitor.web.security import Credentials, check_bind, is_loopback
from tests._store_support import pg_url_fixture  # noqa: F401  (fixture)
from tests._synth import HOST, article_url, synth_page
from tests._web_support import HOSTILE, WebArchive, build_archive

LOCAL = "http://127.0.0.1:8080"


@pytest.fixture(name="web", scope="module")
def web_fixture(tmp_path_factory: pytest.TempPathFactory) -> WebArchive:
    return build_archive(tmp_path_factory.mktemp("web"))


@pytest.fixture(name="store")
def store_fixture(web: WebArchive) -> Iterator[Store]:
    store = Store.open(web.settings.storage, upgrade=False)
    try:
        yield store
    finally:
        store.close()


@pytest.fixture(name="client")
def client_fixture(web: WebArchive, store: Store) -> Iterator[TestClient]:
    with TestClient(create_app(web.settings, store), base_url=LOCAL, raise_server_exceptions=False) as client:
        yield client


def _pre(page: str, element_id: str) -> str:
    found = re.search(rf'<pre[^>]*id="{element_id}"[^>]*>(.*?)</pre>', page, re.S)
    assert found, element_id
    return html.unescape(found.group(1))


# --- search ---------------------------------------------------------------------------------------------------


def test_search_finds_highlights_and_escapes_a_hostile_headline(client: TestClient, web: WebArchive) -> None:
    response = client.get("/search", params={"q": "title:Lavrov"})
    assert response.status_code == 200
    page = response.text
    assert f'href="/article/{web.keys[0]}"' in page
    assert "<script>alert" not in page and "<b>bold</b>" not in page
    assert str(escape(HOSTILE)) in page
    assert "<mark>Lavrov</mark>" in page  # the snippet's match, marked; the text around it escaped
    assert 'value="title:Lavrov"' in page  # the query stays in the box (and in the URL)


def test_api_snippets_leave_out_the_page_chrome_above_the_headline(client: TestClient) -> None:
    # The synthetic VOA texts open with "Accessibility links", "Breaking News" and "USA"; "story" is in the headline.
    results = client.get("/api/search", params={"q": "story"}).json()["results"]
    assert results
    for result in results:
        shown = result["snippet"]
        assert shown.startswith(result["headline"]) and "Accessibility" not in shown
        assert [shown[a:b] for a, b in result["highlights"]] == ["story"]
    # The chrome is the site's, not the article's: no search finds it (as no alert does).
    assert client.get("/api/search", params={"q": "Accessibility"}).json()["results"] == []


def test_search_filters_select_what_they_say(client: TestClient, web: WebArchive) -> None:
    def keys(**params: str) -> list[str]:
        return re.findall(r'class="headline" href="/article/([^"]+)"', client.get("/search", params=params).text)

    site = web.keys[0].split(":")[0]
    assert keys(q="story", site=site)  # every synthetic article but the hostile one says "story" in its title
    assert keys(q="story", site="www.example.org") == []
    assert keys(q="story", language="xx") == []
    assert keys(q="story", since="2024-04-28", until="2024-04-28")
    assert keys(q="story", since="2024-04-29") == []


def test_search_pages_newest_first_and_bounds_a_huge_page_number(client: TestClient, web: WebArchive) -> None:
    first = client.get("/search", params={"q": "", "page": 1}).text
    shown = re.findall(r'class="headline" href="/article/([^"]+)"', first)
    assert shown == [web.keys[0], web.keys[1]]  # page size 2, newest first (same day: the later article first)
    assert 'rel="next" href="/search?page=2"' in first
    huge = client.get("/search", params={"q": "story", "page": 10**9})
    assert huge.status_code == 200
    assert 'id="bounded"' in huge.text and "page 3" in huge.text
    assert client.get("/search", params={"page": 10**12}).status_code == 400  # past any int the page accepts


def test_a_query_with_a_syntax_error_shows_its_column(client: TestClient) -> None:
    response = client.get("/search", params={"q": "Lavrov AND (Ukraine"})
    assert response.status_code == 400
    assert "query column" in response.text
    caret = re.search(r'<pre class="caret">(.*?)</pre>', response.text, re.S)
    assert caret is not None
    query_line, pointer = html.unescape(caret.group(1)).split("\n")
    assert query_line == "Lavrov AND (Ukraine" and pointer.endswith("^")
    column = int(re.search(r"query column (\d+)", response.text).group(1))  # type: ignore[union-attr]
    assert len(pointer) == column


def test_a_bad_date_is_a_page_not_a_traceback(client: TestClient) -> None:
    response = client.get("/search", params={"q": "story", "since": "2024-13-45"})
    assert response.status_code == 400
    assert "since" in response.text and "Traceback" not in response.text
    widest = client.get("/api/search", params={"q": "story", "since": "0001-01-01", "until": "9999-12-31"})
    assert widest.status_code == 200 and len(widest.json()["results"]) == 2


# --- article, revisions, raw HTML, story ----------------------------------------------------------------------


def test_article_page_shows_the_stored_text_exactly_and_its_metadata(client: TestClient, web: WebArchive,
                                                                        store: Store) -> None:
    key = web.keys[1]
    revisions = store.revisions(key)
    stored = Archive(web.settings.storage.archive_root).read_text(revisions[-1].text_path)
    page = client.get(f"/article/{key}").text
    assert _pre(page, "archive-text") == stored
    article = store.article(key)
    assert article is not None
    for url in store.urls_of(article.pk):
        assert html.escape(url) in page
    assert page.count(f'href="/article/{key}/raw/') == 2  # both revisions' raw HTML
    assert "HTTP 500 from the webhook" not in page or "stories" in page  # the alert it caused is listed
    assert "rule <strong>stories</strong>" in page


def test_comparing_two_revisions_shows_what_changed(client: TestClient, web: WebArchive, store: Store) -> None:
    key = web.keys[1]
    archive = Archive(web.settings.storage.archive_root)
    old, new = (archive.read_text(r.text_path) for r in store.revisions(key))
    page = client.get(f"/article/{key}", params={"a": 0, "b": 1}).text
    added = [html.unescape(m) for m in re.findall(r'<span class="add">\+(.*?)</span>', page)]
    removed = [html.unescape(m) for m in re.findall(r'<span class="del">-(.*?)</span>', page)]
    assert added and removed
    assert all(line in new.splitlines() for line in added)
    assert all(line in old.splitlines() for line in removed)
    assert client.get(f"/article/{key}", params={"a": 0, "b": 7}).status_code == 404


def test_raw_html_is_served_as_text_for_download(client: TestClient, web: WebArchive, store: Store) -> None:
    key = web.keys[0]
    revision = store.revisions(key)[0]
    assert revision.raw_path
    response = client.get(f"/article/{key}/raw/0")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-disposition"].startswith("attachment")
    assert response.content == Archive(web.settings.storage.archive_root).read_raw(revision.raw_path)


def test_unknown_article_story_and_rule_are_404_pages(client: TestClient) -> None:
    for path in ("/article/nowhere.example:1", "/story/nowhere.example:1", "/feeds/rules/none.atom",
                 "/article/nowhere.example:1/raw/0"):
        response = client.get(path)
        assert response.status_code == 404, path
        if not path.endswith("raw/0") and not path.endswith(".atom"):
            assert "<h1>Not found</h1>" in response.text
    api = client.get("/api/articles/nowhere.example:1")
    assert api.status_code == 404 and api.json() == {"error": "no article 'nowhere.example:1' in the archive"}


def test_story_page_lists_its_articles_in_time_order(client: TestClient, web: WebArchive, store: Store) -> None:
    article = store.article(web.keys[2])
    assert article is not None and article.story_key
    page = client.get(f"/story/{article.story_key}").text
    assert f'href="/article/{web.keys[2]}"' in page
    data = client.get(f"/api/stories/{article.story_key}").json()
    times = [a["time"] for a in data["articles"]]
    assert times == sorted(times) and web.keys[2] in [a["key"] for a in data["articles"]]


# --- backtest, feeds ------------------------------------------------------------------------------------------


def test_backtest_draws_matches_per_day_and_bounds_the_range(client: TestClient, web: WebArchive) -> None:
    page = client.get("/backtest", params={"q": "story", "since": "2024-04-01", "until": "2024-04-30"}).text
    bars = re.findall(r'<rect class="bar" data-day="([\d-]+)" data-count="(\d+)"', page)
    assert len(bars) == 30
    assert dict(bars)["2024-04-28"] == str(len(web.keys) - 1)  # every article but the hostile one, all that day
    assert sum(int(c) for _, c in bars) == len(web.keys) - 1
    rule = client.get("/backtest", params={"rule": "lavrov", "since": "2024-04-28", "until": "2024-04-28"}).text
    assert f'href="/article/{web.keys[0]}"' in rule and "1 match(es)" in rule
    huge = client.get("/backtest", params={"q": "story", "since": "0001-01-01", "until": "9999-12-31"})
    assert huge.status_code == 200 and "the range was cut to its last 366 days" in huge.text
    assert len(re.findall(r'<rect class="bar"', huge.text)) == 366
    bad = client.get("/backtest", params={"q": "NEAR/3 x"})
    assert bad.status_code == 400 and "query column 1" in bad.text


def test_rule_and_search_feeds_are_atom(client: TestClient, web: WebArchive) -> None:
    response = client.get("/feeds/rules/lavrov.atom")
    assert response.headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(response.content)
    assert feed.version == "atom10"
    assert len(feed.entries) == 1 and HOSTILE in feed.entries[0].title
    assert feed.entries[0].link.startswith("https://")
    search = feedparser.parse(client.get("/feeds/search.atom", params={"q": "story", "site": "voanews.com"})
                              .content)
    assert len(search.entries) == 2  # one page
    assert client.get("/feeds/search.atom", params={"q": "(broken"}).status_code == 400


# --- alerts, sources ------------------------------------------------------------------------------------------


def test_alerts_page_explains_and_a_dead_alert_is_queued_again_with_csrf(client: TestClient, web: WebArchive,
                                                                          store: Store) -> None:
    page = client.get("/alerts", params={"state": "dead"}).text
    assert f'id="alert-{web.dead_id}"' in page
    assert "HTTP 500 from the webhook" in page and "a <mark>story</mark> &lt;i&gt;snippet&lt;/i&gt;" in page
    assert "matched: <code>story</code> as “story” in title" in page  # what matched and why
    token = re.search(r'name="csrf" value="([^"]+)"', page)
    assert token
    forged = client.post("/alerts/retry", data={"id": web.dead_id, "csrf": "guess"}, follow_redirects=False)
    assert forged.status_code == 403
    item = Outbox(store.engine).find_by_id(web.dead_id)
    assert item is not None and item.state == "dead"
    assert client.get("/alerts/retry").status_code == 405  # only a POST changes anything
    done = client.post("/alerts/retry", data={"id": web.dead_id, "csrf": token.group(1)}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/alerts?retried=1"
    item = Outbox(store.engine).find_by_id(web.dead_id)
    assert item is not None and item.state == "queued" and item.attempts == 0
    with Store.open(web.settings.storage, upgrade=False) as again:  # put it back for the other tests
        from sqlalchemy import update

        from monitor.store.outbox import AlertOutbox
        with again.engine.begin() as connection:
            connection.execute(update(AlertOutbox).where(AlertOutbox.id == web.dead_id).values(state="dead"))
    assert client.get("/alerts", params={"state": "nonsense"}).status_code == 400


def test_sources_page_shows_health_and_a_chart(client: TestClient) -> None:
    page = client.get("/sources").text
    assert 'id="source-voa"' in page and "never polled" in page
    assert page.count('<rect class="bar"') == 14
    # The problems `monitor status` and /healthz report (monitor.status), listed above the sources.
    problems = re.findall(r'<li class="error">([^<]*)</li>', page)
    assert problems[0] == "source voa: never polled", problems
    assert any(p.startswith("channel ") and "alerts dead" in p for p in problems[1:]), problems


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_sources_chart_counts_each_sources_own_new_articles(database: str, request: pytest.FixtureRequest,
                                                            tmp_path: Path) -> None:
    """Two sources of one site: each chart has the bars of what its own runs archived first (as its "today"),
    not what the site has."""
    storage = StorageSettings(url=request.getfixturevalue("pg_url") if database == "postgres" else None,
                              archive_root=tmp_path / "archive", fsync=False)
    settings = Settings(storage=storage, sources=[{"name": "voa", "site": HOST},  # type: ignore[list-item]
                                                  {"name": "voa-extra", "site": HOST}])
    now = datetime.now(UTC)
    clock = {"now": now - timedelta(days=1)}
    archive, registry = Archive(storage.archive_root, fsync=False), default_registry()
    with Store.open(storage, clock=lambda: clock["now"]) as store:
        ingest_page(store, archive, registry, synth_page(0), article_url(0), now, source="voa", clock=store.clock)
        clock["now"] = now
        for n in (1, 2):
            ingest_page(store, archive, registry, synth_page(n), article_url(n), now, source="voa-extra",
                        clock=store.clock)
        ingest_page(store, archive, registry, synth_page(0, edit=1), article_url(0), now, source="voa",
                    clock=store.clock)  # no new one
        with TestClient(create_app(settings, store), base_url=LOCAL, raise_server_exceptions=False) as client:
            page = client.get("/sources").text
    bars = {name: [int(n) for n in re.findall(r'data-count="(\d+)"', section)]
            for name, section in re.findall(r'<section class="source" id="source-([^"]+)">(.*?)</section>', page, re.S)}
    assert bars == {"voa": [0] * 12 + [1, 0], "voa-extra": [0] * 13 + [2]}


def test_sources_page_lists_only_the_counts_a_run_had(tmp_path: Path) -> None:
    from monitor.store.tables import SourceHealth

    storage = StorageSettings(archive_root=tmp_path / "archive", fsync=False)
    settings = Settings(storage=storage, sources=[{"name": "voa", "site": HOST}])  # type: ignore[list-item]
    with Store.open(storage) as store:
        store.save_source_health(SourceHealth(source="voa", runs=1, last_run=datetime.now(UTC),
                                              last_counts='{"failed": 0, "new": 2, "seen": 0, "unchanged": 5}'))
        with TestClient(create_app(settings, store), base_url=LOCAL, raise_server_exceptions=False) as client:
            page = client.get("/sources").text
    counts = re.search(r"<dt>Last run's counts</dt><dd>([^<]*)</dd>", page)
    assert counts is not None and counts.group(1) == "new 2, unchanged 5"


# --- API ------------------------------------------------------------------------------------------------------


def test_api_search_results_carry_url_headline_site_language_time(client: TestClient, web: WebArchive) -> None:
    data = client.get("/api/search", params={"q": "title:Lavrov"}).json()
    assert [r["key"] for r in data["results"]] == [web.keys[0]]
    result = data["results"][0]
    assert HOSTILE in result["headline"] and result["url"].startswith("https://")
    assert result["site"] and result["language"] == "en" and result["time"].startswith("2024-04-28")
    error = client.get("/api/search", params={"q": "a OR"})
    assert error.status_code == 400 and error.json()["column"] >= 1
    article = client.get(f"/api/articles/{web.keys[1]}").json()
    assert [r["number"] for r in article["revisions"]] == [0, 1] and article["text"]
    schema = client.get("/api/openapi.json").json()
    assert {"/api/search", "/api/articles/{key}", "/api/stories/{key}"} <= set(schema["paths"])
    assert "/search" not in schema["paths"]


# --- safety ---------------------------------------------------------------------------------------------------


def test_pages_load_nothing_from_another_host_and_send_a_strict_policy(client: TestClient, web: WebArchive) -> None:
    for path in ("/search?q=story", f"/article/{web.keys[1]}", "/backtest?q=story", "/alerts", "/sources"):
        response = client.get(path)
        assert "default-src 'self'" in response.headers["content-security-policy"], path
        assert response.headers["x-frame-options"] == "DENY"
        for attribute in re.findall(r'<(?:script|img|link|iframe)[^>]*(?:src|href)="([^"]+)"', response.text):
            assert attribute.startswith("/"), (path, attribute)
    assert client.get("/static/htmx.min.js").status_code == 200


def test_errors_are_pages_without_tracebacks_or_secrets(web: WebArchive, store: Store,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(key: str) -> None:
        raise RuntimeError("password=hunter2 in /secret/path")

    monkeypatch.setattr(store, "revisions", boom)
    with TestClient(create_app(web.settings, store), base_url=LOCAL, raise_server_exceptions=False) as client:
        response = client.get(f"/article/{web.keys[0]}")
        assert response.status_code == 500
        assert "hunter2" not in response.text and "Traceback" not in response.text
        assert "Something went wrong" in response.text
        api = client.get(f"/api/articles/{web.keys[0]}")
        assert api.status_code == 500 and api.json() == {"error": "internal error"}


def test_credentials_guard_every_request(web: WebArchive, store: Store) -> None:
    credentials = Credentials.from_env(WebSettings(), {"MONITOR_WEB_TOKEN": "t0ken",
                                                       "MONITOR_WEB_USERS": "ana:pw1, bo:pw2"})
    with TestClient(create_app(web.settings, store, credentials=credentials)) as client:
        assert client.get("/search").status_code == 401
        assert client.get("/search").headers["www-authenticate"].startswith("Basic")
        assert client.get("/search", headers={"Authorization": "Bearer t0ken"}).status_code == 200
        assert client.get("/search", headers={"Authorization": "Bearer wrong"}).status_code == 401
        basic = base64.b64encode(b"ana:pw1").decode()
        assert client.get("/api/search", headers={"Authorization": f"Basic {basic}"}).status_code == 200
        wrong = base64.b64encode(b"ana:pw2").decode()
        assert client.get("/api/search", headers={"Authorization": f"Basic {wrong}"}).status_code == 401
        assert client.get("/search", headers={"Authorization": "Basic !!!"}).status_code == 401


def test_without_credentials_only_loopback_host_names_are_answered(web: WebArchive, store: Store) -> None:
    with TestClient(create_app(web.settings, store), base_url=LOCAL) as client:
        for host in ("localhost:8080", "127.0.0.1", "[::1]:8080", "127.0.0.2:80"):
            assert client.get("/search", headers={"Host": host}).status_code == 200, host
        for host in ("attacker.example:8080", "attacker.example", "10.0.0.1:8080", "localhost.attacker.example"):
            assert client.get("/api/search", headers={"Host": host}).status_code == 421, host
    credentials = Credentials(token="t")
    with TestClient(create_app(web.settings, store, credentials=credentials), base_url=LOCAL) as client:
        answer = client.get("/api/search", headers={"Host": "monitor.example.org", "Authorization": "Bearer t"})
        assert answer.status_code == 200  # served on a real address, behind authentication


def test_only_loopback_without_credentials() -> None:
    web = WebSettings()
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5") and not is_loopback("example.org")
    check_bind("127.0.0.1", Credentials(), web)
    with pytest.raises(ConfigError, match=r"refusing to listen on 0\.0\.0\.0 without authentication"):
        check_bind("0.0.0.0", Credentials(), web)
    check_bind("0.0.0.0", Credentials(token="x"), web)
    with pytest.raises(ConfigError, match="MONITOR_WEB_USERS: entry 2 is not name:password"):
        Credentials.from_env(web, {"MONITOR_WEB_USERS": "a:b,nopassword"})


# --- the search service's seam for the index ------------------------------------------------------------------


def test_search_service_evaluates_only_what_its_candidate_source_supplies(web: WebArchive, store: Store) -> None:
    """The index, once built, is a CandidateSource: the service then evaluates only its candidates."""

    class OnlySome:
        def __init__(self, keys: set[str]) -> None:
            self.keys = keys
            self.asked = 0

        def candidates(self, node: object, filters: SearchFilters) -> Iterator[Candidate]:
            self.asked += 1
            return (c for c in StoreScan(store).candidates(None, filters) if c.article.key in self.keys)

    archive = Archive(web.settings.storage.archive_root)
    source = OnlySome({web.keys[2], web.keys[3]})
    service = SearchService(store, archive, source, page_size=10)
    found = [h.article.key for h in service.search("story", SearchFilters()).hits]
    assert found == [web.keys[2], web.keys[3]] and source.asked == 1
    everything = [h.article.key for h in SearchService(store, archive, page_size=10).search("story",
                                                                                            SearchFilters()).hits]
    assert everything == web.keys[1:]


def test_store_scan_pages_through_every_article_newest_first(store: Store, web: WebArchive) -> None:
    keys = [c.article.key for c in StoreScan(store, batch=2).candidates(None, SearchFilters())]
    assert keys == web.keys  # three batches, keyset-paged, nothing repeated or skipped


# --- the command ----------------------------------------------------------------------------------------------


def test_monitor_web_on_a_missing_or_unmigrated_database_says_so(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONITOR_STORAGE__ARCHIVE_ROOT", str(tmp_path / "archive"))
    runner = CliRunner()
    missing = runner.invoke(cli_app, ["web", "--port", "0"])
    assert missing.exit_code == 2
    assert f"no database at {tmp_path / 'archive' / 'monitor.db'}" in missing.output
    assert len(missing.output.strip().splitlines()) == 1
    assert not (tmp_path / "archive" / "monitor.db").exists()  # not created by looking
    (tmp_path / "archive").mkdir()
    import sqlite3

    sqlite3.connect(tmp_path / "archive" / "monitor.db").close()
    unmigrated = runner.invoke(cli_app, ["web", "--port", "0"])
    assert unmigrated.exit_code == 2
    assert "run `monitor db upgrade`" in unmigrated.output and len(unmigrated.output.strip().splitlines()) == 1
    exposed = runner.invoke(cli_app, ["web", "--host", "0.0.0.0"])
    assert exposed.exit_code == 2 and "without authentication" in exposed.output


@pytest.mark.slow  # spawns processes
def test_monitor_web_serves_until_interrupted(web: WebArchive) -> None:
    import os
    import signal
    import subprocess
    import sys

    import httpx

    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    env.update({"MONITOR_STORAGE__ARCHIVE_ROOT": str(web.settings.storage.archive_root),
                "PYTHONPATH": str(Path(__file__).resolve().parent.parent)})
    server = subprocess.Popen([sys.executable, "-m", "monitor", "web", "--port", "0"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert server.stdout is not None
        line = server.stdout.readline()  # printed once the socket listens
        found = re.search(r"on (http://127\.0\.0\.1:\d+/) \(loopback only; Ctrl-C stops\)", line)
        assert found, line
        answer = httpx.get(found.group(1) + "api/search", params={"q": "title:Lavrov"}, timeout=30, trust_env=False)
        assert [r["key"] for r in answer.json()["results"]] == [web.keys[0]]
        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=30) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


@pytest.mark.postgres
def test_search_story_and_alerts_on_postgresql(pg_url: str, tmp_path: Path) -> None:
    web = build_archive(tmp_path, url=pg_url)
    with Store.open(web.settings.storage, upgrade=False) as store, \
            TestClient(create_app(web.settings, store), base_url=LOCAL, raise_server_exceptions=False) as client:
        assert [c.article.key for c in StoreScan(store, batch=2).candidates(None, SearchFilters())] == web.keys
        data = client.get("/api/search", params={"q": "title:Lavrov"}).json()
        assert [r["key"] for r in data["results"]] == [web.keys[0]]
        dated = client.get("/api/search", params={"q": "story", "since": "2024-04-28", "until": "2024-04-28"})
        assert len(dated.json()["results"]) == 2 and dated.json()["has_next"]
        article = store.article(web.keys[1])
        assert article is not None and article.story_key
        assert client.get(f"/story/{article.story_key}").status_code == 200
        page = client.get(f"/article/{web.keys[1]}", params={"a": 0, "b": 1}).text
        assert 'class="add"' in page and "rule <strong>stories</strong>" in page
        assert client.get("/sources").text.count('<rect class="bar"') == 14
        bars = re.findall(r'data-count="(\d+)"', client.get("/backtest", params={
            "q": "story", "since": "2024-04-28", "until": "2024-04-28"}).text)
        assert bars == [str(len(web.keys) - 1)]

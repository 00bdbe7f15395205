"""``monitor backfill`` end to end: the real RFE/RL sitemap index and chunks served by a LocalSite, a synthetic page
at every URL they list around the range, a backfill stopped part-way (a stop event, then a real SIGINT to a
``monitor backfill`` process) and run again: every article in range archived once, each page fetched once, none
out of range, the archive clean, alerts muted; ``--alerts`` queues them; the daemon's lock does not stop it."""

from __future__ import annotations

import gzip
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from monitor.archive import Archive
from monitor.archive_check import verify
from monitor.backfill import backfill, backfill_sitemaps
from monitor.cli import app
from monitor.errors import ConfigError, DaemonAlreadyRunning
from monitor.http import HttpClient
from monitor.lock import DaemonLock
from monitor.pipeline import queue_pending_alerts
from monitor.services import Opened, Services
from monitor.settings import Settings, SourceSettings, load_settings
from monitor.sites import default_registry
from monitor.store import Store, database_url
from monitor.store.outbox import AlertOutbox
from monitor.store.tables import FeedState
from tests._localsite import Fault, Gate, LocalSite
from tests._store_support import pg_url_fixture  # noqa: F401  (fixture)
from tests._synth import BASE_ID, SLUG, base_html, synth_page

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
SITEMAPS = Path(__file__).parent / "fixtures" / "sitemaps" / "rferl"
HOST = "www.rferl.org"
CHUNK = f"https://{HOST}/sitemap_8_3.xml.gz"
SINCE, UNTIL = "2019-07-13", "2019-07-14"  # 25 articles of the 2019 chunk
# Pages exist around the range too: a backfill that strayed out of it would find them and archive them.
AROUND = ("2019-07-12", "2019-07-15")
_URL = re.compile(r"<url><loc>([^<]+)</loc><lastmod>(\d{4}-\d\d-\d\d)")


def _chunk_entries() -> list[tuple[str, str]]:
    """(URL, lastmod day) of the real chunk, read with a regex: independent of the code under test."""
    data = gzip.decompress((SITEMAPS / "rferl_sitemap_8_3.xml.gz").read_bytes()).decode("utf-8")
    return _URL.findall(data)


def _in(day: str, first: str, last: str) -> bool:
    return first <= day <= last


EXPECTED = sorted({url for url, day in _chunk_entries() if _in(day, SINCE, UNTIL)})
AROUND_URLS = sorted({url for url, day in _chunk_entries() if _in(day, *AROUND)})


def _page(n: int, url: str) -> str:
    """A distinct synthetic article living at ``url`` (its own id, host and canonical link)."""
    article_id = url.rsplit("/", 1)[1].removesuffix(".html")
    html = (base_html().replace(f"https://www.voanews.com/a/{SLUG}/{BASE_ID}.html", url)
            .replace("www.voanews.com", HOST).replace(BASE_ID, article_id))
    return synth_page(n, html=html)


@pytest.fixture(autouse=True)
def _root_logging() -> Iterator[None]:
    """The command configures the root logger onto the CliRunner's stderr, closed after the call: put it back, or
    the next test's log lines would fail on a closed file."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("snapshot")
    site = root / HOST
    site.mkdir()
    (site / "robots.txt").write_text("User-agent: *\nDisallow: /search\n", encoding="utf-8")
    # The real index, less the chunks this snapshot does not hold (they would only be 404s).
    index = (SITEMAPS / "rferl_sitemap.xml").read_text(encoding="utf-8")
    index = re.sub(r"<sitemap><loc>https://www\.rferl\.org/sitemap_8_(?!3\.|latest\.)[^<]*</loc>"
                   r"(?:<lastmod>[^<]*</lastmod>)?</sitemap>", "", index)
    assert index.count("<sitemap>") == 2
    (site / "sitemap.xml").write_text(index, encoding="utf-8")
    shutil.copyfile(SITEMAPS / "rferl_sitemap_8_3.xml.gz", site / "sitemap_8_3.xml.gz")
    shutil.copyfile(SITEMAPS / "rferl_sitemap_8_latest.xml", site / "sitemap_8_latest.xml")  # .gz made on the fly
    for n, url in enumerate(AROUND_URLS):
        path = site / url.split(f"{HOST}/", 1)[1]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_page(n, url), encoding="utf-8")
    return root


@pytest.fixture
def site(snapshot: Path) -> Iterator[LocalSite]:
    with LocalSite(snapshot) as running:
        yield running


@dataclass
class Setup:
    config: Path
    settings: Settings
    site: LocalSite

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "MONITOR_CONFIG": str(self.config)}


def _setup(tmp_path: Path, site: LocalSite, *, min_delay: float = 0.0, storage_url: str | None = None) -> Setup:
    """A config file (the command reads one) with the rferl source, a rule matching every synthetic headline and a
    Slack channel (alerts are only queued here, never sent); SQLite under the archive unless ``storage_url``."""
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rule]]\nname = "every-story"\nquery = "title:story"\nchannels = ["slack"]\n', encoding="utf-8")
    host_map = ", ".join(f'"{h}" = "{base}"' for h, base in site.host_map().items())
    config = tmp_path / "monitor.toml"
    config.write_text(f"""
[http]
host_map = {{ {host_map} }}
min_delay = {min_delay}
retries = 0
read_timeout = 5.0

[storage]
archive_root = "{tmp_path / 'archive'}"
fsync = false
{f'url = "{storage_url}"' if storage_url else ""}

[alerts]
rules_file = "{rules}"

[alerts.channels.slack]
type = "slack"
webhook_url_env = "MONITOR_TEST_BACKFILL_WEBHOOK"

[[sources]]
name = "rferl"
site = "{HOST}"
feeds = ["https://{HOST}/api/zrqiteuuir"]
sitemaps = ["https://{HOST}/sitemap_8_news.xml.gz", "https://{HOST}/sitemap_8_latest.xml.gz"]
""", encoding="utf-8")
    return Setup(config, load_settings(config), site)


@pytest.fixture
def setup(tmp_path: Path, site: LocalSite, monkeypatch: pytest.MonkeyPatch) -> Setup:
    made = _setup(tmp_path, site)
    monkeypatch.setenv("MONITOR_CONFIG", str(made.config))
    return made


def _archived(settings: Settings) -> dict[str, int]:
    """Canonical URL of every archived article -> its number of revisions."""
    engine = create_engine(database_url(settings.storage))
    try:
        with engine.connect() as connection:
            rows = connection.execute(text(
                "SELECT a.canonical_url, count(r.id) FROM articles a JOIN revisions r ON r.article_pk = a.id "
                "GROUP BY a.canonical_url")).all()
    finally:
        engine.dispose()
    return {url: count for url, count in rows}


def _count(settings: Settings, query: str) -> int:
    engine = create_engine(database_url(settings.storage))
    try:
        with engine.connect() as connection:
            return int(connection.execute(text(query)).scalar_one())
    finally:
        engine.dispose()


def _page_requests(site: LocalSite) -> dict[str, int]:
    counts: dict[str, int] = {}
    for request in site.requests(HOST):
        if request.path.startswith("/a/"):
            url = f"https://{HOST}{request.path}"
            counts[url] = counts.get(url, 0) + 1
    return counts


def _remember_chunk_as_the_daemon_would(settings: Settings) -> str:
    """The daemon polled the chunk and stored its ETag: a backfill sharing it would get a 304 and find nothing."""
    with Store.open(settings.storage) as store, HttpClient(settings.http, validators=store.validators()) as client:
        client.remember(client.fetch(CHUNK, expect="xml", conditional=True,
                                     max_bytes=50 * 1024 * 1024))
        known = store.get_validators(CHUNK)
    assert known is not None and known.etag
    return known.etag


@contextmanager
def _backfill_services(settings: Settings) -> Iterator[Services]:
    """What `monitor backfill` opens (monitor/cli/backfill.py): alerts muted, a client of its own validators."""
    with Opened(settings) as opened:
        yield opened.pipeline(alerts=False, detached=True)


def test_fixture_range_is_what_the_test_thinks() -> None:
    assert 20 <= len(EXPECTED) <= 60
    assert len(AROUND_URLS) > len(EXPECTED) + 20


def test_interrupted_twice_then_resumed_archives_every_article_in_range_once(setup: Setup) -> None:
    settings, site = setup.settings, setup.site
    etag = _remember_chunk_as_the_daemon_would(settings)
    source = settings.source("rferl")
    since = datetime(2019, 7, 13, tzinfo=UTC)
    until = datetime(2019, 7, 14, 23, 59, 59, 999999, tzinfo=UTC)

    # 1. In-process, stopped by its stop event after 7 articles.
    stop = threading.Event()
    seen: list[tuple[int, int | None]] = []

    def progress(done: int, total: int | None) -> None:
        seen.append((done, total))
        if done == 7:
            stop.set()

    with _backfill_services(settings) as services:
        report = backfill(services, source, since=since, until=until, stop=stop, progress=progress)
    assert report.interrupted and report.run.new == 7 and report.errors == []
    assert report.candidates == len(EXPECTED) and report.already == 0 and report.left == len(EXPECTED) - 7
    assert seen[0] == (0, None) and seen[1] == (0, len(EXPECTED)) and seen[-1] == (7, len(EXPECTED))
    assert len(_archived(settings)) == 7

    # 2. A real `monitor backfill` process, interrupted by SIGINT mid-way: four more pages are served, the next
    # one it asks for waits until the signal is sent.
    gate = Gate(free=4)
    for url in EXPECTED:
        site.fault(urlsplit(url).hostname or "", urlsplit(url).path, Fault(hold=gate))
    command = [sys.executable, "-m", "monitor", "backfill", "rferl", "--since", SINCE, "--until", UNTIL]
    process = subprocess.Popen(command, env=setup.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert gate.reached.wait(120), process.communicate()
        process.send_signal(signal.SIGINT)
        gate.open()
        out, err = process.communicate(timeout=60)
    finally:
        gate.open()
        site.clear_faults()
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, (out, err)
    stopped_at = len(_archived(settings))
    assert 11 <= stopped_at < len(EXPECTED), out
    assert f"to resume, run the same command again: monitor backfill rferl --since {SINCE} --until {UNTIL}" in out
    assert f"{len(EXPECTED) - stopped_at} articles left" in out

    # 3. The same command again, to the end.
    result = CliRunner().invoke(app, ["backfill", "rferl", "--since", SINCE, "--until", UNTIL])
    assert result.exit_code == 0, result.output
    assert (f"{len(EXPECTED)} articles in range, {stopped_at} already archived; "
            f"this run: {len(EXPECTED) - stopped_at} new") in result.output

    archived = _archived(settings)
    assert sorted(archived) == EXPECTED  # all of the range, nothing around it
    assert set(archived.values()) == {1}
    assert _page_requests(site) == dict.fromkeys(EXPECTED, 1)  # a resumed run refetches nothing

    # Alerts muted: nothing queued, every text marked done, so the daemon's catch-up has nothing to alert either.
    assert _count(settings, f"SELECT count(*) FROM {AlertOutbox.__tablename__}") == 0
    assert _count(settings, "SELECT count(*) FROM revisions WHERE alerts_done_at IS NULL") == 0
    with Services.open(settings) as daemon_services:
        assert queue_pending_alerts(daemon_services) == 0
    assert _count(settings, f"SELECT count(*) FROM {AlertOutbox.__tablename__}") == 0

    # The daemon's validators are as it left them; the backfill stored none of its own.
    with Store.open(settings.storage) as store:
        checked = verify(store, Archive(settings.storage.archive_root))
        assert checked.clean and checked.checked == len(EXPECTED), checked.problems
        known = store.get_validators(CHUNK)
        assert known is not None and known.etag == etag
    assert _count(settings, f"SELECT count(*) FROM {FeedState.__tablename__} WHERE etag IS NOT NULL") == 1

    # 4. Once more: nothing left, no article page asked for.
    again = CliRunner().invoke(app, ["backfill", "rferl", "--since", SINCE, "--until", UNTIL])
    assert again.exit_code == 0, again.output
    assert f"{len(EXPECTED)} already archived; this run: 0 new" in again.output
    assert _page_requests(site) == dict.fromkeys(EXPECTED, 1)


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_two_backfills_racing_archive_each_article_once(tmp_path: Path, site: LocalSite, database: str,
                                                        request: pytest.FixtureRequest) -> None:
    """Two backfills of one range at once, each opening a fresh database (schema upgrade included) and fetching
    the same pages: on SQLite, and on PostgreSQL when MONITOR_TEST_DATABASE_URL is set."""
    url = request.getfixturevalue("pg_url") if database == "postgres" else None
    settings = _setup(tmp_path, site, storage_url=url).settings
    assert settings.storage.url == url
    source = settings.source("rferl")
    since = datetime(2019, 7, 13, tzinfo=UTC)
    until = datetime(2019, 7, 14, 23, 59, 59, 999999, tzinfo=UTC)
    reports = []

    def one() -> None:
        with _backfill_services(settings) as services:
            reports.append(backfill(services, source, since=since, until=until))

    racers = [threading.Thread(target=one) for _ in range(2)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join(120)
    assert len(reports) == 2 and all(not r.errors and not r.interrupted for r in reports)
    # Each article recorded by one of them; the other found it recorded (or fetched it after and saw it unchanged).
    assert sum(r.run.new for r in reports) == len(EXPECTED)
    archived = _archived(settings)
    assert sorted(archived) == EXPECTED and set(archived.values()) == {1}
    assert _count(settings, "SELECT count(*) FROM revisions WHERE alerts_done_at IS NULL") == 0
    with Store.open(settings.storage) as store:
        checked = verify(store, Archive(settings.storage.archive_root))
        assert checked.clean and checked.checked == len(EXPECTED), checked.problems


def test_muted_backfill_killed_before_marking_leaves_nothing_for_the_daemon_to_alert(
        setup: Setup, monkeypatch: pytest.MonkeyPatch) -> None:
    """A backfill dying between archiving a text and marking its alerts done (here: the mark never happens) must
    not hand the text to the daemon's catch-up, which would alert an old article."""
    with _backfill_services(setup.settings) as services:
        monkeypatch.setattr(services.store, "mark_alerts_done", lambda *args: None)
        report = backfill(services, setup.settings.source("rferl"), since=datetime(2019, 7, 14, tzinfo=UTC),
                          until=datetime(2019, 7, 14, 23, 59, tzinfo=UTC))
    assert report.run.new > 0
    assert _count(setup.settings, "SELECT count(*) FROM revisions WHERE alerts_done_at IS NULL") == 0
    assert _count(setup.settings, "SELECT count(*) FROM revisions WHERE origin = 'backfill'") == report.run.new
    with Services.open(setup.settings) as daemon_services:
        assert queue_pending_alerts(daemon_services) == 0
    assert _count(setup.settings, f"SELECT count(*) FROM {AlertOutbox.__tablename__}") == 0


def test_alerts_option_queues_the_alerts_of_what_it_archives(setup: Setup) -> None:
    result = CliRunner().invoke(app, ["backfill", "rferl", "--since", SINCE, "--until", UNTIL, "--alerts"])
    assert result.exit_code == 0, result.output
    assert f"{len(EXPECTED)} new" in result.output and f"{len(EXPECTED)} alerts queued" in result.output
    assert _count(setup.settings, f"SELECT count(*) FROM {AlertOutbox.__tablename__} WHERE state = 'queued'") \
        == len(EXPECTED)
    assert sorted(_archived(setup.settings)) == EXPECTED
    assert _count(setup.settings, "SELECT count(*) FROM revisions WHERE origin = 'fetch'") == len(EXPECTED)


def test_backfill_runs_while_the_daemon_holds_its_lock(setup: Setup) -> None:
    with DaemonLock(database_url(setup.settings.storage)):
        result = CliRunner().invoke(app, ["backfill", "rferl", "--since", "2019-07-14", "--until", "2019-07-14"])
        assert result.exit_code == 0, result.output
        with pytest.raises(DaemonAlreadyRunning):  # still the daemon's: the backfill neither took nor freed it
            DaemonLock(database_url(setup.settings.storage)).acquire()
    day = sorted({url for url, when in _chunk_entries() if when == "2019-07-14"})
    assert day and sorted(_archived(setup.settings)) == day


def test_bad_arguments_are_one_line_and_exit_2(setup: Setup) -> None:
    runner = CliRunner()
    for args, message in [
        (["nope", "--since", SINCE], "no source named 'nope' (configured: rferl)"),
        (["rferl", "--since", "2019-13-01"], "--since '2019-13-01': expected a date YYYY-MM-DD or an ISO datetime"),
        (["rferl", "--since", SINCE, "--until", "yesterday"], "--until 'yesterday': expected a date"),
        (["rferl", "--since", UNTIL, "--until", SINCE], f"--until {SINCE} is before --since {UNTIL}"),
    ]:
        result = runner.invoke(app, ["backfill", *args])
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output
    assert not setup.site.requests()


def test_backfill_sitemaps_default_per_family() -> None:
    registry = default_registry()
    rferl = SourceSettings(name="rferl", site=HOST, sitemaps=[f"https://{HOST}/sitemap_8_news.xml.gz"])
    assert backfill_sitemaps(rferl, registry) == [f"https://{HOST}/sitemap.xml"]
    dw = SourceSettings(name="dw-en", site="www.dw.com", sitemaps=["https://www.dw.com/en/news-sitemap.xml"])
    assert backfill_sitemaps(dw, registry) == ["https://www.dw.com/en/article-sitemap.xml"]
    dw_ru = SourceSettings(name="dw-ru", site="www.dw.com", feeds=["https://rss.dw.com/xml/rss-ru-all"])
    assert backfill_sitemaps(dw_ru, registry) == ["https://www.dw.com/ru/article-sitemap.xml"]
    chosen = rferl.model_copy(update={"backfill_sitemaps": [f"https://{HOST}/sitemap_8_3.xml.gz"]})
    assert backfill_sitemaps(chosen, registry) == [f"https://{HOST}/sitemap_8_3.xml.gz"]
    with pytest.raises(ConfigError, match="cannot tell its DW language"):
        backfill_sitemaps(SourceSettings(name="dw", site="www.dw.com"), registry)
    with pytest.raises(ConfigError, match=r"no default backfill sitemap for example\.org"):
        backfill_sitemaps(SourceSettings(name="x", site="example.org"), registry)
    # The shipped config: both sources have a backfill default.
    for source in load_settings(ROOT / "config" / "monitor.toml").sources:
        assert backfill_sitemaps(source, registry)


def test_backfill_refuses_a_client_sharing_the_daemons_validators(setup: Setup) -> None:
    with Services.open(setup.settings, alerts=False) as services, pytest.raises(ValueError, match="own validators"):
        backfill(services, setup.settings.source("rferl"), since=datetime(2019, 7, 14, tzinfo=UTC))

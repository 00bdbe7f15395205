"""run_source: one pass over a source against a real local server. What it archives, what it counts, and when it
remembers a feed as read (only when nothing it listed is left to retry)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from _synth import HOST, article_id, article_path, article_url, base_html, synth_page

from monitor.health import record_run
from monitor.ingest import Failure, IngestResult
from monitor.pipeline import PAGE_ATTEMPTS, PAGE_RETRY_DELAY, run_source
from monitor.run_errors import RunErrorKind
from monitor.services import Services
from monitor.settings import Settings, SourceSettings, load_settings
from monitor.store.tables import SourceHealth
from tests._localsite import Fault, LocalSite

FEED_PATH = "/api/zfeed"
SOURCE = SourceSettings(name="voa", site=HOST, feeds=[f"https://{HOST}{FEED_PATH}"], jitter=0)


def _feed(numbers: list[int]) -> str:
    # Dated before any test's clock starts: an item dated after our last fetch would rightly be fetched again.
    now = format_datetime(datetime.now(UTC) - timedelta(hours=1))
    items = "".join(f"<item><title>{n}</title><link>{article_url(n)}</link><pubDate>{now}</pubDate></item>"
                    for n in numbers)
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>https://{HOST}/</link>'
            f"<description>d</description>{items}</channel></rss>")


@pytest.fixture
def site(tmp_path: Path) -> Iterator[LocalSite]:
    root = tmp_path / "snapshot"
    for n in (1, 2):
        page = root / HOST / article_path(n).lstrip("/")
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(synth_page(n), encoding="utf-8")
    (root / HOST / "api").mkdir()
    (root / HOST / FEED_PATH.lstrip("/")).write_text(_feed([1, 2]), encoding="utf-8")
    with LocalSite(root) as local:
        yield local


def _settings(tmp_path: Path, site: LocalSite) -> Settings:
    return load_settings(overrides={
        "http": {"host_map": site.host_map(), "min_delay": 0.0, "retries": 0, "backoff_base": 0.01},
        "storage": {"archive_root": str(tmp_path / "archive"), "fsync": False},
        "alerts": {"channels": {}, "operations_channel": None},
        "sources": [SOURCE.model_dump()],
    })


def _feed_requests(site: LocalSite) -> list[int]:
    return [r.status for r in site.requests(HOST) if r.path == FEED_PATH]


def test_a_page_that_failed_is_tried_again_on_its_schedule_behind_a_304(tmp_path: Path, site: LocalSite) -> None:
    site.fault(HOST, article_path(2), Fault(status=503, times=None))
    clock = _Clock()
    with Services.open(_settings(tmp_path, site), alerts=False, clock=clock) as services:
        first = run_source(services, SOURCE)
        assert (first.discovered, first.new, first.failed, first.errors) == (2, 1, 1, [])
        site.clear_faults()
        clock.now += timedelta(minutes=1)
        soon = run_source(services, SOURCE)
        # The feed was remembered (its page's retry is in the page state, not in the feed): 304, and the failed
        # page waits for its next attempt.
        assert (soon.unchanged, soon.fetched, soon.deferred) == (1, 0, 0)
        assert _page_requests(site, 2) == 1
        clock.now += timedelta(seconds=PAGE_RETRY_DELAY)
        later = run_source(services, SOURCE)
        assert (later.unchanged, later.new, later.failed) == (1, 1, 0)
        assert _feed_requests(site) == [200, 304, 304]
        assert services.store.counts()["articles"] == 2
        state = services.store.page_state(article_url(2))
        assert state is not None and (state.failures, state.next_attempt, state.given_up) == (0, None, None)


def test_a_page_that_is_gone_is_given_up_and_its_source_stays_healthy(tmp_path: Path, site: LocalSite) -> None:
    site.fault(HOST, article_path(2), Fault(status=404, times=None))
    clock = _Clock()
    health: SourceHealth | None = None
    with Services.open(_settings(tmp_path, site), alerts=False, clock=clock) as services:
        reports = []
        for _ in range(PAGE_ATTEMPTS + 3):
            report = run_source(services, SOURCE)
            reports.append(report)
            health, _ = record_run(health, report, SOURCE, failures_before_alert=1, now=clock.now)
            assert report.errors == [] and health.problem != "failing" and health.consecutive_failures == 0
            clock.now += timedelta(days=1)  # past any retry delay
        state = services.store.page_state(article_url(2))
    # Tried PAGE_ATTEMPTS times in all, then given up with its last error recorded, and left alone.
    assert _page_requests(site, 2) == PAGE_ATTEMPTS
    assert [r.failed for r in reports] == [1] * PAGE_ATTEMPTS + [0, 0, 0]
    assert [r.given_up for r in reports] == [0] * (PAGE_ATTEMPTS - 1) + [1, 0, 0, 0]
    assert _feed_requests(site) == [200] + [304] * (PAGE_ATTEMPTS + 2)
    assert state is not None and state.failures == PAGE_ATTEMPTS and state.given_up is not None
    assert state.next_attempt is None and "404" in (state.last_error or "")


def test_failed_attempts_back_off(tmp_path: Path, site: LocalSite) -> None:
    site.fault(HOST, article_path(2), Fault(status=503, times=None))
    clock = _Clock()
    with Services.open(_settings(tmp_path, site), alerts=False, clock=clock) as services:
        waits = []
        for _ in range(3):
            run_source(services, SOURCE)
            state = services.store.page_state(article_url(2))
            assert state is not None and state.next_attempt is not None
            waits.append((state.next_attempt - clock.now).total_seconds())
            clock.now = state.next_attempt
    assert waits == [PAGE_RETRY_DELAY, 3 * PAGE_RETRY_DELAY, 9 * PAGE_RETRY_DELAY]


def test_a_stopped_run_leaves_its_feed_unread(tmp_path: Path, site: LocalSite) -> None:
    import threading

    stop = threading.Event()
    with Services.open(_settings(tmp_path, site), alerts=False) as services:
        first = run_source(services, SOURCE, stop=stop, on_outcome=lambda _: stop.set())
        assert first.interrupted and first.new == 1
        second = run_source(services, SOURCE)
        assert _feed_requests(site) == [200, 200]
        assert (second.new, second.seen) == (1, 0)  # the archived one is skipped without a request
        assert services.store.counts()["articles"] == 2


class _Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def _page_requests(site: LocalSite, n: int) -> int:
    return sum(1 for r in site.requests(HOST) if r.path == article_path(n))


def _edit(site: LocalSite, n: int) -> None:
    page = Path(site.root) / HOST / article_path(n).lstrip("/")
    page.write_text(synth_page(n, edit=1), encoding="utf-8")


def _write_feed(site: LocalSite, numbers: list[int], *, dated: datetime | None = None) -> None:
    text = _feed(numbers)
    if dated is not None:
        text = text.replace("</pubDate>", f"</pubDate><atom:updated>{dated.isoformat()}</atom:updated>")
        text = text.replace('<rss version="2.0">',
                            '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom">')
    (Path(site.root) / HOST / FEED_PATH.lstrip("/")).write_text(text, encoding="utf-8")


def test_young_articles_are_revisited_and_an_edit_becomes_a_revision(tmp_path: Path, site: LocalSite) -> None:
    clock = _Clock()
    with Services.open(_settings(tmp_path, site), alerts=False, clock=clock) as services:
        assert run_source(services, SOURCE).new == 2
        _edit(site, 1)
        _write_feed(site, [1, 2, 3])  # the feed changes (a new item), the edited one keeps its date
        clock.now += timedelta(minutes=10)
        soon = run_source(services, SOURCE)
        assert _page_requests(site, 1) == 1 and soon.revised == 0  # fetched 10 minutes ago: not yet
        _write_feed(site, [1, 2, 4])
        clock.now += timedelta(hours=1)
        later = run_source(services, SOURCE)
        assert (later.revised, later.seen) == (1, 1)
        assert [r.number for r in services.store.revisions(services.store.seen_url(article_url(1)) or "")] == [0, 1]
        _write_feed(site, [1, 2, 5])
        clock.now += timedelta(hours=7)  # older than revisit_hours: only a re-dated entry brings it back
        old = run_source(services, SOURCE)
        assert (old.revised, old.seen, _page_requests(site, 1)) == (0, 0, 2)


def test_a_re_dated_entry_is_fetched_again(tmp_path: Path, site: LocalSite) -> None:
    clock = _Clock()
    source = SOURCE.model_copy(update={"revisit_hours": 0.0})
    with Services.open(_settings(tmp_path, site), alerts=False, clock=clock) as services:
        assert run_source(services, source).new == 2
        _edit(site, 2)
        clock.now += timedelta(days=1)
        _write_feed(site, [1, 2], dated=clock.now + timedelta(seconds=1))
        report = run_source(services, source)
        assert (report.revised, report.seen) == (1, 1)  # both re-dated; only article 2 changed
        _write_feed(site, [1, 2], dated=clock.now - timedelta(hours=1))
        assert run_source(services, source).fetched == 0  # dated before our last fetch: nothing to look at


def test_a_run_takes_its_times_from_the_services_clock(tmp_path: Path, site: LocalSite) -> None:
    clock = _Clock()
    clock.now -= timedelta(minutes=30)  # not the wall clock: a time read anywhere else would differ
    outcomes: list[IngestResult | Failure] = []
    with Services.open(_settings(tmp_path, site), alerts=False, clock=clock) as services:
        report = run_source(services, SOURCE, on_outcome=outcomes.append)
        assert report.new == 2 and (report.started, report.finished) == (clock.now, clock.now)
        times = {(o.revision.fetched_at, o.revision.stored_at) for o in outcomes
                 if isinstance(o, IngestResult) and o.revision is not None}
        assert times == {(clock.now, clock.now)}
        stored = [r.fetched_at for n in (1, 2) for r in services.store.revisions(f"voanews.com:{article_id(n)}")]
        assert stored == [clock.now, clock.now]


def test_a_run_whose_every_page_fails_is_an_erroring_run(tmp_path: Path, site: LocalSite) -> None:
    # What a template change looks like: the pages answer, but none parses.
    for n in (1, 2):
        (Path(site.root) / HOST / article_path(n).lstrip("/")).write_text("<html><body>gone</body></html>")
    with Services.open(_settings(tmp_path, site), alerts=False) as services:
        report = run_source(services, SOURCE)
    assert (report.failed, report.fetched) == (2, 0)
    assert len(report.errors) == 1 and report.errors[0].kind is RunErrorKind.PAGES_FAILED
    assert str(report.errors[0]).startswith("all article pages tried failed (2); first: ")


def test_one_failing_page_among_good_ones_is_no_error(tmp_path: Path, site: LocalSite) -> None:
    (Path(site.root) / HOST / article_path(2).lstrip("/")).write_text("<html><body>gone</body></html>")
    with Services.open(_settings(tmp_path, site), alerts=False) as services:
        report = run_source(services, SOURCE)
    assert (report.failed, report.new, report.errors) == (1, 1, [])


def _fresh_page(n: int, published: datetime, *, edit: int = 0) -> str:
    """Article ``n`` published at ``published`` (the fixture page says 2024-04-28)."""
    html = (base_html().replace("2024-04-28 07:00:00Z", published.strftime("%Y-%m-%d %H:%M:%SZ"))
            .replace("2024-04-28T03:00:00-04:00", published.isoformat()))
    return synth_page(n, edit=edit, html=html)


def test_an_edit_is_found_while_the_feed_answers_304(tmp_path: Path, site: LocalSite) -> None:
    clock = _Clock()
    published = clock.now - timedelta(minutes=30)
    for n in (1, 2):
        (Path(site.root) / HOST / article_path(n).lstrip("/")).write_text(_fresh_page(n, published))
    with Services.open(_settings(tmp_path, site), alerts=False, clock=clock) as services:
        first = run_source(services, SOURCE)
        assert first.new == 2 and services.store.article(f"voanews.com:{article_id(1)}") is not None
        page = Path(site.root) / HOST / article_path(1).lstrip("/")
        page.write_text(_fresh_page(1, published, edit=1), encoding="utf-8")  # edited; the feed stays as it was
        clock.now += timedelta(minutes=10)
        assert run_source(services, SOURCE).fetched == 0  # fetched 10 minutes ago: not yet
        clock.now += timedelta(hours=1)
        later = run_source(services, SOURCE)
        assert later.unchanged == 1 and (later.revised, later.seen) == (1, 1)
        assert _feed_requests(site)[-1] == 304
        assert [r.number for r in services.store.revisions(f"voanews.com:{article_id(1)}")] == [0, 1]
        clock.now += timedelta(hours=6)  # published more than revisit_hours ago: left alone
        assert run_source(services, SOURCE).fetched == 0
    assert _page_requests(site, 1) == 2 and _page_requests(site, 2) == 2


def test_old_articles_are_not_revisited_behind_a_304(tmp_path: Path, site: LocalSite) -> None:
    # What a backfill leaves: articles first seen now but published long ago (the fixture's 2024 date).
    clock = _Clock()
    with Services.open(_settings(tmp_path, site), alerts=False, clock=clock) as services:
        assert run_source(services, SOURCE).new == 2
        clock.now += timedelta(hours=2)
        report = run_source(services, SOURCE)
    assert report.unchanged == 1 and report.fetched == 0
    assert _page_requests(site, 1) == _page_requests(site, 2) == 1


SITEMAP_PATH = "/sitemap_news.xml"


def _write_sitemap(site: LocalSite, dated: dict[int, datetime]) -> None:
    urls = "".join(f"<url><loc>{article_url(n)}</loc><lastmod>{when.isoformat()}</lastmod></url>"
                   for n, when in dated.items())
    (Path(site.root) / HOST / SITEMAP_PATH.lstrip("/")).write_text(
        f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>',
        encoding="utf-8")


def test_a_sitemap_only_edit_is_fetched_and_a_later_304_does_not_hide_it(tmp_path: Path, site: LocalSite) -> None:
    # The feed lists article 1 with its old date; a sitemap read in the same pass re-dates it (an edit).
    clock = _Clock()
    source = SOURCE.model_copy(update={"revisit_hours": 0.0, "sitemaps": [f"https://{HOST}{SITEMAP_PATH}"]})
    old = clock.now - timedelta(hours=1)
    _write_sitemap(site, {1: old, 2: old})
    with Services.open(_settings(tmp_path, site), alerts=False, clock=clock) as services:
        assert run_source(services, source).new == 2
        _edit(site, 1)
        clock.now += timedelta(hours=1)
        _write_feed(site, [1, 2, 3])  # read again (200): it lists article 1 first, with its old date
        page = Path(site.root) / HOST / article_path(3).lstrip("/")
        page.write_text(synth_page(3), encoding="utf-8")
        _write_sitemap(site, {1: clock.now, 2: old})
        # The page answers 503 once: nothing the feed or sitemap said may be remembered as handled before it was.
        site.fault(HOST, article_path(1), Fault(status=503, times=1))
        second = run_source(services, source)
        assert (second.new, second.failed, second.revised) == (1, 1, 0)
        assert _page_requests(site, 1) == 2  # fetched although the feed, read first, gave its old date
        clock.now += timedelta(seconds=PAGE_RETRY_DELAY)
        third = run_source(services, source)
        assert third.unchanged == 2  # feed and sitemap answer 304: the retry comes from the page's own record
        assert (third.revised, third.failed) == (1, 0)
        key = services.store.seen_url(article_url(1)) or ""
        assert [r.number for r in services.store.revisions(key)] == [0, 1]


def test_a_sitemap_edit_in_the_same_pass_as_the_feed_is_a_revision(tmp_path: Path, site: LocalSite) -> None:
    clock = _Clock()
    source = SOURCE.model_copy(update={"revisit_hours": 0.0, "sitemaps": [f"https://{HOST}{SITEMAP_PATH}"]})
    old = clock.now - timedelta(hours=1)
    _write_sitemap(site, {1: old, 2: old})
    with Services.open(_settings(tmp_path, site), alerts=False, clock=clock) as services:
        assert run_source(services, source).new == 2
        _edit(site, 1)
        clock.now += timedelta(hours=1)
        _write_feed(site, [2, 1])  # changed (200), both with their old dates
        _write_sitemap(site, {1: clock.now, 2: old})
        second = run_source(services, source)
        assert (second.revised, second.seen, second.unchanged) == (1, 0, 0)
        third = run_source(services, source)
        assert (third.unchanged, third.fetched) == (2, 0)


def test_a_text_that_returns_is_the_latest_revision_through_a_run(tmp_path: Path, site: LocalSite) -> None:
    clock = _Clock()
    source = SOURCE.model_copy(update={"revisit_hours": 0.0})
    page = Path(site.root) / HOST / article_path(1).lstrip("/")
    with Services.open(_settings(tmp_path, site), alerts=False, clock=clock) as services:
        assert run_source(services, source).new == 2
        for text in (synth_page(1, edit=1), synth_page(1)):  # edited, then the edit undone
            page.write_text(text, encoding="utf-8")
            clock.now += timedelta(hours=1)
            _write_feed(site, [1, 2], dated=clock.now + timedelta(seconds=1))
            assert run_source(services, source).revised == 1
        key = services.store.seen_url(article_url(1)) or ""
        revisions = services.store.revisions(key)
        assert [r.number for r in revisions] == [0, 1, 2]
        assert revisions[2].content_hash == revisions[0].content_hash != revisions[1].content_hash
        assert services.archive.read_text(revisions[-1].text_path) == services.archive.read_text(
            revisions[0].text_path)


def _languages_feed(site: LocalSite, numbers: list[int], language: str | None) -> None:
    text = _feed(numbers)
    if language:
        text = text.replace("<description>d</description>", f"<description>d</description><language>{language}"
                            "</language>")
    (Path(site.root) / HOST / FEED_PATH.lstrip("/")).write_text(text, encoding="utf-8")


def test_entries_in_a_language_the_source_does_not_keep_are_not_fetched(tmp_path: Path, site: LocalSite) -> None:
    _languages_feed(site, [1, 2], "en")
    source = SOURCE.model_copy(update={"languages": ["fr"]})
    with Services.open(_settings(tmp_path, site), alerts=False) as services:
        report = run_source(services, source)
        assert (report.skipped_language, report.fetched, report.failed) == (2, 0, 0)
        assert report.counts()["skipped_language"] == 2
        assert _page_requests(site, 1) == _page_requests(site, 2) == 0
        kept = run_source(services, source.model_copy(update={"languages": ["EN", "de"]}))
        assert kept.unchanged == 1  # the feed was remembered: its entries were handled (skipped)


def test_a_page_whose_language_is_known_only_after_parsing_is_not_kept_nor_fetched_again(
        tmp_path: Path, site: LocalSite) -> None:
    _languages_feed(site, [1, 2], None)
    source = SOURCE.model_copy(update={"languages": ["fr"]})
    with Services.open(_settings(tmp_path, site), alerts=False) as services:
        first = run_source(services, source)
        assert (first.skipped_language, first.new, first.failed, first.errors) == (2, 0, 0, [])
        assert services.store.counts()["articles"] == 0 and not list(services.archive.files())
        _languages_feed(site, [1, 2, 3], None)  # read again in full, listing both again
        second = run_source(services, source)
        assert (second.unchanged, second.skipped_language, second.fetched) == (0, 2, 0)
        assert _page_requests(site, 1) == _page_requests(site, 2) == 1
        # A source that keeps English archives them.
        _languages_feed(site, [1, 2, 4], None)
        english = run_source(services, source.model_copy(update={"languages": ["en"]}))
        assert english.new == 2


def test_counts_survive_a_full_disk_mid_run(tmp_path: Path, site: LocalSite, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno
    import os

    from monitor.scheduler import Daemon

    for n in range(3, 7):
        page = Path(site.root) / HOST / article_path(n).lstrip("/")
        page.write_text(synth_page(n), encoding="utf-8")
    _write_feed(site, [1, 2, 3, 4, 5, 6])
    real_write = os.write
    writes = {"files": 0}

    def write(fd: int, data: bytes | memoryview) -> int:
        if writes["files"] >= 6:  # three articles archived (text and raw HTML each): then the disk is full
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        writes["files"] += 1
        return real_write(fd, data)

    with Services.open(_settings(tmp_path, site), alerts=False) as services:
        monkeypatch.setattr(os, "write", write)
        report = Daemon(services).poll(SOURCE)
        monkeypatch.undo()
        archived = services.store.counts()["articles"]
        health = services.store.source_health(SOURCE.name)
    assert archived == 3
    assert (report.new, report.fetched) == (3, 3)
    assert len(report.errors) == 1 and report.errors[0].kind is RunErrorKind.RUN_FAILED
    assert "disk full" in str(report.errors[0])
    assert health is not None and json.loads(health.last_counts)["new"] == 3

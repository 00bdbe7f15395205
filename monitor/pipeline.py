"""Wiring the stages for one page and for a list of candidate URLs: parse, render, dedupe, archive, record.

:func:`ingest_page` is the one place that decides whether a page is a new article, a new revision of a known one,
or nothing new. The decision is made by the database's unique keys (article key; revision number and text hash per
article; file path), so two processes racing over the same pages record each article once, and a crash at any
point repeats nothing already recorded: files go in place first, the row is committed after, and a file whose row
never came is adopted by the next attempt (see :mod:`monitor.archive`).

:func:`ingest_urls` fetches candidate URLs through an injected fetch function (:func:`http_fetcher` wraps the
monitor's HTTP client) and ingests each; a bad page or a failed fetch is logged and skipped, while storage trouble
(:class:`StoreError`, :class:`ArchiveError`) or parse workers that cannot start (:class:`ParseWorkerError`) stop the
run: they would fail the same way for every page.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal, TypeVar

from monitor.archive import Archive, folder_for, text_name
from monitor.discovery import DiscoveryResult, discover_source
from monitor.errors import (
    ArchiveConflict,
    ArchiveError,
    ContentTypeError,
    FetchError,
    LanguageNotKept,
    MonitorError,
    ParseError,
    ParseWorkerError,
    RobotsDisallowedError,
    StoreError,
    ZombieFeedError,
)
from monitor.health import PAGES_FAILED
from monitor.model import Article, FeedEntry
from monitor.prepare import ParsePool, Prepared, prepare_with
from monitor.render import render_article
from monitor.search.index import index_recorded
from monitor.sites import SiteRegistry
from monitor.store import CONFLICT, NewRevision, Store, StoredArticle, StoredRevision
from monitor.urls import canonical_url, file_hash

if TYPE_CHECKING:
    from monitor.http import HttpClient
    from monitor.services import Services
    from monitor.settings import SourceSettings

log = logging.getLogger("monitor.pipeline")

Status = Literal["new", "revised", "seen"]
_ATTEMPTS = 8
_T = TypeVar("_T")
_R = TypeVar("_R")


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What one page turned out to be. ``revision`` is the one recorded (new/revised) or matched (seen)."""

    status: Status
    article: Article
    stored: StoredArticle
    revision: StoredRevision | None
    text: str
    requested: str | None = None  # the URL ingest_urls was asked to fetch (before redirects)

    @property
    def is_update(self) -> bool:
        return self.status == "revised"

    @property
    def story_key(self) -> str:
        """The story for alerting once per story: the key of the article that opened it."""
        return self.stored.story_key or self.stored.key


@dataclass(frozen=True, slots=True)
class Page:
    """A fetched page: the URL asked for, where it ended, and its decoded HTML."""

    url: str
    final_url: str
    html: str
    status: int = 200


@dataclass(frozen=True, slots=True)
class Failure:
    url: str
    error: MonitorError


Fetch = Callable[[str], Page]


def ingest_page(store: Store, archive: Archive, registry: SiteRegistry, html: str, url: str,
                fetched_at: datetime | None = None, *, extra_urls: Iterable[str] = (),
                origin: str = "fetch", parse_pool: ParsePool | None = None,
                languages: Sequence[str] = (), source: str | None = None) -> IngestResult:
    """Parse one page and record what is new in it. Raises ParseError for a page that is no article, and
    LanguageNotKept for an article whose language is not among ``languages`` (when given). ``source``: the
    configured source whose run this is, recorded with the text (its "today" in the status).

    ``origin`` "backfill" or "ingest" (alerts muted) records the text with its alerts already done, in the same
    row: a crash right after cannot leave it for the daemon's catch-up to alert. ``parse_pool`` parses in worker
    processes (with the registry the pool was made with); the store and archive are written here either way.
    """
    fetched_at = (fetched_at or datetime.now(UTC)).astimezone(UTC)
    prepared = prepare_with(parse_pool, registry, html, url)
    article = prepared.article
    if article.language and not keeps_language(languages, article.language):
        raise LanguageNotKept(article.language, list(languages), url=canonical_url(url), site=article.site)
    urls = [canonical_url(u) for u in (url, article.url, *extra_urls) if u]
    return _record(store, archive, prepared, urls, fetched_at, origin=origin, source=source)


def _record(store: Store, archive: Archive, prepared: Prepared, urls: list[str], fetched_at: datetime, *,
            origin: str, raw_path: str | None = None, source: str | None = None) -> IngestResult:
    article, text, digest = prepared.article, prepared.text, prepared.digest
    for _ in range(_ATTEMPTS):
        stored = store.article(article.key)
        if stored is not None:
            latest = store.latest_revision(stored)
            if latest is not None and latest.content_hash == digest:
                store.touch(stored.pk, urls, fetched_at)
                return IngestResult("seen", article, stored, latest, text)
            number, url_hash, folder = stored.revision_count, stored.url_hash, stored.folder
        else:
            number = 0
            canonical = canonical_url(article.url)
            url_hash = file_hash(canonical)
            folder = folder_for(article.site, article.published or fetched_at)
        path = f"{folder}/{text_name(number, url_hash)}"
        try:
            put = archive.put(path, text, prepared.raw_gz, claimed=store.path_claimed)
        except ArchiveConflict:
            continue
        new = NewRevision(number=number, content_hash=digest, size=len(text.encode("utf-8")), text_path=path,
                          raw_path=put.raw_path or raw_path, fetched_at=fetched_at, origin=origin, source=source)
        if stored is None:
            outcome = store.add_article(article, canonical=canonical, url_hash=url_hash, folder=folder, revision=new,
                                        urls=urls, signature=prepared.story_signature(store.story_threshold))
        else:
            outcome = store.add_revision(stored, article, new, urls)
        if outcome == CONFLICT:
            continue  # another writer got there first: look again (its file has the same name and text, or not)
        assert isinstance(outcome, StoredArticle)
        index_recorded(store, outcome, number, text)  # after the commit: `monitor index status` tells of a gap
        recorded = StoredRevision(article_key=outcome.key, number=number, content_hash=digest, size=new.size,
                                  text_path=path, raw_path=new.raw_path, template=article.template, origin=origin,
                                  fetched_at=fetched_at, stored_at=datetime.now(UTC))
        status: Status = "new" if stored is None else "revised"
        log.info("%s %s revision %d %s", status, article.key, number, path)
        return IngestResult(status, article, outcome, recorded, text)
    raise StoreError(f"{article.url}: could not settle article {article.key} after {_ATTEMPTS} concurrent attempts")


def reparse_article(store: Store, archive: Archive, registry: SiteRegistry, stored: StoredArticle, *,
                    parse_pool: ParsePool | None = None) -> IngestResult | None:
    """Re-render the latest stored raw HTML of an article with the current parsers; a revision only if it changed."""
    from monitor.decoding import decode_html

    revisions = [r for r in store.revisions(stored.key) if r.raw_path]
    if not revisions:
        return None
    latest = revisions[-1]
    assert latest.raw_path is not None
    html = decode_html(archive.read_raw(latest.raw_path), None, where=archive.path(latest.raw_path).as_posix())
    prepared = prepare_with(parse_pool, registry, html, stored.canonical_url, keep_raw=False, story=False)
    # The raw HTML is shared with the revision it came from: no copy, and its path stays valid.
    result = _record(store, archive, prepared, [], latest.fetched_at, origin="reparse", raw_path=latest.raw_path)
    if result.status == "seen" and result.revision is not None:  # the same text: indexed again all the same
        index_recorded(store, result.stored, result.revision.number, result.text)
    return result


def reparse_articles(store: Store, archive: Archive, registry: SiteRegistry, articles: Iterable[StoredArticle], *,
                     workers: int = 1, parse_pool: ParsePool | None = None,
                     ) -> Iterator[tuple[StoredArticle, IngestResult | MonitorError | None]]:
    """:func:`reparse_article` over many articles, in order: each with its result, or the error that refused its
    page (the current parsers may reject an old page: it is reported and the rest go on). Storage trouble and parse
    workers that cannot start stop the run. ``workers``/``parse_pool`` as in :func:`ingest_urls`."""

    def one(stored: StoredArticle) -> tuple[StoredArticle, IngestResult | MonitorError | None]:
        try:
            return stored, reparse_article(store, archive, registry, stored, parse_pool=parse_pool)
        except (StoreError, ArchiveError, ParseWorkerError):
            raise
        except MonitorError as exc:
            return stored, exc

    return _in_order(one, articles, workers)


def _in_order(fn: Callable[[_T], _R], items: Iterable[_T], workers: int) -> Generator[_R, None, None]:
    """``fn`` over ``items`` in ``workers`` threads, results in the items' order. Only a few items are taken ahead
    of the results (a million-article reparse or a long URL file is not read into futures all at once), and an
    error or an early close cancels what has not started."""
    if workers <= 1:
        yield from map(fn, items)
        return
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ingest")
    pending: deque[Future[_R]] = deque()
    try:
        for item in items:
            pending.append(pool.submit(fn, item))
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


# --- fetching candidates --------------------------------------------------------------------------------------------


def http_fetcher(client: HttpClient) -> Fetch:
    """A fetch function over the monitor's polite HTTP client (HTML only)."""

    def fetch(url: str) -> Page:
        fetched = client.fetch(url, expect="html")
        return Page(url=url, final_url=fetched.final_url, html=fetched.text(), status=fetched.status)

    return fetch


def keeps_language(languages: Sequence[str], language: str | None) -> bool:
    """Whether a source that keeps ``languages`` (empty: all) keeps a page in ``language`` (unknown: kept).
    Codes compare without case, and a region falls back to its language ("pt-BR" is kept by "pt")."""
    if not languages or not language:
        return True
    wanted = {code.strip().casefold().replace("_", "-") for code in languages}
    code = language.strip().casefold().replace("_", "-")
    return code in wanted or code.split("-")[0] in wanted


def ingest_urls(store: Store, archive: Archive, registry: SiteRegistry, urls: Iterable[str], fetch: Fetch, *,
                skip_seen: bool = True, clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                workers: int = 1, origin: str = "fetch", parse_pool: ParsePool | None = None,
                languages: Sequence[str] = (), source: str | None = None) -> Iterator[IngestResult | Failure]:
    """Fetch and ingest candidate URLs, yielding each outcome (in order).

    Each URL is fetched in its canonical form. ``skip_seen`` leaves out URLs already recorded for an article (no
    request is made). Fetch and parse failures are logged in the fetch log and yielded as :class:`Failure`; storage
    failures propagate and stop the run. ``workers`` > 1 ingests that many pages at once (threads: the waits for the
    network, fsync and the database overlap); the unique keys keep the outcome the same as one by one. With a
    ``parse_pool`` the parsing runs in its worker processes, so the pages in flight use every core. With
    ``languages``, an article in another language is not archived: its language is remembered (page state) and it
    comes back as a Failure carrying :class:`LanguageNotKept`.
    ``source``: the configured source whose run this is, recorded with each text it archives.
    """

    def one(url: str) -> IngestResult | Failure | None:
        url = url.strip()
        if not url:
            return None
        canonical = canonical_url(url)
        if skip_seen and store.seen_url(canonical) is not None:
            return None
        started = time.monotonic()
        at = clock()
        try:
            # The canonical URL (https, main host, no tracking) is the page every variant names; a short link stays
            # as it is and the client follows it.
            page = fetch(canonical)
            result = ingest_page(store, archive, registry, page.html, page.final_url, at, extra_urls=[url],
                                 origin=origin, parse_pool=parse_pool, languages=languages, source=source)
        except (StoreError, ArchiveError, ParseWorkerError):
            raise
        except LanguageNotKept as exc:
            store.page_language(canonical, exc.site, exc.language)
            store.log_fetch(url, at, "skipped_language", status=page.status, error=str(exc), duration_ms=_ms(started))
            log.info("not kept %s: %s", url, exc)
            return Failure(url, exc)
        except (FetchError, ParseError) as exc:
            status = exc.status if isinstance(exc, FetchError) else None
            store.log_fetch(url, at, "failed", status=status, error=str(exc), duration_ms=_ms(started))
            log.warning("skipped %s: %s", url, exc)
            return Failure(url, exc)
        except MonitorError as exc:
            store.log_fetch(url, at, "failed", error=str(exc), duration_ms=_ms(started))
            return Failure(url, exc)
        store.log_fetch(url, at, result.status, status=page.status, article_key=result.article.key,
                        duration_ms=_ms(started))
        return replace(result, requested=url)

    # Closed explicitly: a caller that stops early (the daemon's stop request) must not leave pages in flight.
    with contextlib.closing(_in_order(one, urls, workers)) as outcomes:
        for outcome in outcomes:
            if outcome is not None:
                yield outcome


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


# --- one pass over one source ------------------------------------------------------------------------------------


@dataclass
class RunReport:
    """What one pass over a source did: the counts of the daemon's log line, the status table and the health.

    :func:`run_source` fills a report as the run goes, so a caller that passes its own keeps exact counts of what
    was done before a fault stopped the run (a full disk, a database gone)."""

    source: str
    started: datetime
    finished: datetime | None = None
    discovered: int = 0
    fetched: int = 0
    new: int = 0
    revised: int = 0
    seen: int = 0
    failed: int = 0  # candidate pages that could not be fetched or were no article
    skipped_language: int = 0  # candidates in a language the source does not keep (not archived)
    deferred: int = 0  # pages that failed before and whose next attempt is not due yet
    given_up: int = 0  # pages that failed their last attempt in this run (see PAGE_ATTEMPTS)
    unchanged: int = 0  # feeds and sitemaps that answered 304
    alerts: int = 0  # alerts queued
    errors: list[str] = field(default_factory=list)  # source errors: broken feeds, sitemaps, sections; a crash
    zombie: bool = False
    interrupted: bool = False  # stopped early by the daemon's stop request

    def counts(self) -> dict[str, int]:
        return {"discovered": self.discovered, "fetched": self.fetched, "new": self.new, "revised": self.revised,
                "seen": self.seen, "failed": self.failed, "skipped_language": self.skipped_language,
                "deferred": self.deferred, "given_up": self.given_up, "unchanged": self.unchanged,
                "alerts": self.alerts, "errors": len(self.errors)}


#: How far back :func:`queue_pending_alerts` looks for texts whose alerts a crash left unqueued.
PENDING_ALERTS_WINDOW = timedelta(days=2)
#: A page that failed is tried again after this many seconds, three times as long after each further failure, and
#: given up after PAGE_ATTEMPTS failures in all (5 min, 15 min, 45 min, 2 h 15 min: about 3 h 20 min).
PAGE_RETRY_DELAY = 300.0
PAGE_ATTEMPTS = 5
#: At most this many failed pages one run tries again beyond what its feeds and sitemaps list.
RETRY_LIMIT = 50


def run_source(services: Services, source: SourceSettings, *, since: datetime | None = None,
               until: datetime | None = None, stop: threading.Event | None = None,
               on_outcome: Callable[[IngestResult | Failure], None] | None = None,
               discovered: Callable[[DiscoveryResult], None] | None = None, origin: str = "fetch",
               revisit: bool = True, report: RunReport | None = None) -> RunReport:
    """Discover a source's candidates, archive what is new, queue the alerts it calls for, and only then remember
    the feeds' validators (so a crash re-reads them rather than hiding their news behind a 304).

    A candidate already archived is fetched again only when it may have been edited (see :func:`_due`), so an edit
    becomes a revision. ``revisit=False`` (backfill) leaves out the revisits of young articles and the retries of
    failed pages. Otherwise a page that fails is recorded with its next attempt (page state), tried again on that
    schedule whether or not a feed lists it again, and given up after :data:`PAGE_ATTEMPTS`. A page whose language
    the source does not keep (``languages``) is skipped: before fetching when its feed, sitemap or URL says the
    language, else after parsing (and then remembered, never fetched again).
    Source errors are counted in the report; storage trouble raises (the daemon logs it and counts a failed run),
    with the counts so far in ``report`` when the caller passed one.
    ``stop`` ends the pass between two articles; ``since``/``until`` are for backfills (default: lookback).
    """
    now = services.clock()
    report = report if report is not None else RunReport(source=source.name, started=now)
    result = discover_source(services.client, source, registry=services.registry, since=since, until=until, now=now)
    report.discovered = len(result.entries)
    report.unchanged = len(result.unchanged)
    report.errors = [str(e) for e in result.errors]
    report.zombie = any(isinstance(e, ZombieFeedError) for e in result.errors)
    if discovered is not None:
        discovered(result)
    site = services.registry.site_of_host(source.site)
    failing: dict[str, bool] = {}  # canonical URLs tried again after failing -> True

    def wanted(url: str, entry: FeedEntry | None) -> bool:
        if entry is not None:
            if not keeps_language(source.languages, entry.language):
                report.skipped_language += 1
                return False
            if not _due(services, source, entry, now, revisit=revisit):
                return False
        canonical = canonical_url(url)
        state = services.store.page_state(canonical)
        if state is None:
            return True
        if not keeps_language(source.languages, state.language):
            report.skipped_language += 1
            return False
        if state.failures:
            changed = (entry.modified or entry.published) if entry is not None else None
            redated = changed is not None and state.last_failure is not None and changed > state.last_failure
            if not redated and state.given_up is not None:
                return False  # given up (recorded when it was): a feed re-dating it brings it back
            if not redated and state.next_attempt is not None and state.next_attempt > now:
                report.deferred += 1
                return False
            failing[canonical] = True
        return True

    listed = {canonical_url(e.url) for e in result.entries}
    due: Iterable[str] = (e.url for e in result.entries if wanted(e.url, e))
    if revisit:
        due = itertools.chain(due, (u for u in _unlisted_revisits(services, source, result, now) if wanted(u, None)))
    if revisit and site is not None:
        retries = [u for u in services.store.pages_to_retry(site, now, RETRY_LIMIT) if u not in listed]
        due = itertools.chain(due, (u for u in retries if wanted(u, None)))
    outcomes = ingest_urls(services.store, services.archive, services.registry, due, http_fetcher(services.client),
                           clock=services.clock, origin=origin, skip_seen=False, languages=source.languages,
                           source=source.name)
    telling: list[Failure] = []
    retry_later = 0
    try:
        for outcome in outcomes:
            if isinstance(outcome, Failure):
                if isinstance(outcome.error, LanguageNotKept):
                    report.skipped_language += 1
                else:
                    report.failed += 1
                    if revisit:
                        _page_failed(services, report, site, outcome, now)
                    else:
                        retry_later += _worth_retrying(outcome.error)
                    if _tells_of_the_source(outcome.error):
                        telling.append(outcome)
            else:
                report.fetched += 1
                if outcome.status == "new":
                    report.new += 1
                elif outcome.status == "revised":
                    report.revised += 1
                else:
                    report.seen += 1
                if outcome.requested is not None and failing.pop(canonical_url(outcome.requested), False):
                    services.store.page_succeeded(canonical_url(outcome.requested))
                report.alerts += queue_alerts(services, outcome)
            if on_outcome is not None:
                on_outcome(outcome)
            if stop is not None and stop.is_set():
                report.interrupted = True
                break
    finally:
        outcomes.close()  # type: ignore[attr-defined]
    if telling and not report.fetched and not report.interrupted:
        # Every page tried failed, and they answered but could not be read (or robots.txt now refuses them): a
        # changed template or a blocked crawler looks like this, and only the source's health would tell (a quiet
        # day would not). A page that is missing or whose server fails is the page's trouble, not the source's: it
        # is tried again on its own schedule.
        report.errors.append(f"{PAGES_FAILED} ({report.failed}); first: {telling[0].error}")
    if not report.interrupted and not retry_later:
        # Every page listed was handled: archived, skipped, or recorded as failed with its next attempt (so a 304
        # cannot hide it: the retry comes from the page state, not from the feed).
        result.commit(services.client)
    elif retry_later:
        log.info("source %s: %d pages failed for now; its sitemaps will be read in full again next run", source.name,
                 retry_later)
    report.finished = services.clock()
    return report


def _page_failed(services: Services, report: RunReport, site: str | None, failure: Failure, now: datetime) -> None:
    state = services.store.page_failed(canonical_url(failure.url), site or "", now, str(failure.error),
                                       attempts=PAGE_ATTEMPTS, first_delay=PAGE_RETRY_DELAY)
    if state.given_up is not None:
        report.given_up += 1
        log.warning("gave up on %s after %d failed attempts; last: %s", failure.url, state.failures, failure.error)
    elif state.next_attempt is not None:
        log.info("page %s failed (attempt %d of %d); next attempt after %s", failure.url, state.failures,
                 PAGE_ATTEMPTS, state.next_attempt.strftime("%Y-%m-%d %H:%M:%S UTC"))


def _worth_retrying(error: MonitorError) -> bool:
    """Without page retries (a backfill: its pages are the past, which the daemon must not alert as new), a page
    that failed for a reason that may pass (timeout, 5xx, 429, host backed off) keeps its sitemap unremembered, so
    the next backfill reads it in full and tries again."""
    if not isinstance(error, FetchError) or isinstance(error, RobotsDisallowedError | ContentTypeError):
        return False
    return error.status is None or error.status in (408, 425, 429) or error.status >= 500


def _tells_of_the_source(error: MonitorError) -> bool:
    """Whether a page's failure says something about its source: the page answered but is not readable (a template
    change), or robots.txt refuses it. A 404, a timeout or a 5xx is the page's own trouble."""
    return isinstance(error, ParseError | RobotsDisallowedError)


def _due(services: Services, source: SourceSettings, entry: FeedEntry, now: datetime, *, revisit: bool) -> bool:
    """Whether a candidate is worth a request: never archived; or its feed or sitemap says it changed after we
    last fetched it (sitemap ``lastmod``, feed ``updated``); or it is young (``revisit_hours``) and was last fetched
    more than ``revisit_every`` seconds ago, because Pangea feeds do not re-date an edited article."""
    key = services.store.seen_url(canonical_url(entry.url))
    stored = services.store.article(key) if key is not None else None
    if stored is None:
        return True
    changed = entry.modified or entry.published
    if changed is not None and changed > stored.last_seen:
        return True
    return (revisit and now - stored.first_seen < timedelta(hours=source.revisit_hours)
            and now - stored.last_seen >= timedelta(seconds=source.revisit_every))


#: At most this many articles one run fetches again beyond what its feeds and sitemaps list (see _unlisted_revisits).
REVISIT_LIMIT = 50


def _unlisted_revisits(services: Services, source: SourceSettings, result: DiscoveryResult,
                       now: datetime) -> list[str]:
    """Articles of the source's site published in the last ``revisit_hours``, due for a revisit, that no feed or
    sitemap listed this run: a feed that answered 304 lists nothing, and Pangea feeds do not re-date an edited
    article, so without these an edit would wait until the feed changes for another reason. (Sources sharing a site
    share these revisits; whichever runs first makes them.)"""
    site = services.registry.site_of_host(source.site)
    if source.revisit_hours <= 0 or site is None:
        return []
    listed = {canonical_url(e.url) for e in result.entries}
    due = services.store.due_for_revisit(site, published_since=now - timedelta(hours=source.revisit_hours),
                                         fetched_before=now - timedelta(seconds=source.revisit_every),
                                         limit=REVISIT_LIMIT)
    return [url for url in due if url not in listed]


def queue_alerts(services: Services, result: IngestResult) -> int:
    """Run the alert rules over a new or revised text and queue what matches; mark the text done either way."""
    if result.status == "seen" or result.revision is None:
        return 0
    queued = 0
    if services.alerts is not None:
        revision = None if result.status == "new" else f"{result.revision.number}:{result.revision.content_hash[:16]}"
        _, created = services.alerts.on_article(result.article, story_key=result.story_key, revision=revision)
        queued = len(created)
    services.store.mark_alerts_done(result.stored.key, result.revision.number, services.clock())
    return queued


def queue_pending_alerts(services: Services) -> int:
    """Queue the alerts of recent texts that were archived but whose rules never ran (a crash in between).

    The texts are parsed again from their stored HTML; queueing is idempotent (one alert per rule, story, channel
    and version), so a text whose alerts were queued just before the crash gets no second alert.
    """
    from monitor.decoding import decode_html

    queued = 0
    since = services.clock() - PENDING_ALERTS_WINDOW
    for stored, revision in services.store.alerts_pending(since):
        article: Article | None = None
        if revision.raw_path:
            try:
                raw = services.archive.read_raw(revision.raw_path)
                html = decode_html(raw, None, where=revision.raw_path)
                article = services.registry.parse(html, stored.canonical_url)
            except MonitorError as exc:
                log.warning("pending alerts of %s revision %d: cannot re-read its page: %s", stored.key,
                            revision.number, exc)
        if article is not None:
            text = render_article(article)
            result = IngestResult("new" if revision.number == 0 else "revised", article, stored, revision, text)
            queued += queue_alerts(services, result)
        else:
            services.store.mark_alerts_done(stored.key, revision.number, services.clock())
    return queued


__all__ = ["Failure", "Fetch", "IngestResult", "Page", "RunReport", "http_fetcher", "ingest_page", "ingest_urls",
           "keeps_language", "queue_alerts", "queue_pending_alerts", "reparse_article", "reparse_articles",
           "run_source"]

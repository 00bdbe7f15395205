"""One pass over one source: discovery, the candidates worth a request (new, re-dated, due for a revisit, failed
pages due for a retry), their ingestion (:mod:`monitor.ingest`), the alerts new and revised texts call for, and the
run's :class:`RunReport`.

The feeds' validators are remembered only after every candidate was handled, so a crash re-reads them rather than
hiding their news behind a 304; texts archived whose alert rules a crash left unrun are caught up by
:func:`queue_pending_alerts`.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from monitor.discovery import DiscoveryResult, discover_source
from monitor.errors import (
    ContentTypeError,
    FetchError,
    LanguageNotKept,
    MonitorError,
    ParseError,
    RobotsDisallowedError,
)
from monitor.ingest import Failure, IngestResult, http_fetcher, ingest_urls, keeps_language
from monitor.model import Article, FeedEntry
from monitor.render import render_article
from monitor.run_errors import RunError, RunErrorKind
from monitor.urls import canonical_url

if TYPE_CHECKING:
    from monitor.services import Services
    from monitor.settings import SourceSettings

log = logging.getLogger("monitor.pipeline")


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
    errors: list[RunError] = field(default_factory=list)  # broken feeds, sitemaps, sections; unreadable pages; a crash
    interrupted: bool = False  # stopped early by the daemon's stop request

    @property
    def zombie(self) -> bool:
        """Whether a feed answered with no items at all."""
        return any(e.kind is RunErrorKind.ZOMBIE_FEED for e in self.errors)

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
    report.errors = [RunError.of_source(e) for e in result.errors]
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
        report.errors.append(RunError.pages_failed(report.failed, telling[0].error))
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


__all__ = ["RunReport", "queue_alerts", "queue_pending_alerts", "run_source"]

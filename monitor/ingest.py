"""Ingesting pages: fetch, decode, prepare, archive, record; and reparsing stored ones with the current parsers.

:func:`ingest_page` is the one place that decides whether a page is a new article, a new revision of a known one,
or nothing new. The decision is made by the database's unique keys (article key; revision number and text hash per
article; file path), so two processes racing over the same pages record each article once, and a crash at any
point repeats nothing already recorded: files go in place first, the row is committed after, and a file whose row
never came is adopted by the next attempt (see :mod:`monitor.archive`).

:func:`ingest_urls` fetches candidate URLs through an injected fetch function (:func:`http_fetcher` wraps the
monitor's HTTP client) and ingests each; a bad page or a failed fetch is logged and skipped, while storage trouble
(:class:`StoreError`, :class:`ArchiveError`) or parse workers that cannot start (:class:`ParseWorkerError`) stop the
run: they would fail the same way for every page. One pass over a source, which feeds it its candidates, is
:mod:`monitor.pipeline`'s.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal, TypeVar

from monitor.archive import Archive, folder_for, text_name
from monitor.clock import Clock
from monitor.errors import (
    ArchiveConflict,
    ArchiveError,
    FetchError,
    LanguageNotKept,
    MonitorError,
    ParseError,
    ParseWorkerError,
    StoreError,
)
from monitor.model import Article
from monitor.prepare import ParsePool, Prepared, prepare_with
from monitor.search.index import Indexable, index_recorded
from monitor.sites import SiteRegistry
from monitor.store import CONFLICT, NewRevision, Store, StoredArticle, StoredRevision
from monitor.urls import canonical_url, file_hash

if TYPE_CHECKING:
    from monitor.http import HttpClient
    from monitor.search.writer import IndexWriter

log = logging.getLogger("monitor.ingest")

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
                fetched_at: datetime | None = None, *, clock: Clock, extra_urls: Iterable[str] = (),
                origin: str = "fetch", parse_pool: ParsePool | None = None,
                languages: Sequence[str] = (), source: str | None = None,
                indexer: IndexWriter | None = None) -> IngestResult:
    """Parse one page and record what is new in it. Raises ParseError for a page that is no article, and
    LanguageNotKept for an article whose language is not among ``languages`` (when given). ``source``: the
    configured source whose run this is, recorded with the text (its "today" in the status). ``fetched_at``: when
    the page was fetched (default: now); ``clock`` says what time it is.

    ``origin`` "backfill" or "ingest" (alerts muted) records the text with its alerts already done, in the same
    row: a crash right after cannot leave it for the daemon's catch-up to alert. ``parse_pool`` parses in worker
    processes (with the registry the pool was made with); the store and archive are written here either way.
    A new or revised text is indexed for search right after it is recorded, or handed to ``indexer`` (a bulk
    ingest's :class:`~monitor.search.writer.IndexWriter`, which writes it on its own thread).
    """
    fetched_at = (fetched_at or clock()).astimezone(UTC)
    prepared = prepare_with(parse_pool, registry, html, url)
    article = prepared.article
    if article.language and not keeps_language(languages, article.language):
        raise LanguageNotKept(article.language, list(languages), url=canonical_url(url), site=article.site)
    urls = [canonical_url(u) for u in (url, article.url, *extra_urls) if u]
    return _record(store, archive, prepared, urls, fetched_at, clock=clock, origin=origin, source=source,
                   indexer=indexer)


def _index(store: Store, indexer: IndexWriter | None, item: Indexable) -> None:
    # After the commit, which marked the article pending: a write that fails or never comes leaves it pending.
    if indexer is None:
        index_recorded(store, item)
    else:
        indexer.add(item)


def _entry(stored: StoredArticle, number: int, prepared: Prepared) -> Indexable:
    # A parse worker's tokens are of the page's headline and language; the index must hold the stored ones, which a
    # search evaluates and a catch-up indexes: a reparse that finds the same text leaves the stored headline as it
    # was, and an article keeps the language it was first recorded with.
    made_as_stored = (prepared.article.headline, prepared.article.language) == (stored.headline, stored.language)
    return Indexable.recorded(stored, number, prepared.text, prepared.tokens if made_as_stored else None)


def _record(store: Store, archive: Archive, prepared: Prepared, urls: list[str], fetched_at: datetime, *,
            clock: Clock, origin: str, raw_path: str | None = None, source: str | None = None,
            indexer: IndexWriter | None = None) -> IngestResult:
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
                          raw_path=put.raw_path or raw_path, fetched_at=fetched_at, origin=origin, source=source,
                          stored_at=(stored_at := clock()))
        if stored is None:
            outcome = store.add_article(article, canonical=canonical, url_hash=url_hash, folder=folder, revision=new,
                                        urls=urls, signature=prepared.story_signature(store.story_threshold))
        else:
            outcome = store.add_revision(stored, article, new, urls)
        if outcome == CONFLICT:
            continue  # another writer got there first: look again (its file has the same name and text, or not)
        assert isinstance(outcome, StoredArticle)
        _index(store, indexer, _entry(outcome, number, prepared))
        recorded = StoredRevision(article_key=outcome.key, number=number, content_hash=digest, size=new.size,
                                  text_path=path, raw_path=new.raw_path, template=article.template, origin=origin,
                                  fetched_at=fetched_at, stored_at=stored_at)
        status: Status = "new" if stored is None else "revised"
        log.info("%s %s revision %d %s", status, article.key, number, path)
        return IngestResult(status, article, outcome, recorded, text)
    raise StoreError(f"{article.url}: could not settle article {article.key} after {_ATTEMPTS} concurrent attempts")


def reparse_article(store: Store, archive: Archive, registry: SiteRegistry, stored: StoredArticle, *,
                    clock: Clock, parse_pool: ParsePool | None = None,
                    indexer: IndexWriter | None = None) -> IngestResult | None:
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
    result = _record(store, archive, prepared, [], latest.fetched_at, clock=clock, origin="reparse",
                     raw_path=latest.raw_path, indexer=indexer)
    if result.status == "seen" and result.revision is not None:  # the same text: indexed again all the same
        _index(store, indexer, _entry(result.stored, result.revision.number, prepared))
    return result


def reparse_articles(store: Store, archive: Archive, registry: SiteRegistry, articles: Iterable[StoredArticle], *,
                     clock: Clock, workers: int = 1, parse_pool: ParsePool | None = None,
                     indexer: IndexWriter | None = None,
                     ) -> Generator[tuple[StoredArticle, IngestResult | MonitorError | None], None, None]:
    """:func:`reparse_article` over many articles, in order: each with its result, or the error that refused its
    page (the current parsers may reject an old page: it is reported and the rest go on). Storage trouble and parse
    workers that cannot start stop the run. ``workers``/``parse_pool``/``indexer`` as in :func:`ingest_urls`."""

    def one(stored: StoredArticle) -> tuple[StoredArticle, IngestResult | MonitorError | None]:
        try:
            return stored, reparse_article(store, archive, registry, stored, clock=clock, parse_pool=parse_pool,
                                           indexer=indexer)
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
                clock: Clock, skip_seen: bool = True, workers: int = 1, origin: str = "fetch",
                parse_pool: ParsePool | None = None, languages: Sequence[str] = (),
                source: str | None = None, indexer: IndexWriter | None = None) -> Iterator[IngestResult | Failure]:
    """Fetch and ingest candidate URLs, yielding each outcome (in order).

    Each URL is fetched in its canonical form. ``skip_seen`` leaves out URLs already recorded for an article (no
    request is made). Fetch and parse failures are logged in the fetch log and yielded as :class:`Failure`; storage
    failures propagate and stop the run. ``workers`` > 1 ingests that many pages at once (threads: the waits for the
    network, fsync and the database overlap); the unique keys keep the outcome the same as one by one. With a
    ``parse_pool`` the parsing runs in its worker processes, so the pages in flight use every core. With
    ``languages``, an article in another language is not archived: its language is remembered (page state) and it
    comes back as a Failure carrying :class:`LanguageNotKept`.
    ``source``: the configured source whose run this is, recorded with each text it archives. ``clock``: when each
    page is fetched and stored. ``indexer``: writes the search index on its own thread (see :func:`ingest_page`).
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
            result = ingest_page(store, archive, registry, page.html, page.final_url, at, clock=clock,
                                 extra_urls=[url], origin=origin, parse_pool=parse_pool, languages=languages,
                                 source=source, indexer=indexer)
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

__all__ = ["Failure", "Fetch", "IngestResult", "Page", "Status", "http_fetcher", "ingest_page", "ingest_urls",
           "keeps_language", "reparse_article", "reparse_articles"]

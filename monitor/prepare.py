"""The CPU-bound half of ingesting a page: parse, render, hash, story signature, search index tokens and the
compressed raw HTML.

All of it is pure (parsers never fetch, rendering writes nothing), so it can run anywhere: in the ingesting thread
(:func:`prepare_page`), or in worker processes (:class:`ParsePool`) while this process keeps the half that must stay
in one place — the database and the archive files (:func:`monitor.ingest.ingest_page`). On a machine with more
than one core a bulk ingest, backfill or benchmark then uses them all instead of queueing behind one interpreter
lock.

A worker that dies mid-page (killed, out of memory, a crash in a C extension) is replaced and the page tried once
more in a fresh worker; a page that kills its worker twice is reported as a :class:`ParseError` for that page, so
one poisonous page costs one page, not the run. Workers that cannot start at all raise :class:`ParseWorkerError`.
Workers leave Ctrl-C to the parent, and end by themselves when the parent is killed outright.
"""

from __future__ import annotations

import codecs
import contextlib
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Final

from monitor.archive import compress_raw, content_hash
from monitor.dedupe import Signature, signature, story_text
from monitor.errors import ConfigError, ParseError, ParseWorkerError
from monitor.model import Article
from monitor.render import render_article
from monitor.sites import SiteRegistry

if TYPE_CHECKING:
    from monitor.search.tokens import DocumentTokens

#: ``Prepared.signature`` before it was asked for (a page already archived never needs one).
NOT_COMPUTED: Final = "not computed"


@dataclass(frozen=True, slots=True)
class Prepared:
    """One page made ready for the store: the article, its archive text and hash, and its raw HTML compressed.

    ``signature`` is the story signature (None: text too short to compare), or :data:`NOT_COMPUTED`. ``tokens``: the
    search index's tokens of the headline and text (:func:`monitor.search.tokens.document_tokens`), made by a worker
    process; None in-process, where whoever writes the index makes them.
    """

    article: Article
    text: str
    digest: str
    raw_gz: bytes | None
    signature: Signature | str | None = NOT_COMPUTED
    tokens: DocumentTokens | None = None

    def story_signature(self, threshold: float) -> Signature | None:
        if isinstance(self.signature, str):
            return signature(story_text(self.article), threshold)
        return self.signature


def raw_bytes(html: str) -> bytes:
    """The raw HTML as archived: the decoded page as UTF-8 behind a byte-order mark, so a reparse reads exactly what
    the parser read, whatever charset the server declared in a header that is not kept."""
    return codecs.BOM_UTF8 + html.encode("utf-8")


def prepare_page(registry: SiteRegistry, html: str, url: str, *, story_threshold: float | None = None,
                 keep_raw: bool = True, tokens: bool = False) -> Prepared:
    """Parse and render one page. Raises ParseError for a page that is no article.

    ``story_threshold`` computes the story signature now and ``tokens`` the search index's tokens (a worker process
    does both, sparing the process that writes the store; in-process the signature waits until the store knows the
    article is new). ``keep_raw=False`` leaves out the raw HTML (a reparse keeps the stored one).
    """
    article = registry.parse(html, url)
    text = render_article(article)
    sig: Signature | str | None = NOT_COMPUTED
    if story_threshold is not None:
        sig = signature(story_text(article), story_threshold)
    found = None
    if tokens:
        from monitor.search.tokens import document_tokens  # the search package is not needed to parse a page

        found = document_tokens(article.headline, text, article.language)
    return Prepared(article, text, content_hash(text), compress_raw(raw_bytes(html)) if keep_raw else None, sig,
                    found)


def prepare_with(pool: ParsePool | None, registry: SiteRegistry, html: str, url: str, *, keep_raw: bool = True,
                 story: bool = True) -> Prepared:
    """:func:`prepare_page` in ``pool``'s workers, or here when there is no pool. ``story=False``: no story
    signature will be needed (a reparse); in-process it is computed only when the store asks anyway."""
    if pool is None:
        return prepare_page(registry, html, url, keep_raw=keep_raw)
    return pool.prepare(html, url, keep_raw=keep_raw, story=story)


# --- worker processes -----------------------------------------------------------------------------------------------

#: Seconds between a worker's checks that its parent is still there.
_PARENT_CHECK = 0.5
#: Seconds the workers have to start (a fresh interpreter importing the parsers takes about one).
_START_TIMEOUT = 60.0

# Set in each worker by its initializer: the registry and threshold the pool was made with.
_worker_registry: SiteRegistry | None = None
_worker_threshold: float = 0.8


def _start_worker(registry: SiteRegistry, threshold: float, parent: int) -> None:
    global _worker_registry, _worker_threshold
    _worker_registry, _worker_threshold = registry, threshold
    # Ctrl-C reaches the whole process group: the parent stops the run and closes the pool; a worker dying of it
    # first would only look like a crash (a replacement started, a traceback per worker).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, args=(parent,), name="parent-watch", daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    # A parent killed outright (SIGKILL, out of memory) never closes the pool, and a worker waiting for work would
    # wait forever: every worker holds both ends of the task queue, so no end-of-file ever comes.
    while os.getppid() == parent:
        time.sleep(_PARENT_CHECK)
    os._exit(0)


def _ready(_: int) -> int:
    time.sleep(0.05)  # long enough that one worker cannot answer for all while the others are still starting
    return os.getpid()


def _prepare_in_worker(html: str, url: str, keep_raw: bool, story: bool) -> Prepared:
    assert _worker_registry is not None, "worker started without its initializer"
    return prepare_page(_worker_registry, html, url, story_threshold=_worker_threshold if story else None,
                        keep_raw=keep_raw, tokens=True)


class ParsePool:
    """``processes`` worker processes that prepare pages; :meth:`prepare` is safe to call from many threads.

    Workers are started with "spawn" (a fresh interpreter, not a fork of a process whose threads may hold locks) and
    get the registry by pickling, so a registry with configured hosts parses in the workers as it does here.
    """

    def __init__(self, registry: SiteRegistry, processes: int, *, story_threshold: float = 0.8) -> None:
        if processes < 1:
            raise ConfigError(f"parse processes: need at least 1, got {processes}")
        self.processes = processes
        self._registry = registry
        self._threshold = story_threshold
        self._lock = threading.Lock()
        self._retry_lock = threading.Lock()
        self._pool = self._new_pool()
        self._closed = False

    @property
    def pages_in_flight(self) -> int:
        """Pages to keep in flight (ingest threads) so that every worker has the next page while the parent stores
        the last one."""
        return self.processes + 2

    def _new_pool(self) -> ProcessPoolExecutor:
        """Workers started and answering, or ParseWorkerError: a worker that cannot even start (an import failing
        in a fresh interpreter, say) must stop the run once, not fail every page as if the page killed it."""
        pool = ProcessPoolExecutor(self.processes, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_start_worker, initargs=(self._registry, self._threshold, os.getpid()))
        try:
            # Until every worker has answered once: a worker still importing would otherwise meet its first page
            # (or a Ctrl-C) half started, and its start would be counted in the first pages' time.
            answered: set[int] = set()
            deadline = time.monotonic() + _START_TIMEOUT
            while len(answered) < self.processes and time.monotonic() < deadline:
                answered.update(pool.map(_ready, range(self.processes)))
        except BrokenProcessPool:
            pool.shutdown(wait=False, cancel_futures=True)
            raise ParseWorkerError(f"the {self.processes} parse worker process(es) could not start "
                                   "(their error is on stderr)") from None
        if len(answered) < self.processes:
            pool.shutdown(wait=False, cancel_futures=True)
            raise ParseWorkerError(f"only {len(answered)} of {self.processes} parse worker processes started within "
                                   f"{_START_TIMEOUT:.0f} s")
        return pool

    def prepare(self, html: str, url: str, *, keep_raw: bool = True, story: bool = True) -> Prepared:
        """What :func:`prepare_page` returns, computed in a worker; the story signature too unless ``story`` is
        False (a reparse, which never opens a story)."""
        # Every page in flight when a worker died gets a second try, not only the one that killed it. Second tries
        # go one at a time, so the guilty page dies alone on its second try and the pages beside it are not blamed.
        for guard in (contextlib.nullcontext(), self._retry_lock):
            with guard:
                pool = self._current()
                try:
                    return pool.submit(_prepare_in_worker, html, url, keep_raw, story).result()
                except BrokenProcessPool:
                    self._replace(pool)
        raise ParseError("the parser process died on this page twice", url=url)

    def _current(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._closed:
                raise RuntimeError("ParsePool is closed")
            return self._pool

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        # Every page in flight fails with the same broken pool; the first thread to notice replaces it, the others
        # find it replaced and simply retry on the new one.
        with self._lock:
            if self._pool is broken and not self._closed:
                broken.shutdown(wait=False, cancel_futures=True)
                self._pool = self._new_pool()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            pool = self._pool
        pool.shutdown(wait=True, cancel_futures=True)

    @classmethod
    def optional(cls, registry: SiteRegistry, processes: int, *,
                 story_threshold: float = 0.8) -> contextlib.AbstractContextManager[ParsePool | None]:
        """A pool of ``processes`` workers, or (0) a context that gives None: parse in this process."""
        if not processes:
            return contextlib.nullcontext(None)
        return cls(registry, processes, story_threshold=story_threshold)

    def __enter__(self) -> ParsePool:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


__all__ = ["NOT_COMPUTED", "ParsePool", "Prepared", "prepare_page", "prepare_with", "raw_bytes"]

"""Backfill: archive a source's past articles, from its sitemap index, over a date range.

A backfill is an ordinary pass of :func:`monitor.pipeline.run_source` over a copy of the source whose only
documents are its *backfill* sitemaps (the full index rather than the polling ``news``/``latest`` chunks), with
``since``/``until`` as the range: discovery keeps the index's chunks changed since ``since`` and the entries dated
in the range, and the pipeline archives them exactly as the daemon would. So it shares every rule of the daemon:
the polite client (robots.txt, pacing, retries), the unique keys that make "new" a database decision, and the
alert queue (muted unless asked for: :class:`Services` opened with ``alerts=False`` queues nothing, and each
text is recorded with its alerts already done, so the daemon's catch-up never alerts them either).

Resuming needs no state of its own. Articles already archived are skipped without a request (the URL index);
what is left is re-reading the index and its chunks in range, a few requests against the thousands a backfill
makes. Remembering "chunks done" would save those few and risk missing what a chunk gained since.

Validators: the backfill's client keeps ETag/Last-Modified in memory only (``Opened.pipeline(detached=True)``,
:mod:`monitor.services`). With the daemon's stored validators, a chunk the daemon polls (``sitemap_8_latest``) would
answer 304 and be skipped; and validators a backfill stored would hide a chunk from the daemon, or from a later
backfill, behind a 304.

It does not take the daemon lock: the store's unique keys already let several writers share one database.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from monitor.discovery import DiscoveryResult
from monitor.ingest import Failure, IngestResult
from monitor.pipeline import RunReport, run_source
from monitor.run_errors import RunError
from monitor.services import Services
from monitor.settings import SourceSettings
from monitor.sites import SiteRegistry
from monitor.store.store import DatabaseValidators

#: ``progress(done, total)``: ``total`` is None while the sitemaps are read, then the articles left to fetch.
Progress = Callable[[int, int | None], None]


@dataclass
class BackfillReport:
    """What a backfill did: the pass's counts, and how many candidates an earlier run had already archived."""

    source: str
    since: datetime
    until: datetime | None
    sitemaps: list[str]
    run: RunReport
    candidates: int = 0  # articles dated in the range
    already: int = 0  # of which archived before this run started (skipped without a request)
    errors: list[RunError] = field(default_factory=list)

    @property
    def interrupted(self) -> bool:
        return self.run.interrupted

    @property
    def left(self) -> int:
        """Candidates this run neither archived nor tried (an interrupted run's remainder)."""
        return max(0, self.candidates - self.already - self.run.fetched - self.run.failed)


def backfill_sitemaps(source: SourceSettings, registry: SiteRegistry) -> list[str]:
    """The sitemaps a backfill of ``source`` walks: its ``backfill_sitemaps``, else its site family's default.

    Raises ConfigError when neither says (no family knows the site, or the family cannot tell the source's edition).
    """
    return registry.backfill_sitemaps(source)


def backfill(services: Services, source: SourceSettings, *, since: datetime, until: datetime | None = None,
             stop: threading.Event | None = None, progress: Progress | None = None) -> BackfillReport:
    """Archive the articles of ``source`` dated in ``[since, until]`` from its backfill sitemaps.

    ``stop`` ends the run after the article in hand (run it again to resume). Storage trouble raises, as in the
    daemon; unreadable sitemaps are the report's ``errors`` (their articles are for the next run).
    """
    if isinstance(services.client.validators, DatabaseValidators):
        # See the module docstring: a shared validator store would let 304s hide chunks.
        raise ValueError("backfill needs a client with its own validators (Opened.pipeline(detached=True))")
    sitemaps = backfill_sitemaps(source, services.registry)
    walk = source.model_copy(update={"feeds": [], "sections": [], "sitemaps": sitemaps})
    report = BackfillReport(source=source.name, since=since, until=until, sitemaps=sitemaps,
                            run=RunReport(source=source.name, started=services.clock()))
    done = 0
    total: int | None = None
    if progress is not None:
        progress(0, None)

    def discovered(result: DiscoveryResult) -> None:
        nonlocal total
        report.candidates = len(result.entries)
        report.already = sum(1 for e in result.entries if services.store.seen_url(e.url) is not None)
        total = report.candidates - report.already
        if progress is not None:
            progress(0, total)

    def on_outcome(outcome: IngestResult | Failure) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, max(total or 0, done))

    # Muted, each text is stored with its alerts done in its own row (origin "backfill"): a backfill killed between
    # archiving and marking leaves nothing for the daemon's catch-up to alert. With alerts it is a fetch like any.
    report.run = run_source(services, walk, since=since, until=until, stop=stop, on_outcome=on_outcome,
                            discovered=discovered, origin="backfill" if services.alerts is None else "fetch",
                            revisit=False,  # a resumed backfill must not fetch what it archived an hour ago
                            report=report.run)  # filled as it goes: a fault keeps the counts so far
    report.errors = list(report.run.errors)
    return report


__all__ = ["BackfillReport", "Progress", "backfill", "backfill_sitemaps"]

"""Ingest throughput and the "have we seen this URL" check: ``python -m benchmarks.ingest``.

1. ``--articles`` (2,000) synthetic article pages (a real VOA fixture page with its id, headline and body words
   changed) are ingested into a fresh SQLite store and archive. Printed: articles/s from parse to committed file
   (``ingest_page`` over pages in memory) one page at a time, with ``--workers`` threads, and with those threads
   handing the parsing to ``--processes`` parse worker processes (:class:`monitor.prepare.ParsePool`, what
   ``monitor ingest --processes`` uses), fsync on; one page at a time with fsync off for comparison. Then end to
   end: the pages served by :mod:`monitor.demo.site` in a process of its own on 127.0.0.1 (as a remote site would
   be: its CPU is not the monitor's) and fetched through the real HTTP client with pacing off. Each run indexes
   the texts for search as ``monitor ingest`` does (an :class:`~monitor.search.writer.IndexWriter`), and its time
   ends when the last entry is written. Goal: at least 100 articles/s.
2. The store is filled with 10 thousand and 1 million articles (rows written in bulk, one URL each) and the time of
   one ``Store.seen_url`` call is measured (median of many, half hits and half misses). Goal: the same order of
   magnitude for both, well under a millisecond.

``--database-url`` runs both on another database (a PostgreSQL URL; its tables are created and left there).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Table, select

from monitor.archive import Archive
from monitor.http import HttpClient
from monitor.ingest import Failure, IngestResult, http_fetcher, ingest_page, ingest_urls
from monitor.prepare import ParsePool
from monitor.search.writer import IndexWriter
from monitor.services import utc_now
from monitor.settings import HttpSettings, StorageSettings
from monitor.sites import SiteRegistry, default_registry
from monitor.store import Store
from monitor.store.tables import ArticleRow, ArticleUrl, Source
from tests._synth import HOST, write_site


def _pages(workdir: Path, count: int) -> tuple[list[str], list[tuple[str, str]]]:
    urls = write_site(workdir / "snapshot", count)
    snapshot = workdir / "snapshot" / HOST
    return urls, [(u, (snapshot / u.split(HOST + "/", 1)[1]).read_text(encoding="utf-8")) for u in urls]


def _label(fsync: bool, workers: int, processes: int) -> str:
    how = f"{workers} thread(s)" + (f" + {processes} parse processes" if processes else ", parsing in-process")
    return f"fsync {'on ' if fsync else 'off'}, {how}"


@contextlib.contextmanager
def _parse_pool(registry: SiteRegistry, processes: int) -> Iterator[ParsePool | None]:
    if not processes:
        yield None
        return
    began = time.perf_counter()
    with ParsePool(registry, processes) as pool:  # returns once the workers answer: their start is not timed below
        print(f"  ({processes} parse processes started in {time.perf_counter() - began:.1f} s)")
        yield pool


def parse_to_file(pages: list[tuple[str, str]], workdir: Path, url: str | None, *, fsync: bool, workers: int,
                  processes: int) -> None:
    """What ingest_page does once a page is in memory: parse, render, dedupe, files in place, row committed."""
    registry = default_registry()
    folder = workdir / f"archive-{'fsync' if fsync else 'nofsync'}-{workers}-{processes}"
    settings = StorageSettings(url=url, archive_root=folder)
    archive = Archive(settings.archive_root, fsync=fsync)
    with Store.open(settings) as store, _parse_pool(registry, processes) as parse_pool:
        at = datetime.now(UTC)
        started = time.perf_counter()
        with IndexWriter.for_store(store) as indexer, ThreadPoolExecutor(workers) as pool:
            list(pool.map(lambda p: ingest_page(store, archive, registry, p[1], p[0], at, parse_pool=parse_pool,
                                                clock=utc_now, indexer=indexer),
                          pages))
        elapsed = time.perf_counter() - started
    count = len(pages)
    print(f"ingest, parse to committed file, {_label(fsync, workers, processes)}: "
          f"{count / elapsed:,.0f} articles/s (goal 100; {elapsed * 1000 / count:.2f} ms each, {count} articles)")


@contextlib.contextmanager
def _server_process(snapshot: Path, cpu: list[float]) -> Iterator[dict[str, str]]:
    """``python -m monitor.demo.site`` in a process of its own; yields the host map it prints. Its CPU seconds
    (user + system, read when it ends) are appended to ``cpu``: on a small machine they come out of the monitor's."""
    server = subprocess.Popen([sys.executable, "-m", "monitor.demo.site", str(snapshot)], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert server.stdout is not None
        for line in server.stdout:
            if line.startswith("MONITOR_HTTP__HOST_MAP="):
                yield dict(json.loads(line.split("=", 1)[1].strip().strip("'")))
                return
        raise RuntimeError("the local server ended without printing its host map")
    finally:
        server.terminate()
        _pid, status, usage = os.wait4(server.pid, 0)  # wait4: the one wait that also gives the child's CPU
        server.returncode = os.waitstatus_to_exitcode(status)
        cpu.append(usage.ru_utime + usage.ru_stime)


def end_to_end(urls: list[str], workdir: Path, *, fsync: bool, workers: int, processes: int) -> None:
    """Fetched from the local server (another process) through the real client, pacing off."""
    registry = default_registry()
    settings = StorageSettings(archive_root=workdir / f"archive-http-{workers}-{processes}")
    archive = Archive(settings.archive_root, fsync=fsync)
    server_cpu: list[float] = []
    with (Store.open(settings) as store, _server_process(workdir / "snapshot", server_cpu) as host_map,
          _parse_pool(registry, processes) as parse_pool):
        http = HttpSettings(host_map={HOST: host_map[HOST]}, min_delay=0.0)
        with HttpClient(http) as client:
            fetch = http_fetcher(client)
            fetch(urls[0])  # robots.txt and the connection, outside the timing
            done = failed = 0
            started = time.perf_counter()
            with IndexWriter.for_store(store) as indexer:
                for outcome in ingest_urls(store, archive, registry, urls, fetch, workers=workers,
                                           parse_pool=parse_pool, clock=utc_now, indexer=indexer):
                    if isinstance(outcome, Failure):
                        failed += 1
                    elif isinstance(outcome, IngestResult):
                        done += 1
            elapsed = time.perf_counter() - started
    print(f"ingest, fetched from the local server, {_label(fsync, workers, processes)}: "
          f"{done / elapsed:,.0f} articles/s ({done} new, {failed} failed, {elapsed:.1f} s; the server used "
          f"{server_cpu[0]:.1f} s of CPU, {server_cpu[0] * 1000 / max(done, 1):.1f} ms a page)")


def fill(store: Store, count: int, start: int) -> None:
    """Bulk rows: what ``count`` ingested articles leave in the two tables the URL check reads."""
    now = datetime.now(UTC)
    batch = 20_000
    sources: Table = Source.__table__  # type: ignore[attr-defined]
    articles: Table = ArticleRow.__table__  # type: ignore[attr-defined]
    article_urls: Table = ArticleUrl.__table__  # type: ignore[attr-defined]
    with store.engine.begin() as connection:
        source = connection.execute(sources.insert().values(
            site=f"bench{start}.example", family="pangea", created_at=now).returning(sources.c.id)).scalar_one()
        for first in range(start, start + count, batch):
            numbers = range(first, min(first + batch, start + count))
            connection.execute(articles.insert(), [
                {"key": f"bench:{n}", "source_id": source, "site": "bench.example", "article_id": str(n),
                 "family": "pangea", "template": "bench", "canonical_url": _url(n), "url_hash": f"{n:016x}",
                 "headline": "h", "authors": "[]", "folder": "bench", "first_seen": now, "last_seen": now,
                 "revision_count": 1} for n in numbers])
            keys = [f"bench:{n}" for n in numbers]
            ids = {key: pk for key, pk in connection.execute(
                select(articles.c.key, articles.c.id).where(articles.c.key.in_(keys))).all()}
            connection.execute(article_urls.insert(), [
                {"url": _url(n), "article_pk": ids[f"bench:{n}"], "first_seen": now} for n in numbers])


def _url(n: int) -> str:
    return f"https://www.bench.example/a/some-headline-slug-of-usual-length/{n}.html"


def seen_check(sizes: list[int], workdir: Path, url: str | None, probes: int) -> None:
    settings = StorageSettings(url=url, archive_root=workdir / "seen")
    Archive(settings.archive_root)
    rng = random.Random(1)
    with Store.open(settings) as store:
        stored = 0
        for size in sizes:
            began = time.perf_counter()
            fill(store, size - stored, stored)
            filled = time.perf_counter() - began
            stored = size
            timings = []
            for i in range(probes):
                n = rng.randrange(stored) if i % 2 == 0 else stored + rng.randrange(10**6)
                t = time.perf_counter()
                key = store.seen_url(_url(n))
                timings.append(time.perf_counter() - t)
                assert (key is not None) == (i % 2 == 0)
            timings.sort()
            print(f"seen-URL check with {size:>9,} stored articles: median {statistics.median(timings) * 1e6:,.0f} µs, "
                  f"p99 {timings[int(len(timings) * 0.99)] * 1e6:,.0f} µs  (filled in {filled:.0f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--sizes", default="10000,1000000", help="stored-article counts for the URL check")
    parser.add_argument("--probes", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=4, help="ingest threads")
    parser.add_argument("--processes", type=int, default=2, help="parse worker processes (default: 2)")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="monitor-bench-") as tmp:
        work = Path(tmp)
        if args.articles:
            urls, pages = _pages(work, args.articles)
            runs = ((True, 1, 0), (True, args.workers, 0), (True, args.workers, args.processes), (False, 1, 0))
            for fsync, workers, processes in runs:
                parse_to_file(pages, work, args.database_url, fsync=fsync, workers=workers, processes=processes)
            if args.database_url is None:
                end_to_end(urls, work, fsync=True, workers=args.workers, processes=args.processes)
        sizes = sorted(int(s) for s in args.sizes.split(",") if s)
        if sizes:
            seen_check(sizes, work, args.database_url, args.probes)


if __name__ == "__main__":
    main()

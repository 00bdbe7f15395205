"""Search on the index against a linear scan: ``python -m benchmarks.search [--articles N]`` (default 1 million).

1. An archive of ``--articles`` synthetic articles is built (:mod:`benchmarks.search_archive`: Russian, Ukrainian,
   German, English and Spanish texts of realistic lengths over one year on five sites, rows written directly into the
   tables and texts into the archive layout by ``--jobs`` processes; 300 of the articles name Navalny near a word
   for prison: the rule with a few hundred matches). It is kept under ``--cache-dir``: a re-run with the same size,
   seed and archive code reuses it (said so in its line; ``--rebuild`` builds anew, ``--no-cache`` in a temporary
   folder).
2. The index is built over it as ``monitor index rebuild`` does (printed: articles/s, and its size per article). A
   reused archive keeps its index while the monitor's code is the same (the line then gives the figure measured when
   it was built, and says so); else the index is built anew from the database as the archive left it.
3. Typical queries (single words in four languages, a name across scripts, a prefix, a phrase, NEAR, a field,
   AND/OR/NOT, filters) are searched (first page, as the web page does) several times each: ``search p50`` and
   ``search p95`` (goal p95 <= 200 ms). Then ``monitor rules test`` with the rule over the whole archive, as a
   command in a process of its own (goal <= 2 s).
4. The same with a linear scan of the texts (every article the filters select, read and evaluated): measured over
   at most ``--scan-articles`` (2,000) articles and, for a larger archive, extrapolated (said so in the line): the
   scan reads the articles newest first a page of 200 at a time, in the order of the date index (migration 0009),
   so a page costs about the same at any depth of an archive; what grows with the archive is the reading of texts.
5. Ingest throughput with indexing on, as ``monitor ingest`` runs (fsync on, the synthetic pages of
   ``benchmarks.ingest``, the index written by its :class:`~monitor.search.writer.IndexWriter` and the time taken
   until its last entry is written): in one thread, and as ``monitor ingest --processes 2`` runs it (4 threads, 2
   parse processes); and with the indexing taken out, for comparison (goal still >= 100 articles/s).

``--database-url`` builds it in PostgreSQL instead (its tables are created there and left; not cached).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any
from unittest import mock

from benchmarks.search_archive import build
from benchmarks.search_cache import CachedArchive, default_cache_dir, monitor_code_key
from monitor.archive import Archive
from monitor.clock import utc_now
from monitor.ingest import ingest_page
from monitor.rules import parse_query
from monitor.search import SearchFilters, SearchService, StoreScan
from monitor.search.index import IndexCandidates, SearchIndex
from monitor.settings import StorageSettings
from monitor.sites import default_registry
from monitor.store import Store

RULE = "~Navalny NEAR/8 (prison OR тюрьма OR тюрма OR Gefängnis OR prisión)"
QUERIES = [
    ("Украина", SearchFilters()),
    ("Україна", SearchFilters()),
    ("Sanktionen", SearchFilters()),
    ("sanctions", SearchFilters()),
    ("~Lavrov", SearchFilters()),
    ("=Kyiv", SearchFilters()),
    ("Ukrain*", SearchFilters()),
    ('"foreign minister"', SearchFilters()),
    ("Lavrov NEAR/10 sanctions", SearchFilters()),
    ("title:Biden", SearchFilters()),
    ("Moskau AND Sanktionen", SearchFilters()),
    ("Зеленский OR Зеленський OR Zelensky OR Selenskyj", SearchFilters()),
    ("election* NOT Biden", SearchFilters()),
    ("~Zelensky", SearchFilters(language="uk")),
    ("выборы", SearchFilters(site="svoboda.org")),
    (RULE, SearchFilters()),
]

# --- the archive ---------------------------------------------------------------------------------------------------


_last_progress = [0.0]


def _progress(line: str) -> None:
    """On a terminal, overwritten in place; else a line every half minute (a long run's log says how far it got)."""
    if sys.stderr.isatty():
        print(f"\r{line}", end="", file=sys.stderr, flush=True)
    elif time.monotonic() - _last_progress[0] >= 30:
        _last_progress[0] = time.monotonic()
        print(f"{_now()} {line}", file=sys.stderr, flush=True)


def _end_progress() -> None:
    if sys.stderr.isatty():
        print(file=sys.stderr)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _database_bytes(store: Store, root: Path) -> int:
    if store.engine.dialect.name == "postgresql":
        with store.engine.connect() as connection:
            size: int = connection.exec_driver_sql("SELECT pg_database_size(current_database())").scalar_one()
            return size
    return sum(p.stat().st_size for p in root.glob("monitor.db*"))


# --- measuring -----------------------------------------------------------------------------------------------------


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def search_timings(service: SearchService, repeat: int) -> tuple[list[float], list[float], dict[str, int]]:
    """Wall-clock and CPU seconds of each search (on a shared machine the CPU time says what the search costs)."""
    timings: list[float] = []
    cpu: list[float] = []
    hits: dict[str, int] = {}
    for query, filters in QUERIES:
        service.search(query, filters)  # the first run loads the dictionaries and warms the caches
        for _ in range(repeat):
            began, began_cpu = time.perf_counter(), time.process_time()
            page = service.search(query, filters)
            timings.append(time.perf_counter() - began)
            cpu.append(time.process_time() - began_cpu)
        hits[query] = len(page.hits)
    return timings, cpu, hits


def scan_search_timings(service: SearchService, cap: int, total: int) -> tuple[list[float], bool]:
    """Each query's first page by linear scan; a query that reaches ``cap`` candidates is stopped there and its time
    extrapolated to ``total`` articles (True when any was)."""
    timings: list[float] = []
    extrapolated = False
    for query, filters in QUERIES:
        node = service.parse(query)
        seen = [0]
        began = time.perf_counter()
        found = 0
        for _ in service.matches(node, filters, scanned=partial(_count, seen)):
            found += 1
            if found > service.page_size or seen[0] >= cap:
                break
        elapsed = time.perf_counter() - began
        if found <= service.page_size and seen[0] >= cap and total > cap:
            elapsed *= total / cap
            extrapolated = True
        timings.append(elapsed)
    return timings, extrapolated


def rules_test_command(settings: StorageSettings, rule: str = RULE) -> tuple[float, float, int]:
    """``monitor rules test RULE`` over the whole archive, in a process of its own: seconds, CPU seconds and
    matches."""
    env = {**os.environ, "MONITOR_STORAGE__ARCHIVE_ROOT": str(settings.archive_root)}
    if settings.url:
        env["MONITOR_STORAGE__URL"] = settings.url
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "monitor", "rules", "test", rule, "--limit", "1000000"],
                          env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"monitor rules test failed: {done.stderr.strip()}")
    summary = done.stderr.strip().splitlines()[-1]  # "N match(es) in M article(s)"
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return elapsed, cpu, int(summary.split()[0])


def scan_rule(service: SearchService, cap: int, total: int) -> tuple[float, int, bool]:
    """The rule by linear scan over at most ``cap`` articles, extrapolated to ``total``."""
    node = parse_query(RULE)
    seen = [0]
    began = time.perf_counter()
    found = 0
    for _ in _until(service.matches(node, SearchFilters(), scanned=partial(_count, seen)), lambda: seen[0] >= cap):
        found += 1
    elapsed = time.perf_counter() - began
    if seen[0] >= cap and total > cap:
        return elapsed * total / cap, found, True
    return elapsed, found, False


def _count(seen: list[int]) -> None:
    seen[0] += 1


def _until(items: Iterator[Any], stop: Callable[[], bool]) -> Iterator[Any]:
    for item in items:
        yield item
        if stop():
            return


def ingest_throughput(workdir: Path, url: str | None, count: int, *, indexing: bool, workers: int = 1,
                      processes: int = 0) -> tuple[float, float]:
    """Articles per second, wall-clock and per CPU second of this process (its parse workers' CPU not counted), as
    ``monitor ingest`` runs: ``workers`` threads, ``processes`` parse processes, the index written by an
    :class:`IndexWriter` and the time taken until it has written the last entry."""
    from concurrent.futures import ThreadPoolExecutor

    from monitor.prepare import ParsePool
    from monitor.search.writer import IndexWriter
    from tests._synth import article_url, base_html, synth_page

    html = base_html()
    first = (0 if indexing else 1_000_000) + 10_000 * workers  # other articles for each run (PostgreSQL shares one)
    pages = [(article_url(n), synth_page(n, html=html)) for n in range(first, first + count)]
    label = f"ingest-{'on' if indexing else 'off'}-{workers}-{processes}"
    settings = StorageSettings(url=url, archive_root=workdir / label)
    archive = Archive(settings.archive_root, fsync=True)
    registry = default_registry()
    patch = mock.patch("monitor.ingest._index") if not indexing else None
    with Store.open(settings) as store, contextlib.ExitStack() as stack:
        pool = stack.enter_context(ParsePool(registry, processes)) if processes else None  # started before timing
        if patch:
            stack.enter_context(patch)
        began, began_cpu = time.perf_counter(), time.process_time()
        with IndexWriter.for_store(store) as indexer, ThreadPoolExecutor(workers) as threads:
            list(threads.map(lambda page: ingest_page(store, archive, registry, page[1], page[0], datetime.now(UTC),
                                                      clock=utc_now, parse_pool=pool, indexer=indexer), pages))
        elapsed, cpu = time.perf_counter() - began, time.process_time() - began_cpu
        if indexing and (left := SearchIndex(store.engine).pending_count()):
            raise SystemExit(f"ingest benchmark: {left} of {count} articles were left out of the index")
    return count / elapsed, count / cpu


def main() -> None:
    started = time.perf_counter()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--articles", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each query")
    parser.add_argument("--scan-articles", type=int, default=2_000,
                        help="at most this many articles read by the linear scan (beyond: extrapolated)")
    parser.add_argument("--ingest-articles", type=int, default=500, help="pages ingested for the throughput")
    parser.add_argument("--database-url", default=None, help="build in this database (not cached)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="processes making the texts")
    parser.add_argument("--cache-dir", type=Path, default=default_cache_dir(),
                        help="where built archives are kept (default: %(default)s)")
    parser.add_argument("--no-cache", action="store_true", help="build in a temporary folder, removed after")
    parser.add_argument("--rebuild", action="store_true", help="build the archive and its index anew")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="monitor-search-bench-") as tmp:
        work = Path(tmp)
        cached = (None if args.no_cache or args.database_url
                  else CachedArchive.for_run(args.cache_dir, args.articles, args.seed))
        root = cached.root if cached else work / "archive"
        settings = StorageSettings(url=args.database_url, archive_root=root, fsync=False)
        archive = Archive(root, fsync=False)
        code = monitor_code_key()
        built = cached.archive_facts() if cached and not args.rebuild else None
        indexed = cached.index_facts(code) if cached and built else None
        if cached and not built:
            cached.clear()
        elif cached and not indexed:
            cached.restore_tables()  # no index yet, a half-built one, or one of other code
        languages = "ru, uk, de, en, es"
        with Store.open(settings) as store:
            if built and cached:
                print(f"archive: {args.articles:,} synthetic articles ({languages}) reused from {cached.folder} "
                      f"(built {built['at']} in {built['seconds']:.0f} s; --rebuild builds it anew)")
            else:
                seconds = build(store, root, args.articles, args.seed, jobs=args.jobs, progress=_progress)
                built = {"at": _now(), "seconds": seconds, "bytes": _database_bytes(store, root)}
                if cached:
                    cached.archive_built(built)
                print(f"archive: {args.articles:,} synthetic articles ({languages}) written directly into the tables "
                      f"and the archive layout in {seconds:.0f} s ({args.jobs} processes making the texts"
                      + (f"; kept in {cached.folder})" if cached else ")"))
            index = SearchIndex(store.engine)
            if indexed:
                note = f"; measured when the cached index was built, {indexed['at']}, by the same monitor code"
            else:
                began = time.perf_counter()
                index.rebuild(archive, progress=lambda done, total: _progress(f"indexed {done:,} of {total:,}"))
                indexed = {"at": _now(), "seconds": time.perf_counter() - began, "code": code}
                if cached:
                    cached.index_built(indexed)
                note = ""
            _end_progress()
            status = index.status()
            elapsed = indexed["seconds"]
            grown = _database_bytes(store, root) - built["bytes"]
            size = status.size_bytes if status.size_bytes else grown
            print(f"index build (monitor index rebuild): {args.articles / elapsed:,.0f} articles/s "
                  f"({elapsed:.0f} s, backend {status.backend}{note})")
            print(f"index size: {size / max(status.indexed, 1):,.0f} bytes per article "
                  f"({size / 1e6:,.0f} MB for {status.indexed:,} articles)")
            service = SearchService(store, archive, IndexCandidates(store))
            timings, cpu, hits = search_timings(service, args.repeat)
            print(f"search p50: {statistics.median(timings) * 1000:.0f} ms")
            print(f"search p95: {_percentile(timings, 0.95) * 1000:.0f} ms  (goal 200 ms; {len(QUERIES)} queries "
                  f"x {args.repeat} runs, first page of {service.page_size})")
            print(f"search CPU time p50: {statistics.median(cpu) * 1000:.0f} ms, p95: "
                  f"{_percentile(cpu, 0.95) * 1000:.0f} ms (what the wall-clock times come to on an idle machine; "
                  f"load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
            print("  first-page hits: " + ", ".join(f"{q!r}: {n}" for q, n in hits.items()))
            rule_seconds, rule_cpu, matches = rules_test_command(settings)
            idle, idle_cpu, _ = rules_test_command(settings, "=qqqzzzq")
            print(f"monitor rules test {RULE!r}: {rule_seconds:.2f} s for {matches} matches over "
                  f"{args.articles:,} articles (goal 2 s; CPU time {rule_cpu:.2f} s; a command in its own process: "
                  f"start-up is {idle:.2f} s, CPU {idle_cpu:.2f} s, as the same command finding nothing takes)")
            scan = SearchService(store, archive, StoreScan(store))
            cap = args.scan_articles
            scan_timings, extrapolated = scan_search_timings(scan, cap, args.articles)
            note = f" (queries that read {cap:,} articles extrapolated to {args.articles:,})" if extrapolated else ""
            print(f"linear scan search p50: {statistics.median(scan_timings) * 1000:,.0f} ms, "
                  f"p95: {_percentile(scan_timings, 0.95) * 1000:,.0f} ms{note}")
            scan_seconds, scan_found, scan_extrapolated = scan_rule(scan, cap, args.articles)
            note = (f" (read {cap:,} articles, {scan_found} matches there; extrapolated to {args.articles:,})"
                    if scan_extrapolated else f" ({scan_found} matches)")
            print(f"linear scan rules test: {scan_seconds:,.1f} s{note}")
        on = ingest_throughput(work, args.database_url, args.ingest_articles, indexing=True)
        off = ingest_throughput(work, args.database_url, args.ingest_articles, indexing=False)
        bulk = ingest_throughput(work, args.database_url, args.ingest_articles, indexing=True, workers=4, processes=2)
        print(f"ingest with indexing on: {on[0]:,.0f} articles/s in one thread ({on[1]:,.0f} per CPU second; fsync "
              f"on, {args.ingest_articles} pages), {bulk[0]:,.0f} articles/s as `monitor ingest --processes 2` "
              f"runs it (4 threads + 2 parse processes; goal 100)")
        print(f"ingest with indexing off: {off[0]:,.0f} articles/s in one thread ({off[1]:,.0f} per CPU second; for "
              f"comparison)")
    print(f"total: {time.perf_counter() - started:,.0f} s (load average now {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()


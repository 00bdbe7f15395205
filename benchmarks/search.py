"""Search on the index against a linear scan: ``python -m benchmarks.search [--articles N]`` (default 1 million).

1. An archive of ``--articles`` synthetic articles is built: Russian, Ukrainian, German, English and Spanish texts of
   realistic lengths (a headline of 5-12 words, a body of about 500 words, 80 to 2,500; Zipf-distributed words: the
   function words and news vocabulary of each language, names in each script, and a long tail of made-up words),
   published over one year on five sites. For speed the rows are written **directly into the tables** (sources,
   articles, revisions, as the store would leave them) and the texts **into the archive layout** (``<site>/<YYYY>/
   <MM>/<DD>/<name>.txt``), not through the pipeline; 300 of the articles name Navalny (in his four spellings) near
   a word for prison: the rule with a few hundred matches.
2. The index is built over it as ``monitor index rebuild`` does (printed: articles/s, and its size per article).
3. Typical queries (single words in four languages, a name across scripts, a prefix, a phrase, NEAR, a field,
   AND/OR/NOT, filters) are searched (first page, as the web page does) several times each: ``search p50`` and
   ``search p95`` (goal p95 <= 200 ms). Then ``monitor rules test`` with the rule over the whole archive, as a
   command in a process of its own (goal <= 2 s).
4. The same with a linear scan of the texts (every article the filters select, read and evaluated): measured over
   at most ``--scan-articles`` (20,000) articles and, for a larger archive, extrapolated (said so in the line).
5. Ingest throughput with indexing on (the pipeline as shipped, one thread, fsync on, the synthetic pages of
   ``benchmarks.ingest``) and with the indexing call taken out, for comparison (goal still >= 100 articles/s).

``--database-url`` builds it in PostgreSQL instead (its tables are created there and left).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from itertools import accumulate
from pathlib import Path
from typing import Any
from unittest import mock

import numpy
from sqlalchemy import Table

from monitor.archive import Archive, folder_for, text_name
from monitor.ingest import ingest_page
from monitor.rules import parse_query
from monitor.search import SearchFilters, SearchService, StoreScan
from monitor.search.index import IndexCandidates, SearchIndex
from monitor.services import utc_now
from monitor.settings import StorageSettings
from monitor.sites import default_registry
from monitor.store import Store
from monitor.store.tables import ArticleRow, Revision, Source
from monitor.urls import file_hash

RULE = "~Navalny NEAR/8 (prison OR тюрьма OR тюрма OR Gefängnis OR prisión)"
PLANTED = 300
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

# --- synthetic text ------------------------------------------------------------------------------------------------

_FUNCTION = {
    "ru": "и в не на что с по о как это из за к от для но же у бы так уже все он она они мы его их был была было "
          "также который которые может после при только более",
    "uk": "і в на що з не до про як це із за від для але ж у б так вже всі він вона вони ми його їх був була було "
          "також який які може після при тільки більш",
    "de": "der die und in den von zu das mit sich des auf für ist im dem nicht ein eine als auch es an werden aus er "
          "hat dass sie nach wird bei einer um am sind noch wie einem über",
    "en": "the of and to in a is that for on with as was at by it from be this have are has an not which but they "
          "his its their were been after more also would about",
    "es": "de la que el en y a los se del las un por con no una su para es al lo como más pero sus le ya o este "
          "sí porque esta entre cuando muy sin sobre",
}
_NEWS = {
    "ru": "Украина Украины Украине Украину Украиной санкции санкций санкциях санкциям Москва Москвы Москве министр "
          "министра заявил заявила президент президента выборы выборов война войны войне Лавров Лаврова Лавровым "
          "Зеленский Зеленского Байден Байдена Киев Киеве США ЕС Россия России правительство глава иностранных дел",
    "uk": "Україна України Україні Україну Україною санкції санкцій санкціях Москва Москви міністр міністра заявив "
          "заявила президент президента вибори виборів війна війни війні Лавров Лаврова Зеленський Зеленського "
          "Байден Байдена Київ Києві США ЄС Росія Росії уряд голова закордонних справ",
    "de": "Ukraine ukrainischen Sanktionen Sanktion Moskau Minister Ministerin sagte Präsident Präsidenten Wahlen "
          "Wahl Krieg Krieges Lawrow Selenskyj Biden Kiew USA EU Russland Russlands Regierung Bundeskanzler Scholz "
          "Außenminister",
    "en": "Ukraine Ukrainian sanctions sanctioned sanction Moscow minister said president elections election war "
          "Lavrov Zelensky Biden Kyiv US EU Russia Russian foreign government officials talks",
    "es": "Ucrania sanciones Moscú ministro dijo presidente elecciones guerra Lavrov Zelenski Biden Kiev EEUU UE "
          "Rusia gobierno exteriores",
}
_PHRASES = {"en": "foreign minister", "ru": "министр иностранных дел", "uk": "міністр закордонних справ",
            "de": "der Außenminister", "es": "ministro de exteriores"}
_PLANTED = {
    "ru": "Алексей Навальный находится в тюрьме строгого режима.",
    "uk": "Олексій Навальний перебуває у тюрмі суворого режиму.",
    "de": "Alexej Nawalny sitzt im Gefängnis in Sibirien.",
    "en": "Alexei Navalny remains in prison in the Arctic.",
    "es": "Alexéi Navalni sigue en prisión en el Ártico.",
}
_LETTERS = {"ru": ("бвгдзклмнпрстфхцчшщ", "аеиоуыяю"), "uk": ("бвгдзклмнпрстфхцчшщ", "аеиоуіяюєї"),
            "de": ("bdfghklmnprstwz", "aeiouäöü"), "en": ("bcdfghklmnprstvw", "aeiouy"),
            "es": ("bcdfglmnprstv", "aeiou")}
#: (language, share of articles, sites publishing in it)
_LANGUAGES = [("ru", 0.35, ("svoboda.org", "dw.com")), ("uk", 0.15, ("radiosvoboda.org", "dw.com")),
              ("de", 0.2, ("dw.com",)), ("en", 0.25, ("rferl.org", "dw.com")), ("es", 0.05, ("dw.com",))]


class Language:
    """One language's vocabulary with Zipf weights: function words, news words, a long tail of made-up words."""

    def __init__(self, code: str, rng: random.Random, tail: int = 20_000) -> None:
        consonants, vowels = _LETTERS[code]
        made: set[str] = set()
        while len(made) < tail:
            made.add("".join(rng.choice(consonants) + rng.choice(vowels) for _ in range(rng.randint(2, 5))))
        function, news = _FUNCTION[code].split(), _NEWS[code].split()
        self.words = function + news + sorted(made)
        weights = numpy.array([8.0 / (r + 1) for r in range(len(function))]
                              + [0.4 / (r + 1) ** 0.5 for r in range(len(news))]
                              + [3.0 / (r + 10) for r in range(tail)])
        self._cdf = numpy.cumsum(weights / weights.sum())
        self._array = numpy.array(self.words, dtype=object)
        self._numpy = numpy.random.default_rng(rng.randrange(2**32))
        self.code = code

    def text(self, rng: random.Random, count: int) -> str:
        # numpy draws the words (a Python loop of random.choices would take most of a million articles' build).
        picks = numpy.minimum(numpy.searchsorted(self._cdf, self._numpy.random(count)), len(self.words) - 1)
        words: list[str] = self._array[picks].tolist()
        sentences = []
        i = 0
        while i < len(words):
            n = rng.randint(8, 20)
            first = words[i]
            sentences.append(first[:1].upper() + first[1:] + " " + " ".join(words[i + 1:i + n])
                             + (" " + _PHRASES[self.code] if rng.random() < 0.05 else "") + ".")
            i += n
        return " ".join(sentences).replace(" .", ".")


def _body_length(rng: random.Random) -> int:
    return max(80, min(2500, int(rng.lognormvariate(6.1, 0.45))))


# --- the archive ---------------------------------------------------------------------------------------------------


def build(store: Store, root: Path, count: int, seed: int = 1) -> float:
    """``count`` articles into the tables and the archive layout; returns the seconds it took."""
    started = time.perf_counter()
    rng = random.Random(seed)
    languages = {code: Language(code, rng) for code, _, _ in _LANGUAGES}
    shares = list(accumulate(share for _, share, _ in _LANGUAGES))
    planted = set(rng.sample(range(count), min(PLANTED, count)))
    sources_t: Table = Source.__table__  # type: ignore[attr-defined]
    articles_t: Table = ArticleRow.__table__  # type: ignore[attr-defined]
    revisions_t: Table = Revision.__table__  # type: ignore[attr-defined]
    now = datetime.now(UTC)
    sites = sorted({site for _, _, names in _LANGUAGES for site in names})
    with store.engine.begin() as connection:
        source_ids = {site: connection.execute(sources_t.insert().values(
            site=site, family="dw" if site == "dw.com" else "pangea", created_at=now).returning(sources_t.c.id)
        ).scalar_one() for site in sites}
    year_start = now - timedelta(days=365)
    batch = 5000
    made_folders: set[str] = set()
    for first in range(0, count, batch):
        articles: list[dict[str, Any]] = []
        revisions: list[dict[str, Any]] = []
        for n in range(first, min(first + batch, count)):
            pick = rng.random()
            code, _, names = next(entry for entry, edge in zip(_LANGUAGES, shares, strict=True) if pick <= edge)
            language = languages[code]
            site = rng.choice(names)
            published = year_start + timedelta(seconds=rng.randrange(365 * 86400))
            headline = language.text(rng, rng.randint(5, 12)).rstrip(".")
            body = language.text(rng, _body_length(rng))
            if n in planted:
                cut = rng.randrange(len(body) // 2)
                cut = body.find(". ", cut) + 2 if body.find(". ", cut) >= 0 else len(body)
                body = body[:cut] + _PLANTED[code] + " " + body[cut:]
            url = f"https://www.{site}/{code}/a/{n}.html"
            url_hash = file_hash(url)
            folder = folder_for(site, published)
            path = f"{folder}/{text_name(0, url_hash)}"
            if folder not in made_folders:
                (root / folder).mkdir(parents=True, exist_ok=True)
                made_folders.add(folder)
            data = body.encode("utf-8")
            (root / path).write_bytes(data)
            pk = n + 1
            articles.append({
                "id": pk, "key": f"{site}:{n}", "source_id": source_ids[site], "site": site, "article_id": str(n),
                "family": "dw" if site == "dw.com" else "pangea", "template": "bench", "canonical_url": url,
                "url_hash": url_hash, "language": code, "headline": headline, "published": published,
                "authors": "[]", "section": rng.choice(("politics", "world", "economy", None)), "folder": folder,
                "first_seen": published, "last_seen": published, "revision_count": 1})
            revisions.append({
                "article_pk": pk, "number": 0, "content_hash": hashlib.sha256(data).hexdigest(), "size": len(data),
                "text_path": path, "template": "bench", "origin": "ingest", "fetched_at": published,
                "stored_at": published, "alerts_done_at": published})
        with store.engine.begin() as connection:
            connection.execute(articles_t.insert(), articles)
            connection.execute(revisions_t.insert(), revisions)
        _progress(f"built {min(first + batch, count):,} of {count:,} articles")
    if store.engine.dialect.name == "postgresql":  # ids were given: the sequence must follow
        with store.engine.begin() as connection:
            connection.exec_driver_sql("SELECT setval(pg_get_serial_sequence('articles', 'id'), "
                                       "(SELECT max(id) FROM articles))")
    return time.perf_counter() - started


def _progress(line: str) -> None:
    if sys.stderr.isatty():
        print(f"\r{line}", end="", file=sys.stderr, flush=True)


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


def ingest_throughput(workdir: Path, url: str | None, count: int, *, indexing: bool) -> tuple[float, float]:
    """Articles per second, wall-clock and per CPU second of this process."""
    from tests._synth import article_url, base_html, synth_page

    html = base_html()
    first = 0 if indexing else 1_000_000  # other articles for the second run (on PostgreSQL both share a database)
    pages = [(article_url(n), synth_page(n, html=html)) for n in range(first, first + count)]
    settings = StorageSettings(url=url, archive_root=workdir / f"ingest-{'on' if indexing else 'off'}")
    archive = Archive(settings.archive_root, fsync=True)
    registry = default_registry()
    patch = mock.patch("monitor.ingest.index_recorded") if not indexing else None
    with Store.open(settings) as store:
        if patch:
            patch.start()
        try:
            began, began_cpu = time.perf_counter(), time.process_time()
            for page_url, html in pages:
                ingest_page(store, archive, registry, html, page_url, datetime.now(UTC), clock=utc_now)
            elapsed, cpu = time.perf_counter() - began, time.process_time() - began_cpu
        finally:
            if patch:
                patch.stop()
    return count / elapsed, count / cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--articles", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each query")
    parser.add_argument("--scan-articles", type=int, default=20_000,
                        help="at most this many articles read by the linear scan (beyond: extrapolated)")
    parser.add_argument("--ingest-articles", type=int, default=500, help="pages ingested for the throughput")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--workdir", type=Path, default=None, help="build here (kept) instead of a temporary folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="monitor-search-bench-") as tmp:
        work = args.workdir or Path(tmp)
        settings = StorageSettings(url=args.database_url, archive_root=work / "archive", fsync=False)
        archive = Archive(settings.archive_root, fsync=False)
        with Store.open(settings) as store:
            seconds = build(store, settings.archive_root, args.articles)
            print(f"archive: {args.articles:,} synthetic articles (ru, uk, de, en, es) written directly into the "
                  f"tables and the archive layout in {seconds:.0f} s")
            before = _database_bytes(store, settings.archive_root)
            index = SearchIndex(store.engine)
            began = time.perf_counter()
            index.rebuild(archive, progress=lambda done, total: _progress(f"indexed {done:,} of {total:,}"))
            elapsed = time.perf_counter() - began
            if sys.stderr.isatty():
                print(file=sys.stderr)
            status = index.status()
            grown = _database_bytes(store, settings.archive_root) - before
            size = status.size_bytes if status.size_bytes else grown
            print(f"index build (monitor index rebuild): {args.articles / elapsed:,.0f} articles/s "
                  f"({elapsed:.0f} s, backend {status.backend})")
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
        print(f"ingest with indexing on: {on[0]:,.0f} articles/s (goal 100; {on[1]:,.0f} per CPU second; one "
              f"thread, fsync on, {args.ingest_articles} pages)")
        print(f"ingest with indexing off: {off[0]:,.0f} articles/s ({off[1]:,.0f} per CPU second; for comparison)")


if __name__ == "__main__":
    main()


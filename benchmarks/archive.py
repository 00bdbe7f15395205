"""Whole-archive commands on a synthetic archive: ``python -m benchmarks.archive [--articles N]``.

A synthetic archive of ``--articles`` (100,000) articles is made (rows written in bulk, one text and one raw HTML
file per revision, every tenth article with a second revision, every fiftieth undated, two URLs each, spread over
two sites and about a year of day folders), first a quarter of it, then all of it. At each size ``monitor export``
(to /dev/null) and ``monitor archive verify`` run as the operator runs them, each in a process of its own: printed
are the wall time and CPU time (the command's start-up included; a start-up floor, ``monitor db upgrade``, is printed
first, with the load average: on a busy machine the wall time says more about the neighbours than about the
command) and the process's peak resident memory (VmHWM, read by the command's process itself). Memory flat in the
archive's size means the two sizes print about the same peak. Goal: under 10 s each for 100 thousand articles.

On SQLite, and on PostgreSQL when ``MONITOR_TEST_DATABASE_URL`` is set or a local server answers at
``postgresql+psycopg://postgres@127.0.0.1:5432/test`` (a schema of its own, dropped afterwards).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import Table, create_engine, insert, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from monitor.archive import folder_for, raw_name_for, text_name
from monitor.settings import StorageSettings
from monitor.store import Store
from monitor.store.tables import ArticleRow, ArticleUrl, Revision, Source
from tests._store_support import own_schema

ROOT = Path(__file__).resolve().parent.parent
LOCAL_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SITES = ("rferl.org", "dw.com")
START = datetime(2025, 12, 1, tzinfo=UTC)
STEP = timedelta(minutes=5)  # 100 thousand articles: about a year of day folders per site
CHUNK = 5000

_ARTICLES: Table = ArticleRow.__table__  # type: ignore[attr-defined]
_REVISIONS: Table = Revision.__table__  # type: ignore[attr-defined]
_URLS: Table = ArticleUrl.__table__  # type: ignore[attr-defined]
_SOURCES: Table = Source.__table__  # type: ignore[attr-defined]


def _text(n: int, revision: int) -> str:
    return (f"Synthetic article {n}\n\nRevision {revision} of a text that is long enough to look like an archive "
            f"text: {'word ' * 40}\nEnd of article {n}.\n")


def synthesize(engine: Engine, root: Path, start: int, stop: int) -> None:
    """Articles ``start`` (0-based, inclusive) to ``stop`` (exclusive), rows and files; pks are ``n + 1``."""
    with engine.begin() as connection:
        if start == 0:
            connection.execute(insert(_SOURCES), [{"id": i + 1, "site": site, "family": "pangea", "created_at": START}
                                                  for i, site in enumerate(SITES)])
    for low in range(start, stop, CHUNK):
        articles: list[dict[str, Any]] = []
        revisions: list[dict[str, Any]] = []
        urls: list[dict[str, Any]] = []
        for n in range(low, min(stop, low + CHUNK)):
            site = SITES[n % len(SITES)]
            seen = START + STEP * n
            published = None if n % 50 == 49 else seen - timedelta(hours=1)
            url = f"https://www.{site}/a/synthetic-{n}.html"
            url_hash = hashlib.sha256(url.encode()).hexdigest()[:16]
            folder = folder_for(site, published or seen)
            count = 2 if n % 10 == 0 else 1
            articles.append({
                "id": n + 1, "key": f"{site}:{n}", "source_id": n % len(SITES) + 1, "site": site,
                "article_id": str(n), "family": "pangea", "template": "synthetic", "canonical_url": url,
                "url_hash": url_hash, "language": "en", "headline": f"Synthetic article {n}", "published": published,
                "modified": None, "authors": "[]", "section": None, "folder": folder, "first_seen": seen,
                "last_seen": seen, "revision_count": count, "story_id": None, "signature": None})
            urls += [{"url": url, "article_pk": n + 1, "first_seen": seen},
                     {"url": url + "?utm_source=feed", "article_pk": n + 1, "first_seen": seen}]
            (root / folder).mkdir(parents=True, exist_ok=True)
            for number in range(count):
                body = _text(n, number).encode("utf-8")
                text_path = f"{folder}/{text_name(number, url_hash)}"
                raw_path = raw_name_for(text_path)
                (root / text_path).write_bytes(body)
                (root / raw_path).write_bytes(gzip.compress(b"<html>" + body + b"</html>", compresslevel=1, mtime=0))
                revisions.append({
                    "article_pk": n + 1, "number": number, "content_hash": hashlib.sha256(body).hexdigest(),
                    "size": len(body), "text_path": text_path, "raw_path": raw_path, "template": "synthetic",
                    "origin": "fetch", "fetched_at": seen, "stored_at": seen, "alerts_done_at": seen})
        with engine.begin() as connection:
            connection.execute(insert(_ARTICLES), articles)
            connection.execute(insert(_REVISIONS), revisions)
            connection.execute(insert(_URLS), urls)


class Measured(NamedTuple):
    seconds: float  # wall time
    cpu: float  # the child's CPU time (user + system): what a busy machine inflates less than the wall time
    peak_mb: float  # the child's peak resident memory (VmHWM)
    stdout: str


def _measure(command: list[str], env: dict[str, str], cwd: Path) -> Measured:
    """Run a monitor command in a child process and measure it."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile(suffix=".peak") as peak:
        child = subprocess.Popen([sys.executable, "-m", "benchmarks._peak", *command],
                                 env={**env, "PEAK_FILE": peak.name}, cwd=cwd, stdout=out, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
        peak_kb = Path(peak.name).read_text(encoding="ascii").strip()
    if child.returncode != 0:
        raise SystemExit(f"monitor {' '.join(command)} exited {child.returncode}: {stderr.strip()[-2000:]}")
    if not peak_kb:
        raise SystemExit(f"monitor {' '.join(command)}: no peak memory reported")
    return Measured(seconds, usage.ru_utime + usage.ru_stime, int(peak_kb) / 1024, stdout)


def _figures(name: str, measured: Measured) -> dict[str, float]:
    return {f"{name}_s": round(measured.seconds, 2), f"{name}_cpu_s": round(measured.cpu, 2),
            f"{name}_peak_mb": round(measured.peak_mb, 1)}


def _show(measured: Measured) -> str:
    return f"{measured.seconds:6.2f} s (cpu {measured.cpu:6.2f} s), peak {measured.peak_mb:6.1f} MB"


def _postgres_url() -> str | None:
    url = os.environ.get("MONITOR_TEST_DATABASE_URL")
    if url:
        return url
    try:
        engine = create_engine(LOCAL_POSTGRES, connect_args={"connect_timeout": 2})
        with engine.connect():
            pass
        engine.dispose()
    except (SQLAlchemyError, ImportError):
        return None
    return LOCAL_POSTGRES


def bench(name: str, url: str | None, workdir: Path, sizes: list[int]) -> list[dict[str, Any]]:
    root = workdir / name
    settings = StorageSettings(url=url, archive_root=root, fsync=False)
    store = Store.open(settings)
    database = url or f"sqlite:///{root / 'monitor.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    env.update({"MONITOR_STORAGE__ARCHIVE_ROOT": str(root), "MONITOR_STORAGE__URL": database,
                "PYTHONPATH": str(ROOT)})
    figures = []
    made = 0
    try:
        startup = _measure(["db", "upgrade"], env, workdir)
        print(f"{name:10} start-up floor (monitor db upgrade on the same database): {startup.seconds:.2f} s "
              f"(cpu {startup.cpu:.2f} s), peak {startup.peak_mb:.1f} MB; load average {os.getloadavg()[0]:.1f} "
              f"on {os.cpu_count()} cores", flush=True)
        for size in sizes:
            began = time.perf_counter()
            synthesize(store.engine, root, made, size)
            if store.engine.dialect.name == "postgresql":
                # Planner statistics, as autovacuum keeps them for a database that grew over months, not minutes.
                with store.engine.begin() as connection:
                    connection.execute(text("ANALYZE"))
            made = size
            built = time.perf_counter() - began
            export = _measure(["export", "-o", os.devnull], env, workdir)
            check = _measure(["archive", "verify"], env, workdir)
            since = (START + STEP * (size * 9 // 10)).date().isoformat()  # about the last tenth
            recent = _measure(["export", "--since", since], env, workdir)
            lines = recent.stdout.count("\n")
            figures.append({"database": name, "articles": size, "build_s": round(built, 1),
                            "startup_s": round(startup.seconds, 2), "startup_cpu_s": round(startup.cpu, 2),
                            **_figures("export", export), **_figures("verify", check),
                            **_figures("export_since", recent), "export_since_articles": lines,
                            "load_average": round(os.getloadavg()[0], 1)})
            print(f"{name:10} {size:>8} articles: export {_show(export)}; verify {_show(check)}; "
                  f"export --since {since} ({lines} articles) {_show(recent)} (built in {built:.1f} s)", flush=True)
    finally:
        store.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--sqlite-only", action="store_true", help="Skip PostgreSQL even where it answers.")
    parser.add_argument("--postgresql-only", action="store_true", help="Skip SQLite.")
    parser.add_argument("--json", type=Path, help="Also write the figures here as JSON.")
    args = parser.parse_args()
    sizes = sorted({max(1, args.articles // 4), args.articles})
    figures: list[dict[str, Any]] = []
    print(f"monitor export / archive verify on a synthetic archive; goal: under 10 s each for 100000 articles, "
          f"peak memory flat in the size (sizes {', '.join(map(str, sizes))})", flush=True)
    with tempfile.TemporaryDirectory(prefix="monitor-bench-archive-") as tmp:
        workdir = Path(tmp)
        if not args.postgresql_only:
            figures += bench("sqlite", None, workdir, sizes)
        pg = None if args.sqlite_only else _postgres_url()
        if pg is None:
            print("postgresql: skipped (no MONITOR_TEST_DATABASE_URL and no server at 127.0.0.1:5432)")
        else:
            with own_schema(pg, "monitor_bench") as url:
                figures += bench("postgresql", url, workdir, sizes)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()

"""Whole-archive commands on a synthetic archive: ``export`` issues a number of queries that does not grow with the
number of articles (batched), ``export --since`` reads the date indexes (SQLite's query plan says so) and exports
exactly the articles published (undated: first seen) since then, in the same records as before; ``archive verify``
finds what it found before while checking the files folder by folder; the benchmark runs and prints its figures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from benchmarks.archive import START, STEP, synthesize
from monitor.archive import Archive
from monitor.archive_check import verify
from monitor.cli import app
from monitor.settings import StorageSettings
from monitor.store import Store
from tests._store_support import pg_url_fixture  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def _statements() -> Iterator[list[tuple[str, Any]]]:
    """Every statement any engine executes meanwhile, with its parameters."""
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        seen.append((statement, parameters))

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", record)


def _archive(root: Path, articles: int) -> dict[str, str]:
    store = Store.open(StorageSettings(archive_root=root, fsync=False))
    try:
        synthesize(store.engine, root, 0, articles)
    finally:
        store.close()
    env = {k: "" for k in os.environ if k.startswith("MONITOR_")}
    env.update({"MONITOR_STORAGE__ARCHIVE_ROOT": str(root), "MONITOR_STORAGE__URL": f"sqlite:///{root / 'monitor.db'}"})
    return env


def _export(env: dict[str, str], *args: str) -> tuple[list[dict[str, Any]], list[tuple[str, Any]]]:
    with _statements() as statements:
        result = CliRunner().invoke(app, ["export", *args], env=env)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()], statements


def _article_queries(statements: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    return [(sql, params) for sql, params in statements if sql.lstrip().upper().startswith("SELECT")
            and "FROM articles" in sql and "alembic" not in sql]


def test_export_queries_do_not_grow_with_the_number_of_articles(tmp_path: Path) -> None:
    small, large = _archive(tmp_path / "small", 6), _archive(tmp_path / "large", 120)
    small_records, small_statements = _export(small)
    large_records, large_statements = _export(large)
    assert len(small_records) == 6 and len(large_records) == 120
    assert len(large_statements) == len(small_statements), [s for s, _ in large_statements]

    # The batched records are what the per-article lookups say.
    store = Store.open(StorageSettings(archive_root=tmp_path / "large"))
    try:
        archive = Archive(tmp_path / "large")
        for record in large_records[:25]:
            stored = store.article(record["key"])
            assert stored is not None
            revisions = store.revisions(stored.key)
            assert record["urls"] == store.urls_of(stored.pk) and len(record["urls"]) == 2
            assert [r["number"] for r in record["revisions"]] == [r.number for r in revisions]
            assert [r["sha256"] for r in record["revisions"]] == [r.content_hash for r in revisions]
            assert record["text"] == archive.read_text(revisions[-1].text_path)
    finally:
        store.close()
    assert [len(r["revisions"]) for r in large_records[:11]] == [2] + [1] * 9 + [2]


def test_export_since_uses_the_date_indexes_and_exports_exactly_the_recent_articles(tmp_path: Path) -> None:
    env = _archive(tmp_path / "archive", 400)
    everything, _ = _export(env)
    since = START + STEP * 300
    records, statements = _export(env, "--since", since.isoformat())

    def recent(record: dict[str, Any]) -> bool:
        when = record["published"] or record["first_seen"]
        return datetime.fromisoformat(when) >= since

    expected = {r["key"] for r in everything if recent(r)}
    assert any(r["published"] is None for r in everything if recent(r))  # undated ones are in the slice
    assert 50 < len(expected) < 150
    assert {r["key"] for r in records} == expected and len(records) == len(expected)
    by_key = {r["key"]: r for r in everything}
    assert all(record == by_key[record["key"]] for record in records)  # the same records, only fewer

    queries = _article_queries(statements)
    assert queries
    from sqlalchemy import create_engine

    engine = create_engine(f"sqlite:///{tmp_path / 'archive' / 'monitor.db'}")
    try:
        with engine.connect() as connection:
            plans = []
            for sql, params in queries:
                rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params).all()
                plans.append(" | ".join(str(row[-1]) for row in rows))
    finally:
        engine.dispose()
    for plan in plans:  # every page starts in a date index: no walk over the table or its primary key
        assert "SCAN articles" not in plan and "SEARCH articles USING INTEGER PRIMARY KEY" not in plan, plan
        assert "INDEX ix_articles_published" in plan or "INDEX ix_articles_first_seen" in plan, plan


def test_verify_checks_files_folder_by_folder(tmp_path: Path) -> None:
    root = tmp_path / "archive"
    _archive(root, 60)
    store = Store.open(StorageSettings(archive_root=root))
    archive = Archive(root)
    try:
        assert verify(store, archive).clean
        first = next(store.iter_revisions())
        folder = Path(first.text_path).parent
        stray_text = f"{folder}/000_{'f' * 16}.txt"  # no row names it
        (root / stray_text).write_text("stray", encoding="utf-8")
        stray_raw = f"{folder}/000_{'e' * 16}.html.gz"  # a raw file whose text has no row
        (root / stray_raw).write_bytes(b"stray")
        with store.engine.begin() as connection:  # a row that keeps no raw HTML: its raw file is a leftover
            connection.execute(text("UPDATE revisions SET raw_path = NULL WHERE text_path = :p"),
                               {"p": first.text_path})
        with _statements() as statements:
            report = verify(store, archive)
        assert sorted(report.orphans) == sorted([stray_text, stray_raw, first.raw_path])
        assert report.missing == [] and report.mismatched == [] and report.raw_missing == []
        # One lookup per folder (and one read per batch of revisions), never one per file.
        lookups = [s for s, _ in statements if "revisions.text_path IN" in s]
        folders = {str(Path(p).parent) for p in archive.files()}
        assert len(lookups) == len(folders)
    finally:
        store.close()


@pytest.mark.slow
def test_archive_benchmark_runs_and_prints_every_figure(tmp_path: Path) -> None:
    figures = tmp_path / "figures.json"
    done = subprocess.run([sys.executable, "-m", "benchmarks.archive", "--articles", "40", "--sqlite-only",
                           "--json", str(figures)], cwd=ROOT, capture_output=True, text=True, timeout=600,
                          check=False, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    rows = json.loads(figures.read_text(encoding="utf-8"))
    assert [(r["database"], r["articles"]) for r in rows] == [("sqlite", 10), ("sqlite", 40)]
    assert all(r["export_s"] > 0 and r["verify_s"] > 0 and r["export_peak_mb"] > 0 for r in rows)
    assert sum("articles: export" in line for line in done.stdout.splitlines()) == 2


@pytest.mark.postgres
def test_batched_records_and_verify_on_postgres(tmp_path: Path, pg_url: str) -> None:
    """The PostgreSQL forms of the batched reads (array parameters) give what the per-article lookups give."""
    root = tmp_path / "archive"
    store = Store.open(StorageSettings(url=pg_url, archive_root=root, fsync=False))
    try:
        synthesize(store.engine, root, 0, 30)
        records = list(store.iter_article_records(batch=7))
        assert len(records) == 30
        for article, urls, revisions in records:
            assert urls == store.urls_of(article.pk)
            assert revisions == store.revisions(article.key)
        recent = [a.key for a, _, _ in store.iter_article_records(since=START + STEP * 20, batch=4)]
        assert sorted(recent) == sorted(a.key for a, _, _ in records
                                        if (a.published or a.first_seen) >= START + STEP * 20)
        archive = Archive(root)
        assert verify(store, archive).clean
        (root / next(store.iter_revisions()).text_path).unlink()
        assert len(verify(store, archive).missing) == 1
    finally:
        store.close()

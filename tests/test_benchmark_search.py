"""The search benchmark still runs and prints every figure it promises (a tiny run: the figures are not checked, only
that they are there and that the index and the linear scan agreed on the rule's matches); a second run reuses the
archive and its index from the cache; the synthetic archive is the same whatever the number of processes making it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from benchmarks import search_archive, search_cache
from monitor.settings import StorageSettings
from monitor.store import Store

ROOT = Path(__file__).resolve().parent.parent
RULE_LINE = r"monitor rules test .*: [\d.]+ s for (\d+) matches"
SCAN_LINE = r"linear scan rules test: [\d.,]+ s \((\d+) matches\)"


def _run(cache: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.search", "--articles", "400", "--repeat", "1", "--scan-articles", "400",
         "--ingest-articles", "4", "--cache-dir", str(cache)],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.slow
def test_search_benchmark_prints_every_figure_and_reuses_its_archive(tmp_path: Path) -> None:
    out = _run(tmp_path)
    for pattern in (r"archive: 400 synthetic articles .* written directly",
                    r"index build \(monitor index rebuild\): [\d,]+ articles/s",
                    r"index size: [\d,]+ bytes per article", r"search p50: \d+ ms", r"search p95: \d+ ms",
                    RULE_LINE, r"linear scan search p50: [\d,]+ ms", SCAN_LINE,
                    r"ingest with indexing on: [\d,]+ articles/s", r"ingest with indexing off: [\d,]+ articles/s",
                    r"total: [\d,]+ s"):
        assert re.search(pattern, out), (pattern, out)
    by_index, by_scan = re.search(RULE_LINE, out), re.search(SCAN_LINE, out)
    assert by_index and by_scan and by_index.group(1) == by_scan.group(1) != "0"

    again = _run(tmp_path)
    assert re.search(r"archive: 400 synthetic articles .* reused from ", again), again
    assert "measured when the cached index was built" in again, again
    reused = re.search(RULE_LINE, again)
    assert reused and reused.group(1) == by_index.group(1)


def _texts(root: Path, jobs: int) -> list[tuple[int, str, str]]:
    with Store.open(StorageSettings(archive_root=root, fsync=False)) as store:
        search_archive.build(store, root, 25, seed=7, jobs=jobs)
        with store.engine.connect() as connection:
            rows = connection.execute(text("SELECT a.id, a.headline, r.text_path FROM articles a "
                                           "JOIN revisions r ON r.article_pk = a.id ORDER BY a.id")).all()
    return [(pk, headline, (root / path).read_text(encoding="utf-8")) for pk, headline, path in rows]


def test_the_synthetic_archive_is_the_same_whatever_the_number_of_processes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search_archive, "CHUNK", 10)  # three chunks
    alone, shared = _texts(tmp_path / "one", 1), _texts(tmp_path / "two", 2)
    assert len(alone) == 25 and alone == shared
    assert len({body for _, _, body in alone}) == 25


def test_a_new_build_of_the_cache_removes_the_same_size_and_seed_made_by_other_code(tmp_path: Path) -> None:
    older, other_size = tmp_path / "25-seed7-0123456789ab", tmp_path / "250-seed7-0123456789ab"
    for folder in (older, other_size):
        (folder / "archive").mkdir(parents=True)
    cached = search_cache.CachedArchive.for_run(tmp_path, 25, 7)
    cached.clear()
    assert not older.exists() and other_size.exists() and cached.root.is_dir()

"""The search benchmark still runs and prints every figure it promises (a tiny run: the figures are not checked, only
that they are there and that the index and the linear scan agreed on the rule's matches)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_search_benchmark_prints_every_figure() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.search", "--articles", "400", "--repeat", "1", "--scan-articles", "400",
         "--ingest-articles", "4"],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for pattern in (r"archive: 400 synthetic articles", r"index build \(monitor index rebuild\): [\d,]+ articles/s",
                    r"index size: [\d,]+ bytes per article", r"search p50: \d+ ms", r"search p95: \d+ ms",
                    r"monitor rules test .*: [\d.]+ s for (\d+) matches", r"linear scan search p50: [\d,]+ ms",
                    r"linear scan rules test: [\d.,]+ s \((\d+) matches\)",
                    r"ingest with indexing on: [\d,]+ articles/s", r"ingest with indexing off: [\d,]+ articles/s"):
        assert re.search(pattern, out), (pattern, out)
    by_index = re.search(r"monitor rules test .*: [\d.]+ s for (\d+) matches", out)
    by_scan = re.search(r"linear scan rules test: [\d.,]+ s \((\d+) matches\)", out)
    assert by_index and by_scan and by_index.group(1) == by_scan.group(1) != "0"

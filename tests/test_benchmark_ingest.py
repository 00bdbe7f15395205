"""The ingest benchmark still runs and prints every figure it promises (a tiny run: the figures are not checked,
only that each configuration ingested every article)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_ingest_benchmark_runs_every_configuration() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.ingest", "--articles", "12", "--sizes", "50,100", "--probes", "20",
         "--workers", "2", "--processes", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    parse_lines = [line for line in lines if line.startswith("ingest, parse to committed file")]
    assert [line.split(": ")[0].split(", ", 2)[2] for line in parse_lines] == [
        "fsync on , 1 thread(s), parsing in-process", "fsync on , 2 thread(s), parsing in-process",
        "fsync on , 2 thread(s) + 1 parse processes", "fsync off, 1 thread(s), parsing in-process"]
    assert all("12 articles)" in line for line in parse_lines)
    assert any(line.startswith("ingest, fetched from the local server") and "(12 new, 0 failed" in line
               for line in lines), done.stdout
    assert sum(line.startswith("seen-URL check with") for line in lines) == 2

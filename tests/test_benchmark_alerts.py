"""The alert benchmarks still run and print their figures (tiny runs; the figures are not checked, only that every
article was measured): appeared -> archived -> delivered latency, and the daemon's start-up alert catch-up."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_latency_benchmark_measures_every_article() -> None:
    done = subprocess.run([sys.executable, "-m", "benchmarks.latency", "--articles", "10", "--poll", "1"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "alert latency over 10 articles" in done.stdout, done.stdout
    for stage in ("appeared -> archived", "archived -> delivered", "appeared -> delivered"):
        assert any(line.strip().startswith(stage) for line in done.stdout.splitlines()), done.stdout


@pytest.mark.slow
def test_catch_up_benchmark_prints_both_schemas() -> None:
    done = subprocess.run([sys.executable, "-m", "benchmarks.catch_up", "--revisions", "2000"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = [line for line in done.stdout.splitlines() if "2,000 revisions" in line]
    assert len(lines) >= 2, done.stdout

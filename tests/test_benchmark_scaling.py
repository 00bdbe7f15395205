"""The scaling benchmark still runs every configuration and measures the failover (a tiny run; the figures are not
checked, only that each line is printed). Needs PostgreSQL (MONITOR_TEST_DATABASE_URL)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_scaling_benchmark_prints_throughput_per_daemon_count_and_the_failover() -> None:
    if not os.environ.get("MONITOR_TEST_DATABASE_URL"):
        pytest.skip("MONITOR_TEST_DATABASE_URL is not set")
    done = subprocess.run([sys.executable, "-m", "benchmarks.scaling", "--articles", "12", "--daemons", "1", "2"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    rows = [line.split() for line in done.stdout.splitlines() if line.split()[:1] in (["1"], ["2"])]
    assert [row[0] for row in rows] == ["1", "2"] and all(len(row) == 3 for row in rows), done.stdout
    assert any(line.startswith("failover after SIGKILL of one of 2: group taken over after")
               for line in done.stdout.splitlines()), done.stdout

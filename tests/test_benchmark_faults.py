"""The fault campaign still runs every part and its guarantees hold on a tiny run (two kills each; the full
campaign is ``make faults``). The PostgreSQL outage part needs initdb/pg_ctl and says when it skipped."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_fault_campaign_holds_its_guarantees_on_a_tiny_run() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.faults", "--kills", "2", "--articles", "30", "--alerts", "12"],
        cwd=ROOT, capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert [line for line in lines if line.startswith("faults ") and line.endswith(": ok")] == [
        "faults ingest: ok", "faults schema: ok", "faults delivery: ok", "faults outage: ok"], done.stdout
    assert any("2 SIGKILLs of `monitor run` during a 30-article ingest" in line for line in lines), done.stdout
    assert any("2 SIGKILLs after monitor.db appeared" in line for line in lines), done.stdout
    assert lines[-1] == "faults: all guarantees held", done.stdout

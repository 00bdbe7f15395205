"""A daemon runs for months: what it keeps in memory per run must be bounded."""

from __future__ import annotations

from datetime import UTC, datetime

from monitor.pipeline import RunReport
from monitor.scheduler import KEPT_RUNS, DaemonSummary


def test_the_summary_keeps_only_the_latest_runs() -> None:
    summary = DaemonSummary()
    for n in range(KEPT_RUNS + 50):
        summary.runs.append(RunReport(source=f"s{n}", started=datetime.now(UTC)))
    assert len(summary.runs) == KEPT_RUNS
    assert summary.runs[0].source == "s50" and summary.runs[-1].source == f"s{KEPT_RUNS + 49}"

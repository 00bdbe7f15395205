"""The daemon removes the temporary files a crashed run left in the archive when it starts (as ``ingest`` does), so
``archive verify`` is clean after a daemon crash and a restart; a temporary file of a writer still alive stays."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.archive_check import verify
from monitor.demo.sinks import SlackSink, SmtpSink
from monitor.scheduler import Daemon
from monitor.services import Services
from tests._daemon_support import Clock, Snapshot, settings
from tests._localsite import LocalSite
from tests._synth import HOST


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.mark.slow  # spawns processes
def test_a_restarted_daemon_removes_a_crashed_runs_temporary_files(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    snapshot = Snapshot(tmp_path / "site", Clock(datetime.now(UTC)))
    snapshot.add(1)
    with LocalSite(snapshot.root) as site, SlackSink(tmp_path / "slack.jsonl") as slack, \
            SmtpSink(tmp_path / "mail") as smtp:
        monkeypatch.setenv("MONITOR_SLACK_WEBHOOK_URL", slack.url)
        config = settings(tmp_path, site.host_map([HOST]), smtp_port=smtp.port)
        archive_root = Path(config.storage.archive_root)
        folder = archive_root / HOST / "2026" / "11" / "20"
        folder.mkdir(parents=True)
        crashed = folder / f".tmp-{_dead_pid()}-0123456789ab"  # a writer SIGKILLed between write and link
        crashed.write_bytes(b"half a text")
        with subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                              stdin=subprocess.PIPE) as live:
            alive = folder / f".tmp-{live.pid}-ba9876543210"  # another host's writer, say: not ours to remove
            alive.write_bytes(b"being written")
            try:
                with Services.open(config) as services:
                    assert not verify(services.store, services.archive).clean
                    summary = Daemon(services).run(cycles=1, handle_signals=False)
                    assert sum(r.new for r in summary.runs) == 1, [r.errors for r in summary.runs]
                    assert not crashed.exists()
                    assert alive.exists()
                    alive.unlink()
                    report = verify(services.store, services.archive)
                    assert report.clean, report.problems
            finally:
                assert live.stdin is not None
                live.stdin.close()

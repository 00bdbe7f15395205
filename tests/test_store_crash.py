"""Crash safety end to end: ``monitor ingest`` over 200 articles from a local HTTP server, killed with SIGKILL at
random moments (at least 20 times) and restarted each time; at the end every article is archived exactly once,
``monitor archive verify`` is clean and no temporary or partial file is left."""

from __future__ import annotations

import random
import select
import signal
import subprocess
import time
from pathlib import Path

import pytest

from monitor.settings import StorageSettings
from monitor.store import Store
from tests._ingest_run import ingest_env, monitor_command, start_ingest
from tests._localsite import LocalSite
from tests._synth import HOST, write_site

ARTICLES = 200
KILLS = 20


def _first_line(process: subprocess.Popen[str], timeout: float) -> bool:
    """Wait until the process reports its first article (it is ingesting), or it ends."""
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    return bool(ready) and bool(process.stdout.readline())


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_and_repeats_nothing(tmp_path: Path) -> None:
    rng = random.Random(20261123)
    urls = write_site(tmp_path / "snapshot", ARTICLES)
    url_file = tmp_path / "urls.txt"
    url_file.write_text("\n".join(urls) + "\n", encoding="utf-8")
    archive_root = tmp_path / "archive"
    with LocalSite(tmp_path / "snapshot") as site:
        env = ingest_env(tmp_path, archive_root, site.host_map([HOST]))
        kills = 0
        deadline = time.monotonic() + 150
        while kills < KILLS and time.monotonic() < deadline:
            process = start_ingest(env, url_file)
            if kills % 4 == 3:
                time.sleep(rng.uniform(0.0, 1.0))  # now and then during start-up and clean-up
            elif not _first_line(process, 20):
                process.wait(timeout=30)
                break  # nothing left to ingest before the kill
            else:
                time.sleep(rng.uniform(0.0, 0.12))
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                kills += 1
            process.wait(timeout=30)
            process.communicate()
        final = start_ingest(env, url_file)
        _out, err = final.communicate(timeout=120)
        assert final.returncode == 0, err
    assert kills >= KILLS, f"only {kills} kills: the run finished too early"

    verified = subprocess.run(monitor_command("archive", "verify"), env=env, capture_output=True, text=True,
                              timeout=120)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    texts = sorted(archive_root.rglob("*.txt"))
    raws = sorted(archive_root.rglob("*.html.gz"))
    assert len(texts) == ARTICLES and len(raws) == ARTICLES
    assert all(p.name.startswith("000_") for p in texts)
    assert not [p for p in archive_root.rglob(".tmp-*")]
    with Store.open(StorageSettings(archive_root=archive_root), upgrade=False) as store:
        counts = store.counts()
    assert counts["articles"] == ARTICLES and counts["revisions"] == ARTICLES

"""Crash safety end to end: ``monitor ingest`` over 200 articles from a local HTTP server, killed with SIGKILL at
random moments (20 times) and restarted each time; at the end every article is archived exactly once,
``monitor archive verify`` is clean and no temporary or partial file is left."""

from __future__ import annotations

import random
import signal
import subprocess
import time
from pathlib import Path

import pytest

from monitor.settings import StorageSettings
from monitor.store import Store
from tests._ingest_run import ingest_env, monitor_command, start_ingest
from tests._localsite import LocalSite, LoggedRequest
from tests._synth import HOST, write_site

ARTICLES = 200
KILLS = 20


def _pages(log: list[LoggedRequest]) -> int:
    return sum(1 for r in log if r.path != "/robots.txt")


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_and_repeats_nothing(tmp_path: Path) -> None:
    rng = random.Random(20261123)
    urls = write_site(tmp_path / "snapshot", ARTICLES)
    url_file = tmp_path / "urls.txt"
    url_file.write_text("\n".join(urls) + "\n", encoding="utf-8")
    archive_root = tmp_path / "archive"
    with LocalSite(tmp_path / "snapshot") as site:
        env = ingest_env(tmp_path, archive_root, site.host_map([HOST]))
        # Each process is killed after at most a few pages (counted at the server, whatever the machine's speed),
        # so the 200 articles outlast the kills.
        for kill in range(KILLS):
            served = _pages(site.requests())
            process = start_ingest(env, url_file)
            if kill % 4 == 3:  # now and then during start-up, or just after its first page was asked for
                site.wait_for(lambda log, served=served: _pages(log) > served, timeout=rng.uniform(0.0, 1.0))
            else:
                wanted = served + rng.randint(1, 4)
                assert site.wait_for(lambda log, wanted=wanted: _pages(log) >= wanted, timeout=120), \
                    process.communicate()
                time.sleep(rng.uniform(0.0, 0.03))  # a random moment of that page's fetch, parse or write
            assert process.poll() is None, process.communicate()  # it had not finished: the kill lands mid-work
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
            process.communicate()
        assert _pages(site.requests()) < ARTICLES  # the kills came mid-run, not after it
        final = start_ingest(env, url_file)
        _out, err = final.communicate(timeout=300)
        assert final.returncode == 0, err

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

"""Two ``monitor ingest`` processes racing over the same articles on one PostgreSQL database (and one archive)
record each article once: the unique keys decide, not the processes."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from monitor.settings import StorageSettings
from monitor.store import Store
from tests._ingest_run import ingest_env, monitor_command, start_ingest
from tests._localsite import LocalSite
from tests._store_support import pg_url_fixture  # noqa: F401  (fixture)
from tests._synth import HOST, write_site

ARTICLES = 60


@pytest.mark.slow
@pytest.mark.postgres
def test_two_processes_record_each_article_once(tmp_path: Path, pg_url: str) -> None:
    urls = write_site(tmp_path / "snapshot", ARTICLES)
    url_file = tmp_path / "urls.txt"
    url_file.write_text("\n".join(urls) + "\n", encoding="utf-8")
    archive_root = tmp_path / "archive"
    with LocalSite(tmp_path / "snapshot") as site:
        env = ingest_env(tmp_path, archive_root, site.host_map([HOST]), database_url=pg_url)
        # No `monitor db upgrade` first: both create the schema on start, one after the other.
        racers = [start_ingest(env, url_file) for _ in range(2)]
        outputs = [racer.communicate(timeout=180) for racer in racers]
    for racer, (_, err) in zip(racers, outputs, strict=True):
        assert racer.returncode == 0, err
    new_lines = [line for out, _ in outputs for line in out.splitlines() if line.startswith("new\t")]
    assert len(new_lines) == ARTICLES  # each article reported new by exactly one of the two
    assert len({line.split("\t")[1] for line in new_lines}) == ARTICLES
    with Store.open(StorageSettings(url=pg_url, archive_root=archive_root), upgrade=False) as store:
        counts = store.counts()
    assert counts["articles"] == ARTICLES and counts["revisions"] == ARTICLES
    assert len(list(archive_root.rglob("*.txt"))) == ARTICLES
    verified = subprocess.run(monitor_command("archive", "verify"), env=env, capture_output=True, text=True)
    assert verified.returncode == 0, verified.stdout + verified.stderr

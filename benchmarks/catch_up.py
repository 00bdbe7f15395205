"""The daemon's start-up alert catch-up on a large archive: how long finding the texts whose alerts never ran takes.

Builds a SQLite database at the current schema with N revisions (default 1,000,000; ``--revisions``) whose alerts
are done, plus 20 pending ones stored an hour ago, then times :meth:`Store.alerts_pending` (the catch-up's query),
cold (a fresh connection) and warm. For comparison it repeats the timing with the partial index
``ix_revisions_alerts_pending`` dropped and the old all-rows index on ``alerts_done_at`` put back (the schema
before migration 0003), and with every old text left "not done", as ``monitor ingest`` left them before it recorded
its texts as done.

    python -m benchmarks.catch_up [--revisions N]

Goal: the catch-up's look is bounded by the backlog, not the archive: a few milliseconds at any N.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from monitor.settings import StorageSettings
from monitor.store import Store


def _fill(store: Store, revisions: int, *, done: bool) -> None:
    now = datetime.now(UTC)
    old = (now - timedelta(days=30)).isoformat(sep=" ")
    with store.engine.begin() as connection:
        connection.execute(text("INSERT INTO sources (site, family, created_at) VALUES ('x.org', 'pangea', :t)"),
                           {"t": old})
        batch = 50_000
        for start in range(0, revisions, batch):
            rows = range(start, min(start + batch, revisions))
            connection.execute(text(
                "INSERT INTO articles (id, key, source_id, site, article_id, family, template, canonical_url, "
                "url_hash, headline, authors, folder, first_seen, last_seen, revision_count) VALUES "
                "(:id, :key, 1, 'x.org', :id, 'pangea', 't', :url, 'h', 'x', '[]', 'f', :t, :t, 1)"),
                [{"id": i + 1, "key": f"x.org:{i}", "url": f"https://x.org/a/{i}.html", "t": old} for i in rows])
            connection.execute(text(
                "INSERT INTO revisions (article_pk, number, content_hash, size, text_path, template, origin, "
                "fetched_at, stored_at, alerts_done_at) VALUES (:id, 0, 'h', 1, :path, 't', 'ingest', :t, :t, :d)"),
                [{"id": i + 1, "path": f"p/{i}", "t": old, "d": old if done else None} for i in rows])
        recent = (now - timedelta(hours=1)).isoformat(sep=" ")
        connection.execute(text("UPDATE revisions SET stored_at = :t, alerts_done_at = NULL WHERE id <= 20"),
                           {"t": recent})


def _time(url: str) -> tuple[float, float, int]:
    settings = StorageSettings(url=url)
    since = datetime.now(UTC) - timedelta(days=2)
    with Store.open(settings, upgrade=False) as store:
        started = time.perf_counter()
        found = len(store.alerts_pending(since))
        cold = time.perf_counter() - started
        started = time.perf_counter()
        store.alerts_pending(since)
        warm = time.perf_counter() - started
    return cold, warm, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--revisions", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        for label, done, old_schema in (("now (partial index, ingest texts done)", True, False),
                                        ("before (all-rows index, ingest texts not done)", False, True)):
            path = Path(folder) / f"{int(old_schema)}.db"
            url = f"sqlite:///{path}"
            with Store.open(StorageSettings(url=url)) as store:
                _fill(store, args.revisions, done=done)
                if old_schema:
                    with store.engine.begin() as connection:
                        connection.execute(text("DROP INDEX ix_revisions_alerts_pending"))
                        connection.execute(text("CREATE INDEX ix_revisions_alerts_done_at ON revisions "
                                                "(alerts_done_at)"))
            cold, warm, found = _time(url)
            print(f"{label}: {args.revisions:,} revisions, {found} pending found; catch-up query "
                  f"cold {cold * 1000:.1f} ms, warm {warm * 1000:.1f} ms")


if __name__ == "__main__":
    main()

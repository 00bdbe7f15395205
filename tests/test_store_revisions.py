"""Which text is the latest: a text that returns after an edit (A -> B -> A) is a new latest revision, in the store,
through the pipeline and in export; and what ``monitor ingest`` archives is never left for the daemon's alert
catch-up, whose start-up look stays bounded by a partial index. On SQLite, and on PostgreSQL when
MONITOR_TEST_DATABASE_URL is set."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import event

from monitor.ingest import ingest_page
from monitor.services import utc_now
from tests._store_support import Env, env_fixture, pg_url_fixture  # noqa: F401  (fixtures)

PAGES = Path(__file__).parent / "fixtures" / "pages"
VOA = PAGES / "pangea" / "voa_en_2024-04-28_child-care-crisis_7585813"
KEY = "voanews.com:7585813"
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def _page() -> tuple[str, str]:
    url = json.loads(VOA.with_suffix(".expect.json").read_text(encoding="utf-8"))["url"]
    return VOA.with_suffix(".html").read_text(encoding="utf-8"), url


def test_a_text_that_returns_is_the_new_latest_revision(env: Env) -> None:
    html, url = _page()
    edited = html.replace("finally landed one she loved", "finally landed a job she loved")
    a = ingest_page(env.store, env.archive, env.registry, html, url, T0, clock=utc_now)
    b = ingest_page(env.store, env.archive, env.registry, edited, url, T0 + timedelta(hours=1), clock=utc_now)
    back = ingest_page(env.store, env.archive, env.registry, html, url, T0 + timedelta(hours=2), clock=utc_now)
    assert (a.status, b.status, back.status) == ("new", "revised", "revised")
    assert back.revision is not None and a.revision is not None
    assert back.revision.number == 2 and back.revision.content_hash == a.revision.content_hash
    revisions = env.store.revisions(KEY)
    assert [r.number for r in revisions] == [0, 1, 2]
    assert env.archive.read_text(revisions[-1].text_path) == env.archive.read_text(revisions[0].text_path)
    stored = env.store.article(KEY)
    assert stored is not None and stored.revision_count == 3
    latest = env.store.latest_revision(stored)
    assert latest is not None and latest.number == 2
    # The same text once more is nothing new: compared with the latest, which it is.
    again = ingest_page(env.store, env.archive, env.registry, html, url, T0 + timedelta(hours=3), clock=utc_now)
    assert again.status == "seen"
    assert len(env.store.revisions(KEY)) == 3


def test_the_times_recorded_come_from_the_injected_clock(env: Env) -> None:
    # A clock far from the wall clock: any time read elsewhere would show.
    html, url = _page()
    result = ingest_page(env.store, env.archive, env.registry, html, url, clock=lambda: T0)
    assert result.revision is not None and (result.revision.fetched_at, result.revision.stored_at) == (T0, T0)
    assert [r.fetched_at for r in env.store.revisions(KEY)] == [T0]
    later = T0 + timedelta(days=3)
    edited = html.replace("finally landed one she loved", "finally landed a job she loved")
    revised = ingest_page(env.store, env.archive, env.registry, edited, url, clock=lambda: later)
    assert revised.revision is not None and (revised.revision.fetched_at, revised.revision.stored_at) == (later, later)


def test_ingest_records_its_texts_with_alerts_done(env: Env) -> None:
    html, url = _page()
    ingest_page(env.store, env.archive, env.registry, html, url, T0, origin="ingest", clock=utc_now)
    fetched = ingest_page(env.store, env.archive, env.registry, html.replace("one she loved", "a job she loved"),
                          url, T0, origin="fetch", clock=utc_now)
    pending = env.store.alerts_pending(datetime(2000, 1, 1, tzinfo=UTC))
    # Only the daemon's text waits for its alerts; the ingested one is done from the start.
    assert [(s.key, r.number) for s, r in pending] == [(KEY, 1)]
    assert fetched.revision is not None and pending[0][1].origin == "fetch"


def test_the_start_up_catch_up_reads_a_partial_index(env: Env) -> None:
    """The statement the catch-up runs is planned on the index of pending texts only (not a scan of all)."""
    html, url = _page()
    ingest_page(env.store, env.archive, env.registry, html, url, T0, origin="ingest", clock=utc_now)
    seen: list[tuple[str, object]] = []

    def capture(conn: object, cursor: object, statement: str, parameters: object, *args: object) -> None:
        if "alerts_done_at IS NULL" in statement:
            seen.append((statement, parameters))

    event.listen(env.store.engine, "before_cursor_execute", capture)
    try:
        env.store.alerts_pending(datetime(2026, 1, 1, tzinfo=UTC))
    finally:
        event.remove(env.store.engine, "before_cursor_execute", capture)
    assert len(seen) == 1
    statement, parameters = seen[0]
    with env.store.engine.connect() as connection:
        raw = connection.connection.dbapi_connection
        assert raw is not None
        cursor = raw.cursor()
        if env.store.engine.dialect.name == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
        else:
            cursor.execute("SET enable_seqscan = off")  # a tiny table: ask which index the plan can use
            cursor.execute("EXPLAIN " + statement, parameters)
        plan = " ".join(str(row) for row in cursor.fetchall())
        cursor.close()
    assert "ix_revisions_alerts_pending" in plan, plan


def test_monitor_ingest_leaves_nothing_for_the_alert_catch_up(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from monitor.cli import app
    from monitor.settings import StorageSettings
    from monitor.store import Store
    from tests._localsite import LocalSite
    from tests._synth import HOST, article_url, cli_env

    env = cli_env(tmp_path, 2)
    with LocalSite(tmp_path / "snapshot") as site:
        env["MONITOR_HTTP__HOST_MAP"] = json.dumps(site.host_map([HOST]))
        result = CliRunner().invoke(app, ["ingest", article_url(0), article_url(1)], env=env)
    assert result.exit_code == 0, result.stderr
    with Store.open(StorageSettings(archive_root=tmp_path / "archive")) as store:
        assert store.counts()["revisions"] == 2
        assert store.alerts_pending(datetime(2000, 1, 1, tzinfo=UTC)) == []
        assert {r.origin for r in store.iter_revisions()} == {"ingest"}

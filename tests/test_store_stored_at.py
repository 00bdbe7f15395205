"""When a text counts as stored is the store's clock's time, an injected one (the daemon's services hand it
theirs), not the machine's; and what a configured source archived per day is counted from those times, the source's
own first texts only, as its "today" is. On SQLite, and on PostgreSQL when MONITOR_TEST_DATABASE_URL is set."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from monitor.ingest import ingest_page
from monitor.services import Services
from monitor.settings import Settings, StorageSettings
from monitor.store import Store
from tests._store_support import Env, env_fixture, pg_url_fixture  # noqa: F401  (fixtures)

PAGES = Path(__file__).parent / "fixtures" / "pages"
VOA = PAGES / "pangea" / "voa_en_2024-04-28_child-care-crisis_7585813"
KEY = "voanews.com:7585813"
FETCHED = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
STORED = datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC)  # far from the real clock and from the fetch time


def _page() -> tuple[str, str]:
    url = json.loads(VOA.with_suffix(".expect.json").read_text(encoding="utf-8"))["url"]
    return VOA.with_suffix(".html").read_text(encoding="utf-8"), url


def test_texts_are_stored_at_the_clocks_time(env: Env) -> None:
    html, url = _page()
    store = Store(env.store.engine, clock=lambda: STORED)
    ingest_page(store, env.archive, env.registry, html, url, FETCHED, origin="ingest", clock=store.clock)
    ingest_page(store, env.archive, env.registry, html.replace("one she loved", "a job she loved"), url,
                FETCHED + timedelta(hours=1), clock=store.clock)
    revisions = store.revisions(KEY)
    assert [(r.number, r.fetched_at, r.stored_at) for r in revisions] == [
        (0, FETCHED, STORED), (1, FETCHED + timedelta(hours=1), STORED)]
    # The catch-up looks at texts stored since a time: the fetched one, by the clock's time; the ingested one has
    # its alerts done from the start.
    assert [(a.key, r.number) for a, r in store.alerts_pending(STORED)] == [(KEY, 1)]
    assert store.alerts_pending(STORED + timedelta(seconds=1)) == []


def test_the_services_store_keeps_the_services_clock(tmp_path: Path) -> None:
    settings = Settings(storage=StorageSettings(archive_root=tmp_path / "archive", fsync=False))
    with Services.open(settings, alerts=False, clock=lambda: STORED) as services:
        assert services.store.clock() == STORED


def test_a_sources_articles_per_day_are_its_own_first_texts(env: Env) -> None:
    html, url = _page()
    day = STORED.date()
    at = {"now": STORED - timedelta(days=1)}
    store = Store(env.store.engine, clock=lambda: at["now"])
    ingest_page(store, env.archive, env.registry, html, url, FETCHED, source="voa", clock=store.clock)
    at["now"] = STORED
    # A revision is no new article; another source of the same site counts apart.
    ingest_page(store, env.archive, env.registry, html.replace("one she loved", "a job she loved"), url, FETCHED,
                source="voa", clock=store.clock)
    other = html.replace("7585813", "7585999")
    ingest_page(store, env.archive, env.registry, other, url.replace("7585813", "7585999"), FETCHED,
                source="voa-extra", clock=store.clock)
    first = day - timedelta(days=2)
    assert store.archived_per_day("voa", first, 3) == {first: 0, day - timedelta(days=1): 1, day: 0}
    assert store.archived_per_day("voa-extra", first, 3) == {first: 0, day - timedelta(days=1): 0, day: 1}
    assert store.archived_per_day("voa", day + timedelta(days=1), 1) == {date(2031, 5, 7): 0}
    assert store.archived_by("voa-extra", STORED - timedelta(hours=1)) == 1

"""An index write that fails after the text was archived: the article stays archived and is marked pending in the
transaction that recorded it; `monitor index status` and `monitor status` count it, searches still find it, and
the catch-up (the daemon's housekeeping, `monitor index catch-up`) indexes it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from monitor.archive import Archive
from monitor.cli import app
from monitor.errors import StoreError
from monitor.ingest import IngestResult, ingest_page
from monitor.rules.document import article_start
from monitor.search import SearchFilters, SearchService
from monitor.search.index import Indexable, IndexCandidates, SearchIndex, index_recorded
from monitor.sites import default_registry
from monitor.store import Store
from tests._store_support import pg_url_fixture  # noqa: F401  (fixture)
from tests._synth import article_url, synth_page
from tests.test_search_index import (
    T0,
    Archived,
    _env,
    pipeline_env_fixture,  # noqa: F401  (fixture)
)


def _failing_index(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(self: SearchIndex, items: object) -> None:
        raise StoreError("database test: write the search index: injected fault")

    monkeypatch.setattr(SearchIndex, "put_many", fail)


def _keys(store: Store, archive: Archive, query: str) -> list[str]:
    service = SearchService(store, archive, IndexCandidates(store))
    return [hit.article.key for hit in service.matches(service.parse(query), SearchFilters())]


def test_a_failed_index_write_leaves_the_article_archived_pending_and_found(
        pipeline_env: Archived, monkeypatch: pytest.MonkeyPatch) -> None:
    store, archive, registry = pipeline_env.store, pipeline_env.archive, default_registry()
    index = SearchIndex(store.engine)
    first = ingest_page(store, archive, registry, synth_page(1), article_url(1), fetched_at=T0, clock=store.clock)
    assert index.status().pending == 0
    with monkeypatch.context() as patched:
        _failing_index(patched)
        revised = ingest_page(store, archive, registry, synth_page(1, edit=1), article_url(1), fetched_at=T0,
                              clock=store.clock)
        new = ingest_page(store, archive, registry, synth_page(2), article_url(2), fetched_at=T0, clock=store.clock)
    assert (revised.status, new.status) == ("revised", "new")  # archived and recorded all the same
    assert archive.read_text(new.revision.text_path) == new.text if new.revision else False
    status = index.status()
    assert (status.pending, status.stale, status.missing) == (2, 1, 1)
    assert index.contents()[first.stored.pk][0] == 0  # the index still holds the first text

    # Told: `monitor index status` and `monitor status`.
    shown = CliRunner().invoke(app, ["index", "status"], env=_env(pipeline_env.settings))
    assert shown.exit_code == 0, shown.output
    assert "pending: 2" in shown.output and "monitor index catch-up" in shown.output
    told = CliRunner().invoke(app, ["status", "--json"], env=_env(pipeline_env.settings))
    assert told.exit_code == 0, told.output
    assert json.loads(told.output)["search_index"] == {"pending": 2}

    # Found meanwhile: the revised text's words, the new article's.
    revised_only = _word_only_in(revised, first.text)
    assert _keys(store, archive, f"={revised_only}") == [first.stored.key]
    assert new.stored.key in _keys(store, archive, f"={_word_only_in(new, revised.text)}")

    # Caught up: the index holds the latest texts and nothing is pending.
    caught = CliRunner().invoke(app, ["index", "catch-up"], env=_env(pipeline_env.settings))
    assert caught.exit_code == 0 and "2 article(s) indexed" in caught.output, caught.output
    status = index.status()
    assert (status.pending, status.stale, status.missing) == (0, 0, 0)
    assert index.contents()[first.stored.pk][0] == 1
    assert _keys(store, archive, f"={revised_only}") == [first.stored.key]
    assert SearchIndex(store.engine).pending(0) == set()  # the index alone answers again


def test_an_older_text_indexed_late_leaves_the_newer_one_pending(pipeline_env: Archived,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Two writers: the index write of an older revision, arriving after a newer revision was recorded."""
    store, archive, registry = pipeline_env.store, pipeline_env.archive, default_registry()
    first = ingest_page(store, archive, registry, synth_page(1), article_url(1), fetched_at=T0, clock=store.clock)
    with monkeypatch.context() as patched:
        _failing_index(patched)
        ingest_page(store, archive, registry, synth_page(1, edit=1), article_url(1), fetched_at=T0, clock=store.clock)
    index_recorded(store, Indexable.recorded(first.stored, 0, first.text))
    assert SearchIndex(store.engine).pending(10) == {first.stored.pk}
    assert SearchIndex(store.engine).catch_up(archive, limit=5) == 1
    assert SearchIndex(store.engine).pending(10) == set()


def test_the_daemons_housekeeping_catches_up(pipeline_env: Archived, monkeypatch: pytest.MonkeyPatch) -> None:
    from types import SimpleNamespace

    from monitor.scheduler import Daemon
    from monitor.services import Services

    store, archive, registry = pipeline_env.store, pipeline_env.archive, default_registry()
    with monkeypatch.context() as patched:
        _failing_index(patched)
        third = ingest_page(store, archive, registry, synth_page(3), article_url(3), fetched_at=T0, clock=store.clock)
    assert SearchIndex(store.engine).pending_count() == 1
    services = Services(settings=SimpleNamespace(sources=[]), store=store, archive=archive,  # type: ignore[arg-type]
                        client=None, registry=registry, alerts=None)  # type: ignore[arg-type]
    Daemon(services).housekeeping()
    assert SearchIndex(store.engine).pending_count() == 0
    assert _keys(store, archive, f"={_word_only_in(third, '')}") == [third.stored.key]


def _word_only_in(result: IngestResult, other: str) -> str:
    article = result.text[article_start(result.text, result.article.headline):]  # a search reads no chrome
    return sorted(w for w in set(article.split()) - set(other.split()) if w.isalpha() and len(w) > 8)[0]


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_migration_0007_marks_what_the_index_lacks_and_orders_postgres_by_date(
        backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    from alembic import command
    from sqlalchemy import text

    from monitor.search.index import date_order
    from monitor.store import make_engine
    from monitor.store import migrate as migrations
    from tests.test_search_index import add

    url = request.getfixturevalue("pg_url") if backend == "postgres" else f"sqlite:///{tmp_path / 'monitor.db'}"
    engine = make_engine(url)
    try:
        migrations.upgrade(engine, "0006")
        store, archive = Store(engine), Archive(tmp_path / "archive", fsync=False)
        dates = [T0, datetime(1800, 1, 1, tzinfo=UTC), T0]  # the second beyond the orders' range: clamped
        stored = [add(store, archive, n, "en", f"headline {n}", "text", index=False, published=at)
                  for n, at in enumerate(dates)]
        with engine.begin() as connection:  # the first two indexed as 0006 left them
            for item in stored[:2]:
                if backend == "postgres":
                    connection.execute(text("INSERT INTO search_documents (article_pk, revision, tokens) "
                                            "VALUES (:pk, 0, 'ftext')"), {"pk": item.pk})
                else:
                    connection.execute(text("INSERT INTO search_documents (ord, article_pk, revision, title, teaser, "
                                            "body) VALUES (:ord, :pk, 0, '', '', 'ftext')"),
                                       {"ord": date_order(item.published or T0, item.pk), "pk": item.pk})
        migrations.upgrade(engine)
        index = SearchIndex(engine)
        assert index.pending(10) == {stored[2].pk}
        if backend == "postgres":
            with engine.connect() as connection:
                orders = dict(connection.execute(text("SELECT article_pk, ord FROM search_documents")).all())
            assert orders == {item.pk: date_order(at, item.pk) for item, at in zip(stored[:2], dates[:2], strict=True)}
        command.downgrade(migrations.alembic_config(engine), "0006")
        migrations.upgrade(engine)
        assert index.pending(10) == {stored[2].pk}
    finally:
        engine.dispose()

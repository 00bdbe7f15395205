"""The bulk ingest's index writer: entries written on a thread of their own, in batches, the same index as writing
each right after its revision; a failed batch stays pending and the writer goes on; parse workers make the tokens."""

from __future__ import annotations

import contextlib
import inspect
import logging
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from monitor.archive import Archive
from monitor.clock import utc_now
from monitor.errors import StoreError
from monitor.ingest import ingest_page, reparse_article
from monitor.prepare import ParsePool, Prepared, prepare_page
from monitor.search.index import Indexable, IndexCandidates, SearchIndex
from monitor.search.tokens import document_tokens
from monitor.search.writer import IndexWriter
from monitor.settings import StorageSettings
from monitor.sites import SiteRegistry, default_registry
from monitor.store import Store
from tests._store_support import PG_ENV, own_schema, pg_url_fixture  # noqa: F401  (fixture)
from tests._synth import article_url, synth_page
from tests.test_search_index import T0, Archived, pipeline_env_fixture  # noqa: F401  (fixture)

PAGES = [(1, 0), (2, 0), (3, 0), (1, 1), (4, 0), (2, 1), (5, 0), (1, 2)]  # (article, edit): new texts and revisions


def _ingest(env: Archived, indexer: IndexWriter | None) -> None:
    registry = default_registry()
    for n, edit in PAGES:
        ingest_page(env.store, env.archive, registry, synth_page(n, edit=edit), article_url(n), fetched_at=T0,
                    clock=utc_now, indexer=indexer)


@pytest.fixture(name="other_env")
def other_env_fixture(pipeline_env: Archived, tmp_path: Path) -> Iterator[Archived]:
    """A second archive on the same backend as ``pipeline_env``."""
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(own_schema(os.environ[PG_ENV])) if pipeline_env.settings.url else None
        settings = StorageSettings(url=url, archive_root=tmp_path / "other", fsync=False)
        store = stack.enter_context(Store.open(settings))
        yield Archived(store, Archive(settings.archive_root, fsync=False), settings)


def test_the_writer_gives_the_index_that_writing_each_text_at_once_gives(pipeline_env: Archived,
                                                                         other_env: Archived) -> None:
    with IndexWriter(SearchIndex(pipeline_env.store.engine), batch=3) as writer:
        _ingest(pipeline_env, writer)
    _ingest(other_env, None)
    written, expected = SearchIndex(pipeline_env.store.engine), SearchIndex(other_env.store.engine)
    assert writer.written == len(PAGES) and writer.failed == 0 and writer.left_pending is None
    assert written.pending_count() == 0
    assert written.contents() == expected.contents()  # the latest revision of each, token for token
    assert {pk: revision for pk, (revision, _) in written.contents().items()} == {1: 2, 2: 1, 3: 0, 4: 0, 5: 0}


def test_a_failed_batch_stays_pending_and_the_writer_goes_on(pipeline_env: Archived, monkeypatch: pytest.MonkeyPatch,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    real = SearchIndex.put_many
    failed: list[list[int]] = []

    def fails_with_article_3(self: SearchIndex, items: list[Indexable]) -> None:
        if any(item.pk == 3 for item in items) and not failed:  # article 3 has one text only: it stays pending
            failed.append([item.pk for item in items])
            raise StoreError("database test: write the search index: injected fault")
        real(self, items)

    monkeypatch.setattr(SearchIndex, "put_many", fails_with_article_3)
    index = SearchIndex(pipeline_env.store.engine)
    with caplog.at_level(logging.WARNING, logger="monitor.search"), IndexWriter(index, batch=2) as writer:
        _ingest(pipeline_env, writer)
    lost = len(failed[0])
    assert writer.failed == lost and writer.written == len(PAGES) - lost  # the batches after it were written
    assert writer.left_pending is not None and "monitor index catch-up" in writer.left_pending
    assert f"{lost} articles left pending (database test: write the search index: injected fault)" in caplog.text
    assert 3 in index.pending(10) and 3 not in index.contents()  # type: ignore[operator]
    monkeypatch.setattr(SearchIndex, "put_many", real)
    index.catch_up(pipeline_env.archive)
    assert index.pending_count() == 0 and index.status().stale == 0 and 3 in index.contents()


def test_a_closed_writer_takes_nothing_more(pipeline_env: Archived) -> None:
    writer = IndexWriter.for_store(pipeline_env.store)
    writer.close()
    writer.close()  # closing twice is harmless
    with pytest.raises(RuntimeError, match="closed"):
        _ingest(pipeline_env, writer)


@pytest.mark.slow  # spawns a process
def test_parse_workers_make_the_index_tokens() -> None:
    registry = default_registry()
    html, url = synth_page(7), article_url(7)
    here = prepare_page(registry, html, url)
    assert here.tokens is None  # in-process, whoever writes the index makes them
    with ParsePool(registry, 1) as pool:
        there = pool.prepare(html, url)
    assert there.tokens == document_tokens(here.article.headline, here.text, here.article.language)
    assert there.tokens["body"] and there.text == here.text


def _as_a_parse_worker(pool: Any, registry: SiteRegistry, html: str, url: str, *, keep_raw: bool = True,
                       story: bool = True) -> Prepared:
    return prepare_page(registry, html, url, keep_raw=keep_raw, tokens=True)  # what ParsePool.prepare gives back


@pytest.mark.parametrize(("column", "stored"), [("headline", "Zebra crossing"), ("language", "de")])
def test_a_workers_tokens_of_another_headline_or_language_are_not_indexed(
        pipeline_env: Archived, monkeypatch: pytest.MonkeyPatch, column: str, stored: str) -> None:
    # The stored headline (an older parser's, kept by a reparse that finds the same text) and language (the first
    # revision's) are what a search evaluates and a catch-up indexes: the entry must be made of them, not of what
    # the parse worker read from the page.
    store, archive, registry = pipeline_env.store, pipeline_env.archive, default_registry()
    ingest_page(store, archive, registry, synth_page(1), article_url(1), fetched_at=T0, clock=utc_now)
    with store.engine.begin() as connection:
        connection.execute(text(f"UPDATE articles SET {column} = :value"), {"value": stored})
    (article,) = store.iter_articles()
    monkeypatch.setattr("monitor.ingest.prepare_with", _as_a_parse_worker)
    index = SearchIndex(store.engine)
    with IndexWriter(index) as writer:
        result = reparse_article(store, archive, registry, article, clock=utc_now, indexer=writer)
    assert result is not None and result.status == "seen"
    written = index.contents()
    index.rebuild(archive, restart=True)
    assert written == index.contents()


def test_an_entry_added_as_the_writer_closes_is_written_or_refused(pipeline_env: Archived,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    index = SearchIndex(pipeline_env.store.engine)
    writer = IndexWriter(index)
    closing = threading.Thread(target=writer.close)
    real = document_tokens

    def close_meanwhile(*args: Any) -> dict[str, list[str]]:  # the writer closed while the tokens are made
        closing.start()
        while not writer._closed:
            time.sleep(0.001)
        return real(*args)

    monkeypatch.setattr("monitor.search.index.document_tokens", close_meanwhile)
    refused = False
    with monkeypatch.context() as patched:
        patched.setattr("monitor.ingest._index", lambda *args: None)
        stored = ingest_page(pipeline_env.store, pipeline_env.archive, default_registry(), synth_page(1),
                             article_url(1), fetched_at=T0, clock=utc_now).stored
    try:
        writer.add(Indexable.recorded(stored, 0, "a text"))
    except RuntimeError:
        refused = True
    closing.join()
    assert refused or writer.written == 1  # never taken and then dropped unsaid


def test_the_writers_backlog_stays_below_what_a_search_reads_beside_the_index() -> None:
    # Recorded but not yet written: queued, plus the batch being written. Beyond max_pending a search scans instead.
    writer, candidates = inspect.signature(IndexWriter), inspect.signature(IndexCandidates)
    waiting = writer.parameters["backlog"].default + writer.parameters["batch"].default
    assert waiting < candidates.parameters["max_pending"].default

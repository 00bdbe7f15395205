"""A word in every article, over an archive larger than one batch of candidates: PostgreSQL gives the same pages as
SQLite and as a linear scan, and reads its matches in date order from the newest end (a bounded number of rows per
batch), not all of them sorted."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from monitor.archive import Archive
from monitor.rules import parse_query
from monitor.search import SearchFilters, SearchService, StoreScan
from monitor.search.index import IndexCandidates, SearchIndex, index_query
from monitor.settings import StorageSettings
from monitor.store import Store
from tests._search_plans import explained, rows_tested
from tests._store_support import pg_url_fixture  # noqa: F401  (fixture)
from tests.test_search_index import T0, add

ARTICLES = 240
BATCH = 40
WORDS = ("Berlin", "Hamburg", "Dresden")


def _archive(store: Store, archive: Archive) -> None:
    for n in range(ARTICLES):
        # Several articles per second (ties settled by the exact date, then the id), one word of three in each.
        published = T0 - timedelta(seconds=n // 3, microseconds=(n * 7919) % 1000)
        add(store, archive, n, "de", f"Nachrichten {n}", f"Nachrichten aus {WORDS[n % 3]}", published=published)


def _pages(store: Store, archive: Archive, query: str, filters: SearchFilters) -> list[list[str]]:
    return page_keys(SearchService(store, archive, IndexCandidates(store, batch=BATCH), page_size=25, max_page=20),
                     query, filters)


def page_keys(service: SearchService, query: str, filters: SearchFilters) -> list[list[str]]:
    """The hits of every page a search shows (up to its last page), as article keys."""
    pages = []
    number = 1
    while True:
        page = service.search(query, filters, number)
        pages.append([hit.article.key for hit in page.hits])
        if not page.has_next:
            return pages
        number += 1


def test_a_common_word_gives_the_same_pages_on_both_backends(tmp_path: Path, pg_url: str) -> None:
    found: dict[str, list[list[list[str]]]] = {}
    cases = [("Nachrichten", SearchFilters()), ("Nachrichten Berlin", SearchFilters()),
             ("Nachrichten NOT Hamburg", SearchFilters(until=T0.date())),
             ("Nachrichten", SearchFilters(since=T0.date()))]
    for url, name in ((None, "sqlite"), (pg_url, "postgres")):
        settings = StorageSettings(url=url, archive_root=tmp_path / name, fsync=False)
        with Store.open(settings) as store:
            archive = Archive(settings.archive_root, fsync=False)
            _archive(store, archive)
            found[name] = [_pages(store, archive, query, filters) for query, filters in cases]
            scan = SearchService(store, archive, StoreScan(store), page_size=25, max_page=20)
            for (query, filters), pages in zip(cases, found[name], strict=True):
                truth = [hit.article.key for hit in scan.matches(scan.parse(query), filters)]
                assert [key for page in pages for key in page] == truth, (name, query)
    assert found["sqlite"] == found["postgres"]
    assert len(found["postgres"][0]) == ARTICLES // 25 + 1  # every article, over pages from many batches


@pytest.mark.postgres
def test_postgres_reads_a_common_words_newest_matches_without_sorting_them_all(tmp_path: Path, pg_url: str) -> None:
    """The planner walks the date order's btree from the newest end and stops after a batch: the rows it reads are
    the batch (every article matches), not all the word's matches."""
    settings = StorageSettings(url=pg_url, archive_root=tmp_path / "archive", fsync=False)
    with Store.open(settings) as store:
        archive = Archive(settings.archive_root, fsync=False)
        _archive(store, archive)
        with store.engine.begin() as connection:
            connection.execute(text("ANALYZE search_documents"))
        index = SearchIndex(store.engine)
        query = index_query(parse_query("Nachrichten"))
        assert query is not None
        plans = explained(store.engine, lambda: index.newest_orders(query, below=None, at_least=None, limit=BATCH))
    tested = sum(rows_tested(plan) for plan in plans)
    assert tested == BATCH, (tested, plans)  # not ARTICLES: no scan of every match to sort them


def test_the_scan_reads_pages_in_the_date_index_order_without_sorting(tmp_path: Path) -> None:
    """When the index cannot narrow a query (NOT only, many pending articles) the scan pages through every article:
    each page is read in the order of ix_articles_date from where the last one ended, not sorted anew."""
    settings = StorageSettings(archive_root=tmp_path / "archive", fsync=False)
    with Store.open(settings) as store:
        archive = Archive(settings.archive_root, fsync=False)
        _archive(store, archive)
        scan = StoreScan(store, batch=BATCH)
        first = list(scan.candidates(None, SearchFilters()))
        assert len(first) == ARTICLES and len({c.article.key for c in first}) == ARTICLES
        assert [c.when for c in first] == sorted((c.when for c in first), reverse=True)
        statement = scan.page(SearchFilters(), (first[BATCH - 1].when, first[BATCH - 1].article.pk))
        sql = str(statement.compile(store.engine, compile_kwargs={"literal_binds": True}))
        with store.engine.connect() as connection:
            plan = " | ".join(row[3] for row in connection.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
    assert "ix_articles_date" in plan and "TEMP B-TREE" not in plan, plan

"""A word common in the older articles and absent from the newest ones: PostgreSQL gives the same pages as SQLite and as
a linear scan, and does not test the newest articles one by one down to its first match (a walk bounded to a few
times a batch, the rest from the GIN index), for a word and for a word in a field."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from monitor.archive import Archive
from monitor.rules import parse_query
from monitor.search import SearchFilters, SearchService, StoreScan
from monitor.search.index import _WALK, IndexCandidates, SearchIndex, index_query
from monitor.settings import StorageSettings
from monitor.store import Store
from tests._search_plans import explained, node_types, rows_tested
from tests._store_support import pg_url_fixture  # noqa: F401  (fixture)
from tests.test_search_common_word import page_keys
from tests.test_search_index import T0, add

RECENT = 400  # the newest articles: none has "Altstadt"
OLDER = 200  # of these, every other has it in its text, every fourth in its headline too
BATCH = 10
PAGES = 20  # of 25 hits: a search shows no more
RARE = {3, 450, 577}  # "Zwinger"

QUERIES = [
    ("Altstadt", SearchFilters()),
    ("title:Altstadt", SearchFilters()),
    ("Altstadt Nachrichten", SearchFilters()),
    ("Nachrichten", SearchFilters()),  # in every article: the newest fill each batch
    ("Zwinger", SearchFilters()),
    ("Altstadt", SearchFilters(since=(T0 - timedelta(hours=270)).date())),
    ("title:Altstadt", SearchFilters(since=(T0 - timedelta(hours=270)).date())),
    ("Altstadt", SearchFilters(until=(T0 - timedelta(hours=250)).date())),
]


def _archive(store: Store, archive: Archive) -> None:
    for n in range(RECENT + OLDER):
        # Two articles an hour, apart by microseconds only (ties within a second settled by the exact date).
        published = T0 - timedelta(hours=n // 2, microseconds=(n * 7919) % 1000)
        old = n >= RECENT
        words = ["Nachrichten", "aus", "Dresden"] + (["Altstadt"] if old and n % 2 == 0 else [])
        words += ["Zwinger"] if n in RARE else []
        headline = f"Meldung {n}" + (" Altstadt" if old and n % 4 == 0 else "")
        add(store, archive, n, "de", headline, " ".join(words), published=published)


def test_a_word_absent_from_the_newest_articles_gives_the_same_pages_everywhere(tmp_path: Path, pg_url: str) -> None:
    found: dict[str, list[list[list[str]]]] = {}
    for url, name in ((None, "sqlite"), (pg_url, "postgres")):
        settings = StorageSettings(url=url, archive_root=tmp_path / name, fsync=False)
        with Store.open(settings) as store:
            archive = Archive(settings.archive_root, fsync=False)
            _archive(store, archive)
            service = SearchService(store, archive, IndexCandidates(store, batch=BATCH), page_size=25, max_page=PAGES)
            found[name] = [page_keys(service, query, filters) for query, filters in QUERIES]
            scan = SearchService(store, archive, StoreScan(store), page_size=25, max_page=PAGES)
            for (query, filters), pages in zip(QUERIES, found[name], strict=True):
                truth = [hit.article.key for hit in scan.matches(scan.parse(query), filters)]
                assert [key for page in pages for key in page] == truth[:PAGES * 25], (name, query, filters)
                assert truth, (query, filters)  # none of the comparisons passes on nothing found
    assert found["sqlite"] == found["postgres"]
    assert sum(len(page) for page in found["postgres"][0]) == OLDER // 2


@pytest.mark.postgres
@pytest.mark.parametrize("query", ["Altstadt", "title:Altstadt"])
def test_postgres_does_not_test_the_newest_articles_down_to_the_first_match(tmp_path: Path, pg_url: str,
                                                                             query: str) -> None:
    """The first batch tests at most the walk's rows and, for a field, the word's matches checked newest first
    until the batch is full: far fewer than the RECENT articles before the first match."""
    settings = StorageSettings(url=pg_url, archive_root=tmp_path / "archive", fsync=False)
    with Store.open(settings) as store:
        _archive(store, Archive(settings.archive_root, fsync=False))
        with store.engine.begin() as connection:
            connection.execute(text("ANALYZE search_documents"))
        index = SearchIndex(store.engine)
        asked = index_query(parse_query(query))
        assert asked is not None
        orders: list[int] = []
        plans = explained(store.engine, lambda: orders.extend(
            index.newest_orders(asked, below=None, at_least=None, limit=BATCH)))
    assert len(orders) == BATCH
    tested = sum(rows_tested(plan) for plan in plans)
    checked = 4 * BATCH if query.startswith("title:") else 0  # every other match of the word is one in its title
    assert tested <= _WALK * BATCH + checked, (tested, plans)
    nodes = [node for plan in plans for node in node_types(plan)]
    assert "Bitmap Index Scan on ix_search_documents_tokens" in nodes, nodes
    assert not any(node.startswith("Seq Scan") for node in nodes), nodes

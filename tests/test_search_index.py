"""The search index: for every operator of the rule language it finds what a linear scan finds, on SQLite FTS5 and
on PostgreSQL alike; it follows ingest, revisions and reparse; a rebuild (also an interrupted one, resumed) gives
the same contents; `monitor index` and `monitor rules test` use it."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from monitor.archive import Archive
from monitor.cli import app
from monitor.ingest import ingest_page, reparse_article
from monitor.model import Article
from monitor.rules import parse_query
from monitor.search import SearchFilters, SearchService, StoreScan
from monitor.search.index import Indexable, IndexCandidates, SearchIndex, index_query, index_recorded
from monitor.services import utc_now
from monitor.settings import StorageSettings
from monitor.sites import default_registry
from monitor.store import NewRevision, Store, StoredArticle
from tests._store_support import pg_url_fixture  # noqa: F401  (fixture)
from tests._synth import article_url, synth_page

T0 = datetime(2024, 3, 1, 12, tzinfo=UTC)

# (language, headline, body): inflected Russian and Ukrainian, stemmed German and English, names across scripts,
# a text of unknown language, and words that only a wrong analysis would confuse.
CORPUS = [
    ("ru", "Лавров заявил о новых санкциях", "Министр Сергей Лавров встретился с коллегой из Украины в Анкаре. "
                                            "США и ЕС обсуждают санкции против банков."),
    ("ru-RU", "Украина и Россия", "Переговоры об Украине продолжатся. Украинский президент выступил в Киеве."),
    ("uk", "Лавров і Україна", "Міністр Лаврова критикують в Україні. Сполучені Штати підтримали Київ."),
    ("de", "Sanktionen gegen Russland", "Die EU beschließt neue Sanktionen. Lawrow kritisiert das scharf."),
    ("de", "Wetter in Berlin", "Morgen wird es sonnig in Berlin und Brandenburg, sagt der Wetterdienst."),
    ("en", "Ukraine talks resume", "Ukrainian officials met in Kyiv. The US said sanctions would follow quickly."),
    ("en", "Markets rally", "Stocks rose as the sanctioned banks reported earnings; Lavrov's comments were ignored."),
    (None, "Notes", "Ukraine sanctions Lavrov Kyiv"),
    ("en", "Weather report", "A sunny day in the capital, with a light breeze from the sea."),
]

# Every operator and kind of word: (query, the headlines it must find). The truth is the linear scan; the expected
# headlines keep the comparison from passing on an empty result.
QUERIES = [
    ("Лавров", {"Лавров заявил о новых санкциях", "Лавров і Україна"}),
    ("Украина", {"Украина и Россия", "Лавров заявил о новых санкциях"}),
    ("=Украине", {"Украина и Россия"}),
    ("~Lavrov", {"Лавров заявил о новых санкциях", "Лавров і Україна", "Sanktionen gegen Russland", "Markets rally",
                 "Notes"}),
    ("Sanktion", {"Sanktionen gegen Russland"}),
    ("sanction", {"Ukraine talks resume", "Markets rally"}),  # English stems; a text of no language: as written
    ("sanction*", {"Ukraine talks resume", "Markets rally", "Notes"}),
    ("Ukrain*", {"Ukraine talks resume", "Notes"}),
    ("Украин*", {"Украина и Россия", "Лавров заявил о новых санкциях"}),
    ('"neue Sanktionen"', {"Sanktionen gegen Russland"}),
    ('"Sanktionen neue"', set()),
    ("Lawrow NEAR/3 kritisiert", {"Sanktionen gegen Russland"}),
    ("sunny NEAR/2 capital", set()),
    ("sunny NEAR/4 capital", {"Weather report"}),
    ("title:Ukraine", {"Ukraine talks resume"}),
    ("body:Ukraine", {"Notes"}),
    ("teaser:Ukraine", set()),
    ("title:(Lavrov OR Лавров)", {"Лавров заявил о новых санкциях", "Лавров і Україна"}),
    ("Berlin AND sonnig", {"Wetter in Berlin"}),
    ("Berlin sunny", set()),
    ("Kyiv OR Киев", {"Ukraine talks resume", "Notes", "Украина и Россия"}),
    ("~Lavrov NOT sanction*", {"Лавров заявил о новых санкциях", "Лавров і Україна", "Sanktionen gegen Russland"}),
    ("~US", {"Лавров заявил о новых санкциях", "Ukraine talks resume"}),
    ("(~Lavrov OR Berlin) AND NOT (Kyiv OR Киев)", {"Лавров заявил о новых санкциях", "Sanktionen gegen Russland",
                                                   "Markets rally", "Wetter in Berlin", "Лавров і Україна"}),
    ("Berlin OR (sunny AND NOT Kyiv)", {"Wetter in Berlin", "Weather report"}),
    ('sun* NEAR/5 "light breeze"', set()),
    ('sun* NEAR/8 "light breeze"', {"Weather report"}),
]


@dataclass
class Archived:
    store: Store
    archive: Archive
    settings: StorageSettings


def add(store: Store, archive: Archive, n: int, language: str | None, headline: str, body: str,
        *, index: bool = True, published: datetime | None = None) -> StoredArticle:
    """An article stored as the pipeline stores it (text file, row, then the index entry)."""
    article = Article(url=f"https://example.org/a/{n}.html", site="example.org", family="pangea", template="t",
                      article_id=str(n), language=language, headline=headline,
                      published=published or T0 - timedelta(hours=n))
    path = f"example.org/2024/03/01/{n}.txt"
    archive.put(path, body, None, claimed=store.path_claimed)
    stored = store.add_article(article, canonical=article.url, url_hash=f"{n:016d}", folder="example.org/2024/03/01",
                               revision=NewRevision(number=0, content_hash=hashlib.sha256(body.encode()).hexdigest(),
                                                    size=len(body.encode()), text_path=path, raw_path=None,
                                                    fetched_at=T0, origin="fetch"),
                               urls=[article.url], signature=None)
    assert isinstance(stored, StoredArticle)
    if index:
        index_recorded(store, Indexable.recorded(stored, 0, body))
    return stored


@pytest.fixture(name="archived", params=["sqlite", "postgres"])
def archived_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Archived]:
    url = request.getfixturevalue("pg_url") if request.param == "postgres" else None
    settings = StorageSettings(url=url, archive_root=tmp_path / "archive", fsync=False)
    store = Store.open(settings)
    archive = Archive(settings.archive_root, fsync=False)
    try:
        for n, (language, headline, body) in enumerate(CORPUS):
            add(store, archive, n, language, headline, body)
        yield Archived(store, archive, settings)
    finally:
        store.close()


def _found(service: SearchService, query: str) -> list[str]:
    return [hit.article.headline for hit in service.matches(service.parse(query), SearchFilters())]


def test_every_operator_finds_what_a_linear_scan_finds(archived: Archived) -> None:
    indexed = SearchService(archived.store, archived.archive, IndexCandidates(archived.store))
    scan = SearchService(archived.store, archived.archive, StoreScan(archived.store))
    for query, expected in QUERIES:
        truth = _found(scan, query)
        assert set(truth) == expected, (query, truth)
        assert _found(indexed, query) == truth, query


def test_the_index_narrows_the_candidates(archived: Archived) -> None:
    """Not a scan in disguise: a selective query reads only the articles that may match."""
    source = IndexCandidates(archived.store)
    for query, expected in QUERIES:
        node = parse_query(query)
        candidates = {c.article.headline for c in source.candidates(node, SearchFilters())}
        assert expected <= candidates, query
        if index_query(node) is not None and query != "(~Lavrov OR Berlin) AND NOT (Kyiv OR Киев)":
            assert len(candidates) < len(CORPUS), query
    berlin = {c.article.headline for c in source.candidates(parse_query("Berlin"), SearchFilters())}
    assert berlin == {"Wetter in Berlin"}


def test_filters_apply_to_the_candidates(archived: Archived) -> None:
    service = SearchService(archived.store, archived.archive)
    assert [h.article.headline for h in service.search("~Lavrov", SearchFilters(language="de")).hits] == [
        "Sanktionen gegen Russland"]


def test_candidates_come_newest_first_as_a_scan_gives_them_across_batches(archived: Archived) -> None:
    """Many articles within one second (and in the next), read two at a time: the same order as the scan's."""
    for n in range(20, 31):
        at = T0 + timedelta(days=1, microseconds=(n * 7919) % 1000) if n < 28 else T0 + timedelta(days=1, seconds=1)
        add(archived.store, archived.archive, n, "de", f"Berlin {n}", "Berlin Berlin", published=at)
    node = parse_query("Berlin")
    for filters in (SearchFilters(), SearchFilters(since=T0.date() + timedelta(days=1)),
                    SearchFilters(until=T0.date())):
        scanned = [c.article.key for c in StoreScan(archived.store, batch=3).candidates(node, filters)
                   if "Berlin" in c.article.headline]
        indexed = [c.article.key for c in IndexCandidates(archived.store, batch=2).candidates(node, filters)]
        assert indexed == scanned and scanned, filters


def test_an_article_the_index_lacks_is_still_found(archived: Archived) -> None:
    """Stored by a writer that could not index it: it is pending, and read beside the index's matches; many pending
    (an archive older than the index): searches scan instead."""
    add(archived.store, archived.archive, 50, "en", "Unindexed", "Berlin marathon results", index=False)
    source = IndexCandidates(archived.store)
    service = SearchService(archived.store, archived.archive, source)
    assert source.covers_archive()
    assert _found(service, "Berlin") == ["Wetter in Berlin", "Unindexed"]
    status = SearchIndex(archived.store.engine).status()
    assert status.missing == 1 and status.pending == 1
    scanning = SearchService(archived.store, archived.archive, IndexCandidates(archived.store, max_pending=0))
    assert not IndexCandidates(archived.store, max_pending=0).covers_archive()
    assert _found(scanning, "Berlin") == ["Wetter in Berlin", "Unindexed"]
    SearchIndex(archived.store.engine).rebuild(archived.archive)
    assert SearchIndex(archived.store.engine).status().pending == 0
    assert _found(service, "Berlin") == ["Wetter in Berlin", "Unindexed"]


def test_a_rebuild_gives_the_same_contents_and_resumes_where_it_stopped(archived: Archived) -> None:
    index = SearchIndex(archived.store.engine)
    built = index.contents()
    assert len(built) == len(CORPUS)
    with archived.store.engine.begin() as connection:
        connection.execute(text("DELETE FROM search_documents"))
    assert index.contents() == {}

    class Interrupt(Exception):
        pass

    calls: list[tuple[int, int]] = []

    def stop_after_two_batches(done: int, total: int) -> None:
        calls.append((done, total))
        if len(calls) == 3:  # the call before the first batch, then one per batch
            raise Interrupt

    with pytest.raises(Interrupt):
        index.rebuild(archived.archive, batch=2, progress=stop_after_two_batches)
    status = index.status()
    assert status.indexed == 4 and status.rebuild_next_pk is not None
    assert calls == [(0, len(CORPUS)), (2, len(CORPUS)), (4, len(CORPUS))]
    calls.clear()
    assert index.rebuild(archived.archive, batch=2, progress=lambda d, t: calls.append((d, t))) \
        == len(CORPUS) - 4
    assert calls[0] == (4, len(CORPUS)) and calls[-1] == (len(CORPUS), len(CORPUS))
    assert index.contents() == built
    assert index.status().rebuild_next_pk is None
    assert index.rebuild(archived.archive, restart=True) == len(CORPUS)
    assert index.contents() == built


def test_the_same_tokens_on_both_backends(tmp_path: Path, pg_url: str) -> None:
    """Both backends hold the same analysed tokens for the same articles."""
    contents = []
    for url, name in ((None, "sqlite"), (pg_url, "postgres")):
        settings = StorageSettings(url=url, archive_root=tmp_path / name, fsync=False)
        with Store.open(settings) as store:
            archive = Archive(settings.archive_root, fsync=False)
            for n, (language, headline, body) in enumerate(CORPUS):
                add(store, archive, n, language, headline, body)
            contents.append(_token_sets(store))
    assert contents[0] == contents[1]


def _token_sets(store: Store) -> dict[int, dict[str, set[str]]]:
    """Per article, per field (A/B/D on PostgreSQL), its tokens."""
    found: dict[int, dict[str, set[str]]] = {}
    for pk, (_, stored) in SearchIndex(store.engine).contents().items():
        fields: dict[str, set[str]] = {"title": set(), "teaser": set(), "body": set()}
        if store.engine.dialect.name == "postgresql":
            for lexeme in stored.split(" "):
                token, _, positions = lexeme.rpartition(":")
                for position in positions.split(","):
                    fields[{"A": "title", "B": "teaser"}.get(position[-1], "body")].add(token.strip("'"))
        else:
            title, teaser, body = stored.split("|")
            fields = {"title": set(title.split()), "teaser": set(teaser.split()), "body": set(body.split())}
        found[pk] = fields
    return found


# --- kept in step with the pipeline -------------------------------------------------------------------------------


@pytest.fixture(name="pipeline_env", params=["sqlite", "postgres"])
def pipeline_env_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Archived]:
    url = request.getfixturevalue("pg_url") if request.param == "postgres" else None
    settings = StorageSettings(url=url, archive_root=tmp_path / "archive", fsync=False)
    store = Store.open(settings)
    try:
        yield Archived(store, Archive(settings.archive_root, fsync=False), settings)
    finally:
        store.close()


def _candidates(store: Store, query: str) -> set[str]:
    return {c.article.key for c in IndexCandidates(store).candidates(parse_query(query),
                                                                                         SearchFilters())}


def test_ingest_revision_and_reparse_keep_the_index_in_step(pipeline_env: Archived) -> None:
    store, archive, registry = pipeline_env.store, pipeline_env.archive, default_registry()
    first = ingest_page(store, archive, registry, synth_page(1), article_url(1), fetched_at=T0, clock=utc_now)
    ingest_page(store, archive, registry, synth_page(2), article_url(2), fetched_at=T0, clock=utc_now)
    index = SearchIndex(store.engine)
    assert index.contents()[first.stored.pk][0] == 0
    old_words = set(first.text.split())
    revised = ingest_page(store, archive, registry, synth_page(1, edit=1), article_url(1), fetched_at=T0, clock=utc_now)
    assert revised.status == "revised"
    assert index.contents()[first.stored.pk][0] == 1
    gone = sorted(w for w in old_words - set(revised.text.split()) if w.isalpha() and len(w) > 8)[0]
    new = sorted(w for w in set(revised.text.split()) - old_words if w.isalpha() and len(w) > 8)[0]
    assert first.stored.key not in _candidates(store, f"={gone}")
    assert first.stored.key in _candidates(store, f"={new}")
    # A reparse indexes the article again, even when its text stays the same.
    built = index.contents()
    with store.engine.begin() as connection:
        connection.execute(text("DELETE FROM search_documents WHERE article_pk = :pk"), {"pk": first.stored.pk})
    assert first.stored.pk not in index.contents()
    result = reparse_article(store, archive, registry, revised.stored, clock=utc_now)
    assert result is not None and result.status == "seen"
    assert index.contents() == built
    assert index.status().stale == 0


# --- the commands ---------------------------------------------------------------------------------------------------


def _env(settings: StorageSettings) -> dict[str, str]:
    env = {"MONITOR_STORAGE__ARCHIVE_ROOT": str(settings.archive_root)}
    if settings.url:
        env["MONITOR_STORAGE__URL"] = settings.url
    return env


def test_index_commands(archived: Archived) -> None:
    env = _env(archived.settings)
    with archived.store.engine.begin() as connection:
        connection.execute(text("DELETE FROM search_documents WHERE article_pk IN "
                                "(SELECT id FROM articles WHERE headline = 'Notes')"))
    status = CliRunner().invoke(app, ["index", "status"], env=env)
    assert status.exit_code == 0, status.output
    assert f"articles: {len(CORPUS)}" in status.output and "missing: 1" in status.output
    assert "monitor index rebuild" in status.output
    rebuilt = CliRunner().invoke(app, ["index", "rebuild"], env=env)
    assert rebuilt.exit_code == 0, rebuilt.output
    assert f"{len(CORPUS)} article(s) indexed" in rebuilt.output
    status = CliRunner().invoke(app, ["index", "status"], env=env)
    assert "missing: 0" in status.output and "stale: 0" in status.output


def test_rules_test_takes_its_candidates_from_the_index(archived: Archived) -> None:
    env = _env(archived.settings)
    found = CliRunner().invoke(app, ["rules", "test", "Berlin"], env=env)
    assert found.exit_code == 0, found.output
    assert "Wetter in Berlin" in found.output and "1 match(es) in 1 article(s)" in found.output
    # An entry emptied behind the index's back: rules test no longer sees the article, so it asked the index.
    with archived.store.engine.begin() as connection:
        emptied = ("title = '', teaser = '', body = ''" if archived.store.engine.dialect.name == "sqlite"
                   else "tokens = ''::tsvector")
        connection.execute(text(f"UPDATE search_documents SET {emptied} WHERE article_pk IN "
                                "(SELECT id FROM articles WHERE headline = 'Wetter in Berlin')"))
    missed = CliRunner().invoke(app, ["rules", "test", "Berlin"], env=env)
    assert missed.exit_code == 0, missed.output
    assert "0 match(es)" in missed.output
    # Texts taken in another language than stored are all read (the index was built with the stored ones).
    scanned = CliRunner().invoke(app, ["rules", "test", "Berlin", "--language", "de"], env=env)
    assert "Wetter in Berlin" in scanned.output and f"in {len(CORPUS)} article(s)" in scanned.output


def test_a_sqlite_without_fts5_is_refused_in_one_line() -> None:
    """The migration asks SQLite for FTS5 before creating anything, and says what to do without it."""
    import importlib.util

    from sqlalchemy.exc import OperationalError

    from monitor.errors import StoreError
    from monitor.store.migrate import MIGRATIONS

    spec = importlib.util.spec_from_file_location("search_migration", MIGRATIONS / "versions/0006_search_index.py")
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)

    class NoFts5:
        def exec_driver_sql(self, statement: str) -> object:
            if "fts5" in statement:
                raise OperationalError(statement, {}, Exception("no such module: fts5"))
            return type("Result", (), {"scalar": staticmethod(lambda: "3.31.0")})()

    with pytest.raises(StoreError, match=r"SQLite \(3\.31\.0\) has no FTS5.*PostgreSQL"):
        migration._check_fts5(NoFts5())


def test_a_text_file_gone_missing_keeps_the_index_whole(archived: Archived) -> None:
    """The article is indexed by its headline alone: the index still covers the archive (searches stay on it)."""
    (archived.archive.root / "example.org/2024/03/01/4.txt").unlink()  # "Wetter in Berlin"
    index = SearchIndex(archived.store.engine)
    assert index.rebuild(archived.archive, restart=True) == len(CORPUS)
    assert index.status().missing == 0
    source = IndexCandidates(archived.store)
    assert source.covers_archive()
    service = SearchService(archived.store, archived.archive, source)
    assert _found(service, "sonnig") == []
    assert [c.article.headline for c in source.candidates(parse_query("title:Wetter"), SearchFilters())] == [
        "Wetter in Berlin"]

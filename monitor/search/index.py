"""The search index: each article's latest text as analysed tokens (:mod:`monitor.search.tokens`), in SQLite FTS5 or
PostgreSQL full text, and the :class:`IndexCandidates` that answer a query from it.

A query of the rule language is translated into an index query that finds a *superset* of its matches: words,
wildcards, fields, AND and OR as they are; a phrase or NEAR as AND of its words (the index keeps no positions: the
evaluator checks order and distance); NOT as no restriction (a superset of the words it excludes may hold articles
that do match). :class:`~monitor.search.SearchService` then evaluates the rule language on each candidate for the
exact match and the highlights, so results are the same as with a linear scan, whatever the backend.

Candidates come newest first, a batch at a time, by the article's date order (:func:`date_order`): the FTS rowid on
SQLite, a btree-indexed column on PostgreSQL, so neither sorts every match of a common word. PostgreSQL walks that
order testing each row only for a bounded number of the newest rows, then takes the rest from the GIN index
(:meth:`SearchIndex.newest_orders`): a word common overall but absent from the newest articles is not tested row by
row down the whole archive.

Written on ingest (new and revised texts: :func:`index_recorded` right after each in the daemon, batched by a
:class:`~monitor.search.writer.IndexWriter` in ``monitor ingest``), on reparse, and by
:meth:`SearchIndex.rebuild` for an archive that predates it (``monitor index rebuild``, resumable).
"""

from __future__ import annotations

import heapq
import logging
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import column, func, select, table, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from monitor.clock import Clock, utc_now
from monitor.errors import ArchiveError, StoreError
from monitor.rules.query import And, Near, Node, Not, Or, Phrase
from monitor.search.candidates import (
    Candidate,
    Database,
    SearchFilters,
    StoreScan,
    candidate_from_row,
    candidate_select,
)
from monitor.search.schema import ARTICLES as _ARTICLES
from monitor.search.schema import REVISIONS as _REVISIONS
from monitor.search.tokens import (
    FIELDS,
    AllOf,
    DocumentTokens,
    IndexQuery,
    Term,
    all_of,
    any_of,
    document_tokens,
    word_tokens,
)
from monitor.store.engine import database_errors, describe

if TYPE_CHECKING:
    from monitor.archive import Archive
    from monitor.model import StoredArticle
    from monitor.store import Store

log = logging.getLogger("monitor.search")
_WEIGHTS = {"title": "A", "teaser": "B", "body": "D"}
_REBUILD_NEXT = "rebuild_next_pk"
_REBUILD_STARTED = "rebuild_started"
#: Articles whose latest revision the index lacks: written by a trigger in the transaction that records a revision
#: (migration 0007), deleted by the index write of that revision. A failed or interrupted index write leaves the
#: article here, which is what `monitor index status` counts, searches read beside the index, and
#: :meth:`SearchIndex.catch_up` (the daemon's housekeeping, `monitor index catch-up`) indexes.
_PENDING_TABLE = table("search_pending", column("article_pk"), column("revision"))
_DONE = text("DELETE FROM search_pending WHERE article_pk = :pk AND revision <= :revision")


# --- the index query as FTS5 MATCH and as tsquery ---------------------------------------------------------------


def index_query(node: Node) -> IndexQuery | None:
    """What the index is asked for ``node``: a superset of its matches (None: no restriction)."""
    if isinstance(node, Phrase):
        return all_of(_term(word, node.field) for word in node.words)
    if isinstance(node, And):
        return all_of(index_query(c) for c in node.children)
    if isinstance(node, Or):
        return any_of(index_query(c) for c in node.children)
    if isinstance(node, Near):
        return all_of((index_query(node.left), index_query(node.right)))
    assert isinstance(node, Not)
    return None


def _term(word: Any, field: str | None) -> Term | None:
    tokens, prefix = word_tokens(word)
    return Term(tokens, prefix, field) if tokens else None  # no token to ask for: no restriction


def fts5_match(query: IndexQuery) -> str:
    """``query`` as an FTS5 MATCH expression."""
    if isinstance(query, Term):
        star = "*" if query.prefix else ""
        alternatives = " OR ".join(f'"{t}"{star}' for t in sorted(query.tokens))
        inner = f"({alternatives})" if len(query.tokens) > 1 else alternatives
        return f"{{{query.field}}} : {inner}" if query.field else inner
    joiner = " AND " if isinstance(query, AllOf) else " OR "
    return "(" + joiner.join(fts5_match(c) for c in query.children) + ")"


def tsquery(query: IndexQuery, *, fields: bool = True) -> str:
    """``query`` as a tsquery literal (lexemes as they are; weights for fields, unless not ``fields``: then the words
    in any field, what the GIN index answers without reading each match's tsvector)."""
    if isinstance(query, Term):
        weight = _WEIGHTS[query.field] if query.field and fields else ""
        suffix = ("*" if query.prefix else "") + weight
        marks = f":{suffix}" if suffix else ""
        alternatives = " | ".join(f"'{t}'{marks}" for t in sorted(query.tokens))
        return f"({alternatives})" if len(query.tokens) > 1 else alternatives
    joiner = " & " if isinstance(query, AllOf) else " | "
    return "(" + joiner.join(tsquery(c, fields=fields) for c in query.children) + ")"


def _has_fields(query: IndexQuery) -> bool:
    """Whether ``query`` names a field anywhere (its tsquery has weights, which the GIN index cannot check)."""
    if isinstance(query, Term):
        return query.field is not None
    return any(_has_fields(c) for c in query.children)


def _tsvector(fields: DocumentTokens) -> str:
    """A tsvector literal: every token once per field, the field as weight (one shared position per field)."""
    by_token: dict[str, list[str]] = {}
    for position, name in enumerate(FIELDS, 1):
        for token in fields[name]:
            by_token.setdefault(token, []).append(f"{position}{_WEIGHTS[name]}")
    return " ".join(f"'{t}':{','.join(p)}" for t, p in sorted(by_token.items()))


# --- the index ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IndexStatus:
    backend: str  # "sqlite-fts5" or "postgresql"
    articles: int
    indexed: int  # articles with an index entry
    stale: int  # whose entry is of an older revision than their latest
    pending: int  # whose latest revision is not indexed yet (missing or stale): what a catch-up indexes
    rebuild_next_pk: int | None  # an unfinished rebuild goes on from this article id
    size_bytes: int | None  # what the index takes on disk, where the database says

    @property
    def missing(self) -> int:
        return self.articles - self.indexed


@dataclass(frozen=True, slots=True)
class Indexable:
    """What is indexed of one article: the search evaluates the headline as title and the latest archive text as
    body (see SearchService), so those are what the index holds."""

    pk: int
    revision: int
    headline: str
    language: str | None
    text: str
    at: datetime  # the article's date (published, else first seen): where it stands in newest-first order
    tokens: DocumentTokens | None = None  # made already (by a parse worker), else made on writing

    @classmethod
    def recorded(cls, stored: StoredArticle, revision: int, text_: str,
                 tokens: DocumentTokens | None = None) -> Indexable:
        """The entry of ``revision`` of ``stored``, just recorded with this text."""
        return cls(stored.pk, revision, stored.headline, stored.language, text_, stored.published or stored.first_seen,
                   tokens)


_ID_BITS = 30  # article ids below 2^30 (a billion); seconds from 1902 to 2106 above them
_SECOND = 1 << _ID_BITS
#: PostgreSQL walks at most this many of the newest rows per match asked for, testing each (see
#: :meth:`SearchIndex._bounded_walk`): a word in one in five of them fills its batch from the walk alone.
_WALK = 5


def date_order(at: datetime, pk: int) -> int:
    """The SQLite index's rowid for an article: its date's second, then its id, so FTS5 can give a query's matches
    newest first without sorting them (the search orders by the exact date; ties within a second are settled then).
    """
    if not 0 < pk < _SECOND:
        raise StoreError(f"article id {pk}: the search index orders ids below {_SECOND} only")
    return _second_order(at) | pk


_EDGE = 1 << 31


def _seconds(at: datetime) -> int:
    return math.floor((at.replace(tzinfo=UTC) if at.tzinfo is None else at).timestamp())


def _second_order(at: datetime) -> int:
    """The order of ``at``'s second (dates beyond 1902-2106 count as the first or last second: a wrong year)."""
    return (min(max(_seconds(at), -_EDGE), _EDGE - 1) + _EDGE) << _ID_BITS


def _bound(at: datetime | None) -> int | None:
    """A filter's date as an order bound; None where it bounds nothing (beyond the orders' range)."""
    return _second_order(at) if at is not None and -_EDGE < _seconds(at) < _EDGE - 1 else None


def _order_range(order: str, below: int | None, at_least: int | None) -> tuple[list[str], dict[str, Any]]:
    """The conditions (on the column ``order``) and values of the date order range [at_least, below)."""
    conditions: list[str] = []
    values: dict[str, Any] = {}
    if below is not None:
        conditions.append(f"{order} < :below")
        values["below"] = below
    if at_least is not None:
        conditions.append(f"{order} >= :at_least")
        values["at_least"] = at_least
    return conditions, values


def tokens_of(item: Indexable) -> DocumentTokens:
    return item.tokens if item.tokens is not None else document_tokens(item.headline, item.text, item.language)


class SearchIndex:
    """Reads and writes the search tables of one database (created by migration 0005). ``clock``: when a rebuild
    started (recorded with it)."""

    def __init__(self, engine: Engine, *, clock: Clock = utc_now) -> None:
        self.engine = engine
        self.clock = clock
        self.postgres = engine.dialect.name == "postgresql"
        self._where = describe(engine.url)

    # writes

    def put_many(self, items: Sequence[Indexable]) -> None:
        """Index (or re-index) these articles' texts, in one transaction. An entry is never replaced by one of an
        older revision (two writers racing over one article)."""
        if not items:
            return
        # In article order, as a catch-up or rebuild writes: two writers on PostgreSQL lock the rows in one order and
        # never deadlock (a revision after its predecessor: the newer one is kept either way).
        items = sorted(items, key=lambda item: (item.pk, item.revision))
        rows = []
        for item in items:
            fields = tokens_of(item)
            if self.postgres:
                rows.append({"pk": item.pk, "revision": item.revision, "ord": date_order(item.at, item.pk),
                             "tokens": _tsvector(fields)})
            else:
                rows.append({"pk": item.pk, "revision": item.revision, "ord": date_order(item.at, item.pk),
                             **{k: " ".join(v) for k, v in fields.items()}})
        if self.postgres:
            statement = text("INSERT INTO search_documents (article_pk, revision, ord, tokens) "
                             "VALUES (:pk, :revision, :ord, CAST(:tokens AS tsvector)) ON CONFLICT (article_pk) "
                             "DO UPDATE SET revision = excluded.revision, ord = excluded.ord, tokens = excluded.tokens "
                             "WHERE excluded.revision >= search_documents.revision")
        else:
            statement = text("INSERT INTO search_documents (ord, article_pk, revision, title, teaser, body) "
                             "VALUES (:ord, :pk, :revision, :title, :teaser, :body) ON CONFLICT (article_pk) DO UPDATE "
                             "SET ord = excluded.ord, revision = excluded.revision, title = excluded.title, "
                             "teaser = excluded.teaser, "
                             "body = excluded.body WHERE excluded.revision >= search_documents.revision")
        with database_errors(self._where, "write the search index"), self.engine.begin() as connection:
            connection.execute(statement, rows)
            # Caught up: no longer pending (unless a newer revision was recorded meanwhile).
            connection.execute(_DONE, [{"pk": item.pk, "revision": item.revision} for item in items])

    def put(self, item: Indexable) -> None:
        self.put_many([item])

    # reads

    def contents(self) -> dict[int, tuple[int, str]]:
        """Every entry: article id -> (revision, tokens as stored), to compare two builds."""
        columns = "tokens::text" if self.postgres else "title || '|' || teaser || '|' || body"
        with self.engine.connect() as connection:
            rows = connection.execute(text(f"SELECT article_pk, revision, {columns} FROM search_documents"))
            return {pk: (revision, tokens) for pk, revision, tokens in rows}

    def newest_orders(self, query: IndexQuery, *, below: int | None, at_least: int | None,
                      limit: int | None) -> list[int]:
        """The date orders (see :func:`date_order`) ``query`` finds, newest first, in [at_least, below), at most
        ``limit``.

        SQLite: FTS5's rowid is the order. PostgreSQL: see :meth:`_bounded_walk`."""
        if self.postgres and limit is not None:
            return self._bounded_walk(query, below=below, at_least=at_least, limit=limit)
        conditions, values = _order_range("rowid" if not self.postgres else "ord", below, at_least)
        if self.postgres:
            conditions.insert(0, "tokens @@ CAST(:q AS tsquery)")
            sql = f"SELECT ord FROM search_documents WHERE {' AND '.join(conditions)} ORDER BY ord DESC"
            values["q"] = tsquery(query)
        else:
            conditions.insert(0, "search_fts MATCH :q")
            sql = f"SELECT rowid FROM search_fts WHERE {' AND '.join(conditions)} ORDER BY rowid DESC"
            values["q"] = fts5_match(query)
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with self.engine.connect() as connection:
            return list(connection.execute(text(sql), values).scalars())

    def _bounded_walk(self, query: IndexQuery, *, below: int | None, at_least: int | None, limit: int) -> list[int]:
        """PostgreSQL's newest matches in two parts, each of a bounded cost whatever the word's distribution.

        Left to itself, the planner walks ``ord``'s btree from the newest end testing each row (reading its toasted
        tsvector) when it takes the word for a common one: fast where its matches are dense among the newest rows,
        but a word common overall and absent from (or rare among) the newest ones makes it test most of the table.
        So the statement is asked of the newest :data:`_WALK` x ``limit`` rows of the range only (walked for a
        common word, found by the GIN index for a rare one): a word in one in :data:`_WALK` of them fills the batch
        there. Short of a batch, the rest comes from the GIN index below those rows, sorted by order (no tsvector
        read, but to check a field). The two parts are disjoint ranges split at a row found first: the same matches
        in the same order as one statement gives."""
        if limit < 1:
            return []
        conditions, values = _order_range("ord", below, at_least)
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        with self.engine.connect() as connection:
            floor = connection.execute(  # the oldest row of the walked part: None when the range has fewer rows
                text(f"SELECT ord FROM search_documents{where} ORDER BY ord DESC OFFSET :skip LIMIT 1"),
                {**values, "skip": _WALK * limit - 1}).scalar_one_or_none()
            q = tsquery(query)
            if floor is not None:
                conditions.append("ord >= :floor")
                values["floor"] = floor
            conditions.insert(0, "tokens @@ CAST(:q AS tsquery)")
            found = list(connection.execute(text(
                f"SELECT ord FROM search_documents WHERE {' AND '.join(conditions)} ORDER BY ord DESC LIMIT :n"),
                {**values, "q": q, "n": limit}).scalars())
            if len(found) == limit or floor is None:
                return found
            # Below the walked part, from the GIN index. `ord + 0` leaves the btree no use (neither its order, which
            # would be the walk again, nor its range, which would test every row of it); a seq scan, which the
            # planner costs as cheap for a common word, would test every row's tsvector: off for this transaction.
            # So is JIT, which the field check's estimate (every match checked, where a few are) would start.
            connection.execute(text("SELECT set_config('enable_seqscan', 'off', true), set_config('jit', 'off', true)"))
            rest = ["ord + 0 < :floor"]
            values = {"q": q, "floor": floor, "n": limit - len(found)}
            if at_least is not None:
                rest.append("ord + 0 >= :at_least")
                values["at_least"] = at_least
            if not _has_fields(query):  # the index's matches are the query's: their orders, sorted, suffice
                sql = (f"SELECT ord FROM search_documents WHERE tokens @@ CAST(:q AS tsquery) AND {' AND '.join(rest)} "
                       f"ORDER BY ord + 0 DESC LIMIT :n")
            else:
                # The index knows no fields: its matches of the words in any field would each be read to check the
                # field (a common word's many). So they are sorted by their orders alone and checked newest first,
                # each read by its order, until the batch is full (OFFSET 0: the check is not moved before the sort).
                values["words"] = tsquery(query, fields=False)
                sql = (f"SELECT ord FROM (SELECT ord + 0 AS ord FROM search_documents WHERE tokens @@ "
                       f"CAST(:words AS tsquery) AND {' AND '.join(rest)} ORDER BY 1 DESC OFFSET 0) AS c WHERE "
                       f"(SELECT d.tokens FROM search_documents AS d WHERE d.ord = c.ord) @@ CAST(:q AS tsquery) "
                       f"ORDER BY ord DESC LIMIT :n")
            found += connection.execute(text(sql), values).scalars()
            return found

    def status(self) -> IndexStatus:
        with database_errors(self._where, "read the search index"), self.engine.connect() as connection:
            articles = connection.execute(select(func.count()).select_from(_ARTICLES)).scalar_one()
            indexed, stale = connection.execute(text(
                "SELECT count(*), coalesce(sum(CASE WHEN d.revision < a.revision_count - 1 THEN 1 ELSE 0 END), 0) "
                "FROM search_documents d JOIN articles a ON a.id = d.article_pk")).one()
            pending = _pending_count(connection)
            state = _state(connection)
            size = self._size(connection)
        following = state.get(_REBUILD_NEXT)
        return IndexStatus("postgresql" if self.postgres else "sqlite-fts5", articles, indexed, stale, pending,
                           int(following) if following is not None else None, size)

    def _size(self, connection: Connection) -> int | None:
        if self.postgres:
            size: int = connection.execute(text("SELECT pg_total_relation_size('search_documents')")).scalar_one()
            return size
        try:  # dbstat is compiled into most SQLite builds, not all
            found = connection.execute(text(
                "SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'search%' OR name LIKE 'sqlite_autoindex_search%'"
            )).scalar_one()
        except SQLAlchemyError:  # no dbstat: the size is unknown, not an error
            return None
        return int(found or 0)

    # rebuild

    def rebuild(self, archive: Archive, *, restart: bool = False, batch: int = 500,
                progress: Callable[[int, int], None] | None = None) -> int:
        """Index every article's latest text, in article id order, remembering after each batch how far it got: an
        interrupted rebuild goes on from there (``restart``: from the start). Entries of articles no longer stored
        are removed at the end. Returns how many articles were indexed; ``progress(done, total)`` after each batch."""
        with database_errors(self._where, "rebuild the search index"):
            with self.engine.begin() as connection:
                state = _state(connection)
                if restart or _REBUILD_NEXT not in state:
                    start = 0
                    connection.execute(text("DELETE FROM search_state"))
                    connection.execute(text("INSERT INTO search_state (name, value) VALUES (:n, :v)"),
                                       [{"n": _REBUILD_NEXT, "v": "0"},
                                        {"n": _REBUILD_STARTED, "v": self.clock().astimezone().isoformat()}])
                else:
                    start = int(state[_REBUILD_NEXT])
                total = connection.execute(select(func.count()).select_from(_ARTICLES)).scalar_one()
                done = connection.execute(select(func.count()).select_from(_ARTICLES)
                                          .where(_ARTICLES.c.id < start)).scalar_one()
            if progress:
                progress(done, total)
            indexed = 0
            for items, next_pk, seen in self._batches(archive, start, batch):
                self.put_many(items)
                with self.engine.begin() as connection:
                    connection.execute(text("UPDATE search_state SET value = :v WHERE name = :n"),
                                       {"v": str(next_pk), "n": _REBUILD_NEXT})
                indexed += len(items)
                done += seen
                if progress:
                    progress(done, total)
            with self.engine.begin() as connection:
                connection.execute(text("DELETE FROM search_documents WHERE article_pk NOT IN "
                                        "(SELECT id FROM articles)"))
                connection.execute(text("DELETE FROM search_state"))
        return indexed

    def _batches(self, archive: Archive, start: int, batch: int) -> Iterator[tuple[list[Indexable], int, int]]:
        after = start - 1
        while True:
            items = self._indexables(archive, _ARTICLES.c.id > after, batch)
            if not items:
                return
            after = items[-1].pk
            yield items, after + 1, len(items)

    def _indexables(self, archive: Archive, which: Any, limit: int) -> list[Indexable]:
        """The latest texts of the articles ``which`` selects, in article id order, at most ``limit``."""
        latest = (select(_REVISIONS.c.text_path)
                  .where(_REVISIONS.c.article_pk == _ARTICLES.c.id,
                         _REVISIONS.c.number == _ARTICLES.c.revision_count - 1).scalar_subquery())
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(_ARTICLES.c.id, _ARTICLES.c.revision_count, _ARTICLES.c.headline, _ARTICLES.c.language,
                       latest.label("text_path"), _ARTICLES.c.published, _ARTICLES.c.first_seen)
                .where(which).order_by(_ARTICLES.c.id).limit(limit)).all()
        items = []
        for pk, count, headline, language, path, published, first_seen in rows:
            # A text file gone missing (`monitor archive verify` reports it): the headline alone, so the index
            # still covers every article (the search skips it when it cannot read the text).
            body = _read(archive, path) or ""
            items.append(Indexable(pk, count - 1, headline, language, body, published or first_seen))
        return items

    # catching up

    def pending(self, at_most: int) -> set[int] | None:
        """The articles whose latest revision the index lacks (see :data:`_PENDING_TABLE`); None: more than
        ``at_most``."""
        with database_errors(self._where, "read the search index"), self.engine.connect() as connection:
            found = set(connection.execute(text("SELECT article_pk FROM search_pending LIMIT :n"),
                                           {"n": at_most + 1}).scalars())
        return found if len(found) <= at_most else None

    def pending_count(self) -> int:
        with database_errors(self._where, "read the search index"), self.engine.connect() as connection:
            return _pending_count(connection)

    def catch_up(self, archive: Archive, *, limit: int | None = None, batch: int = 500) -> int:
        """Index the pending articles' latest texts (at most ``limit``), in article id order; how many were."""
        indexed, after = 0, 0
        with database_errors(self._where, "catch up the search index"):
            while limit is None or indexed < limit:
                size = batch if limit is None else min(batch, limit - indexed)
                with self.engine.connect() as connection:
                    pks = list(connection.execute(
                        select(_PENDING_TABLE.c.article_pk).where(_PENDING_TABLE.c.article_pk > after)
                        .order_by(_PENDING_TABLE.c.article_pk).limit(size)).scalars())
                items = self._indexables(archive, _ARTICLES.c.id.in_(pks), size) if pks else []
                if not items:
                    break
                self.put_many(items)
                indexed += len(items)
                after = pks[-1]
        return indexed


def _pending_count(connection: Connection) -> int:
    count: int = connection.execute(select(func.count()).select_from(_PENDING_TABLE)).scalar_one()
    return count


def _state(connection: Connection) -> dict[str, str]:
    return {name: value for name, value in connection.execute(text("SELECT name, value FROM search_state"))}


def _read(archive: Archive, path: str | None) -> str | None:
    if path is None:
        return None
    try:
        return archive.read_text(path)
    except ArchiveError:
        return None  # `monitor archive verify` reports missing files; the index leaves them out


def index_recorded(store: Store, item: Indexable) -> None:
    """Index a text just recorded (what ingest does after each new or revised text, and after a reparse, unless
    an :class:`~monitor.search.writer.IndexWriter` does it on its own thread).

    The text is archived and recorded already, with the article marked pending in the same transaction: an index
    write that fails leaves it pending (searches still find it; a catch-up indexes it), so the failure is logged
    here and the text goes on to its alerts."""
    try:
        SearchIndex(store.engine).put(item)
    except StoreError as exc:
        log.warning("search index: article %d left pending (%s)", item.pk, exc)


# --- candidates ----------------------------------------------------------------------------------------------------


class IndexCandidates:
    """The articles the index finds for a query and the filters, newest first (a superset of the matches). A query
    the index cannot narrow (none, or only NOT) is every article the filters select, as :class:`StoreScan` gives.

    Articles pending (archived, their latest revision not indexed yet: an index write that failed or has not run
    yet) are read beside the index's matches, so a search never misses one; more than ``max_pending`` of them (an
    archive that predates the index: ``monitor index rebuild``), and the search scans instead."""

    def __init__(self, store: Database, *, batch: int = 200, max_batch: int = 5000, max_pending: int = 1000) -> None:
        self._store = store
        self._index = SearchIndex(store.engine)
        self._where = describe(store.engine.url)
        self._scan = StoreScan(store, batch)
        self._batch = batch
        self._max_batch = max_batch
        self._max_pending = max_pending

    def covers_archive(self) -> bool:
        """Whether searches are answered from the index (with its few pending articles), not by a scan."""
        return self._index.pending(self._max_pending) is not None

    def candidates(self, node: Node | None, filters: SearchFilters) -> Iterator[Candidate]:
        query = index_query(node) if node is not None else None
        pending = self._index.pending(self._max_pending) if query is not None else None
        if query is None or pending is None:
            yield from self._scan.candidates(node, filters)
            return
        found = self._matching(query, filters)
        if pending:  # their index entries (if any) are of older texts: the pending articles stand for them
            yield from heapq.merge(self._pending(pending, filters),
                                   (c for c in found if c.article.pk not in pending), key=_newest, reverse=True)
        else:
            yield from found

    def _pending(self, pks: set[int], filters: SearchFilters) -> list[Candidate]:
        base, conditions = candidate_select(filters)
        with database_errors(self._where, "search the index"), self._store.engine.connect() as connection:
            rows = connection.execute(base.where(_ARTICLES.c.id.in_(pks), *conditions)).all()
        return sorted((candidate_from_row(row._mapping) for row in rows), key=_newest, reverse=True)

    def _matching(self, query: IndexQuery, filters: SearchFilters) -> Iterator[Candidate]:
        # A database without the index tables, or unreachable: one StoreError naming it.
        with database_errors(self._where, "search the index"):
            yield from self._matching_ordered(query, filters)

    def _matching_ordered(self, query: IndexQuery, filters: SearchFilters) -> Iterator[Candidate]:
        """The index gives the matches by date order, newest first, a batch at a time (each batch ends at a whole
        second, whose articles are then put in exact date order): no sorting of every match of a common word."""
        base, conditions = candidate_select(filters)
        at_least, below = _bound(filters.start), _bound(filters.end)
        batch = self._batch
        while True:
            orders = self._index.newest_orders(query, below=below, at_least=at_least, limit=batch)
            full = len(orders) == batch
            if full:  # the rest of the last one's second, so that a second is never split between batches
                floor = orders[-1] >> _ID_BITS << _ID_BITS
                orders += self._index.newest_orders(query, below=orders[-1], at_least=max(floor, at_least or floor),
                                                    limit=None)
                below = floor
            if orders:
                ids = [order & (_SECOND - 1) for order in orders]
                with self._store.engine.connect() as connection:
                    rows = connection.execute(base.where(_ARTICLES.c.id.in_(ids), *conditions)).all()
                found = [candidate_from_row(row._mapping) for row in rows]
                found.sort(key=_newest, reverse=True)
                yield from found
            if not full:
                return
            batch = min(batch * 2, self._max_batch)


def _newest(candidate: Candidate) -> tuple[datetime, int]:
    """Newest-first order, as the index and a scan give candidates: the date, then the article id."""
    return candidate.when, candidate.article.pk

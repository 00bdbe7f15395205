"""What a search's candidates are and where they come from, shared by the search service
(:mod:`monitor.search.service`) and the search index (:mod:`monitor.search.index`), which both import it (and not
each other's internals): the filters (:class:`SearchFilters`), a candidate (:class:`Candidate`), the select of
candidate rows (:func:`candidate_select`, :func:`candidate_from_row`) and the linear scan (:class:`StoreScan`).

Every database read here and in the index goes through the store's error translation
(:func:`monitor.store.engine.database_errors`): trouble is a StoreError naming the database.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import func, tuple_
from sqlalchemy import select as sa_select

from monitor.model import StoredArticle
from monitor.search.schema import ARTICLES as _ARTICLES
from monitor.search.schema import REVISIONS as _REVISIONS
from monitor.search.schema import STORIES
from monitor.store.engine import database_errors, describe

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from monitor.rules.query import Node


# An article's date: when it was published, else when it was first seen (undated pages exist). (Lower case: ruff
# takes capitals for a constant and would turn comparisons with it round.)
article_date = func.coalesce(_ARTICLES.c.published, _ARTICLES.c.first_seen)
_BATCH = 200


@dataclass(frozen=True, slots=True)
class SearchFilters:
    """What narrows a search besides the query. ``since`` and ``until`` are whole UTC days, both included."""

    site: str | None = None
    language: str | None = None
    section: str | None = None
    since: date | None = None
    until: date | None = None

    @property
    def start(self) -> datetime | None:
        return datetime.combine(self.since, time.min, UTC) if self.since else None

    @property
    def end(self) -> datetime | None:
        """The first instant after the range (``until`` is included)."""
        return datetime.combine(self.until + timedelta(days=1), time.min, UTC) if self.until else None


@dataclass(frozen=True, slots=True)
class Candidate:
    """A stored article a query may match, with what the search needs beyond :class:`StoredArticle`."""

    article: StoredArticle
    section: str | None
    text_path: str | None  # the latest revision's archive text

    @property
    def when(self) -> datetime:
        return self.article.when


class Database(Protocol):
    """What the search needs of the store: its engine. A :class:`~monitor.store.Store`, or the engine a read-only
    command opened without the store's ORM (:attr:`monitor.services.Opened.reader`)."""

    @property
    def engine(self) -> Engine: ...


class CandidateSource(Protocol):
    """Supplies the articles a query may match, newest first: the search index
    (:class:`~monitor.search.index.IndexCandidates`), or :class:`StoreScan` (every article the filters select)."""

    def candidates(self, node: Node | None, filters: SearchFilters) -> Iterator[Candidate]: ...


def candidate_select(filters: SearchFilters) -> tuple[Any, list[Any]]:
    """The select of candidate rows (an article, its story key, its latest text's path, its date as ``at``) and the
    conditions the filters put on it: what a linear scan and the index both narrow further."""
    latest = (sa_select(_REVISIONS.c.text_path).where(_REVISIONS.c.article_pk == _ARTICLES.c.id,
                                                      _REVISIONS.c.number == _ARTICLES.c.revision_count - 1)
              .scalar_subquery())
    base = (sa_select(*ARTICLE_COLUMNS, STORIES.c.key.label("story_key"), latest.label("text_path"),
                      article_date.label("at"))
            .select_from(_ARTICLES.outerjoin(STORIES, STORIES.c.id == _ARTICLES.c.story_id)))
    conditions: list[Any] = []
    if filters.site:
        conditions.append(_ARTICLES.c.site == filters.site)
    if filters.language:
        conditions.append(_ARTICLES.c.language == filters.language)
    if filters.section:
        conditions.append(_ARTICLES.c.section == filters.section)
    if filters.start:
        conditions.append(article_date >= filters.start)
    if filters.end:
        conditions.append(article_date < filters.end)
    return base, conditions


class StoreScan:
    """Every article the filters select, newest first, read from the database in batches (keyset paging, so an
    ingest running meanwhile neither repeats nor skips one). It ignores the query: the evaluator decides."""

    def __init__(self, store: Database, batch: int = _BATCH) -> None:
        self._store = store
        self._batch = batch

    def candidates(self, node: Node | None, filters: SearchFilters) -> Iterator[Candidate]:
        after: tuple[datetime, int] | None = None
        while True:
            stmt = self.page(filters, after)
            with database_errors(describe(self._store.engine.url), "read the articles"), \
                    self._store.engine.connect() as connection:
                rows = connection.execute(stmt).all()
            for row in rows:
                yield candidate_from_row(row._mapping)
            if len(rows) < self._batch:
                return
            last = rows[-1]._mapping
            after = (last["at"], last["id"])

    def page(self, filters: SearchFilters, after: tuple[datetime, int] | None) -> Any:
        """The select of the next batch: the newest articles older than ``after`` (date, id), read in the order of
        the ``ix_articles_date`` index, so a page costs the same at any depth instead of sorting every article."""
        base, conditions = candidate_select(filters)
        stmt = base.where(*conditions)
        if after is not None:
            # A row value: both databases seek to it in the index (an OR of the two cases made them scan).
            stmt = stmt.where(tuple_(article_date, _ARTICLES.c.id) < tuple_(*after))
        return stmt.order_by(article_date.desc(), _ARTICLES.c.id.desc()).limit(self._batch)


# What a Candidate is made of (the index's queries will select these too).
ARTICLE_COLUMNS = [_ARTICLES.c[name] for name in (
    "id", "key", "site", "article_id", "canonical_url", "url_hash", "folder", "headline", "language", "published",
    "first_seen", "last_seen", "revision_count", "section")]


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def candidate_from_row(data: Any) -> Candidate:
    """A Candidate from a row of ARTICLE_COLUMNS plus ``story_key`` and ``text_path`` (None: not read)."""
    first_seen = _utc(data["first_seen"])
    last_seen = _utc(data["last_seen"])
    assert first_seen is not None and last_seen is not None
    article = StoredArticle(
        pk=data["id"], key=data["key"], site=data["site"], article_id=data["article_id"],
        canonical_url=data["canonical_url"], url_hash=data["url_hash"], folder=data["folder"],
        headline=data["headline"], language=data["language"], published=_utc(data["published"]),
        first_seen=first_seen, last_seen=last_seen, revision_count=data["revision_count"],
        story_key=data["story_key"])
    return Candidate(article, data["section"], data["text_path"])

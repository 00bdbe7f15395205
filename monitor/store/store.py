"""The store's operations: short transactions over the tables, with "new" decided by unique constraints.

Callers (the pipeline, the archive check, the CLI) never write SQL: they call these methods. Database trouble
(locked, down, refused) comes out as :class:`~monitor.errors.StoreError` with the database named (no password);
a lost race on a unique key comes out as a :data:`CONFLICT` answer the caller settles by looking again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, NamedTuple

from sqlalchemy import Integer, String, Table, and_, any_, bindparam, delete, func, or_, update
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlmodel import Session, col, select

from monitor.dedupe import Signature, closest_story
from monitor.errors import StoreError
from monitor.model import Article, StoredArticle
from monitor.settings import StorageSettings
from monitor.store import migrate
from monitor.store.engine import database_errors, database_url, describe, make_engine
from monitor.store.tables import (
    ArticleRow,
    ArticleUrl,
    FeedState,
    FetchLog,
    PageState,
    Revision,
    Source,
    SourceHealth,
    Story,
    StoryBand,
)
from monitor.validators import Validators

CONFLICT: Literal["conflict"] = "conflict"
#: Origins of texts recorded with their alerts already done (see _revision_values).
MUTED_ORIGINS = frozenset({"reparse", "backfill", "ingest"})

_ARTICLES: Table = ArticleRow.__table__  # type: ignore[attr-defined]
_REVISIONS: Table = Revision.__table__  # type: ignore[attr-defined]
_STORIES: Table = Story.__table__  # type: ignore[attr-defined]
_BANDS: Table = StoryBand.__table__  # type: ignore[attr-defined]
_URLS: Table = ArticleUrl.__table__  # type: ignore[attr-defined]
_FETCH_LOG: Table = FetchLog.__table__  # type: ignore[attr-defined]
_SEEN_URL = (sa_select(_ARTICLES.c.key).select_from(_URLS.join(_ARTICLES, _ARTICLES.c.id == _URLS.c.article_pk))
             .where(_URLS.c.url == bindparam("url")))
_STORED_COLUMNS = [_ARTICLES.c[name] for name in (
    "id", "key", "site", "article_id", "canonical_url", "url_hash", "folder", "headline", "language", "published",
    "first_seen", "last_seen", "revision_count")]
# Statements of the per-article path, built once and given their values at execution: building a statement with
# .values() coerces every value anew (most of the store's CPU per ingested article), whereas these are compiled
# once and then found in SQLAlchemy's cache.
_ARTICLE_BY_KEY = (sa_select(*_STORED_COLUMNS, _STORIES.c.key.label("story_key"))
                   .select_from(_ARTICLES.outerjoin(_STORIES, _STORIES.c.id == _ARTICLES.c.story_id))
                   .where(_ARTICLES.c.key == bindparam("key")))
_PATH_CLAIMED = sa_select(_REVISIONS.c.id).where(_REVISIONS.c.text_path == bindparam("path"))
_INSERT_ARTICLE = _ARTICLES.insert().returning(_ARTICLES.c.id)
_INSERT_REVISION = _REVISIONS.insert()
_INSERT_FETCH_LOG = _FETCH_LOG.insert()
_TOUCH = (update(_ARTICLES).where(_ARTICLES.c.id == bindparam("pk"), _ARTICLES.c.last_seen < bindparam("at"))
          .values(last_seen=bindparam("at")))
_REVISIONS_OF = (sa_select(_REVISIONS).join(_ARTICLES, _ARTICLES.c.id == _REVISIONS.c.article_pk)
                 .where(_ARTICLES.c.key == bindparam("key")).order_by(_REVISIONS.c.number))
_LATEST_REVISION = (sa_select(_REVISIONS).where(_REVISIONS.c.article_pk == bindparam("pk"))
                    .order_by(_REVISIONS.c.number.desc()).limit(1))
_ARCHIVED_BY = (sa_select(func.count()).select_from(_REVISIONS)
                .where(_REVISIONS.c.source == bindparam("source"), _REVISIONS.c.stored_at >= bindparam("since"),
                       _REVISIONS.c.number == 0))
_INSERT_STORY = _STORIES.insert().returning(_STORIES.c.id)
_STORY_KEY = sa_select(_STORIES.c.key).where(_STORIES.c.id == bindparam("id"))


_REVISIONS_AFTER = (sa_select(*_REVISIONS.c, _ARTICLES.c.key.label("article_key"))
                    .join(_ARTICLES, _ARTICLES.c.id == _REVISIONS.c.article_pk)
                    .where(_REVISIONS.c.id > bindparam("last")).order_by(_REVISIONS.c.id).limit(bindparam("limit")))
_REVISION_PATHS = (sa_select(_REVISIONS.c.text_path, _REVISIONS.c.raw_path)
                   .where(_REVISIONS.c.text_path.in_(bindparam("paths", expanding=True))))
_REVISION_PATHS_PG = (sa_select(_REVISIONS.c.text_path, _REVISIONS.c.raw_path)
                      .where(_REVISIONS.c.text_path == any_(bindparam("paths", type_=postgresql.ARRAY(String)))))
_REVISION_COLUMNS = [_REVISIONS.c[name] for name in (
    "number", "content_hash", "size", "text_path", "raw_path", "template", "origin", "fetched_at", "stored_at")]


def _of_many(postgres: bool) -> tuple[Any, Any]:
    """The revisions and the URLs of a batch of articles (the parameter ``pks``: their primary keys). PostgreSQL
    gets one array parameter (= ANY) rather than an IN list of hundreds to parse and plan each time."""

    def among(column: Any) -> Any:
        if postgres:
            return column == any_(bindparam("pks", type_=postgresql.ARRAY(Integer)))
        return column.in_(bindparam("pks", expanding=True))

    return (sa_select(_REVISIONS.c.article_pk, *_REVISION_COLUMNS).where(among(_REVISIONS.c.article_pk))
            .order_by(_REVISIONS.c.article_pk, _REVISIONS.c.number),
            sa_select(_URLS.c.article_pk, _URLS.c.url).where(among(_URLS.c.article_pk))
            .order_by(_URLS.c.article_pk, _URLS.c.first_seen, _URLS.c.url))


_OF_MANY, _OF_MANY_PG = _of_many(False), _of_many(True)
Details = Callable[[Connection, list["StoredArticle"]], Any]


@lru_cache(maxsize=8)
def _articles_page(order: str, site: str | None) -> Any:
    """One keyset page of articles ordered by ``order`` (then id): "id", "published" (dated articles from
    :since) or "first_seen" (undated ones from :since). The first page starts at the bound itself (>=), later ones
    strictly after the last (value, id) seen; written as a range on the ordering column plus a tie-break, which
    SQLite and PostgreSQL both answer from the column's index."""
    stmt = (sa_select(*_STORED_COLUMNS, _STORIES.c.key.label("story_key"))
            .select_from(_ARTICLES.outerjoin(_STORIES, _STORIES.c.id == _ARTICLES.c.story_id)))
    if site is not None:
        stmt = stmt.where(_ARTICLES.c.site == bindparam("site"))
    if order == "id":
        return stmt.where(_ARTICLES.c.id > bindparam("id")).order_by(_ARTICLES.c.id).limit(bindparam("limit"))
    column = _ARTICLES.c[order]
    bound: Any = bindparam(order)
    after = or_(bindparam("first"), column > bound, _ARTICLES.c.id > bindparam("id"))
    stmt = stmt.where(column >= bound, after)
    if order == "first_seen":
        stmt = stmt.where(_ARTICLES.c.published.is_(None))
    return stmt.order_by(column, _ARTICLES.c.id).limit(bindparam("limit"))


def _recent(*since: Any) -> Any:
    return (sa_select(_ARTICLES.c.canonical_url, _ARTICLES.c.last_seen)
            .where(_ARTICLES.c.site == bindparam("site"), _ARTICLES.c.last_seen < bindparam("before"), *since)
            .order_by(_ARTICLES.c.last_seen).limit(bindparam("limit")))


# Two selects rather than one with OR, so each can use its index (published, first_seen).
_RECENT_DATED = _recent(_ARTICLES.c.published >= bindparam("since"))
_RECENT_UNDATED = _recent(_ARTICLES.c.published.is_(None), _ARTICLES.c.first_seen >= bindparam("since"))


@dataclass(frozen=True, slots=True)
class StoredRevision:
    article_key: str
    number: int
    content_hash: str
    size: int
    text_path: str
    raw_path: str | None
    template: str
    origin: str
    fetched_at: datetime
    stored_at: datetime

    @property
    def is_update(self) -> bool:
        return self.number > 0


class ArticleRecord(NamedTuple):
    """An article with its URLs (first seen first) and its revisions (oldest first): one line of an export."""

    article: StoredArticle
    urls: list[str]
    revisions: list[StoredRevision]


@dataclass(frozen=True, slots=True)
class NewRevision:
    """Everything the store records for one archived text (its files are already in place)."""

    number: int
    content_hash: str
    size: int
    text_path: str
    raw_path: str | None
    fetched_at: datetime
    origin: str = "fetch"
    source: str | None = None  # the configured source whose run archived it (``monitor status``'s "today")


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _must(value: datetime | None) -> datetime:
    out = _utc(value)
    assert out is not None
    return out


class Store:
    """The monitor's database. Thread-safe (one engine, a session per call)."""

    def __init__(self, engine: Engine, *, story_threshold: float = 0.8) -> None:
        self.engine = engine
        self.story_threshold = story_threshold
        self.where = describe(engine.url)
        self._dialect = engine.dialect.name
        self._sources: dict[str, int] = {}
        self._ignoring: dict[tuple[str, tuple[str, ...]], Any] = {}

    @classmethod
    def open(cls, settings: StorageSettings, *, upgrade: bool = True) -> Store:
        """Connect to the configured database and bring its schema up to date (or check it, ``upgrade=False``)."""
        if not settings.url:  # the default SQLite file lives under the archive root
            try:
                Path(settings.archive_root).mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                reason = exc.strerror or exc
                raise StoreError(f"archive root {settings.archive_root}: cannot create: {reason}") from None
        engine = make_engine(database_url(settings))
        if upgrade:
            migrate.upgrade(engine)
        else:
            migrate.check(engine)
        return cls(engine, story_threshold=settings.story_threshold)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- plumbing ---------------------------------------------------------------------------------------------------

    @contextmanager
    def _translated(self, what: str) -> Iterator[None]:
        with database_errors(self.where, what):
            yield

    @contextmanager
    def _session(self, what: str) -> Iterator[Session]:
        with self._translated(what), Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def _connection(self, what: str, *, write: bool = False) -> Iterator[Connection]:
        """A plain connection (a transaction committed at the end when ``write``), errors as in :meth:`_session`:
        for the per-article path, where an ORM session's set-up costs as much as the statement."""
        with self._translated(what), self.engine.begin() if write else self.engine.connect() as connection:
            yield connection

    def _insert(self, table: Any) -> Any:
        return (postgresql.insert if self._dialect == "postgresql" else sqlite.insert)(table)

    def _insert_ignore(self, connection: Any, table: Table, rows: list[dict[str, Any]], keys: list[str]) -> None:
        if rows:
            # One statement per table and key, reused (see _ARTICLE_BY_KEY); the rows go in as parameters.
            cache_key = (table.name, tuple(keys))
            stmt = self._ignoring.get(cache_key)
            if stmt is None:
                stmt = self._ignoring[cache_key] = self._insert(table).on_conflict_do_nothing(index_elements=keys)
            connection.execute(stmt, rows)

    # --- lookups ----------------------------------------------------------------------------------------------------

    def seen_url(self, canonical: str) -> str | None:
        """The key of the article a canonical URL belongs to, or None: the "have we seen this URL" check.

        One indexed lookup on a plain connection (no ORM session): it runs for every candidate URL of every pass.
        """
        try:
            with self.engine.connect() as connection:
                key: str | None = connection.execute(_SEEN_URL, {"url": canonical}).scalar()
                return key
        except (OperationalError, DBAPIError) as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            raise StoreError(f"database {self.where}: look up a URL: {reason}") from None

    def due_for_revisit(self, site: str, *, published_since: datetime, fetched_before: datetime,
                        limit: int) -> list[str]:
        """Canonical URLs of a site's articles published since ``published_since`` (undated ones: first seen since)
        and last fetched before ``fetched_before``; the longest unfetched first, at most ``limit``."""
        values = {"site": site, "since": published_since, "before": fetched_before, "limit": limit}
        with self._connection("find articles to revisit") as connection:
            rows = [*connection.execute(_RECENT_DATED, values), *connection.execute(_RECENT_UNDATED, values)]
        rows.sort(key=lambda row: _must(row[1]))
        return [row[0] for row in rows[:limit]]

    def article(self, key: str) -> StoredArticle | None:
        with self._connection("read an article") as connection:
            row = connection.execute(_ARTICLE_BY_KEY, {"key": key}).first()
            return None if row is None else _stored_row(row)

    def latest_revision(self, stored: StoredArticle) -> StoredRevision | None:
        """The article's latest text: what a fetched text is compared with (a text that returns after an edit is
        new again, so an older revision with the same hash does not count)."""
        with self._connection("read the latest revision") as connection:
            row = connection.execute(_LATEST_REVISION, {"pk": stored.pk}).first()
            return _revision(stored.key, row) if row is not None else None

    def revisions(self, key: str) -> list[StoredRevision]:
        with self._connection("read revisions") as connection:
            return [_revision(key, r) for r in connection.execute(_REVISIONS_OF, {"key": key}).all()]

    def path_claimed(self, text_path: str) -> bool:
        """Whether a revision row names this archive file (a file nobody names is a crash leftover)."""
        with self._session("look up an archive file") as session:
            return session.connection().execute(_PATH_CLAIMED, {"path": text_path}).first() is not None

    def iter_revisions(self, batch: int = 1000) -> Iterator[StoredRevision]:
        """Every revision, streamed in primary-key order (a short read per batch, nothing held between them)."""
        last = 0
        while True:
            with self._connection("read revisions") as connection:
                rows = connection.execute(_REVISIONS_AFTER, {"last": last, "limit": batch}).all()
            if not rows:
                return
            for row in rows:
                yield _revision_row(row.article_key, row)
            last = rows[-1].id

    def revision_paths(self, text_paths: Iterable[str], batch: int = 500) -> set[str]:
        """The archive files the revisions with these text paths name: the text paths that have a row, and those
        rows' raw HTML paths. Equality lookups on the unique text path (an index on both databases)."""
        wanted = list(dict.fromkeys(text_paths))
        named: set[str] = set()
        stmt = _REVISION_PATHS_PG if self._dialect == "postgresql" else _REVISION_PATHS
        with self._connection("look up archive files") as connection:
            for start in range(0, len(wanted), batch):
                for text_path, raw_path in connection.execute(stmt, {"paths": wanted[start:start + batch]}):
                    named.add(text_path)
                    if raw_path:
                        named.add(raw_path)
        return named

    def iter_articles(self, *, site: str | None = None, since: datetime | None = None,
                      batch: int = 500) -> Iterator[StoredArticle]:
        """Articles, optionally of one site and published (or, undated, first seen) since a time: in first-seen
        order, or with ``since`` in publication order (the dated ones by the date index, then the undated ones by
        the first-seen index) so that a recent slice of a large archive is read without walking all of it."""
        for chunk, _ in self._article_batches(site, since, batch, None):
            yield from chunk

    def iter_article_records(self, *, site: str | None = None, since: datetime | None = None,
                             batch: int = 500) -> Iterator[ArticleRecord]:
        """:meth:`iter_articles` with each article's URLs and revisions: three queries per batch of articles (for
        ``monitor export``), not two per article."""
        of_many = _OF_MANY_PG if self._dialect == "postgresql" else _OF_MANY

        def details(connection: Connection, chunk: list[StoredArticle]) -> tuple[Sequence[Any], Sequence[Any]]:
            pks = [article.pk for article in chunk]
            return (connection.execute(of_many[0], {"pks": pks}).all(),
                    connection.execute(of_many[1], {"pks": pks}).all())

        for chunk, (revision_rows, url_rows) in self._article_batches(site, since, batch, details):
            revisions: dict[int, list[StoredRevision]] = {article.pk: [] for article in chunk}
            urls: dict[int, list[str]] = {article.pk: [] for article in chunk}
            keys = {article.pk: article.key for article in chunk}
            for pk, number, digest, size, text_path, raw_path, template, origin, fetched_at, stored_at in revision_rows:
                revisions[pk].append(StoredRevision(
                    article_key=keys[pk], number=number, content_hash=digest, size=size, text_path=text_path,
                    raw_path=raw_path, template=template, origin=origin, fetched_at=_must(fetched_at),
                    stored_at=_must(stored_at)))
            for pk, url in url_rows:
                urls[pk].append(url)
            for article in chunk:
                yield ArticleRecord(article, urls[article.pk], revisions[article.pk])

    def _article_batches(self, site: str | None, since: datetime | None, batch: int,
                         details: Details | None) -> Iterator[tuple[list[StoredArticle], Any]]:
        """Keyset pagination, one short read per batch. Without ``since``: by primary key. With it: by (published,
        id) from ``since`` on, then the undated by (first_seen, id); each batch starts its index range where the last
        one ended, so no batch re-reads what came before. ``details`` reads more for a batch on the same connection
        (one checkout per batch)."""
        if since is None:
            yield from self._keyset(_articles_page("id", site), {"id": 0}, site, batch, details)
            return
        yield from self._keyset(_articles_page("published", site), {"id": 0, "published": since}, site, batch,
                                details)
        yield from self._keyset(_articles_page("first_seen", site), {"id": 0, "first_seen": since}, site, batch,
                                details)

    def _keyset(self, stmt: Any, start: dict[str, Any], site: str | None, batch: int,
                details: Details | None) -> Iterator[tuple[list[StoredArticle], Any]]:
        position = dict(start)
        first = True
        while True:
            values = {**position, "site": site, "limit": batch, "first": first}
            with self._connection("read articles") as connection:
                rows = connection.execute(stmt, values).all()
                if not rows:
                    return
                chunk = [_stored_row(row) for row in rows]
                extra = details(connection, chunk) if details is not None else None
            yield chunk, extra
            last = rows[-1]._mapping
            position = {name: last[name] for name in position}
            first = False

    def urls_of(self, article_pk: int) -> list[str]:
        with self._session("read URLs") as session:
            return list(session.exec(select(ArticleUrl.url).where(col(ArticleUrl.article_pk) == article_pk)
                                     .order_by(col(ArticleUrl.first_seen), col(ArticleUrl.url))).all())

    def counts(self) -> dict[str, int]:
        with self._session("count rows") as session:
            return {
                "articles": session.exec(select(func.count()).select_from(ArticleRow)).one(),
                "revisions": session.exec(select(func.count()).select_from(Revision)).one(),
                "stories": session.exec(select(func.count()).select_from(Story)).one(),
                "urls": session.exec(select(func.count()).select_from(ArticleUrl)).one(),
            }

    # --- writes -----------------------------------------------------------------------------------------------------

    def add_article(self, article: Article, *, canonical: str, url_hash: str, folder: str, revision: NewRevision,
                    urls: Iterable[str], signature: Signature | None) -> StoredArticle | Literal["conflict"]:
        """Record a new article with its first revision, its URLs and its story, in one transaction.

        CONFLICT when another writer recorded the same article (or file) first.
        """
        now = datetime.now(UTC)
        try:
            with self._connection("record a new article", write=True) as connection:
                story_id, story_key = self._story_for(connection, article.key, signature, now)
                values = {
                    "key": article.key, "source_id": self._source(connection, article, now), "site": article.site,
                    "article_id": article.article_id, "family": article.family, "template": article.template,
                    "canonical_url": canonical, "url_hash": url_hash, "language": article.language,
                    "headline": article.headline, "published": article.published, "modified": article.modified,
                    "authors": json.dumps(article.authors, ensure_ascii=False), "section": article.section,
                    "folder": folder, "first_seen": revision.fetched_at, "last_seen": revision.fetched_at,
                    "revision_count": 1, "story_id": story_id, "signature": signature.values if signature else None,
                }
                pk = connection.execute(_INSERT_ARTICLE, values).scalar_one()
                if signature is not None:
                    connection.execute(_BANDS.insert(), [{"article_pk": pk, "band": b, "hash": h}
                                                         for b, h in signature.bands])
                connection.execute(_INSERT_REVISION, _revision_values(pk, revision, article.template, now))
                self._add_urls(connection, pk, urls, revision.fetched_at)
            return StoredArticle(
                pk=pk, key=article.key, site=article.site, article_id=article.article_id, canonical_url=canonical,
                url_hash=url_hash, folder=folder, headline=article.headline, language=article.language,
                published=_utc(article.published), first_seen=_must(revision.fetched_at),
                last_seen=_must(revision.fetched_at), revision_count=1, story_key=story_key,
            )
        except IntegrityError:
            return CONFLICT

    def add_revision(self, stored: StoredArticle, article: Article, revision: NewRevision,
                     urls: Iterable[str]) -> StoredArticle | Literal["conflict"]:
        """Record a changed text of a known article as revision ``revision.number`` (= its revision count).

        CONFLICT when another writer added a revision first (the count moved) or recorded the same text.
        """
        now = datetime.now(UTC)
        try:
            with self._session("record a revision") as session:
                moved = session.execute(
                    update(ArticleRow).where(col(ArticleRow.id) == stored.pk,
                                             col(ArticleRow.revision_count) == revision.number)
                    .values(revision_count=revision.number + 1, headline=article.headline,
                            modified=article.modified, last_seen=revision.fetched_at, template=article.template)
                )
                if moved.rowcount != 1:  # type: ignore[attr-defined]
                    session.rollback()
                    return CONFLICT
                connection = session.connection()
                connection.execute(_INSERT_REVISION, _revision_values(stored.pk, revision, article.template, now))
                self._add_urls(connection, stored.pk, urls, revision.fetched_at)
                session.commit()
        except IntegrityError:
            return CONFLICT
        fresh = self.article(stored.key)
        assert fresh is not None
        return fresh

    def touch(self, article_pk: int, urls: Iterable[str], at: datetime) -> None:
        """A known text was fetched again: remember the URL it came by and when."""
        with self._connection("record a visit", write=True) as connection:
            connection.execute(_TOUCH, {"pk": article_pk, "at": at})
            self._add_urls(connection, article_pk, urls, at)

    def _source(self, connection: Any, article: Article, now: datetime) -> int:
        known = self._sources.get(article.site)
        if known is not None:
            return known
        self._insert_ignore(connection, Source.__table__, [  # type: ignore[attr-defined]
            {"site": article.site, "family": article.family, "created_at": now}], ["site"])
        table: Table = Source.__table__  # type: ignore[attr-defined]
        pk: int = connection.execute(sa_select(table.c.id).where(table.c.site == article.site)).scalar_one()
        assert pk is not None
        self._sources[article.site] = pk  # sources are never deleted: safe to remember
        return pk

    def _add_urls(self, connection: Any, article_pk: int, urls: Iterable[str], at: datetime) -> None:
        rows = [{"url": u, "article_pk": article_pk, "first_seen": at} for u in dict.fromkeys(urls) if u]
        self._insert_ignore(connection, ArticleUrl.__table__, rows, ["url"])  # type: ignore[attr-defined]

    def _story_for(self, connection: Any, key: str, signature: Signature | None, now: datetime) -> tuple[int, str]:
        """The story of the most similar stored article above the threshold, or a new story opened by ``key``."""
        if signature is not None:
            params = {f"h{band}": value for band, value in signature.bands}
            candidates = connection.execute(_candidates_query(len(signature.bands)), params).all()
            story = closest_story(signature, candidates, self.story_threshold)
            if story is not None:
                return story, connection.execute(_STORY_KEY, {"id": story}).scalar_one()
        story_id = connection.execute(_INSERT_STORY, {"key": key, "created_at": now}).scalar_one()
        return story_id, key

    # --- feeds and fetches --------------------------------------------------------------------------------------------

    def validators(self) -> DatabaseValidators:
        """The HTTP client's conditional-GET state, kept in ``feed_state``."""
        return DatabaseValidators(self)

    def get_validators(self, url: str) -> Validators | None:
        with self._session("read feed state") as session:
            row = session.get(FeedState, url)
            if row is None or not (row.etag or row.last_modified):
                return None
            return Validators(row.etag, row.last_modified)

    def put_validators(self, url: str, validators: Validators) -> None:
        self._upsert_feed(url, {"etag": validators.etag, "last_modified": validators.last_modified})

    def _upsert_feed(self, url: str, values: dict[str, Any]) -> None:
        with self._session("write feed state") as session:
            stmt = self._insert(FeedState.__table__).values(url=url, **values)  # type: ignore[attr-defined]
            session.execute(stmt.on_conflict_do_update(index_elements=["url"], set_=values))
            session.commit()

    def log_fetch(self, url: str, at: datetime, outcome: str, *, status: int | None = None, error: str | None = None,
                  article_key: str | None = None, duration_ms: int | None = None) -> None:
        with self._connection("write the fetch log", write=True) as connection:  # once per page: no ORM session
            connection.execute(_INSERT_FETCH_LOG, {
                "url": url, "fetched_at": at, "outcome": outcome, "status": status,
                "error": error[:2000] if error else None, "article_key": article_key, "duration_ms": duration_ms})

    # --- article pages not (yet) archived ------------------------------------------------------------------------

    def page_state(self, url: str) -> PageState | None:
        with self._session("read a page's state") as session:
            row = session.get(PageState, url)
            return _page_utc(row) if row else None

    def page_failed(self, url: str, site: str, at: datetime, error: str, *, attempts: int,
                    first_delay: float) -> PageState:
        """Count a failed attempt at an article page and schedule the next: ``first_delay`` seconds after the first
        failure, three times as long after each further one; after ``attempts`` failures the page is given up."""
        with self._session("record a failed page") as session:
            row = session.get(PageState, url) or PageState(url=url, site=site)
            row.failures += 1
            row.last_failure = at
            row.last_error = error[:2000]
            if row.failures >= attempts:
                row.next_attempt, row.given_up = None, at
            else:
                row.next_attempt = at + timedelta(seconds=first_delay * 3 ** (row.failures - 1))
            session.add(row)
            session.commit()
            return _page_utc(row)

    def page_succeeded(self, url: str) -> None:
        """A page tried again was archived (or read): its failures are forgotten."""
        with self._session("record a page that answered") as session:
            session.execute(update(PageState).where(col(PageState.url) == url).values(
                failures=0, last_error=None, next_attempt=None, given_up=None))
            session.commit()

    def page_language(self, url: str, site: str, language: str) -> None:
        """Remember the language a page turned out to be in (so a source that does not keep it never fetches it
        again)."""
        with self._session("record a page's language") as session:
            stmt = self._insert(PageState.__table__).values(  # type: ignore[attr-defined]
                url=url, site=site, language=language, failures=0)
            session.execute(stmt.on_conflict_do_update(index_elements=["url"], set_={"language": language}))
            session.commit()

    def pages_to_retry(self, site: str, now: datetime, limit: int) -> list[str]:
        """Failed pages of ``site`` whose next attempt is due, the longest waiting first."""
        with self._session("find failed pages to retry") as session:
            return list(session.exec(
                select(PageState.url).where(col(PageState.next_attempt) <= now, col(PageState.site) == site)
                .order_by(col(PageState.next_attempt)).limit(limit)).all())

    # --- alerting bookkeeping and source health ----------------------------------------------------------------------

    def alerts_pending(self, stored_since: datetime, limit: int = 500) -> list[tuple[StoredArticle, StoredRevision]]:
        """Revisions stored since ``stored_since`` whose alert rules have not run yet (a crash came in between)."""
        with self._session("read revisions awaiting alerts") as session:
            rows = session.exec(
                select(ArticleRow, Revision, Story.key)
                .join(Revision, col(Revision.article_pk) == col(ArticleRow.id))
                .outerjoin(Story, col(Story.id) == col(ArticleRow.story_id))
                .where(col(Revision.alerts_done_at).is_(None), col(Revision.stored_at) >= stored_since)
                .order_by(col(Revision.stored_at), col(Revision.id)).limit(limit)
            ).all()
            return [(_stored(article, story), _revision(article.key, revision)) for article, revision, story in rows]

    def mark_alerts_done(self, article_key: str, number: int, at: datetime) -> None:
        with self._session("record that alerts were queued") as session:
            pk = select(ArticleRow.id).where(col(ArticleRow.key) == article_key).scalar_subquery()
            session.execute(update(Revision).where(col(Revision.article_pk) == pk, col(Revision.number) == number,
                                                   col(Revision.alerts_done_at).is_(None)).values(alerts_done_at=at))
            session.commit()

    def archived_by(self, source: str, since: datetime) -> int:
        """Articles the runs of configured source ``source`` archived first (their first text) since ``since``."""
        with self._connection("count archived articles") as connection:
            count: int = connection.execute(_ARCHIVED_BY, {"source": source, "since": since}).scalar_one()
            return count

    def source_health(self, source: str) -> SourceHealth | None:
        with self._session("read source health") as session:
            row = session.get(SourceHealth, source)
            return _health_utc(row) if row else None

    def source_healths(self) -> list[SourceHealth]:
        with self._session("read source health") as session:
            return [_health_utc(row) for row in session.exec(select(SourceHealth).order_by(col(SourceHealth.source)))]

    def save_source_health(self, health: SourceHealth) -> None:
        with self._session("write source health") as session:
            session.merge(SourceHealth.model_validate(health.model_dump()))
            session.commit()

    def prune_fetch_log(self, before: datetime) -> int:
        with self._session("prune the fetch log") as session:
            result = session.execute(delete(FetchLog).where(col(FetchLog.fetched_at) < before))
            session.commit()
            return int(result.rowcount)  # type: ignore[attr-defined]


class DatabaseValidators:
    """:class:`monitor.http.ValidatorStore` on the ``feed_state`` table."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def get(self, url: str) -> Validators | None:
        return self._store.get_validators(url)

    def put(self, url: str, validators: Validators) -> None:
        self._store.put_validators(url, validators)


@lru_cache(maxsize=8)
def _candidates_query(bands: int) -> Any:
    """Articles sharing an LSH band with a signature (built once: compiling it anew costs more than running it)."""
    # OR of (band, hash) pairs, not a tuple IN: SQLite searches the index only for the former.
    matches = or_(*(and_(_BANDS.c.band == band, _BANDS.c.hash == bindparam(f"h{band}")) for band in range(bands)))
    return sa_select(_ARTICLES.c.signature, _ARTICLES.c.story_id).where(
        _ARTICLES.c.id.in_(sa_select(_BANDS.c.article_pk).where(matches)), _ARTICLES.c.story_id.is_not(None))


def _revision_values(article_pk: int, revision: NewRevision, template: str, now: datetime) -> dict[str, Any]:
    return {"article_pk": article_pk, "number": revision.number, "content_hash": revision.content_hash,
            "size": revision.size, "text_path": revision.text_path, "raw_path": revision.raw_path,
            "template": template, "origin": revision.origin, "fetched_at": revision.fetched_at, "stored_at": now,
            # A reparse changes the text because the parser changed, not the article: nothing to alert on. A muted
            # backfill or an ingest archives the past: nothing to alert on either, and never later by the daemon's
            # catch-up.
            "alerts_done_at": now if revision.origin in MUTED_ORIGINS else None,
            "source": revision.source}


def _stored(row: ArticleRow, story_key: str | None) -> StoredArticle:
    assert row.id is not None
    return StoredArticle(
        pk=row.id, key=row.key, site=row.site, article_id=row.article_id, canonical_url=row.canonical_url,
        url_hash=row.url_hash, folder=row.folder, headline=row.headline, language=row.language,
        published=_utc(row.published), first_seen=_must(row.first_seen), last_seen=_must(row.last_seen),
        revision_count=row.revision_count, story_key=story_key,
    )


def _revision_row(key: str, row: Any) -> StoredRevision:
    """A row with the revisions table's columns (of any width) as a StoredRevision."""
    return _revision(key, row)


def _stored_row(row: Any) -> StoredArticle:
    """A row of ``_STORED_COLUMNS`` and the story key (by position: this runs for every article of an export)."""
    (pk, key, site, article_id, canonical, url_hash, folder, headline, language, published, first_seen, last_seen,
     revision_count, story_key) = row
    return StoredArticle(
        pk=pk, key=key, site=site, article_id=article_id, canonical_url=canonical, url_hash=url_hash, folder=folder,
        headline=headline, language=language, published=_utc(published), first_seen=_must(first_seen),
        last_seen=_must(last_seen), revision_count=revision_count, story_key=story_key,
    )


def _revision(key: str, row: Revision | Row[Any]) -> StoredRevision:
    return StoredRevision(
        article_key=key, number=row.number, content_hash=row.content_hash, size=row.size, text_path=row.text_path,
        raw_path=row.raw_path, template=row.template, origin=row.origin, fetched_at=_must(row.fetched_at),
        stored_at=_must(row.stored_at),
    )


def _page_utc(row: PageState) -> PageState:
    values = row.model_dump()
    for name in ("last_failure", "next_attempt", "given_up"):
        values[name] = _utc(values[name])
    return PageState.model_validate(values)


def _health_utc(row: SourceHealth) -> SourceHealth:
    # SQLite hands timestamps back naive; they were written as UTC.
    values = row.model_dump()
    for name in ("first_run", "last_run", "last_success", "last_new", "problem_since"):
        values[name] = _utc(values[name])
    return SourceHealth.model_validate(values)

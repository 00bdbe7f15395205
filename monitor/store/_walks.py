"""Walking the whole archive (export, archive verify, reindexing): articles and revisions streamed in batches by
keyset pagination, one short read per batch and nothing held between them."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Integer, String, any_, bindparam, or_
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from monitor.model import StoredArticle
from monitor.store._base import StoreBase, utc_required
from monitor.store._records import STORED_SELECT, ArticleRecord, StoredRevision, revision, stored_row
from monitor.store.tables import ARTICLE_URLS, ARTICLES, REVISIONS

_REVISIONS_AFTER = (sa_select(*REVISIONS.c, ARTICLES.c.key.label("article_key"))
                    .join(ARTICLES, ARTICLES.c.id == REVISIONS.c.article_pk)
                    .where(REVISIONS.c.id > bindparam("last")).order_by(REVISIONS.c.id).limit(bindparam("limit")))
_REVISION_PATHS = (sa_select(REVISIONS.c.text_path, REVISIONS.c.raw_path)
                   .where(REVISIONS.c.text_path.in_(bindparam("paths", expanding=True))))
_REVISION_PATHS_PG = (sa_select(REVISIONS.c.text_path, REVISIONS.c.raw_path)
                      .where(REVISIONS.c.text_path == any_(bindparam("paths", type_=postgresql.ARRAY(String)))))
_REVISION_COLUMNS = [REVISIONS.c[name] for name in (
    "number", "content_hash", "size", "text_path", "raw_path", "template", "origin", "fetched_at", "stored_at")]


def _of_many(postgres: bool) -> tuple[Any, Any]:
    """The revisions and the URLs of a batch of articles (the parameter ``pks``: their primary keys). PostgreSQL
    gets one array parameter (= ANY) rather than an IN list of hundreds to parse and plan each time."""

    def among(column: Any) -> Any:
        if postgres:
            return column == any_(bindparam("pks", type_=postgresql.ARRAY(Integer)))
        return column.in_(bindparam("pks", expanding=True))

    return (sa_select(REVISIONS.c.article_pk, *_REVISION_COLUMNS).where(among(REVISIONS.c.article_pk))
            .order_by(REVISIONS.c.article_pk, REVISIONS.c.number),
            sa_select(ARTICLE_URLS.c.article_pk, ARTICLE_URLS.c.url).where(among(ARTICLE_URLS.c.article_pk))
            .order_by(ARTICLE_URLS.c.article_pk, ARTICLE_URLS.c.first_seen, ARTICLE_URLS.c.url))


_OF_MANY, _OF_MANY_PG = _of_many(False), _of_many(True)
Details = Callable[[Connection, list[StoredArticle]], Any]


@lru_cache(maxsize=8)
def _articles_page(order: str, site: str | None) -> Any:
    """One keyset page of articles ordered by ``order`` (then id): "id", "published" (dated articles from
    :since) or "first_seen" (undated ones from :since). The first page starts at the bound itself (>=), later ones
    strictly after the last (value, id) seen; written as a range on the ordering column plus a tie-break, which
    SQLite and PostgreSQL both answer from the column's index."""
    stmt = STORED_SELECT
    if site is not None:
        stmt = stmt.where(ARTICLES.c.site == bindparam("site"))
    if order == "id":
        return stmt.where(ARTICLES.c.id > bindparam("id")).order_by(ARTICLES.c.id).limit(bindparam("limit"))
    column = ARTICLES.c[order]
    bound: Any = bindparam(order)
    after = or_(bindparam("first"), column > bound, ARTICLES.c.id > bindparam("id"))
    stmt = stmt.where(column >= bound, after)
    if order == "first_seen":
        stmt = stmt.where(ARTICLES.c.published.is_(None))
    return stmt.order_by(column, ARTICLES.c.id).limit(bindparam("limit"))


class ArchiveWalks(StoreBase):
    """Every article or revision (or a site's, or a recent slice), in batches."""

    def iter_revisions(self, batch: int = 1000) -> Iterator[StoredRevision]:
        """Every revision, streamed in primary-key order (a short read per batch, nothing held between them)."""
        last = 0
        while True:
            with self._connection("read revisions") as connection:
                rows = connection.execute(_REVISIONS_AFTER, {"last": last, "limit": batch}).all()
            if not rows:
                return
            for row in rows:
                yield revision(row.article_key, row)
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
                    raw_path=raw_path, template=template, origin=origin, fetched_at=utc_required(fetched_at),
                    stored_at=utc_required(stored_at)))
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
                chunk = [stored_row(row) for row in rows]
                extra = details(connection, chunk) if details is not None else None
            yield chunk, extra
            last = rows[-1]._mapping
            position = {name: last[name] for name in position}
            first = False

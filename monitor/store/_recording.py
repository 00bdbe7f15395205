"""Recording archived texts: a new article with its first revision, URLs and story, a revision of a known one, a
visit; one short transaction each, with "new" decided by unique constraints (a lost race is :data:`CONFLICT`)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache
from typing import Any, Literal

from sqlalchemy import and_, bindparam, or_, update
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from monitor.dedupe import Signature, closest_story
from monitor.model import Article, StoredArticle
from monitor.store._articles import ArticleLookups
from monitor.store._base import as_utc, utc_required
from monitor.store._records import CONFLICT, NewRevision
from monitor.store.tables import (
    ARTICLE_URLS,
    ARTICLES,
    REVISIONS,
    SOURCES,
    STORIES,
    STORY_BANDS,
    ArticleRow,
)

#: Origins of texts recorded with their alerts already done (see _revision_values).
MUTED_ORIGINS = frozenset({"reparse", "backfill", "ingest"})

# Built once and given their values at execution (see _records.ARTICLE_BY_KEY).
_INSERT_ARTICLE = ARTICLES.insert().returning(ARTICLES.c.id)
_INSERT_REVISION = REVISIONS.insert()
_TOUCH = (update(ARTICLES).where(ARTICLES.c.id == bindparam("pk"), ARTICLES.c.last_seen < bindparam("at"))
          .values(last_seen=bindparam("at")))
_INSERT_STORY = STORIES.insert().returning(STORIES.c.id)
_STORY_KEY = sa_select(STORIES.c.key).where(STORIES.c.id == bindparam("id"))


class ArticleRecording(ArticleLookups):
    """The writes of the per-article path (the lookups' :meth:`article` reads back a revised one)."""

    def add_article(self, article: Article, *, canonical: str, url_hash: str, folder: str, revision: NewRevision,
                    urls: Iterable[str], signature: Signature | None) -> StoredArticle | Literal["conflict"]:
        """Record a new article with its first revision, its URLs and its story, in one transaction.

        CONFLICT when another writer recorded the same article (or file) first.
        """
        now = self.clock()
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
                    connection.execute(STORY_BANDS.insert(), [{"article_pk": pk, "band": b, "hash": h}
                                                              for b, h in signature.bands])
                connection.execute(_INSERT_REVISION, _revision_values(pk, revision, article.template, now))
                self._add_urls(connection, pk, urls, revision.fetched_at)
            return StoredArticle(
                pk=pk, key=article.key, site=article.site, article_id=article.article_id, canonical_url=canonical,
                url_hash=url_hash, folder=folder, headline=article.headline, language=article.language,
                published=as_utc(article.published), first_seen=utc_required(revision.fetched_at),
                last_seen=utc_required(revision.fetched_at), revision_count=1, story_key=story_key,
            )
        except IntegrityError:
            return CONFLICT

    def add_revision(self, stored: StoredArticle, article: Article, revision: NewRevision,
                     urls: Iterable[str]) -> StoredArticle | Literal["conflict"]:
        """Record a changed text of a known article as revision ``revision.number`` (= its revision count).

        CONFLICT when another writer added a revision first (the count moved) or recorded the same text.
        """
        now = self.clock()
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
        self._insert_ignore(connection, SOURCES, [
            {"site": article.site, "family": article.family, "created_at": now}], ["site"])
        pk: int = connection.execute(sa_select(SOURCES.c.id).where(SOURCES.c.site == article.site)).scalar_one()
        assert pk is not None
        self._sources[article.site] = pk  # sources are never deleted: safe to remember
        return pk

    def _add_urls(self, connection: Any, article_pk: int, urls: Iterable[str], at: datetime) -> None:
        rows = [{"url": u, "article_pk": article_pk, "first_seen": at} for u in dict.fromkeys(urls) if u]
        self._insert_ignore(connection, ARTICLE_URLS, rows, ["url"])

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


@lru_cache(maxsize=8)
def _candidates_query(bands: int) -> Any:
    """Articles sharing an LSH band with a signature (built once: compiling it anew costs more than running it)."""
    # OR of (band, hash) pairs, not a tuple IN: SQLite searches the index only for the former.
    matches = or_(*(and_(STORY_BANDS.c.band == band, STORY_BANDS.c.hash == bindparam(f"h{band}"))
                    for band in range(bands)))
    return sa_select(ARTICLES.c.signature, ARTICLES.c.story_id).where(
        ARTICLES.c.id.in_(sa_select(STORY_BANDS.c.article_pk).where(matches)), ARTICLES.c.story_id.is_not(None))


def _revision_values(article_pk: int, revision: NewRevision, template: str, now: datetime) -> dict[str, Any]:
    now = revision.stored_at or now
    return {"article_pk": article_pk, "number": revision.number, "content_hash": revision.content_hash,
            "size": revision.size, "text_path": revision.text_path, "raw_path": revision.raw_path,
            "template": template, "origin": revision.origin, "fetched_at": revision.fetched_at, "stored_at": now,
            # A reparse changes the text because the parser changed, not the article: nothing to alert on. A muted
            # backfill or an ingest archives the past: nothing to alert on either, and never later by the daemon's
            # catch-up.
            "alerts_done_at": now if revision.origin in MUTED_ORIGINS else None,
            "source": revision.source}

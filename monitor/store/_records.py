"""What the store's article reads hand back (detached, plain data), the columns they are read from, and the one
conversion of each kind of row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, NamedTuple

from sqlalchemy import bindparam
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Row

from monitor.model import StoredArticle
from monitor.store._base import as_utc, utc_required
from monitor.store.tables import ARTICLES, STORIES, ArticleRow, Revision

CONFLICT: Literal["conflict"] = "conflict"

STORED_COLUMNS = [ARTICLES.c[name] for name in (
    "id", "key", "site", "article_id", "canonical_url", "url_hash", "folder", "headline", "language", "published",
    "first_seen", "last_seen", "revision_count")]
#: Articles with their story's key: what :func:`stored_row` reads.
STORED_SELECT = (sa_select(*STORED_COLUMNS, STORIES.c.key.label("story_key"))
                 .select_from(ARTICLES.outerjoin(STORIES, STORIES.c.id == ARTICLES.c.story_id)))
# Statements of the per-article path, built once and given their values at execution: building a statement with
# .values() coerces every value anew (most of the store's CPU per ingested article), whereas these are compiled
# once and then found in SQLAlchemy's cache.
ARTICLE_BY_KEY = STORED_SELECT.where(ARTICLES.c.key == bindparam("key"))


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
    stored_at: datetime | None = None  # when the caller's clock says it was stored (default: the store's clock)


@dataclass(frozen=True, slots=True)
class ArticleMeta:
    """What the web's article page shows beyond :class:`StoredArticle`."""

    section: str | None
    authors: list[str]
    modified: datetime | None
    template: str
    family: str


def stored(row: ArticleRow, story_key: str | None) -> StoredArticle:
    assert row.id is not None
    return StoredArticle(
        pk=row.id, key=row.key, site=row.site, article_id=row.article_id, canonical_url=row.canonical_url,
        url_hash=row.url_hash, folder=row.folder, headline=row.headline, language=row.language,
        published=as_utc(row.published), first_seen=utc_required(row.first_seen),
        last_seen=utc_required(row.last_seen), revision_count=row.revision_count, story_key=story_key,
    )


def stored_row(row: Any) -> StoredArticle:
    """A row of ``STORED_COLUMNS`` and the story key (by position: this runs for every article of an export)."""
    (pk, key, site, article_id, canonical, url_hash, folder, headline, language, published, first_seen, last_seen,
     revision_count, story_key) = row
    return StoredArticle(
        pk=pk, key=key, site=site, article_id=article_id, canonical_url=canonical, url_hash=url_hash, folder=folder,
        headline=headline, language=language, published=as_utc(published), first_seen=utc_required(first_seen),
        last_seen=utc_required(last_seen), revision_count=revision_count, story_key=story_key,
    )


def revision(key: str, row: Revision | Row[Any] | Any) -> StoredRevision:
    """A Revision, or a row with the revisions table's columns (of any width), as a StoredRevision."""
    return StoredRevision(
        article_key=key, number=row.number, content_hash=row.content_hash, size=row.size, text_path=row.text_path,
        raw_path=row.raw_path, template=row.template, origin=row.origin, fetched_at=utc_required(row.fetched_at),
        stored_at=utc_required(row.stored_at),
    )

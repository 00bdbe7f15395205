"""The store's tables. Unique constraints, not memory, decide what is new: an article is its key (site + article id),
a revision is one distinct archive text of an article, a URL belongs to at most one article."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, DateTime, ForeignKey, Index, LargeBinary, Table, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel


def _when(nullable: bool = False, index: bool = False) -> Column[datetime]:
    return Column(DateTime(timezone=True), nullable=nullable, index=index)


class Source(SQLModel, table=True):
    """A site (host family member) articles come from, e.g. ``rferl.org``."""

    __tablename__ = "sources"

    id: int | None = Field(default=None, primary_key=True)
    site: str = Field(max_length=200, unique=True)
    family: str = Field(max_length=50)
    created_at: datetime = Field(sa_column=_when())


class Story(SQLModel, table=True):
    """Near-duplicate articles (the same wire story on several sites or language services)."""

    __tablename__ = "stories"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=400, unique=True)  # the key of the article that opened the story
    created_at: datetime = Field(sa_column=_when())


class ArticleRow(SQLModel, table=True):
    __tablename__ = "articles"
    # The article's date, newest first: the order of the search's scan (monitor.search.candidates.article_date).
    __table_args__ = (Index("ix_articles_date", text("coalesce(published, first_seen)"), "id"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=400, unique=True)  # "site:article_id"
    source_id: int = Field(sa_column=Column(ForeignKey("sources.id"), nullable=False, index=True))
    site: str = Field(max_length=200)
    article_id: str = Field(max_length=200)
    family: str = Field(max_length=50)
    template: str = Field(max_length=100)
    canonical_url: str = Field(sa_column=Column(Text, nullable=False))  # as first seen: names every file
    url_hash: str = Field(max_length=16)  # urls.file_hash(canonical_url)
    language: str | None = Field(default=None, max_length=20)
    headline: str = Field(sa_column=Column(Text, nullable=False))
    published: datetime | None = Field(default=None, sa_column=_when(nullable=True, index=True))
    modified: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    authors: str = Field(default="[]", sa_column=Column(Text, nullable=False))  # JSON list
    section: str | None = Field(default=None, max_length=400)
    folder: str = Field(max_length=400)  # archive folder of every revision: <site>/<YYYY>/<MM>/<DD>
    first_seen: datetime = Field(sa_column=_when(index=True))
    last_seen: datetime = Field(sa_column=_when())
    revision_count: int = 0
    story_id: int | None = Field(default=None, sa_column=Column(ForeignKey("stories.id"), nullable=True, index=True))
    signature: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))  # MinHash values


class ArticleUrl(SQLModel, table=True):
    """Every URL variant an article was reached by (canonicalised): the "have we seen this URL" index."""

    __tablename__ = "article_urls"

    url: str = Field(sa_column=Column(Text, primary_key=True))
    article_pk: int = Field(sa_column=Column(ForeignKey("articles.id", ondelete="CASCADE"), nullable=False,
                                             index=True))
    first_seen: datetime = Field(sa_column=_when())


#: The daemon's start-up catch-up looks only at texts whose alerts have not run: a partial index keeps that look
#: as small as the backlog, whatever the archive's size.
_PENDING = "alerts_done_at IS NULL"


class Revision(SQLModel, table=True):
    """One archive text of an article that differs from the text before it; ``number`` 0 is the first text, 1 the
    first edit, ... A text may return (an edit undone): it is then a new latest revision, with the same hash as an
    older one."""

    __tablename__ = "revisions"
    __table_args__ = (
        UniqueConstraint("article_pk", "number", name="uq_revisions_number"),
        Index("ix_revisions_alerts_pending", "stored_at", sqlite_where=text(_PENDING),
              postgresql_where=text(_PENDING)),
    )

    id: int | None = Field(default=None, primary_key=True)
    article_pk: int = Field(sa_column=Column(ForeignKey("articles.id", ondelete="CASCADE"), nullable=False))
    number: int
    content_hash: str = Field(max_length=64)  # SHA-256 hex of the archive text's UTF-8 bytes
    size: int
    text_path: str = Field(max_length=600, unique=True)  # relative to the archive root
    raw_path: str | None = Field(default=None, max_length=600)  # gzip of the HTML the text was made from
    template: str = Field(max_length=100)
    # "fetch"; "reparse", "backfill" and "ingest" have their alerts muted (recorded done when stored)
    origin: str = Field(default="fetch", max_length=20)
    fetched_at: datetime = Field(sa_column=_when())
    stored_at: datetime = Field(sa_column=_when(index=True))
    # Set once the alert rules have been run over this text (or alerts were muted for it, as in a backfill). A
    # crash between archiving and queueing alerts leaves it empty, and the next run matches the text again, so an
    # archived article is never left unalerted.
    alerts_done_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    # The name (in monitor.toml) of the source whose run archived this text, for its "today" in ``monitor status``;
    # None for texts of ``monitor ingest`` and ``reparse``, and for those stored before migration 0003.
    source: str | None = Field(default=None, max_length=200)


# A source's texts of a day (``monitor status``): declared here, not in Revision's table arguments, so that the
# constraints there stay the revision logic's alone.
Index("ix_revisions_source_stored_at", Revision.__table__.c.source, Revision.__table__.c.stored_at)  # type: ignore[attr-defined]


class StoryBand(SQLModel, table=True):
    """Locality-sensitive hashing bands of each article's MinHash: articles sharing a band are story candidates."""

    __tablename__ = "story_bands"
    __table_args__ = (Index("ix_story_bands_lookup", "band", "hash"),)

    article_pk: int = Field(sa_column=Column(ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True))
    band: int = Field(primary_key=True)
    hash: int = Field(sa_column=Column(BigInteger, nullable=False))


class FeedState(SQLModel, table=True):
    """Conditional-GET validators and health of one feed, sitemap or section page (or any URL fetched)."""

    __tablename__ = "feed_state"

    url: str = Field(sa_column=Column(Text, primary_key=True))
    etag: str | None = Field(default=None, sa_column=Column(Text))
    last_modified: str | None = Field(default=None, max_length=100)
    last_success: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    last_failure: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    consecutive_failures: int = 0
    last_error: str | None = Field(default=None, sa_column=Column(Text))


class PageState(SQLModel, table=True):
    """What is known of an article page that is not (yet) in the archive: the language it turned out to be in (a
    source whose ``languages`` leave it out does not fetch it again), and the failures of a page that could not be
    archived: retried at ``next_attempt``, given up (``given_up`` set) after a few tries."""

    __tablename__ = "page_state"

    url: str = Field(sa_column=Column(Text, primary_key=True))  # canonical
    site: str = Field(max_length=200)  # as in article keys: whose retries a source's run makes
    language: str | None = Field(default=None, max_length=20)
    failures: int = 0
    last_failure: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    next_attempt: datetime | None = Field(default=None, sa_column=_when(nullable=True, index=True))
    given_up: datetime | None = Field(default=None, sa_column=_when(nullable=True))


class FetchLog(SQLModel, table=True):
    __tablename__ = "fetch_log"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(sa_column=Column(Text, nullable=False))
    fetched_at: datetime = Field(sa_column=_when(index=True))
    status: int | None = None  # HTTP status, None when no answer
    outcome: str = Field(max_length=20)  # new, revised, seen, not_modified, failed, skipped
    error: str | None = Field(default=None, sa_column=Column(Text))
    article_key: str | None = Field(default=None, max_length=400)
    duration_ms: int | None = None


class SourceHealth(SQLModel, table=True):
    """How one configured source is doing, for ``monitor status``/``health`` and the operations alerts."""

    __tablename__ = "source_health"

    source: str = Field(sa_column=Column(Text, primary_key=True))  # the source's name in monitor.toml
    first_run: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    last_run: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    last_success: datetime | None = Field(default=None, sa_column=_when(nullable=True))  # a run without errors
    last_new: datetime | None = Field(default=None, sa_column=_when(nullable=True))  # a run that found something new
    runs: int = 0
    consecutive_failures: int = 0
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    last_error_kind: str | None = Field(default=None, max_length=20)  # monitor.run_errors.RunErrorKind of last_error
    last_counts: str = Field(default="{}", sa_column=Column(Text, nullable=False))  # JSON of the last run's counts
    problem: str | None = Field(default=None, max_length=20)  # None, "failing" or "quiet"
    problem_since: datetime | None = Field(default=None, sa_column=_when(nullable=True))


# The tables as SQLAlchemy Core sees them, for the statements the store builds once (SQLModel types ``__table__``
# loosely).
ARTICLES: Table = ArticleRow.__table__  # type: ignore[attr-defined]
REVISIONS: Table = Revision.__table__  # type: ignore[attr-defined]
STORIES: Table = Story.__table__  # type: ignore[attr-defined]
STORY_BANDS: Table = StoryBand.__table__  # type: ignore[attr-defined]
ARTICLE_URLS: Table = ArticleUrl.__table__  # type: ignore[attr-defined]
SOURCES: Table = Source.__table__  # type: ignore[attr-defined]
FETCH_LOG: Table = FetchLog.__table__  # type: ignore[attr-defined]

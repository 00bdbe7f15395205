"""Reading articles, their revisions, URLs and stories one at a time (the pipeline's lookups), the alerting
bookkeeping of revisions, and what a configured source archived."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, update
from sqlalchemy import select as sa_select
from sqlmodel import col, select

from monitor.model import StoredArticle
from monitor.store._base import StoreBase, utc_required
from monitor.store._records import ARTICLE_BY_KEY, StoredRevision, revision, stored, stored_row
from monitor.store.tables import ARTICLE_URLS, ARTICLES, REVISIONS, ArticleRow, ArticleUrl, Revision, Story

_SEEN_URL = (sa_select(ARTICLES.c.key)
             .select_from(ARTICLE_URLS.join(ARTICLES, ARTICLES.c.id == ARTICLE_URLS.c.article_pk))
             .where(ARTICLE_URLS.c.url == bindparam("url")))
_PATH_CLAIMED = sa_select(REVISIONS.c.id).where(REVISIONS.c.text_path == bindparam("path"))
_REVISIONS_OF = (sa_select(REVISIONS).join(ARTICLES, ARTICLES.c.id == REVISIONS.c.article_pk)
                 .where(ARTICLES.c.key == bindparam("key")).order_by(REVISIONS.c.number))
_LATEST_REVISION = (sa_select(REVISIONS).where(REVISIONS.c.article_pk == bindparam("pk"))
                    .order_by(REVISIONS.c.number.desc()).limit(1))
# The first texts (new articles) a configured source's runs archived since a time: its "today" in `monitor status`
# and the bars of its chart on the web's Sources page, counted alike.
_FIRST_TEXTS_OF = (REVISIONS.c.source == bindparam("source"), REVISIONS.c.stored_at >= bindparam("since"),
                   REVISIONS.c.number == 0)
_ARCHIVED_BY = sa_select(func.count()).select_from(REVISIONS).where(*_FIRST_TEXTS_OF)
_ARCHIVED_WHEN = sa_select(REVISIONS.c.stored_at).where(*_FIRST_TEXTS_OF)


def _recent(*since: Any) -> Any:
    return (sa_select(ARTICLES.c.canonical_url, ARTICLES.c.last_seen)
            .where(ARTICLES.c.site == bindparam("site"), ARTICLES.c.last_seen < bindparam("before"), *since)
            .order_by(ARTICLES.c.last_seen).limit(bindparam("limit")))


# Two selects rather than one with OR, so each can use its index (published, first_seen).
_RECENT_DATED = _recent(ARTICLES.c.published >= bindparam("since"))
_RECENT_UNDATED = _recent(ARTICLES.c.published.is_(None), ARTICLES.c.first_seen >= bindparam("since"))


class ArticleLookups(StoreBase):
    """The pipeline's questions about single articles, and the revisions' alerting bookkeeping."""

    def seen_url(self, canonical: str) -> str | None:
        """The key of the article a canonical URL belongs to, or None: the "have we seen this URL" check.

        One indexed lookup on a plain connection (no ORM session): it runs for every candidate URL of every pass.
        """
        with self._connection("look up a URL") as connection:
            key: str | None = connection.execute(_SEEN_URL, {"url": canonical}).scalar()
            return key

    def due_for_revisit(self, site: str, *, published_since: datetime, fetched_before: datetime,
                        limit: int) -> list[str]:
        """Canonical URLs of a site's articles published since ``published_since`` (undated ones: first seen since)
        and last fetched before ``fetched_before``; the longest unfetched first, at most ``limit``."""
        values = {"site": site, "since": published_since, "before": fetched_before, "limit": limit}
        with self._connection("find articles to revisit") as connection:
            rows = [*connection.execute(_RECENT_DATED, values), *connection.execute(_RECENT_UNDATED, values)]
        rows.sort(key=lambda row: utc_required(row[1]))
        return [row[0] for row in rows[:limit]]

    def article(self, key: str) -> StoredArticle | None:
        with self._connection("read an article") as connection:
            row = connection.execute(ARTICLE_BY_KEY, {"key": key}).first()
            return None if row is None else stored_row(row)

    def latest_revision(self, stored: StoredArticle) -> StoredRevision | None:
        """The article's latest text: what a fetched text is compared with (a text that returns after an edit is
        new again, so an older revision with the same hash does not count)."""
        with self._connection("read the latest revision") as connection:
            row = connection.execute(_LATEST_REVISION, {"pk": stored.pk}).first()
            return revision(stored.key, row) if row is not None else None

    def revisions(self, key: str) -> list[StoredRevision]:
        with self._connection("read revisions") as connection:
            return [revision(key, r) for r in connection.execute(_REVISIONS_OF, {"key": key}).all()]

    def path_claimed(self, text_path: str) -> bool:
        """Whether a revision row names this archive file (a file nobody names is a crash leftover)."""
        with self._session("look up an archive file") as session:
            return session.connection().execute(_PATH_CLAIMED, {"path": text_path}).first() is not None

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

    # --- alerting bookkeeping, and what a source archived ------------------------------------------------------------

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
            return [(stored(article, story), revision(article.key, row)) for article, row, story in rows]

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

    def archived_per_day(self, source: str, first_day: date, days: int) -> dict[date, int]:
        """:meth:`archived_by` per UTC day, from ``first_day`` on for ``days`` days, zeros included (the source's
        own articles: two sources of one site count apart)."""
        counts = {first_day + timedelta(days=n): 0 for n in range(days)}
        since = datetime(first_day.year, first_day.month, first_day.day, tzinfo=UTC)
        with self._connection("count archived articles per day") as connection:
            for (stored_at,) in connection.execute(_ARCHIVED_WHEN, {"source": source, "since": since}):
                day = utc_required(stored_at).date()
                if day in counts:
                    counts[day] += 1
        return counts

"""What the web workbench reads beyond the pipeline's lookups: an article's full metadata, a story's articles, and
the values the search filters offer."""

from __future__ import annotations

import json

from sqlalchemy import bindparam, func
from sqlalchemy import select as sa_select

from monitor.model import StoredArticle
from monitor.store._base import StoreBase, as_utc
from monitor.store._records import STORED_SELECT, ArticleMeta, stored_row
from monitor.store.tables import ARTICLES, STORIES

_META = (sa_select(ARTICLES.c.section, ARTICLES.c.authors, ARTICLES.c.modified, ARTICLES.c.template,
                   ARTICLES.c.family).where(ARTICLES.c.key == bindparam("key")))
_STORY = (STORED_SELECT.where(STORIES.c.key == bindparam("story"))
          .order_by(func.coalesce(ARTICLES.c.published, ARTICLES.c.first_seen), ARTICLES.c.id)
          .limit(bindparam("limit")))
_CHOICES = 500  # values per filter at most


class WorkbenchReads(StoreBase):
    """Read-only lookups of the web pages."""

    def article_meta(self, key: str) -> ArticleMeta | None:
        with self._connection("read an article's metadata") as connection:
            row = connection.execute(_META, {"key": key}).first()
        if row is None:
            return None
        try:
            authors = [str(a) for a in json.loads(row.authors or "[]")]
        except ValueError:
            authors = []
        return ArticleMeta(row.section, authors, as_utc(row.modified), row.template, row.family)

    def story_articles(self, story_key: str, limit: int = 500) -> list[StoredArticle]:
        """The articles of one story across sites, oldest first (by :attr:`StoredArticle.when`)."""
        with self._connection("read a story") as connection:
            return [stored_row(row) for row in connection.execute(_STORY, {"story": story_key, "limit": limit})]

    def filter_choices(self) -> dict[str, list[str]]:
        """The sites, languages and sections there are, for the search filters' choices."""
        found: dict[str, list[str]] = {}
        with self._connection("read the search filters' choices") as connection:
            for name in ("site", "language", "section"):
                column = ARTICLES.c[name]
                rows = connection.execute(sa_select(column).where(column.is_not(None)).distinct().order_by(column)
                                          .limit(_CHOICES)).all()
                found[name] = [str(r[0]) for r in rows if r[0]]
        return found

"""The store's tables as far as searching reads them, declared in SQLAlchemy Core.

The store declares its tables as SQLModel classes (:mod:`monitor.store.tables`); importing those (SQLModel, the ORM,
pydantic models built for each table) cost ``monitor rules test`` most of a second before it read one row. A search
only selects, so a Core ``table()`` with the columns it reads suffices. The schema stays the store's:
tests/test_search_schema.py checks every column here against the store's metadata (name and type).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnClause, DateTime, Integer, String, TableClause, Text, column, table


def _when(name: str) -> ColumnClause[datetime]:
    return column(name, DateTime(timezone=True))


ARTICLES: TableClause = table(
    "articles",
    column("id", Integer), column("key", String), column("source_id", Integer), column("site", String),
    column("article_id", String), column("family", String), column("template", String),
    column("canonical_url", Text), column("url_hash", String), column("language", String),
    column("headline", Text), _when("published"), _when("modified"), column("authors", Text),
    column("section", String), column("folder", String), _when("first_seen"), _when("last_seen"),
    column("revision_count", Integer), column("story_id", Integer),
)
REVISIONS: TableClause = table(
    "revisions",
    column("id", Integer), column("article_pk", Integer), column("number", Integer), column("text_path", String),
)
STORIES: TableClause = table("stories", column("id", Integer), column("key", String))

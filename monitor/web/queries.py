"""Read-only lookups the pages need beyond the store's own methods: an article's full metadata, a story's articles,
the alerts an article caused, and articles per day. Each runs one short select on the store's engine."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Table, null
from sqlalchemy import select as sa_select

from monitor.model import Match
from monitor.search.schema import ARTICLES as _ARTICLES  # the columns ARTICLE_COLUMNS are of (one FROM, not two)
from monitor.search.schema import STORIES
from monitor.search.service import ARTICLE_COLUMNS, Candidate, article_date, candidate_from_row
from monitor.store import Store
from monitor.store.outbox import AlertOutbox, OutboxItem, _item

_OUTBOX: Table = AlertOutbox.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class ArticleMeta:
    """What the article page shows beyond :class:`~monitor.store.store.StoredArticle`."""

    section: str | None
    authors: list[str]
    modified: datetime | None
    template: str
    family: str


def article_meta(store: Store, key: str) -> ArticleMeta | None:
    stmt = sa_select(_ARTICLES.c.section, _ARTICLES.c.authors, _ARTICLES.c.modified, _ARTICLES.c.template,
                     _ARTICLES.c.family).where(_ARTICLES.c.key == key)
    with store.engine.connect() as connection:
        row = connection.execute(stmt).first()
    if row is None:
        return None
    try:
        authors = [str(a) for a in json.loads(row.authors or "[]")]
    except ValueError:
        authors = []
    modified = row.modified
    if modified is not None and modified.tzinfo is None:
        modified = modified.replace(tzinfo=UTC)
    return ArticleMeta(row.section, authors, modified, row.template, row.family)


def story_articles(store: Store, story_key: str, limit: int = 500) -> list[Candidate]:
    """The articles of one story across sites, oldest first."""
    stmt = (sa_select(*ARTICLE_COLUMNS, STORIES.c.key.label("story_key"), null().label("text_path"))
            .select_from(_ARTICLES.join(STORIES, STORIES.c.id == _ARTICLES.c.story_id))
            .where(STORIES.c.key == story_key).order_by(article_date, _ARTICLES.c.id).limit(limit))
    with store.engine.connect() as connection:
        return [candidate_from_row(row._mapping) for row in connection.execute(stmt).all()]


def article_alerts(store: Store, key: str, limit: int = 100) -> list[OutboxItem]:
    """Outbox rows (alerts and updates) an article caused, oldest first. Digests carry many articles and are
    listed on the alerts page only."""
    stmt = sa_select(AlertOutbox).where(_OUTBOX.c.article_key == key).order_by(_OUTBOX.c.id).limit(limit)
    from sqlmodel import Session

    with Session(store.engine) as session:
        return [_item(row) for row in session.exec(stmt).scalars().all()]  # type: ignore[call-overload]


def outbox_rows(store: Store, *, channel: str | None, state: str | None, limit: int = 200) -> list[OutboxItem]:
    """The outbox, newest first, optionally of one channel and state."""
    from sqlmodel import Session

    stmt = sa_select(AlertOutbox).order_by(_OUTBOX.c.id.desc()).limit(limit)
    if channel:
        stmt = stmt.where(_OUTBOX.c.channel == channel)
    if state:
        stmt = stmt.where(_OUTBOX.c.state == state)
    with Session(store.engine) as session:
        return [_item(row) for row in session.exec(stmt).scalars().all()]  # type: ignore[call-overload]


def matches_of(item: OutboxItem) -> list[Match]:
    """What matched, from an outbox row's payload (one match, or a digest's list); nothing for a payload this
    version cannot read (it is shown raw-less rather than failing the page)."""
    try:
        data: Any = json.loads(item.payload)
        if isinstance(data, dict) and "matches" in data:
            data = data["matches"]
        items = data if isinstance(data, list) else [data]
        return [Match.from_json(entry) for entry in items if isinstance(entry, dict) and "rule" in entry]
    except (ValueError, KeyError, TypeError):
        return []


def articles_per_day(store: Store, site: str, days: int, today: date | None = None) -> dict[date, int]:
    """Articles of ``site`` first seen on each of the last ``days`` days (today included), zeros included."""
    today = today or datetime.now(UTC).date()
    start = today - timedelta(days=days - 1)
    since = datetime(start.year, start.month, start.day, tzinfo=UTC)
    stmt = sa_select(_ARTICLES.c.first_seen).where(_ARTICLES.c.site == site, _ARTICLES.c.first_seen >= since)
    counts = {start + timedelta(days=n): 0 for n in range(days)}
    with store.engine.connect() as connection:
        for (seen,) in connection.execute(stmt):
            day = (seen if seen.tzinfo is None else seen.astimezone(UTC)).date()
            if day in counts:
                counts[day] += 1
    return counts


def distinct_values(store: Store) -> dict[str, list[str]]:
    """The sites, languages and sections there are, for the search filters' choices."""
    found: dict[str, list[str]] = {}
    with store.engine.connect() as connection:
        for name in ("site", "language", "section"):
            column = _ARTICLES.c[name]
            rows = connection.execute(sa_select(column).where(column.is_not(None)).distinct().order_by(column)
                                      .limit(500)).all()
            found[name] = [str(r[0]) for r in rows if r[0]]
    return found

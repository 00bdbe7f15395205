"""The plumbing every table group of the store shares (:mod:`monitor.store.store` composes them): one engine, a
session or a plain connection per call, and database trouble translated into
:class:`~monitor.errors.StoreError` in this one place."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from monitor.clock import Clock, utc_now
from monitor.store.engine import database_errors, describe


class StoreBase:
    """The engine and its use; the table groups (mixins of :class:`~monitor.store.store.Store`) build on it."""

    def __init__(self, engine: Engine, *, story_threshold: float = 0.8, clock: Clock = utc_now) -> None:
        self.engine = engine
        self.story_threshold = story_threshold
        self.where = describe(engine.url)
        self.clock = clock  # when a text is stored ("stored_at"), and when its muted alerts count as done
        self._dialect = engine.dialect.name
        self._sources: dict[str, int] = {}
        self._ignoring: dict[tuple[str, tuple[str, ...]], Any] = {}

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
            # One statement per table and key, reused (see _records.ARTICLE_BY_KEY); the rows go in as parameters.
            cache_key = (table.name, tuple(keys))
            stmt = self._ignoring.get(cache_key)
            if stmt is None:
                stmt = self._ignoring[cache_key] = self._insert(table).on_conflict_do_nothing(index_elements=keys)
            connection.execute(stmt, rows)


def as_utc(value: datetime | None) -> datetime | None:
    """A timestamp as read back, in UTC (SQLite hands them back naive; they were written as UTC)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utc_required(value: datetime | None) -> datetime:
    """:func:`as_utc` of a column that is never empty."""
    out = as_utc(value)
    assert out is not None
    return out

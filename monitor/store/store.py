"""The store: the one facade over the database's table groups, each a private module of short transactions with
"new" decided by unique constraints:

- :mod:`~monitor.store._articles` and :mod:`~monitor.store._recording`: articles, revisions, URLs and stories (the
  pipeline's lookups and writes), the alerting bookkeeping, what a source archived;
- :mod:`~monitor.store._walks`: the whole archive in batches (export, archive verify);
- :mod:`~monitor.store._fetching`: feeds' validators, the fetch log, page state;
- :mod:`~monitor.store._health`: source health;
- :mod:`~monitor.store._workbench`: what the web pages read;

with their plumbing in :mod:`~monitor.store._base`, and the alert outbox (:mod:`monitor.store.outbox`) one
attribute away.

Callers (the pipeline, the archive check, the CLI, the web) never write SQL: they call these methods. Database
trouble (locked, down, refused) comes out as :class:`~monitor.errors.StoreError` with the database named (no
password); a lost race on a unique key comes out as a :data:`CONFLICT` answer the caller settles by looking again.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from monitor._closing import Closing
from monitor.clock import Clock, utc_now
from monitor.errors import StoreError
from monitor.model import StoredArticle
from monitor.settings import StorageSettings
from monitor.store import migrate
from monitor.store._fetching import DatabaseValidators, Fetching
from monitor.store._health import Health
from monitor.store._recording import MUTED_ORIGINS, ArticleRecording
from monitor.store._records import (
    CONFLICT,
    ArticleMeta,
    ArticleRecord,
    NewRevision,
    StoredRevision,
)
from monitor.store._walks import ArchiveWalks
from monitor.store._workbench import WorkbenchReads
from monitor.store.engine import database_url, make_engine
from monitor.store.outbox import Outbox


class Store(ArticleRecording, ArchiveWalks, Fetching, Health, WorkbenchReads, Closing):
    """The monitor's database. Thread-safe (one engine, a session per call). ``Store(engine, story_threshold=...,
    clock=...)`` on a migrated database; ``clock`` says when texts are stored (the real clock by default)."""

    @classmethod
    def open(cls, settings: StorageSettings, *, upgrade: bool = True, clock: Clock = utc_now) -> Store:
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
        return cls(engine, story_threshold=settings.story_threshold, clock=clock)

    @cached_property
    def outbox(self) -> Outbox:
        """The alert outbox in this database."""
        return Outbox(self.engine)

    def close(self) -> None:
        self.engine.dispose()


__all__ = ["CONFLICT", "MUTED_ORIGINS", "ArticleMeta", "ArticleRecord", "DatabaseValidators", "NewRevision", "Store",
           "StoredArticle", "StoredRevision"]

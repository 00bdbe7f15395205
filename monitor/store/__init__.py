"""The store: SQLModel tables, engine setup, migrations, and the operations on them; the only code that writes SQL.

Open it with :meth:`Store.open` (settings) or ``Store(make_engine(url))`` after :func:`migrate.upgrade`.

The names below are imported on first use: ``monitor health`` reads the database through
:mod:`monitor.store.glance` without paying for SQLModel and the ORM (benchmarks/startup.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from monitor._lazy import lazy_names

if TYPE_CHECKING:
    from monitor.model import StoredArticle
    from monitor.store.engine import database_url, describe, make_engine
    from monitor.store.store import CONFLICT, ArticleRecord, DatabaseValidators, NewRevision, Store, StoredRevision

_LAZY = {
    "database_url": "monitor.store.engine",
    "describe": "monitor.store.engine",
    "make_engine": "monitor.store.engine",
    "CONFLICT": "monitor.store.store",
    "ArticleRecord": "monitor.store.store",
    "DatabaseValidators": "monitor.store.store",
    "NewRevision": "monitor.store.store",
    "Store": "monitor.store.store",
    "StoredArticle": "monitor.model",
    "StoredRevision": "monitor.store.store",
}


__getattr__ = lazy_names(__name__, globals(), _LAZY)

__all__ = [
    "CONFLICT",
    "ArticleRecord",
    "DatabaseValidators",
    "NewRevision",
    "Store",
    "StoredArticle",
    "StoredRevision",
    "database_url",
    "describe",
    "make_engine",
]

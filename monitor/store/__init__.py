"""The store: SQLModel tables, engine setup, migrations, and the operations on them; the only code that writes SQL.

Open it with :meth:`Store.open` (settings) or ``Store(make_engine(url))`` after :func:`migrate.upgrade`.

The names below are imported on first use: ``monitor health`` reads the database through
:mod:`monitor.store.glance` without paying for SQLModel and the ORM (benchmarks/startup.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from monitor._lazy import lazy_names

if TYPE_CHECKING:
    from monitor.model import StoredArticle as StoredArticle
    from monitor.store.engine import database_url as database_url
    from monitor.store.engine import describe as describe
    from monitor.store.engine import make_engine as make_engine
    from monitor.store.store import CONFLICT as CONFLICT
    from monitor.store.store import ArticleRecord as ArticleRecord
    from monitor.store.store import DatabaseValidators as DatabaseValidators
    from monitor.store.store import NewRevision as NewRevision
    from monitor.store.store import Store as Store
    from monitor.store.store import StoredRevision as StoredRevision

__getattr__, __all__ = lazy_names(__name__, globals(), {
    "monitor.model": ("StoredArticle",),
    "monitor.store.engine": ("database_url", "describe", "make_engine"),
    "monitor.store.store": ("CONFLICT", "ArticleRecord", "DatabaseValidators", "NewRevision", "Store",
                            "StoredRevision"),
})

"""The store: SQLModel tables, engine setup, migrations, and the operations on them; the only code that writes SQL.

Open it with :meth:`Store.open` (settings) or ``Store(make_engine(url))`` after :func:`migrate.upgrade`.
"""

from monitor.store.engine import database_url, describe, make_engine
from monitor.store.store import (
    CONFLICT,
    ArticleRecord,
    DatabaseValidators,
    NewRevision,
    Store,
    StoredArticle,
    StoredRevision,
)

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

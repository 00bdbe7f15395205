"""All tables of the ``monitor.store`` package on one metadata: every module of the package is imported (the
outbox tables of the notification area included), so migrations and ``create_all`` never miss one."""

from __future__ import annotations

import importlib
import pkgutil

from sqlalchemy import MetaData
from sqlmodel import SQLModel

_SKIP = frozenset({"migrations"})
#: Tables the migrations create without declaring them here: the search index (an FTS5 virtual table and its
#: shadow tables on SQLite, a tsvector on PostgreSQL; see monitor.search.index).
UNDECLARED_PREFIX = "search_"


def metadata() -> MetaData:
    import monitor.store as package

    for module in pkgutil.iter_modules(package.__path__):
        if module.name not in _SKIP:
            importlib.import_module(f"monitor.store.{module.name}")
    return SQLModel.metadata


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """For alembic's comparison with the metadata: leave out the tables that are not declared here."""
    return not (type_ == "table" and (name or "").startswith(UNDECLARED_PREFIX))

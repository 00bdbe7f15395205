"""All tables of the ``monitor.store`` package on one metadata: every module of the package is imported (the
outbox tables of the notification area included), so migrations and ``create_all`` never miss one."""

from __future__ import annotations

import importlib
import pkgutil

from sqlalchemy import MetaData
from sqlmodel import SQLModel

_SKIP = frozenset({"migrations"})


def metadata() -> MetaData:
    import monitor.store as package

    for module in pkgutil.iter_modules(package.__path__):
        if module.name not in _SKIP:
            importlib.import_module(f"monitor.store.{module.name}")
    return SQLModel.metadata

"""The daemon lock: one daemon per database (SQLite) or per schema (PostgreSQL), released when its holder ends."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from monitor.errors import DaemonAlreadyRunning
from monitor.lock import DaemonLock
from tests._store_support import pg_url_fixture  # noqa: F401  (fixture)


def test_sqlite_one_daemon_per_database_file(tmp_path: Path) -> None:
    first, other = f"sqlite:///{tmp_path / 'a' / 'monitor.db'}", f"sqlite:///{tmp_path / 'b' / 'monitor.db'}"
    with DaemonLock(first), DaemonLock(other), pytest.raises(DaemonAlreadyRunning, match="already running"):
        DaemonLock(first).acquire()
    with DaemonLock(first):  # released with its holder
        pass


def test_postgresql_one_daemon_per_schema(pg_url: str) -> None:
    url = make_url(pg_url)
    schema = f"monitor_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url.set(query={}))
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    other = url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    try:
        # Two installations in one database, each with its daemon; a second daemon of one of them is refused.
        with DaemonLock(pg_url), DaemonLock(other), pytest.raises(DaemonAlreadyRunning, match="same schema"):
            DaemonLock(pg_url).acquire()
        with DaemonLock(pg_url):
            pass
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

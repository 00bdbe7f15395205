"""Engine setup: SQLite under the archive root by default (WAL, busy timeout, foreign keys), PostgreSQL by URL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import NullPool

from monitor.errors import StoreError
from monitor.settings import StorageSettings

DB_FILE = "monitor.db"
BUSY_TIMEOUT_S = 30.0


def database_url(settings: StorageSettings) -> str:
    """The configured URL, or the SQLite file ``monitor.db`` under the archive root."""
    if settings.url:
        return settings.url
    return f"sqlite:///{Path(settings.archive_root).resolve() / DB_FILE}"


def describe(url: str | URL) -> str:
    """The URL without its password, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparsable database URL>"


def make_engine(url: str | URL, *, busy_timeout: float = BUSY_TIMEOUT_S, transactional_ddl: bool = False) -> Engine:
    """The engine for ``url``. ``transactional_ddl`` (SQLite; PostgreSQL has it anyway): every transaction starts
    with a real ``BEGIN``, so schema changes inside it commit or roll back with it; for migrations only."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreError(f"storage url: not a database URL: {str(url)!r}") from None
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            folder = Path(parsed.database).parent
            if not folder.is_dir():
                raise StoreError(f"database folder {folder} does not exist")
        kwargs["connect_args"] = {"timeout": busy_timeout, "check_same_thread": False}
        if transactional_ddl:
            kwargs["poolclass"] = NullPool  # a migration's connection is not kept: the store has its own engine
        engine = create_engine(parsed, **kwargs)
        _sqlite_pragmas(engine, busy_timeout)
        if transactional_ddl:
            _sqlite_transactional_ddl(engine)
        return engine
    kwargs["pool_pre_ping"] = True
    return create_engine(parsed, **kwargs)


def _sqlite_pragmas(engine: Engine, busy_timeout: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode keeps every commit durable against a process crash (the crash test); only a power
        # loss can lose the last commits, and then the archive's orphan files are adopted again on the next fetch.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def _sqlite_transactional_ddl(engine: Engine) -> None:
    """Python's sqlite3 module (before 3.12) opens a transaction only before INSERT, UPDATE and DELETE: CREATE TABLE
    and CREATE INDEX run outside any transaction and are committed one by one, so a crash during a migration leaves
    half a schema that no later run can finish ("table ... already exists"). SQLite itself has transactional DDL:
    take the transaction handling from the driver (SQLAlchemy's recipe for pysqlite) and begin explicitly.
    IMMEDIATE takes the write lock at once: a migration is a writer from its first statement."""

    @event.listens_for(engine, "connect")
    def _no_driver_transactions(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

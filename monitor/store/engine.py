"""Engine setup: SQLite under the archive root by default (WAL, busy timeout, foreign keys), PostgreSQL by URL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monitor.errors import StoreError

if TYPE_CHECKING:
    from sqlalchemy.engine import URL, Engine

    from monitor.settings import StorageSettings

DB_FILE = "monitor.db"
BUSY_TIMEOUT_S = 30.0

#: libpq connection parameters a daemon needs to notice a database it can no longer reach. Without them a cut network
#: leaves a query waiting on a dead TCP connection for the kernel's retransmission timeout (15 minutes or more on
#: Linux) and a new connection waiting forever on an unanswered SYN, so the daemon hangs instead of logging a failed
#: run and retrying. A value given in the URL's query (``?connect_timeout=30``) wins over these.
POSTGRES_CONNECT_ARGS: dict[str, int] = {
    "connect_timeout": 10,  # seconds for the TCP and TLS handshake and the login
    "keepalives": 1,
    "keepalives_idle": 30,  # an idle connection is probed after 30 s ...
    "keepalives_interval": 10,
    "keepalives_count": 3,  # ... and given up after three unanswered probes
    "tcp_user_timeout": 60_000,  # ms: sent data left unacknowledged this long breaks the connection
}


def database_url(settings: StorageSettings) -> str:
    """The configured URL, or the SQLite file ``monitor.db`` under the archive root."""
    if settings.url:
        return settings.url
    return f"sqlite:///{Path(settings.archive_root).resolve() / DB_FILE}"


# sqlite:///relative.db, sqlite:////absolute.db: the common spellings, told apart without importing SQLAlchemy.
_PLAIN_SQLITE = re.compile(r"^sqlite(?:\+\w+)?://(?:/([^?%#]*))?$")


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL (``monitor.db`` when the URL names none); None for other databases."""
    plain = _PLAIN_SQLITE.match(url)
    if plain:
        return Path(plain.group(1) or "monitor.db")
    if not url.startswith("sqlite"):
        return None
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return Path(parsed.database or "monitor.db") if parsed.get_backend_name() == "sqlite" else None


def describe(url: str | URL) -> str:
    """The URL without its password, for messages and logs."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparsable database URL>"


def schema_mismatch(where: str, current: str | None, head: str | None) -> StoreError | None:
    """The error of database ``where`` (no password) when its schema is not the newest migration (None when it
    is): one wording for the store's Alembic check and the light commands' checks without Alembic."""
    if current == head:
        return None
    return StoreError(f"database {where} is at schema {current or 'none'}, this monitor needs {head}: "
                      "run `monitor db upgrade`")


@contextmanager
def database_errors(where: str, what: str) -> Iterator[None]:
    """Database trouble as one StoreError naming the database (``where``, no password) and what was being done; a
    lost race on a unique key (IntegrityError) passes through for the caller to settle.

    The one translation from SQLAlchemy's errors into the project's tree, for the store and the outbox alike."""
    from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, SQLAlchemyError

    try:
        yield
    except IntegrityError:
        raise
    except (OperationalError, DBAPIError) as exc:
        reason = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [type(exc).__name__])[0]
        raise StoreError(f"database {where}: {what}: {reason}") from None
    except SQLAlchemyError as exc:
        raise StoreError(f"database {where}: {what}: {exc}") from None


def make_engine(url: str | URL, *, busy_timeout: float = BUSY_TIMEOUT_S, transactional_ddl: bool = False) -> Engine:
    """The engine for ``url``. ``transactional_ddl`` (SQLite; PostgreSQL has it anyway): every transaction starts
    with a real ``BEGIN``, so schema changes inside it commit or roll back with it; for migrations only."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError
    from sqlalchemy.pool import NullPool

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
    if parsed.get_backend_name() == "postgresql":
        kwargs["connect_args"] = postgres_connect_args(parsed.query)
    return create_engine(parsed, **kwargs)


def postgres_connect_args(query: Any) -> dict[str, int]:
    """:data:`POSTGRES_CONNECT_ARGS` without the parameters the URL's query sets itself."""
    return {name: value for name, value in POSTGRES_CONNECT_ARGS.items() if name not in query}


def _sqlite_pragmas(engine: Engine, busy_timeout: float) -> None:
    from sqlalchemy import event

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
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _no_driver_transactions(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

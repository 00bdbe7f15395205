"""Schema migrations with alembic, shipped inside the package (``monitor/store/migrations``), so an installed monitor
can upgrade its database without the source tree. The app upgrades on start; ``monitor db upgrade`` does it alone."""

from __future__ import annotations

import errno
import fcntl
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, literal, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from monitor.errors import StoreError
from monitor.store.engine import describe, make_engine, schema_mismatch
from monitor.store.metadata import metadata

log = logging.getLogger("monitor.store")

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# alembic's migration context is one module-level object: two threads of one process opening stores at once (two
# backfills, a backfill beside an ingest) would share it mid-upgrade.
_UPGRADE_LOCK = threading.Lock()


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def head_revision() -> str | None:
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except SQLAlchemyError as exc:
        raise StoreError(f"database {describe(engine.url)}: {_reason(exc)}") from None


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (idempotent)."""
    try:
        with _UPGRADE_LOCK, _between_processes(engine), _migrating(engine) as migrating:
            _mend_unversioned(migrating)
            command.upgrade(alembic_config(migrating), revision)
    except SQLAlchemyError as exc:
        raise StoreError(f"database {describe(engine.url)}: upgrade failed: {_reason(exc)}") from None


def _mend_unversioned(engine: Engine) -> None:
    """A SQLite database whose first schema creation a crash cut short under an older monitor (whose DDL was not
    transactional) has some tables and no schema version: no migration can run on it ("table ... already exists").
    When those tables are all empty nothing can be lost: drop them, and the upgrade creates the schema anew. A table
    with rows is not dropped: the database is refused with what to look at."""
    if engine.dialect.name != "sqlite":
        return
    with engine.begin() as connection:
        if MigrationContext.configure(connection).get_current_revision() is not None:
            return
        ours = metadata().tables
        present = [name for name in inspect(connection).get_table_names() if name in ours]
        if not present:
            return
        filled = [name for name in present
                  if connection.execute(select(literal(1)).select_from(ours[name]).limit(1)).first() is not None]
        if filled:
            raise StoreError(f"database {describe(engine.url)} has no schema version but its tables "
                             f"{', '.join(sorted(filled))} hold rows: not a database this monitor made, or damaged; "
                             "move it aside or restore a backup")
        for table in reversed(metadata().sorted_tables):
            if table.name in present:
                table.drop(connection)
    log.warning("database %s: removed the empty tables of a schema creation cut short (%s); creating it anew",
                describe(engine.url), ", ".join(sorted(present)))


@contextmanager
def _migrating(engine: Engine) -> Iterator[Engine]:
    """The engine migrations run on: on SQLite one whose transactions wrap DDL (see engine.py), so that each
    migration, with its entry in ``alembic_version``, is there entirely or not at all after a crash."""
    if engine.dialect.name != "sqlite":
        yield engine
        return
    dedicated = make_engine(engine.url, transactional_ddl=True)
    try:
        yield dedicated
    finally:
        dedicated.dispose()


@contextmanager
def _between_processes(engine: Engine) -> Iterator[None]:
    """Processes starting at once on a fresh database (the daemon and a backfill, say) upgrade one after the other;
    the later one then finds the schema current. PostgreSQL: an advisory lock in migrations/env.py. SQLite: an
    exclusive flock on a file beside the database (waiting there, not on SQLite's busy timeout, which a long
    migration could outlast)."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    path = Path(database).with_suffix(".migrate.lock")
    try:
        handle = path.open("a", encoding="utf-8")
    except OSError as exc:
        reason = "disk full" if exc.errno == errno.ENOSPC else exc.strerror or exc
        raise StoreError(f"{path}: cannot open the migration lock: {reason}") from None
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the handle closes, or by the kernel if we die
        yield


def check(engine: Engine) -> None:
    """Raise StoreError unless the schema is at the head revision."""
    error = schema_mismatch(describe(engine.url), current_revision(engine), head_revision())
    if error is not None:
        raise error


def _reason(exc: SQLAlchemyError) -> str:
    orig = getattr(exc, "orig", None)
    return str(orig or exc).strip().splitlines()[0]

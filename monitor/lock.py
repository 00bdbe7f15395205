"""One daemon per database: a lock held for the daemon's lifetime.

SQLite: an exclusive ``flock`` on a file beside the database (released by the kernel if the process dies).
PostgreSQL: a session-level advisory lock, one per schema, on a connection kept open for the daemon's lifetime
(released by the server when the connection drops). Backfill does not take this lock: it may run beside the daemon.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from pathlib import Path
from typing import IO, Any

from monitor.errors import DaemonAlreadyRunning, StoreError
from monitor.store.engine import sqlite_file

# The advisory key: a hash of the schema the monitor's tables live in (the search_path's first), so installations
# in different schemas of one database each have their daemon, and one schema never has two.
_ADVISORY_LOCK = "SELECT pg_try_advisory_lock(hashtextextended('monitor daemon ' || current_schema(), 0))"


class DaemonLock:
    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self._file: IO[str] | None = None
        self._connection: Any = None
        self._engine: Any = None

    def acquire(self) -> None:
        database = sqlite_file(self.database_url)  # without SQLAlchemy: `monitor health` takes this lock
        if database is not None:
            self._acquire_file(database.with_suffix(".daemon.lock"))
        else:
            self._acquire_advisory()

    def _acquire_file(self, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle = path.open("a+", encoding="utf-8")
        except OSError as exc:
            raise StoreError(f"{path}: cannot create the daemon lock: {_reason(exc)}") from None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise DaemonAlreadyRunning(
                f"another monitor daemon (pid {holder}) is already running on this database (lock {path})"
            ) from None
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(str(os.getpid()))
            handle.flush()
        except OSError as exc:
            # The pid is only a courtesy for the message a second daemon prints; but a disk too full for four
            # bytes is too full for the archive, so say so now rather than at the first article.
            fcntl.flock(handle, fcntl.LOCK_UN)
            with contextlib.suppress(OSError):  # close flushes again, into the same full disk
                handle.close()
            raise StoreError(f"{path}: cannot write the daemon lock: {_reason(exc)}") from None
        self._file = handle

    def _acquire_advisory(self) -> None:
        from sqlalchemy import create_engine, text

        try:
            self._engine = create_engine(self.database_url, pool_size=1, max_overflow=0)
            self._connection = self._engine.connect()
            got = self._connection.execute(text(_ADVISORY_LOCK)).scalar()
        except Exception as exc:
            self.release()
            raise StoreError(f"cannot reach the database to take the daemon lock: {exc}") from None
        if not got:
            self.release()
            raise DaemonAlreadyRunning("another monitor daemon is already running on this database (same schema)")

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None
        if self._connection is not None:
            from sqlalchemy.exc import SQLAlchemyError  # only a PostgreSQL lock has a connection

            try:
                self._connection.close()
            except SQLAlchemyError:
                # The connection is gone already (the database restarted or dropped it): so is the advisory lock,
                # which the server releases with its session. Nothing is left to release, and a stop must not fail.
                pass
            finally:
                self._connection = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def __enter__(self) -> DaemonLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _reason(exc: OSError) -> str:
    return "disk full" if exc.errno == errno.ENOSPC else str(exc.strerror or exc)

"""One daemon per SQLite database: a lock held for the daemon's lifetime.

SQLite: an exclusive ``flock`` on a file beside the database (released by the kernel if the process dies). SQLite
stays single-process: several daemons need PostgreSQL.
PostgreSQL: no lock. Any number of daemons share one database through leases in it (monitor/store/leases.py,
monitor/sharing.py), so :meth:`DaemonLock.acquire` takes nothing there. Backfill does not take this lock: it may run
beside any number of daemons.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from pathlib import Path
from typing import IO

from monitor.errors import DaemonAlreadyRunning, StoreError
from monitor.store.engine import sqlite_file


class DaemonLock:
    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self._file: IO[str] | None = None

    @property
    def exclusive(self) -> bool:
        """Whether this database allows one daemon only (SQLite); PostgreSQL shares the work among any number."""
        return sqlite_file(self.database_url) is not None

    def acquire(self) -> None:
        database = sqlite_file(self.database_url)  # without SQLAlchemy: `monitor health` takes this lock
        if database is not None:
            self._acquire_file(database.with_suffix(".daemon.lock"))

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
                f"another monitor daemon (pid {holder}) is already running on this database (lock {path}); "
                "SQLite takes one daemon: several daemons on one database need PostgreSQL (storage.url)"
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

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    def __enter__(self) -> DaemonLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _reason(exc: OSError) -> str:
    return "disk full" if exc.errno == errno.ENOSPC else str(exc.strerror or exc)

"""One daemon per SQLite database: a lock held for the daemon's lifetime.

SQLite: an exclusive ``flock`` on a file beside the database (released by the kernel if the process dies). SQLite
stays single-process: several daemons need PostgreSQL.
PostgreSQL: no lock. Any number of daemons share one database through leases in it (monitor/store/leases.py,
monitor/sharing.py), so :meth:`DaemonLock.acquire` takes nothing there. Backfill does not take this lock: it may run
beside any number of daemons.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from sqlalchemy.engine import make_url

from monitor.errors import StoreError


class DaemonAlreadyRunning(StoreError):
    """Another daemon holds the lock on this database."""


class DaemonLock:
    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self._file: IO[str] | None = None

    @property
    def exclusive(self) -> bool:
        """Whether this database allows one daemon only (SQLite); PostgreSQL shares the work among any number."""
        return make_url(self.database_url).get_backend_name() == "sqlite"

    def acquire(self) -> None:
        url = make_url(self.database_url)
        if url.get_backend_name() == "sqlite":
            self._acquire_file(Path(url.database or "monitor.db").with_suffix(".daemon.lock"))

    def _acquire_file(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = path.open("a+", encoding="utf-8")
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
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
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

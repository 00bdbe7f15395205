"""The daemon lock: one daemon per SQLite database, released when its holder ends."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.errors import DaemonAlreadyRunning
from monitor.lock import DaemonLock


def test_sqlite_one_daemon_per_database_file(tmp_path: Path) -> None:
    first, other = f"sqlite:///{tmp_path / 'a' / 'monitor.db'}", f"sqlite:///{tmp_path / 'b' / 'monitor.db'}"
    with DaemonLock(first), DaemonLock(other), pytest.raises(DaemonAlreadyRunning, match="already running"):
        DaemonLock(first).acquire()
    with DaemonLock(first):  # released with its holder
        pass


# PostgreSQL takes no daemon lock: several daemons share the work through leases (tests/test_leases.py).

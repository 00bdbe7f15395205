"""``monitor run`` on a full disk: every write it makes at start (the daemon lock, the archive root, the database)
fails with one line and exit 2, never a traceback. The full disk is injected: ENOSPC from the file system calls the
start-up makes, and SQLite's own "database or disk is full" (a page limit on every new connection)."""

from __future__ import annotations

import errno
import os
import pathlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from monitor.cli import app

ROOT = Path(__file__).resolve().parent.parent


def _config(tmp_path: Path) -> dict[str, str]:
    config = tmp_path / "monitor.toml"
    config.write_text(
        f'[storage]\narchive_root = "{tmp_path / "archive"}"\nfsync = false\n'
        f'[alerts]\nrules_file = "{ROOT / "config" / "rules.toml"}"\n'
        '[[sources]]\nname = "voa"\nsite = "www.voanews.com"\nfeeds = ["https://www.voanews.com/api/zq"]\n',
        encoding="utf-8")
    env = {k: "" for k in os.environ if k.startswith("MONITOR_")}
    env["MONITOR_CONFIG"] = str(config)
    return env


def _enospc(path: object) -> OSError:
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))


def _full_files(monkeypatch: pytest.MonkeyPatch, under: Path, which: Callable[[str], bool]) -> None:
    """New files and folders under ``under`` whose name ``which`` accepts cannot be created or written."""
    real_open, real_mkdir, real_os_open = pathlib.Path.open, os.mkdir, os.open

    def hit(path: Any) -> bool:
        text = os.fspath(path)
        return text.startswith(str(under)) and which(os.path.basename(text))

    def path_open(self: pathlib.Path, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if hit(self) and any(m in mode for m in "wax+"):
            if not self.exists():
                raise _enospc(self)
            handle = real_open(self, mode, *args, **kwargs)
            return _FullWrites(handle, self)
        return real_open(self, mode, *args, **kwargs)

    def mkdir(path: Any, *args: Any, **kwargs: Any) -> None:
        if hit(path):
            raise _enospc(path)
        real_mkdir(path, *args, **kwargs)

    def os_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if hit(path) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise _enospc(path)
        return real_os_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "open", path_open)
    monkeypatch.setattr(os, "mkdir", mkdir)
    monkeypatch.setattr(os, "open", os_open)


class _FullWrites:
    """An open file (it existed) on a full disk: writes are refused when they reach the disk."""

    def __init__(self, handle: Any, path: Path) -> None:
        self._handle, self._path = handle, path

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handle, name)

    def write(self, text: str) -> int:
        raise _enospc(self._path)

    def flush(self) -> None:
        raise _enospc(self._path)

    def close(self) -> None:
        self._handle.close()

    def fileno(self) -> int:
        return int(self._handle.fileno())

    def __enter__(self) -> _FullWrites:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@pytest.fixture
def full_database() -> Iterator[None]:
    """SQLite says "database or disk is full" as soon as a new database grows past its first page."""

    def limit(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA max_page_count = 1")

    event.listen(Engine, "connect", limit)
    try:
        yield
    finally:
        event.remove(Engine, "connect", limit)


def _run(env: dict[str, str]) -> tuple[int, list[str]]:
    result = CliRunner().invoke(app, ["run", "--cycles", "1"], env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stderr.splitlines()


@pytest.mark.parametrize("which", ["lock", "lock-exists", "archive-root"])
def test_a_full_disk_at_the_first_file_is_one_line_and_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              which: str) -> None:
    env = _config(tmp_path)
    archive = tmp_path / "archive"
    if which == "lock-exists":  # the lock file is there from an earlier run: opening works, writing the pid not
        archive.mkdir()
        (archive / "monitor.daemon.lock").write_text("", encoding="utf-8")
    names: dict[str, Callable[[str], bool]] = {
        "lock": lambda name: name.endswith(".daemon.lock"),
        "lock-exists": lambda name: name.endswith(".daemon.lock"),
        "archive-root": lambda name: True,
    }
    _full_files(monkeypatch, archive if which != "archive-root" else tmp_path, names[which])
    code, lines = _run(env)
    assert code == 2
    assert len(lines) == 1 and lines[0].startswith("monitor: error: "), lines
    assert "disk full" in lines[0] or "No space left on device" in lines[0]


@pytest.mark.usefixtures("full_database")
def test_a_database_that_cannot_be_created_on_a_full_disk_is_one_line_and_exit_2(tmp_path: Path) -> None:
    code, lines = _run(_config(tmp_path))
    assert code == 2
    assert len(lines) == 1 and lines[0].startswith("monitor: error: "), lines
    assert "database or disk is full" in lines[0]


def test_a_full_disk_for_the_migration_lock_is_one_line_and_exit_2(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    env = _config(tmp_path)
    _full_files(monkeypatch, tmp_path / "archive", lambda name: name.endswith(".migrate.lock"))
    code, lines = _run(env)
    assert code == 2
    assert len(lines) == 1 and "migration lock" in lines[0] and "disk full" in lines[0], lines

"""The search benchmark's cache of built archives (:mod:`benchmarks.search`).

A built archive (texts and SQLite database) is kept under ``--cache-dir`` in a folder named by its size, seed and a
hash of the code that makes it (:func:`archive_key`), with a copy of the database before the index (``tables.db``):
a re-run reuses the archive, and rebuilds the index from that copy only when the monitor's code changed since
(:func:`monitor_code_key`). Building an archive anew removes those of the same size and seed made by other code.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import monitor
from benchmarks import search_archive


def _hash(parts: list[bytes]) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()[:12]


def archive_key() -> str:
    """A hash of what makes the archive: :mod:`benchmarks.search_archive`'s source and the table and archive layout
    it writes."""
    package = Path(monitor.__file__).parent
    return _hash([inspect.getsource(search_archive).encode(),
                  (package / "store" / "tables.py").read_bytes(), (package / "archive.py").read_bytes()])


def monitor_code_key() -> str:
    """A hash of the monitor's source (what the index is built by, and what it is searched with)."""
    package = Path(monitor.__file__).parent
    files = sorted(package.rglob("*.py"))
    return _hash([str(f.relative_to(package)).encode() + b"\0" + f.read_bytes() for f in files])


def default_cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "monitor-benchmarks" / "search"


@dataclass(frozen=True, slots=True)
class CachedArchive:
    """One cached archive's folder: ``archive/`` (texts and ``monitor.db``), ``tables.db`` (the database before the
    index), ``archive.json`` (written when the archive is whole) and ``index.json`` (when the index is)."""

    folder: Path

    @classmethod
    def for_run(cls, cache_dir: Path, count: int, seed: int) -> CachedArchive:
        return cls(cache_dir / f"{count}-seed{seed}-{archive_key()}")

    @property
    def root(self) -> Path:
        return self.folder / "archive"

    def archive_facts(self) -> dict[str, Any] | None:
        return _read_json(self.folder / "archive.json")

    def index_facts(self, code: str) -> dict[str, Any] | None:
        facts = _read_json(self.folder / "index.json")
        return facts if facts is not None and facts.get("code") == code else None

    def clear(self) -> None:
        """An empty folder for a new build; others of the same size and seed (older code) go too."""
        for old in self.folder.parent.glob(self.folder.name.rsplit("-", 1)[0] + "-*"):
            shutil.rmtree(old)
        self.root.mkdir(parents=True)

    def archive_built(self, facts: dict[str, Any]) -> None:
        """The archive is whole: keep a copy of its database (before any index) and say so."""
        _sqlite_copy(self.root / "monitor.db", self.folder / "tables.db")
        _write_json(self.folder / "archive.json", facts)

    def restore_tables(self) -> None:
        """The database as the archive left it (no index, or one of older code, or a half-built one)."""
        (self.folder / "index.json").unlink(missing_ok=True)
        for suffix in ("", "-wal", "-shm"):
            (self.root / f"monitor.db{suffix}").unlink(missing_ok=True)
        shutil.copyfile(self.folder / "tables.db", self.root / "monitor.db")

    def index_built(self, facts: dict[str, Any]) -> None:
        _write_json(self.folder / "index.json", facts)


def _sqlite_copy(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite database in WAL mode (what the log holds included)."""
    target.unlink(missing_ok=True)
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        facts: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return facts


def _write_json(path: Path, facts: dict[str, Any]) -> None:
    partial = path.with_suffix(".part")
    partial.write_text(json.dumps(facts, indent=1), encoding="utf-8")
    partial.replace(path)

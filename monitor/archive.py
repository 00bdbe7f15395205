"""The archive on disk: one text per article revision, plus the raw HTML it came from, written so a crash never
leaves a partial, overwritten or duplicated file.

Layout (see ``archive/README.md``)::

    <root>/<site>/<YYYY>/<MM>/<DD>/NNN_<16 hex>.txt       archive text (FORMAT.md)
    <root>/<site>/<YYYY>/<MM>/<DD>/NNN_<16 hex>.html.gz   the HTML it was rendered from (gzip)

The folder is the article's publication date in UTC (the fetch date when the page gives none), the hex part the
first 16 hex digits of SHA-256 of the article's canonical URL as first seen, and ``NNN`` the revision number of
that article (000 the first text, 001 the first edit, ...): every revision of an article lies in one folder, and
a name is never reused.

How a revision is written (:meth:`Archive.put`): raw HTML first, then the text; each into a temporary file in the
target folder (``.tmp-<pid>-<random>``), flushed and fsynced, then *linked* to its final name (a link never
replaces an existing file), then the folder is fsynced. The database row is committed only after that. A crash
leaves at worst a temporary file (removed on the next start, :meth:`Archive.clean_temporary`) or a complete file
without a row: the next fetch of the same text adopts it, a changed text replaces it (no row names it, so it is
not part of the archive), and ``monitor archive verify --repair`` removes whatever is left.
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import hashlib
import os
import re
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from monitor.errors import ArchiveConflict, ArchiveError

if TYPE_CHECKING:
    from monitor.settings import StorageSettings

TEXT_SUFFIX = ".txt"
RAW_SUFFIX = ".html.gz"
TEMP_PREFIX = ".tmp-"
NAME = re.compile(r"^(?P<number>\d{3,})_(?P<hex>[0-9a-f]{16})(?P<suffix>\.txt|\.html\.gz)$")
# A temporary file whose writer is gone is a crash leftover; one this young may belong to a live writer on another
# host sharing the archive, so it is left alone.
TEMP_MAX_AGE = 3600.0
# How long a differing, unclaimed file is given to be claimed by a concurrent writer before it counts as a leftover.
CLAIM_GRACE = 5.0

Claimed = Callable[[str], bool]


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def file_age(path: Path) -> float:
    """Seconds since ``path`` was last written; FileNotFoundError when it is gone.

    Real time on purpose, not the injected clock (monitor.clock): the file system sets the mtime from the real
    clock, so the age is measured against that same clock."""
    return time.time() - path.stat().st_mtime


def folder_for(site: str, day: datetime) -> str:
    day = day.astimezone(UTC)
    return f"{site}/{day:%Y}/{day:%m}/{day:%d}"


def text_name(number: int, url_hash: str) -> str:
    return f"{number:03d}_{url_hash}{TEXT_SUFFIX}"


def raw_name_for(text_path: str) -> str:
    return text_path[: -len(TEXT_SUFFIX)] + RAW_SUFFIX


@dataclass(frozen=True, slots=True)
class PutResult:
    text_path: str
    raw_path: str | None
    outcome: Literal["written", "adopted", "replaced"]


class Archive:
    """The archive root. Creating it checks the folder exists (or can be made) and is writable."""

    def __init__(self, root: Path | str, *, fsync: bool = True) -> None:
        self.root = Path(root)
        # Paths as strings for the whole-archive loops (verify, export): pathlib costs more per file than the read.
        self._prefix = os.path.join(os.fspath(self.root), "")
        self._fsync = fsync
        if self.root.exists() and not self.root.is_dir():
            raise ArchiveError(f"archive root {self.root}: not a folder")
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ArchiveError(f"archive root {self.root}: cannot create: {exc.strerror or exc}") from None
        if not self.root.is_dir():
            raise ArchiveError(f"archive root {self.root}: not a folder")
        if not os.access(self.root, os.R_OK | os.W_OK | os.X_OK):
            raise ArchiveError(f"archive root {self.root}: not readable and writable by this user")

    @classmethod
    def from_settings(cls, storage: StorageSettings) -> Archive:
        return cls(storage.archive_root, fsync=storage.fsync)

    def path(self, relative: str) -> Path:
        return self.root / relative

    # --- writing ------------------------------------------------------------------------------------------------------

    def put(self, text_path: str, text: str, raw_gz: bytes | None, *, claimed: Claimed) -> PutResult:
        """Put one revision's text (and raw HTML, already compressed by :func:`compress_raw`) in place, never
        overwriting a file a row names.

        ``claimed(text_path)`` tells whether a database row names the file; it is asked only when the name already
        holds a different text.
        """
        data = text.encode("utf-8")
        target = self.path(text_path)
        raw_path = raw_name_for(text_path) if raw_gz is not None else None
        folder = target.parent
        self._make_folder(folder)
        outcome: Literal["written", "adopted", "replaced"] = "written"
        existing = _read(target)
        if existing is not None:
            if existing == data:
                if raw_path is not None and raw_gz is not None and not self.path(raw_path).exists():
                    with contextlib.suppress(FileExistsError):  # a concurrent writer of the same text put it there
                        self._write_new(self.path(raw_path), raw_gz, replace=False)
                    self._sync_folder(folder)
                return PutResult(text_path, raw_path, "adopted")
            self._wait_unclaimed(text_path, target, claimed)
            outcome = "replaced"
        if raw_path is not None and raw_gz is not None:
            # An existing raw file beside a missing or unclaimed text is a crash leftover: replace it.
            self._write_new(self.path(raw_path), raw_gz, replace=True)
        try:
            self._write_new(target, data, replace=outcome == "replaced")
        except FileExistsError:
            # Another writer linked the name between our read and our link: look again.
            if _read(target) == data:
                return PutResult(text_path, raw_path, "adopted")
            raise ArchiveConflict(f"{target}: written concurrently with a different text") from None
        self._sync_folder(folder)
        return PutResult(text_path, raw_path, outcome)

    def _wait_unclaimed(self, text_path: str, target: Path, claimed: Claimed) -> None:
        deadline = time.monotonic() + CLAIM_GRACE
        while True:
            if claimed(text_path):
                raise ArchiveConflict(f"{target}: already archived with a different text")
            try:
                age = file_age(target)
            except FileNotFoundError:
                return
            if age >= CLAIM_GRACE or time.monotonic() >= deadline:
                return
            time.sleep(0.1)

    def _make_folder(self, folder: Path) -> None:
        missing: list[Path] = []
        probe = folder
        while not probe.exists() and probe != self.root:
            missing.append(probe)
            probe = probe.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ArchiveError(f"{folder}: cannot create folder: {exc.strerror or exc}") from None
        for made in reversed(missing):
            self._sync_folder(made.parent)

    def _write_new(self, target: Path, data: bytes, *, replace: bool) -> None:
        """Temp file, write, fsync, then link (or, for a known leftover, rename over it). Raises FileExistsError."""
        temp = target.parent / f"{TEMP_PREFIX}{os.getpid()}-{secrets.token_hex(6)}"
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            try:
                view = memoryview(data)
                while view:
                    written = os.write(fd, view)
                    view = view[written:]
                if self._fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)
            if replace:
                os.replace(temp, target)
            else:
                os.link(temp, target)
                os.unlink(temp)
        except FileExistsError:
            _remove(temp)
            raise
        except OSError as exc:
            _remove(temp)
            what = "disk full" if exc.errno == errno.ENOSPC else (exc.strerror or str(exc))
            raise ArchiveError(f"{target}: cannot write: {what}") from None

    def _sync_folder(self, folder: Path) -> None:
        if not self._fsync:
            return
        try:
            fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise ArchiveError(f"{folder}: cannot sync folder: {exc.strerror or exc}") from None

    # --- reading and housekeeping -------------------------------------------------------------------------------------

    def read_text(self, relative: str) -> str:
        try:
            with open(self._prefix + relative, "rb") as handle:
                return handle.read().decode("utf-8")
        except OSError as exc:
            raise ArchiveError(f"{self.path(relative)}: cannot read: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise ArchiveError(f"{self.path(relative)}: not UTF-8") from None

    def read_raw(self, relative: str) -> bytes:
        try:
            return gzip.decompress(self.path(relative).read_bytes())
        except OSError as exc:
            raise ArchiveError(f"{self.path(relative)}: cannot read: {exc.strerror or exc}") from None
        except (EOFError, gzip.BadGzipFile, ValueError) as exc:
            raise ArchiveError(f"{self.path(relative)}: damaged gzip: {exc}") from None

    def files(self) -> Iterator[str]:
        """Every archive file (text or raw) under the root, as a relative path; temporary files excluded."""
        for folder, _dirs, names in os.walk(self.root):
            for name in names:
                if NAME.match(name):
                    yield os.path.relpath(os.path.join(folder, name), self.root)

    def files_by_folder(self) -> Iterator[list[str]]:
        """:meth:`files`, one folder's at a time (relative paths, sorted; folders without archive files skipped)."""
        for folder, dirs, names in os.walk(self._prefix):
            dirs.sort()
            relative = folder[len(self._prefix):]
            found = sorted(f"{relative}/{name}" if relative else name for name in names if NAME.match(name))
            if found:
                yield found

    def read_bytes(self, relative: str) -> bytes | None:
        """A file's bytes, None when it is not there."""
        return _read(self._prefix + relative)

    def exists(self, relative: str) -> bool:
        return os.path.exists(self._prefix + relative)

    def temporary_files(self) -> Iterator[Path]:
        for folder, _dirs, names in os.walk(self.root):
            for name in names:
                if name.startswith(TEMP_PREFIX):
                    yield Path(folder) / name

    def clean_temporary(self, *, everything: bool = False) -> list[Path]:
        """Remove temporary files whose writer is gone (or older than an hour); all of them with ``everything``."""
        removed = []
        for temp in self.temporary_files():
            if everything or _abandoned(temp):
                _remove(temp)
                removed.append(temp)
        return removed

    def remove(self, relative: str) -> None:
        target = self.path(relative)
        _remove(target)
        self._sync_folder(target.parent)

    def rewrite(self, relative: str, data: bytes) -> None:
        """Repair: put correct bytes under a name whose content was damaged (the row's hash says what is right)."""
        self._write_new(self.path(relative), data, replace=True)
        self._sync_folder(self.path(relative).parent)


def compress_raw(html: bytes) -> bytes:
    """Raw HTML as the archive keeps it (gzip). Level 1: a third of the time of the default for HTML that still
    shrinks about fivefold."""
    return gzip.compress(html, compresslevel=1, mtime=0)


def _read(path: Path | str) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ArchiveError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise ArchiveError(f"{path}: cannot remove: {exc.strerror or exc}") from None


def _abandoned(temp: Path) -> bool:
    try:
        pid = int(temp.name[len(TEMP_PREFIX):].split("-", 1)[0])
    except ValueError:
        pid = -1
    if pid > 0 and pid != os.getpid():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            pass
    elif pid == os.getpid():
        return False
    try:
        return file_age(temp) > TEMP_MAX_AGE
    except FileNotFoundError:
        return False


# --- checking the archive against the database -----------------------------------------------------------------------

"""The archive against the database: verify and repair, crash leftovers adopted or removed, and bad input (unusable
archive root, full disk, locked or unreachable database) failing cleanly with nothing half-written."""

from __future__ import annotations

import errno
import gzip
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.archive import Archive
from monitor.archive_check import repair, verify
from monitor.errors import ArchiveError, StoreError
from monitor.ingest import ingest_page
from monitor.services import utc_now
from monitor.settings import StorageSettings
from monitor.sites import default_registry
from monitor.store import Store, make_engine
from monitor.store import migrate as migrations
from tests._synth import article_url, synth_page

REGISTRY = default_registry()


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[Store, Archive]]:
    settings = StorageSettings(archive_root=tmp_path / "archive")
    archive = Archive(settings.archive_root)
    store = Store.open(settings)
    yield store, archive
    store.close()


def ingest(store: Store, archive: Archive, n: int, edit: int = 0) -> str:
    result = ingest_page(store, archive, REGISTRY, synth_page(n, edit=edit), article_url(n), clock=utc_now)
    assert result.revision is not None
    return result.revision.text_path


def all_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and p.name != "monitor.db"
                  and not p.name.startswith("monitor.db"))


def test_verify_is_clean_after_ingest(setup: tuple[Store, Archive]) -> None:
    store, archive = setup
    for n in range(3):
        ingest(store, archive, n)
    ingest(store, archive, 0, edit=1)
    report = verify(store, archive)
    assert report.clean and report.checked == 4


@pytest.mark.slow  # spawns a process (for a pid no process has)
def test_verify_lists_and_repair_fixes_leftovers_and_damage(setup: tuple[Store, Archive]) -> None:
    store, archive = setup
    first = ingest(store, archive, 0)
    second = ingest(store, archive, 1)
    folder = archive.path(first).parent
    stray = folder / "007_0123456789abcdef.txt"
    stray.write_text("stray", encoding="utf-8")  # a file without a row, left by a crash long ago
    os.utime(stray, (stray.stat().st_mtime - 600, stray.stat().st_mtime - 600))
    young = folder / "008_0123456789abcdef.txt"
    young.write_text("in flight", encoding="utf-8")  # maybe a running writer's, its row not yet committed
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (folder / f".tmp-{dead.stdout.strip()}-abc").write_bytes(b"half")  # a dead writer's temporary file
    archive.path(first).unlink()  # a missing text
    archive.path(second).write_text("damaged", encoding="utf-8")  # a damaged text
    report = verify(store, archive)
    assert not report.clean
    assert report.missing == [first] and report.mismatched == [second]
    assert report.orphans == [str(Path(first).parent / name) for name in (stray.name, young.name)]
    assert len(report.temporary) == 1
    fixed = repair(store, archive, REGISTRY)
    assert fixed.problems == [f"no row: {Path(first).parent / young.name}"]
    assert len(fixed.repaired) == 4 and not stray.exists()
    young.unlink()
    assert verify(store, archive).clean


def test_a_crash_between_file_and_row_is_adopted_not_duplicated(setup: tuple[Store, Archive],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    store, archive = setup

    def crash(*args: object, **kwargs: object) -> None:
        raise StoreError("simulated crash before the commit")

    with monkeypatch.context() as patch:
        patch.setattr(Store, "add_article", crash)
        with pytest.raises(StoreError):
            ingest(store, archive, 0)
    assert verify(store, archive).orphans  # complete files, no row yet
    path = ingest(store, archive, 0)
    assert path.startswith("voanews.com/") and path.split("/")[-1].startswith("000_")
    assert verify(store, archive).clean
    assert store.counts()["revisions"] == 1


def test_a_leftover_with_another_text_is_replaced(setup: tuple[Store, Archive],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    store, archive = setup
    monkeypatch.setattr("monitor.archive.CLAIM_GRACE", 0.0)
    with monkeypatch.context() as patch:
        patch.setattr(Store, "add_article", lambda *a, **k: (_ for _ in ()).throw(StoreError("crash")))
        with pytest.raises(StoreError):
            ingest(store, archive, 0)
    # The page changed before the next fetch: the unclaimed file is a leftover, not part of the archive.
    path = ingest(store, archive, 0, edit=3)
    assert "edit 3" in archive.read_text(path)
    assert verify(store, archive).clean


@pytest.mark.parametrize("call", ["write", "fsync"])
def test_full_disk_leaves_nothing_half_written(setup: tuple[Store, Archive], monkeypatch: pytest.MonkeyPatch,
                                               call: str) -> None:
    store, archive = setup
    ingest(store, archive, 0)
    before = all_files(archive.root)

    def full(*args: object) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with monkeypatch.context() as patch:
        patch.setattr(os, call, full)
        with pytest.raises(ArchiveError, match="disk full"):
            ingest(store, archive, 1)
    assert all_files(archive.root) == before  # no temporary, partial or final file
    assert store.counts()["articles"] == 1
    ingest(store, archive, 1)  # space again: it goes through
    assert verify(store, archive).clean


def test_unusable_archive_root_is_a_clear_error(tmp_path: Path) -> None:
    afile = tmp_path / "file"
    afile.write_text("x")
    with pytest.raises(ArchiveError, match="not a folder"):
        Archive(afile)
    with pytest.raises(ArchiveError, match="cannot create"):
        Archive(afile / "below")


@pytest.mark.slow  # spawns processes
def test_unreadable_archive_root_is_a_clear_error(tmp_path: Path) -> None:
    root = tmp_path / "locked"
    root.mkdir(mode=0o000)
    probe = ("import sys\nfrom monitor.archive import Archive\nfrom monitor.errors import ArchiveError\n"
             "try:\n    Archive(sys.argv[1])\nexcept ArchiveError as exc:\n    print(exc)\n    sys.exit(3)\n")
    command = [sys.executable, "-c", probe, str(root)]
    if os.geteuid() == 0:
        # Root reads and writes any folder: the check runs in a child without the capabilities that allow it
        # (CI runs as root in a container).
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv (util-linux) to drop the file-access capabilities")
        drop = "-dac_override,-dac_read_search"
        command = [setpriv, f"--inh-caps={drop}", f"--bounding-set={drop}", *command]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=60,
                                env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)})
    finally:
        root.chmod(0o755)
    assert result.returncode == 3, result.stderr
    assert result.stdout.strip() == f"archive root {root}: not readable and writable by this user"


def test_a_locked_database_is_a_clear_error_and_the_retry_adopts(tmp_path: Path) -> None:
    root = tmp_path / "archive"
    archive = Archive(root)
    url = f"sqlite:///{root / 'monitor.db'}"
    engine = make_engine(url, busy_timeout=0.2)
    migrations.upgrade(engine)
    store = Store(engine)
    blocker = sqlite3.connect(root / "monitor.db", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreError, match="locked"):
            ingest(store, archive, 0)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert store.counts()["articles"] == 0
    ingest(store, archive, 0)
    assert verify(store, archive).clean and store.counts()["revisions"] == 1
    store.close()


def test_a_database_that_is_down_is_a_clear_error(tmp_path: Path) -> None:
    settings = StorageSettings(url="postgresql+psycopg://monitor:secret@127.0.0.1:1/monitor",
                               archive_root=tmp_path)
    with pytest.raises(StoreError) as caught:
        Store.open(settings)
    message = str(caught.value)
    assert "127.0.0.1:1" in message and "secret" not in message and "\n" not in message


def test_raw_html_re_derives_the_text(setup: tuple[Store, Archive]) -> None:
    store, archive = setup
    path = ingest(store, archive, 0)
    raw = gzip.decompress(archive.path(path.replace(".txt", ".html.gz")).read_bytes())
    again = REGISTRY.parse(raw.decode("utf-8-sig"), article_url(0))
    from monitor.render import render_article

    assert render_article(again) == archive.read_text(path)


def test_archive_root_without_permission_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "access", lambda *a, **k: False)  # what a non-root user sees on a chmod 000 folder
    with pytest.raises(ArchiveError, match="not readable and writable"):
        Archive(tmp_path)

"""The archive checked against the database: ``monitor archive verify`` and ``--repair``.

Apart from :mod:`monitor.archive`, which only writes and reads files and knows nothing of the store: every revision
row has its text (right SHA-256) and raw HTML, every file has its row, no temporary file is left; repair removes
crash leftovers and re-renders damaged texts from their raw HTML.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from monitor.archive import (
    RAW_SUFFIX,
    TEXT_SUFFIX,
    Archive,
    content_hash,
    file_age,
)

if TYPE_CHECKING:
    from monitor.sites import SiteRegistry
    from monitor.store import Store

# Repair leaves files without a row alone while they are this young: a daemon running beside it may be between
# putting a file in place and committing its row.
REPAIR_MIN_AGE = 120.0


@dataclass
class VerifyReport:
    missing: list[str] = field(default_factory=list)  # a row names a file that is not there
    mismatched: list[str] = field(default_factory=list)  # the file's text is not the row's hash
    raw_missing: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)  # a file no row names
    temporary: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    checked: int = 0

    @property
    def problems(self) -> list[str]:
        return ([f"missing: {p}" for p in self.missing] + [f"hash mismatch: {p}" for p in self.mismatched]
                + [f"raw HTML missing: {p}" for p in self.raw_missing] + [f"no row: {p}" for p in self.orphans]
                + [f"temporary file: {p}" for p in self.temporary])

    @property
    def clean(self) -> bool:
        return not self.problems


def verify(store: Store, archive: Archive) -> VerifyReport:
    """Every row has its files with the right hash; every file has its row; no temporary file is left.

    Memory stays flat in the archive's size: the rows are streamed (each checked against its files), then the
    archive is walked one folder at a time, each folder's files looked up by their names (an index), so no list of
    every path is ever held; only the problems are kept."""
    report = VerifyReport()
    for revision in store.iter_revisions():
        report.checked += 1
        data = archive.read_bytes(revision.text_path)
        if data is None:
            report.missing.append(revision.text_path)
        elif hashlib.sha256(data).hexdigest() != revision.content_hash:
            report.mismatched.append(revision.text_path)
        if revision.raw_path and not archive.exists(revision.raw_path):
            report.raw_missing.append(revision.raw_path)
    for files in archive.files_by_folder():
        # A raw file is named by the row of its text (Archive.put derives one name from the other).
        named = store.revision_paths(_text_path_of(path) for path in files)
        report.orphans.extend(path for path in files if path not in named)
    report.orphans.sort()
    report.temporary = sorted(os.path.relpath(p, archive.root) for p in archive.temporary_files())
    return report


def _text_path_of(path: str) -> str:
    return path[: -len(RAW_SUFFIX)] + TEXT_SUFFIX if path.endswith(RAW_SUFFIX) else path


def repair(store: Store, archive: Archive, registry: SiteRegistry | None = None) -> VerifyReport:
    """Fix what can be fixed without inventing anything, then verify again.

    Temporary files of dead writers and files no row names are removed (a crash between file and row; the next
    fetch writes and records them again). A missing or damaged text is re-rendered from its raw HTML when that gives
    exactly the recorded hash. What remains is reported.
    """
    before = verify(store, archive)
    repaired: list[str] = []
    for temp in archive.clean_temporary():
        repaired.append(f"removed temporary file {os.path.relpath(temp, archive.root)}")
    for orphan in before.orphans:
        try:
            age = file_age(archive.path(orphan))
        except FileNotFoundError:
            continue
        if age < REPAIR_MIN_AGE:
            continue  # maybe a running writer's file whose row is about to be committed: left for a later repair
        archive.remove(orphan)
        repaired.append(f"removed file without row {orphan}")
    broken = set(before.missing) | set(before.mismatched)
    if broken and registry is not None:
        for revision in store.iter_revisions():
            if revision.text_path not in broken or not revision.raw_path:
                continue
            text = _rerender(archive, registry, revision.raw_path, store, revision.article_key)
            if text is not None and content_hash(text) == revision.content_hash:
                archive.rewrite(revision.text_path, text.encode("utf-8"))
                repaired.append(f"re-rendered {revision.text_path} from its raw HTML")
    after = verify(store, archive)
    after.repaired = repaired
    return after


def _rerender(archive: Archive, registry: SiteRegistry, raw_path: str, store: Store, key: str) -> str | None:
    from monitor.decoding import decode_html
    from monitor.errors import MonitorError
    from monitor.render import render_article

    stored = store.article(key)
    if stored is None:
        return None
    try:
        html = decode_html(archive.read_raw(raw_path), None, where=stored.canonical_url)
        return render_article(registry.parse(html, stored.canonical_url))
    except MonitorError:
        return None

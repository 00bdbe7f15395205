"""One archive root written by several processes at once (several daemons on one host, or on hosts sharing the root
over NFS): write-once names made by link(), fsync before the link. The same revision written by every process ends
up once, written by one of them and adopted by the others; different revisions all land; nothing is torn, nothing
temporary is left."""

from __future__ import annotations

import multiprocessing
from multiprocessing.synchronize import Barrier
from pathlib import Path

import pytest

from monitor.archive import Archive, compress_raw

pytestmark = pytest.mark.slow

WRITERS = 4
SHARED = 40  # revisions every writer puts
OWN = 25  # revisions only one writer puts


def _text(name: str) -> str:
    # Large enough that a torn write would show (several pages), distinct per revision.
    return f"{name}\n" + (f"line of {name} " * 40 + "\n") * 60


def _writer(root: str, index: int, barrier: Barrier, results: multiprocessing.Queue[tuple[int, str, str]]) -> None:
    archive = Archive(root, fsync=True)
    barrier.wait()  # every process starts at once: the shared names are raced for
    for n in range(SHARED):
        path = f"www.rferl.org/2026/12/0{n % 3 + 1}/000_{n:016x}.txt"
        text = _text(path)
        result = archive.put(path, text, compress_raw(f"<html>{path}</html>".encode()), claimed=lambda _p: False)
        results.put((index, path, result.outcome))
    for n in range(OWN):
        path = f"www.dw.com/2026/12/01/000_{index:08x}{n:08x}.txt"
        result = archive.put(path, _text(path), None, claimed=lambda _p: False)
        results.put((index, path, result.outcome))


def test_several_processes_write_one_archive_root(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")  # processes of their own, as separate daemons are
    barrier = context.Barrier(WRITERS)
    results: multiprocessing.Queue[tuple[int, str, str]] = context.Queue()
    processes = [context.Process(target=_writer, args=(str(tmp_path), i, barrier, results)) for i in range(WRITERS)]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=120) for _ in range(WRITERS * (SHARED + OWN))]
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    by_path: dict[str, list[str]] = {}
    for _index, path, outcome in outcomes:
        by_path.setdefault(path, []).append(outcome)
    shared = [p for p in by_path if p.startswith("www.rferl.org")]
    assert len(shared) == SHARED
    for path in shared:
        # One process wrote it, every other found the same text there and adopted it.
        assert sorted(by_path[path]) == ["adopted"] * (WRITERS - 1) + ["written"], (path, by_path[path])
    own = [p for p in by_path if p.startswith("www.dw.com")]
    assert len(own) == WRITERS * OWN and all(by_path[p] == ["written"] for p in own)
    archive = Archive(tmp_path)
    for path in by_path:
        assert archive.read_text(path) == _text(path)
    for path in shared:
        assert archive.read_raw(path[: -len(".txt")] + ".html.gz") == f"<html>{path}</html>".encode()
    files = sorted(archive.files())
    assert len([f for f in files if f.endswith(".txt")]) == SHARED + WRITERS * OWN
    assert list(archive.temporary_files()) == []

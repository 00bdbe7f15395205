"""Writing the search index beside a bulk ingest: :class:`IndexWriter` takes each recorded text and writes the index
on a thread of its own, as many texts a transaction as have queued up.

Why a thread: one FTS5 or GIN write per article, each in its own transaction, was a fifth of an article's time in a
bulk ingest. Batched, the write costs about half as much, and it runs in the database's C code, which lets go of
the interpreter lock: on a second core, beside the ingesting threads. The tokens are made before, on the ingesting
thread (or by a parse worker), so that the writer's thread holds the lock as little as possible.

Nothing is lost by writing later: the transaction that records a revision marks its article pending (migration
0007), searches read pending articles beside the index, and an index write clears the mark. A batch that fails is
logged and stays pending, and a process that dies with texts still queued leaves them pending too: the daemon's
housekeeping or ``monitor index catch-up`` indexes them. :meth:`IndexWriter.close` waits until everything queued is
written, so a command that ends has its index in step.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import replace
from types import TracebackType
from typing import Final

from monitor.errors import MonitorError
from monitor.search.candidates import Database
from monitor.search.index import Indexable, SearchIndex, tokens_of

log = logging.getLogger("monitor.search")

_END: Final = None


class IndexWriter:
    """Writes :class:`Indexable` entries to ``index`` on its own thread, up to ``batch`` a transaction. At most
    ``backlog`` entries wait: :meth:`add` blocks beyond that, so a writer that falls behind slows the ingest instead
    of holding every text in memory, and the pending articles stay well under what a search reads beside the index
    before it falls back to a scan (``IndexCandidates``' ``max_pending``, 1,000)."""

    def __init__(self, index: SearchIndex, *, batch: int = 200, backlog: int = 400) -> None:
        self._index = index
        self._batch = batch
        self._queue: queue.Queue[Indexable | None] = queue.Queue(backlog)
        self._closed = False
        self._lock = threading.Lock()
        self.written = 0  # entries written
        self.failed = 0  # entries whose batch failed (left pending)
        self._thread = threading.Thread(target=self._run, name="search-index-writer", daemon=True)
        self._thread.start()

    @classmethod
    def for_store(cls, store: Database) -> IndexWriter:
        return cls(SearchIndex(store.engine))

    def add(self, item: Indexable) -> None:
        """Queue an entry (its revision recorded and committed already).

        Its tokens are made here, on the calling thread, unless a parse worker made them: the writer's thread is to
        spend its time in the database's C code, which lets go of the interpreter lock. Tokenizing there instead
        held the lock for a whole batch at a time, and an ingesting thread back from each fsync waited for it."""
        if item.tokens is None:
            item = replace(item, tokens=tokens_of(item))
        # Queued under the lock: an entry taken is ahead of the end mark close() queues, so it is written, and one
        # come too late is refused, never queued behind the mark and dropped unsaid. A full queue blocks close()
        # here too, until the thread makes room.
        with self._lock:
            if self._closed:
                raise RuntimeError("IndexWriter is closed")
            self._queue.put(item)

    @property
    def left_pending(self) -> str | None:
        """What a command says when some entries could not be written (None: all were)."""
        if not self.failed:
            return None
        return (f"{self.failed} articles are not in the search index yet (searches still find them; "
                "`monitor index catch-up` indexes them)")

    def close(self) -> None:
        """Write what is queued, then stop the thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._queue.put(_END)
        self._thread.join()

    def _run(self) -> None:
        ending = False
        while not ending:
            first = self._queue.get()
            if first is _END:
                return
            items = [first]
            while len(items) < self._batch:
                try:
                    following = self._queue.get_nowait()
                except queue.Empty:
                    break
                if following is _END:
                    ending = True
                    break
                items.append(following)
            self._write(items)

    def _write(self, items: list[Indexable]) -> None:
        try:
            self._index.put_many(items)
        except Exception as exc:  # the thread outlives any batch, whatever it raised: they stay pending (see above)
            self.failed += len(items)
            # The store's errors come translated, one line naming the database; anything else is named by its type.
            reason = str(exc) if isinstance(exc, MonitorError) else f"{type(exc).__name__}: {exc}"
            log.warning("search index: %d articles left pending (%s)", len(items), reason)
        else:
            self.written += len(items)

    def __enter__(self) -> IndexWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


__all__ = ["IndexWriter"]

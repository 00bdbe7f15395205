"""The one wall clock: every "now" the monitor records or compares comes from a :data:`Clock` handed down from the
composition root (``Services.clock``, ``Opened.clock``, ``create_app(clock=...)``), so a test or a replay moves
all of them together. :func:`utc_now` is the real one, the default of those parameters.

A few places read real time on purpose, each saying why where it does (``tests/test_clock.py`` lists them): file
ages against the file system's mtimes (``archive.file_age``), an HTTP date in Retry-After, APScheduler's run times,
and the leases, which use the database's clock. Intervals measured in this process use ``time.monotonic``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

#: A wall clock: returns the current time, timezone-aware, in UTC.
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The real time, in UTC."""
    return datetime.now(UTC)

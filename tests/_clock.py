"""A test clock for the HTTP client's pacing: monotonic time that moves only when something sleeps on it."""

from __future__ import annotations

import threading


class ManualClock:
    """A monotonic clock that only moves when something sleeps on it (or :meth:`advance` is called)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            if seconds > 0:
                self.now += seconds

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds

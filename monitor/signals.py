"""Stopping on SIGTERM/SIGINT the one way the daemon and backfill both need: the first signal sets a stop event
(the work ends after the article in hand, nothing half-written), and the previous handlers come back afterwards."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

_Handler = Callable[[int, FrameType | None], Any] | int | None


@contextmanager
def stop_on_signals(stop: threading.Event, announce: Callable[[str], None], *, second_quits: bool = False,
                    enabled: bool = True) -> Iterator[None]:
    """While inside, SIGTERM and SIGINT set ``stop`` and ``announce`` the signal's name. ``second_quits``: a
    second signal raises KeyboardInterrupt (quit at once). Outside the main thread handlers cannot be set: no-op."""
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if second_quits and stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        announce(signal.Signals(signum).name)

    previous: dict[signal.Signals, _Handler] = {}
    for signum in (signal.SIGTERM, signal.SIGINT):
        previous[signum] = signal.signal(signum, on_signal)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)

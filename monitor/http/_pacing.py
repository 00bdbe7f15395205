"""Per-host politeness state behind the HTTP client: pacing (one request in flight, a delay between requests)
and the circuit that leaves a failing host alone for a while.

Time comes from an injected clock and sleep so tests can run the rules without waiting (tests/_clock.py holds
such a pair).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

#: Seconds on a monotonic clock (``time.monotonic``): intervals and deadlines only, never a date (the wall clock
#: is :data:`monitor.clock.Clock`).
Monotonic = Callable[[], float]
Sleep = Callable[[float], None]


@dataclass
class _Host:
    lock: threading.Lock = field(default_factory=threading.Lock)
    next_allowed: float = 0.0
    failures: int = 0
    backed_off_until: float = 0.0


class HostPacer:
    """One lock and one schedule per host; different hosts never wait for each other."""

    def __init__(self, *, clock: Monotonic = time.monotonic, sleep: Sleep = time.sleep) -> None:
        self._clock = clock
        self._sleep = sleep
        self._hosts: dict[str, _Host] = {}
        self._guard = threading.Lock()

    def _host(self, host: str) -> _Host:
        with self._guard:
            state = self._hosts.get(host)
            if state is None:
                state = self._hosts[host] = _Host()
            return state

    @contextmanager
    def slot(self, host: str, delay: float) -> Iterator[None]:
        """Hold the host's only request slot: wait for the host's turn, and keep the next request ``delay`` seconds
        after this one *ends* (measured from the end, a slow response cannot squeeze the gap)."""
        state = self._host(host)
        with state.lock:
            wait = state.next_allowed - self._clock()
            if wait > 0:
                self._sleep(wait)
            try:
                yield
            finally:
                state.next_allowed = max(state.next_allowed, self._clock() + delay)

    def defer(self, host: str, until: float) -> None:
        """No request to the host before ``until`` (Retry-After, back-off between retries)."""
        state = self._host(host)
        state.next_allowed = max(state.next_allowed, until)

    # --- circuit -----------------------------------------------------------------------------------------------

    def backed_off_until(self, host: str) -> float | None:
        """When the host's back-off ends, or None when the host may be asked now."""
        state = self._host(host)
        return state.backed_off_until if state.backed_off_until > self._clock() else None

    def record_success(self, host: str) -> None:
        state = self._host(host)
        state.failures = 0
        state.backed_off_until = 0.0

    def record_failure(self, host: str, *, threshold: int, backoff: float) -> bool:
        """Count one failed attempt; True when this opened the circuit (the host is now backed off)."""
        state = self._host(host)
        state.failures += 1
        if state.failures >= threshold:
            state.backed_off_until = self._clock() + backoff
            return True
        return False

    def back_off(self, host: str, seconds: float) -> None:
        """Leave the host alone for ``seconds`` (it asked for a Retry-After longer than we wait inline)."""
        state = self._host(host)
        state.backed_off_until = max(state.backed_off_until, self._clock() + seconds)

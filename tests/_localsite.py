"""The demo's snapshot server (:mod:`monitor.demo.site`) with the hooks the tests script faults with.

Thread-safe, may be changed while the server runs:

- :meth:`LocalSite.fault` ``(host, path, Fault(...))``: answer ``status`` (with ``retry_after``, extra ``headers``,
  a replacement ``body`` — ``b""`` for an empty 200), after ``delay`` seconds (a delay longer than the client's read
  timeout is a hang), for the next ``times`` requests (None: all of them). ``path`` may include a query.
- ``Fault(hold=Gate(free=N))``: after N requests through the gate (of every path that shares it), each waits until
  the test calls :meth:`Gate.open` (``gate.reached`` is set when one waits): a page "in flight" for exactly as long as
  the test needs, whatever the machine's speed.
- :meth:`LocalSite.redirect` ``(host, path, location, status=301)``: a redirect (``location`` absolute or relative).
- :attr:`LocalSite.log`: every request with its arrival time (``time.monotonic()``), to prove pacing per host;
  :meth:`LocalSite.requests` ``(host)`` filters it; :meth:`LocalSite.wait_for` waits until a condition on it holds.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from monitor.demo import site


class Gate:
    """Lets ``free`` requests through, then holds each until :meth:`open` (see the module docstring)."""

    def __init__(self, free: int = 0) -> None:
        self.reached = threading.Event()
        self._free = free
        self._lock = threading.Lock()
        self._open = threading.Event()

    def open(self) -> None:
        self._open.set()

    def pass_through(self) -> None:
        with self._lock:
            if self._free > 0:
                self._free -= 1
                return
        self.reached.set()
        self._open.wait()


@dataclass
class Fault:
    """A scripted misbehaviour for one path (see the module docstring)."""

    status: int = 200
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    retry_after: float | str | None = None
    delay: float = 0.0
    times: int | None = None
    hold: Gate | None = None


@dataclass(frozen=True)
class LoggedRequest:
    time: float  # time.monotonic() when the request arrived
    host: str
    path: str  # path and query as sent
    method: str
    status: int
    headers: dict[str, str]


class LocalSite(site.LocalSite):
    def __init__(self, root: Path | str, *, bind: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(root, bind=bind, port=port)
        self.log: list[LoggedRequest] = []
        self._spans: list[tuple[str, float, float]] = []
        self._faults: dict[tuple[str, str], Fault] = {}
        self._lock = threading.Lock()
        self._logged = threading.Condition(self._lock)

    def __enter__(self) -> LocalSite:
        self.start()
        return self

    def fault(self, host: str, path: str, fault: Fault) -> None:
        with self._lock:
            self._faults[(host, path)] = fault

    def redirect(self, host: str, path: str, location: str, status: int = 301) -> None:
        self.fault(host, path, Fault(status=status, body=b"", headers={"Location": location}))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def requests(self, host: str | None = None) -> list[LoggedRequest]:
        with self._lock:
            return [r for r in self.log if host is None or r.host == host]

    def wait_for(self, condition: Callable[[list[LoggedRequest]], bool], timeout: float = 60.0) -> bool:
        """Wait until ``condition(log)`` holds (checked on every request logged); False after ``timeout``, a guard
        against a hang rather than a bound on speed."""
        with self._logged:
            return self._logged.wait_for(lambda: condition(self.log), timeout)

    def spans(self, host: str | None = None) -> list[tuple[float, float]]:
        """(arrival, answer written) of each answered request to ``host`` (or all), in order of arrival: to prove
        that no two requests to one host were in flight at once (several daemons share a site's politeness)."""
        with self._lock:
            return sorted((a, b) for h, a, b in self._spans if host is None or h == host)

    def clear_log(self) -> None:
        with self._lock:
            self.log.clear()
            self._spans.clear()

    def _intercept(self, host: str, path: str) -> site.Answer | None:
        fault = self._take_fault(host, path)
        if fault is None:
            return None
        if fault.hold is not None:
            fault.hold.pass_through()
        headers = dict(fault.headers)
        if fault.retry_after is not None:
            headers["Retry-After"] = str(fault.retry_after)
        return site.Answer(status=fault.status, body=fault.body, headers=headers, delay=fault.delay)

    def _take_fault(self, host: str, path: str) -> Fault | None:
        with self._lock:
            for key in ((host, path), (host, path.split("?", 1)[0])):
                fault = self._faults.get(key)
                if fault is None:
                    continue
                if fault.times is not None:
                    if fault.times <= 0:
                        continue
                    fault.times -= 1
                return fault
        return None

    def _answered(self, host: str, arrived: float, answered: float) -> None:
        with self._lock:
            self._spans.append((host, arrived, answered))

    def _record(self, arrived: float, host: str, path: str, method: str, status: int, headers: dict[str, str]) -> None:
        with self._logged:
            self.log.append(LoggedRequest(arrived, host, path, method, status, headers))
            self._logged.notify_all()


__all__ = ["Fault", "Gate", "LocalSite", "LoggedRequest"]

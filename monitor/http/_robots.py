"""robots.txt rules per host (protego), cached for a while and fetched once at a time per host. The client says how
to fetch the file (:meth:`HttpClient._fetch_robots`: pacing, redirects, RFC 9309's status rules); this module keeps
and asks the parsed rules."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from protego import Protego

from monitor.http._pacing import Monotonic


@dataclass(frozen=True)
class Robots:
    """The rules of one host. ``rules`` None means everything is allowed (no robots.txt, or a 4xx for it)."""

    rules: Protego | None
    fetched_at: float

    def allows(self, url: str, agent: str) -> bool:
        return True if self.rules is None else bool(self.rules.can_fetch(url, agent))

    def crawl_delay(self, agent: str) -> float | None:
        if self.rules is None:
            return None
        delay = self.rules.crawl_delay(agent)
        return float(delay) if delay is not None else None


def parse_robots(text: str | None, fetched_at: float) -> Robots:
    return Robots(Protego.parse(text) if text is not None else None, fetched_at)


class RobotsCache:
    def __init__(self, *, ttl: float, clock: Monotonic) -> None:
        self._ttl = ttl
        self._clock = clock
        self._by_host: dict[str, Robots] = {}
        self._lock = threading.Lock()

    def get(self, host: str) -> Robots | None:
        """The host's cached rules while they are fresh, else None (fetch them again)."""
        with self._lock:
            robots = self._by_host.get(host)
        if robots is None or self._clock() - robots.fetched_at >= self._ttl:
            return None
        return robots

    def put(self, host: str, robots: Robots) -> None:
        with self._lock:
            self._by_host[host] = robots


class RobotsRules:
    """The rules for a host: cached while fresh, else fetched by ``fetch(robots_url)``; concurrent askers for one
    host wait for one fetch, other hosts do not wait. A fetch that raises caches nothing (the next request asks
    again)."""

    def __init__(self, fetch: Callable[[httpx.URL], Robots], *, ttl: float, clock: Monotonic) -> None:
        self._fetch = fetch
        self._cache = RobotsCache(ttl=ttl, clock=clock)
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def for_url(self, host: str, url: httpx.URL) -> Robots:
        """The rules for ``url``, whose host (with port) is ``host``."""
        cached = self._cache.get(host)
        if cached is not None:
            return cached
        with self._guard:
            lock = self._locks.setdefault(host, threading.Lock())
        with lock:
            cached = self._cache.get(host)  # another thread may have fetched it meanwhile
            if cached is not None:
                return cached
            robots = self._fetch(url.copy_with(raw_path=b"/robots.txt"))
            self._cache.put(host, robots)
            return robots

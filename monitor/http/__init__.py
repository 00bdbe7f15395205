"""The one HTTP client every fetch goes through, with politeness built in.

:class:`HttpClient` wraps a synchronous ``httpx.Client`` (thread-safe: the scheduler's worker threads share one
client, so pacing holds across all of them) and adds, per request:

- an honest User-Agent with the operator's contact (``[http] user_agent`` / ``contact``);
- connect/read timeouts (httpx) and a total deadline per attempt; a size cap counted on the decoded body while it
  streams (an oversized body is an error, never a truncated page);
- redirects followed by hand, at most ``max_redirects``, and only to the source's own hosts (by default: hosts under
  the requested URL's registrable domain, by the public suffix list); anything else is a :class:`RedirectError`;
- per-host pacing: one request in flight per host and ``min_delay`` seconds (or the robots.txt ``Crawl-delay`` when
  larger) from the end of one request to the start of the next; other hosts proceed concurrently;
- robots.txt fetched per host, cached ``robots_ttl`` seconds and obeyed (protego): a disallowed URL raises
  :class:`RobotsDisallowedError` and is counted in :attr:`HttpClient.stats`, nothing is sent;
- conditional GET (``conditional=True``): ETag/Last-Modified from a :class:`ValidatorStore`; a 304 comes back as a
  :class:`Fetched` with ``not_modified`` True. Validators are *not* stored by the fetch: the caller calls
  :meth:`HttpClient.remember` once it has used the body, so a crash in between re-reads the document next time;
- retries with exponential back-off and jitter for timeouts, connection errors, 429 and 5xx, honouring
  ``Retry-After``; other 4xx are not retried; ``host_failures`` failed attempts in a row send the host into a
  ``host_backoff``-second back-off (:class:`HostBackedOffError`, raised at once while it lasts);
- gzip/deflate/brotli (httpx), charset from the header or the page (:meth:`Fetched.text`), and a content-type check
  (``expect="html"`` refuses an image).

``[http] host_map`` sends a real host's requests to a local base URL (``{"www.rferl.org": "http://127.0.0.1:8000"}``)
with the real ``Host`` header; everything the caller sees (URLs, redirects, robots, pacing keys) stays the real one.
The monotonic clock and sleep are injected so tests run the rules without waiting (tests/_clock.py).

Inside: ``_client`` (the client and one request's way), ``_redirects``, ``_retry``, ``_content`` (content types and the
size cap), ``_pacing`` (per-host pacing and back-off) and ``_robots``; conditional-GET state is in
:mod:`monitor.validators`. Import from this package, not from its private modules.
"""

from __future__ import annotations

from monitor.http._client import ROBOTS_AGENT, Fetched, FetchStats, HttpClient
from monitor.http._content import Expect
from monitor.validators import MemoryValidatorStore, Validators, ValidatorStore

__all__ = [
    "ROBOTS_AGENT",
    "Expect",
    "FetchStats",
    "Fetched",
    "HttpClient",
    "MemoryValidatorStore",
    "ValidatorStore",
    "Validators",
]

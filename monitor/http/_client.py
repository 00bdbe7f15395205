"""The HTTP client itself: one request's way through pacing, robots.txt, retries and redirects (see the package
docstring for the rules)."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

import httpx

from monitor._closing import Closing
from monitor.decoding import decode_html
from monitor.errors import (
    FetchError,
    HostBackedOffError,
    RedirectError,
    ResponseTooLargeError,
    RobotsDisallowedError,
    TransientFetchError,
)
from monitor.http._content import ACCEPT, Expect, capped, check_type, media_type, param
from monitor.http._pacing import HostPacer, Monotonic, Sleep
from monitor.http._redirects import REDIRECT_STATUSES, next_hop, registrable
from monitor.http._retry import backoff_wait, retry_after
from monitor.http._robots import Robots, RobotsRules, parse_robots
from monitor.settings import HttpSettings
from monitor.validators import MemoryValidatorStore, Validators, ValidatorStore

log = logging.getLogger("monitor.http")

#: The product token robots.txt groups are matched against.
ROBOTS_AGENT = "monitor"
ROBOTS_MAX_BYTES = 512 * 1024

# --- results ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Fetched:
    """One successful answer (2xx, or 304 to a conditional GET). URLs are the real ones, never host_map's."""

    url: str  # as requested
    final_url: str  # after redirects
    status: int
    headers: Mapping[str, str]
    content: bytes
    validators: Validators | None = None  # what to remember for the next conditional GET

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def media_type(self) -> str | None:
        return media_type(self.headers.get("content-type"))

    @property
    def charset(self) -> str | None:
        return param(self.headers.get("content-type"), "charset")

    def text(self) -> str:
        """The body as text: BOM, header charset, the page's own declaration, then UTF-8 (monitor.decoding)."""
        return decode_html(self.content, self.charset, where=self.final_url)


@dataclass
class FetchStats:
    """Counters for logs and metrics (read them; the client updates them)."""

    requests: int = 0
    retries: int = 0
    not_modified: int = 0
    robots_disallowed: int = 0
    backed_off: int = 0
    failures: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def bump(self, name: str) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + 1)


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    headers: httpx.Headers
    content: bytes


# --- the client -------------------------------------------------------------------------------------------------


class HttpClient(Closing):
    """The monitor's one HTTP client. Use as a context manager or call :meth:`close`."""

    def __init__(
        self,
        settings: HttpSettings | None = None,
        *,
        validators: ValidatorStore | None = None,
        clock: Monotonic = time.monotonic,
        sleep: Sleep = time.sleep,
        rng: random.Random | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.settings = settings or HttpSettings()
        self.validators: ValidatorStore = validators if validators is not None else MemoryValidatorStore()
        self.stats = FetchStats()
        self._clock = clock
        self._rng = rng or random.Random()
        self._pacer = HostPacer(clock=clock, sleep=sleep)
        self._robots = RobotsRules(self._fetch_robots, ttl=self.settings.robots_ttl, clock=clock)
        self._host_map = {host.lower(): httpx.URL(base) for host, base in self.settings.host_map.items()}
        s = self.settings
        self._http = httpx.Client(
            timeout=httpx.Timeout(connect=s.connect_timeout, read=s.read_timeout, write=s.read_timeout,
                                  pool=s.total_timeout),
            follow_redirects=False,
            transport=transport,
            # host_map targets are local snapshots: never send them through an HTTP(S)_PROXY from the environment.
            mounts={f"all://{base.host}": None for base in self._host_map.values()},
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
        )

    @property
    def user_agent(self) -> str:
        return self.settings.user_agent.replace("{contact}", self.settings.contact)

    def close(self) -> None:
        self._http.close()

    # --- public ---------------------------------------------------------------------------------------------------

    def fetch(
        self,
        url: str,
        *,
        expect: Expect = "any",
        conditional: bool = False,
        allowed_hosts: Collection[str] | None = None,
        max_bytes: int | None = None,
    ) -> Fetched:
        """GET ``url`` politely. Raises a :class:`FetchError` subclass for anything but a usable answer.

        ``max_bytes`` overrides the configured size cap for this fetch (sitemaps may unpack to 50 MB)."""
        url = url.strip()
        extra = {}
        if conditional:
            known = self.validators.get(url)
            if known:
                extra = known.request_headers()
        final_url, answer = self._follow(url, expect=expect, extra=extra, allowed_hosts=allowed_hosts, body=True,
                                         cap=max_bytes or self.settings.max_bytes)
        if answer.status == 304:
            self.stats.bump("not_modified")
        validators = Validators(answer.headers.get("etag"), answer.headers.get("last-modified"))
        return Fetched(
            url=url,
            final_url=final_url,
            status=answer.status,
            headers=answer.headers,
            content=answer.content,
            validators=validators if validators and answer.status != 304 else None,
        )

    def resolve(self, url: str, *, allowed_hosts: Collection[str] | None = None) -> str:
        """Follow ``url``'s redirects (a short link) and return where they end, without reading that page."""
        final_url, _ = self._follow(url.strip(), expect="any", extra={}, allowed_hosts=allowed_hosts, body=False,
                                    cap=self.settings.max_bytes)
        return final_url

    def remember(self, fetched: Fetched) -> None:
        """Store the validators of a document the caller has finished with, for the next conditional GET."""
        if fetched.validators:
            self.validators.put(fetched.url, fetched.validators)

    # --- redirects --------------------------------------------------------------------------------------------------

    def _follow(
        self,
        url: str,
        *,
        expect: Expect,
        extra: dict[str, str],
        allowed_hosts: Collection[str] | None,
        body: bool,
        cap: int,
    ) -> tuple[str, _Answer]:
        start = _parse(url)
        allowed = {h.lower() for h in allowed_hosts} if allowed_hosts else None
        domain = registrable(start.host)
        current = start
        for _hop in range(self.settings.max_redirects + 1):
            answer = self._fetch_one(current, expect=expect, extra=extra, body=body, cap=cap)
            if answer.status not in REDIRECT_STATUSES:
                return str(current), answer
            location = answer.headers.get("location")
            if not location:
                raise FetchError(f"redirect {answer.status} without a Location", url=str(current),
                                 status=answer.status)
            target = next_hop(current, location, requested=url, status=answer.status, allowed=allowed, domain=domain)
            log.debug("redirect %s -> %s", current, target)
            current = target
            extra = {}  # validators belong to the URL that was asked
        raise RedirectError(f"more than {self.settings.max_redirects} redirects", url=url)

    # --- one URL, with retries --------------------------------------------------------------------------------------

    def _fetch_one(self, url: httpx.URL, *, expect: Expect, extra: dict[str, str], body: bool, cap: int) -> _Answer:
        s = self.settings
        host = _host_key(url)
        where = str(url)
        for attempt in range(s.retries + 1):
            until = self._pacer.backed_off_until(host)
            if until is not None:
                self.stats.bump("backed_off")
                raise HostBackedOffError(
                    f"host {host} is backed off for {until - self._clock():.0f} s more", url=where, until=until
                )
            robots = self._robots.for_url(host, url)
            if not robots.allows(where, ROBOTS_AGENT):
                self.stats.bump("robots_disallowed")
                raise RobotsDisallowedError("robots.txt disallows this URL", url=where)
            delay = max(s.min_delay, robots.crawl_delay(ROBOTS_AGENT) or 0.0)
            try:
                with self._pacer.slot(host, delay):
                    answer = self._attempt(url, expect=expect, extra=extra, body=body, cap=cap)
                if answer.status == 429 or answer.status >= 500:
                    raise TransientFetchError(f"HTTP {answer.status}", status=answer.status,
                                              retry_after=retry_after(answer.headers.get("retry-after")))
            except TransientFetchError as exc:
                self._transient(host, where, exc, attempt)
                continue
            self._pacer.record_success(host)
            if answer.status >= 400:
                raise FetchError(f"HTTP {answer.status}", url=where, status=answer.status)
            return answer
        raise AssertionError("unreachable")  # pragma: no cover - the last attempt raises in _transient

    def _transient(self, host: str, where: str, exc: TransientFetchError, attempt: int) -> None:
        """Account one failed attempt; raise when it was the last one, else schedule the retry."""
        s = self.settings
        self.stats.bump("failures")
        log.info("attempt %d of %s failed: %s", attempt + 1, where, exc.reason)
        if self._pacer.record_failure(host, threshold=s.host_failures, backoff=s.host_backoff):
            self.stats.bump("backed_off")
            raise HostBackedOffError(
                f"{exc.reason}; host {host} failed {s.host_failures} times in a row and is left alone for "
                f"{s.host_backoff:.0f} s", url=where, until=self._clock() + s.host_backoff,
            )
        if exc.retry_after is not None and exc.retry_after > s.backoff_max:
            self._pacer.back_off(host, exc.retry_after)
            self.stats.bump("backed_off")
            raise HostBackedOffError(
                f"{exc.reason} with Retry-After {exc.retry_after:.0f} s; host {host} left alone until then",
                url=where, until=self._clock() + exc.retry_after,
            )
        if attempt >= s.retries:
            raise FetchError(f"{exc.reason} (gave up after {attempt + 1} attempts)", url=where, status=exc.status)
        self._pacer.defer(host, self._clock() + backoff_wait(s, attempt, self._rng, exc.retry_after))
        self.stats.bump("retries")

    # --- one attempt on the wire -------------------------------------------------------------------------------------

    def _attempt(self, url: httpx.URL, *, expect: Expect, extra: dict[str, str], body: bool, cap: int) -> _Answer:
        wire, host_header = self._wire(url)
        headers = {"User-Agent": self.user_agent, "Accept": ACCEPT[expect], **extra}
        if host_header:
            headers["Host"] = host_header
        where = str(url)
        self.stats.bump("requests")
        deadline = time.monotonic() + self.settings.total_timeout  # a safety net in real time, not a politeness rule
        try:
            with self._http.stream("GET", wire, headers=headers) as resp:
                status = resp.status_code
                if status in REDIRECT_STATUSES or status == 304 or status >= 400 or not body:
                    return _Answer(status, resp.headers, b"")
                check_type(resp.headers.get("content-type"), expect, where)
                declared = resp.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > cap and not resp.headers.get("content-encoding"):
                    raise ResponseTooLargeError(f"body of {int(declared)} bytes exceeds the {cap}-byte cap", url=where)
                content = b"".join(capped(resp.iter_bytes(), cap, deadline, where))
                return _Answer(status, resp.headers, content)
        except httpx.TimeoutException as exc:
            raise TransientFetchError(f"timed out ({type(exc).__name__})") from None
        except httpx.DecodingError as exc:
            raise FetchError(f"cannot decode the body: {exc}", url=where) from None
        except httpx.TransportError as exc:
            raise TransientFetchError(f"connection failed ({type(exc).__name__}: {exc})") from None

    def _wire(self, url: httpx.URL) -> tuple[httpx.URL, str | None]:
        """Where the request really goes (host_map) and the Host header it then needs."""
        base = self._host_map.get(url.host)
        if base is None:
            return url, None
        path = base.raw_path.rstrip(b"/") + url.raw_path
        return base.copy_with(raw_path=path), url.netloc.decode("ascii")

    # --- robots.txt ---------------------------------------------------------------------------------------------

    def _fetch_robots(self, robots_url: httpx.URL) -> Robots:
        """RFC 9309: 4xx means no rules; 5xx or no answer means we may not crawl now (raised, not cached)."""
        host = _host_key(robots_url)
        current = robots_url
        for _hop in range(5):
            try:
                with self._pacer.slot(_host_key(current), self.settings.min_delay):
                    answer = self._attempt(current, expect="any", extra={}, body=True, cap=ROBOTS_MAX_BYTES)
            except ResponseTooLargeError:
                return parse_robots(None, self._clock())
            except TransientFetchError as exc:
                self._pacer.record_failure(host, threshold=self.settings.host_failures,
                                           backoff=self.settings.host_backoff)
                raise FetchError(f"robots.txt unreachable: {exc.reason}", url=str(robots_url)) from None
            if answer.status in REDIRECT_STATUSES and answer.headers.get("location"):
                target = current.join(answer.headers["location"])
                if registrable(target.host) != registrable(host.split(":")[0]):
                    return parse_robots(None, self._clock())
                current = target
                continue
            if answer.status >= 500 or answer.status == 429:
                self._pacer.record_failure(host, threshold=self.settings.host_failures,
                                           backoff=self.settings.host_backoff)
                raise FetchError(f"robots.txt answered HTTP {answer.status}; not crawling the host now",
                                 url=str(robots_url), status=answer.status)
            if answer.status >= 400:
                return parse_robots(None, self._clock())
            return parse_robots(answer.content.decode("utf-8", "replace"), self._clock())
        return parse_robots(None, self._clock())


# --- helpers ---------------------------------------------------------------------------------------------------------


def _parse(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise FetchError(f"invalid URL: {exc}", url=url) from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise FetchError("not an http(s) URL", url=url)
    return parsed


def _host_key(url: httpx.URL) -> str:
    return url.netloc.decode("ascii").lower()


__all__ = ["ROBOTS_AGENT", "FetchStats", "Fetched", "HttpClient"]

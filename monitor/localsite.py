"""A local stand-in for the real sites: an HTTP server on 127.0.0.1 serving a snapshot directory, for the end-to-end
tests, the offline demo and anyone who needs "the internet" without the internet.

Snapshot layout: one directory per real host, files under their URL paths (percent-decoded, UTF-8 names)::

    snapshot/
      www.rferl.org/robots.txt
      www.rferl.org/api/zrqiteuuir                  # feed, served as application/rss+xml (sniffed)
      www.rferl.org/sitemap.xml
      www.rferl.org/sitemap_8_3.xml.gz              # served as is, application/x-gzip
      www.rferl.org/sitemap_8_latest.xml            # a request for sitemap_8_latest.xml.gz gzips this on the fly
      www.rferl.org/a/some-slug/33423647.html
      www.dw.com/en/some-slug/a-77538843            # no extension: the type is sniffed (HTML here)
      rss.dw.com/xml/rss-en-all

Usage::

    with LocalSite(Path("snapshot")) as site:
        settings = HttpSettings(host_map=site.host_map(), min_delay=0.2)
        ...                                   # the client sends www.rferl.org requests to site.base_url
        site.requests("www.rferl.org")        # [LoggedRequest(time, host, path, method, status, headers), ...]

The request picks its host from the ``Host`` header (what :class:`monitor.http.HttpClient` sends under host_map); a
browser can use ``http://127.0.0.1:<port>/<host>/<path>`` instead. Query strings are ignored when looking up files.

Behaviour: a path ending in ``/`` serves ``index.html``; types come from the extension or are sniffed (rss, rdf,
sitemap, html); every file has an ``ETag`` and ``Last-Modified`` and conditional requests get 304; bodies over 1 KB
are gzip-encoded for clients that accept it; ``robots.txt`` is a file like any other (absent: 404, "allow all").

Test hooks (thread-safe, may be changed while the server runs):

- :meth:`LocalSite.fault` ``(host, path, Fault(...))``: answer ``status`` (with ``retry_after``, extra ``headers``,
  a replacement ``body`` — ``b""`` for an empty 200), after ``delay`` seconds (a delay longer than the client's read
  timeout is a hang), for the next ``times`` requests (None: all of them). ``path`` may include a query.
- :meth:`LocalSite.redirect` ``(host, path, location, status=301)``: a redirect (``location`` absolute or relative).
- :attr:`LocalSite.log`: every request with its arrival time (``time.monotonic()``), to prove pacing per host.
- :meth:`LocalSite.spans` ``(host)``: (arrival, answered) of every request answered, to prove that no two requests to
  one host were in flight at once (several processes share a site's politeness).

From a shell: ``python -m monitor.localsite SNAPSHOT [--port N]`` serves until Ctrl-C and prints the
``MONITOR_HTTP__HOST_MAP`` value to export.
"""

from __future__ import annotations

import contextlib
import email.utils
import gzip
import hashlib
import logging
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import unquote, urlsplit

_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".json": "application/json",
    ".gz": "application/x-gzip",
    ".jpg": "image/jpeg",
    ".png": "image/png",
}
_GZIP_MIN = 1024

log = logging.getLogger("monitor.localsite")


@dataclass
class Fault:
    """A scripted misbehaviour for one path (see the module docstring)."""

    status: int = 200
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    retry_after: float | str | None = None
    delay: float = 0.0
    times: int | None = None


@dataclass(frozen=True)
class LoggedRequest:
    time: float  # time.monotonic() when the request arrived
    host: str
    path: str  # path and query as sent
    method: str
    status: int
    headers: dict[str, str]


class LocalSite:
    """The snapshot server. Start with :meth:`start` or ``with``; it runs in a daemon thread on an ephemeral port."""

    def __init__(self, root: Path | str, *, bind: str = "127.0.0.1", port: int = 0) -> None:
        self.root = Path(root).resolve()
        if not self.root.is_dir():
            raise FileNotFoundError(f"snapshot directory {self.root} does not exist")
        self.log: list[LoggedRequest] = []
        self._spans: list[tuple[str, float, float]] = []
        self._faults: dict[tuple[str, str], Fault] = {}
        self._lock = threading.Lock()
        self._server = _QuietServer((bind, port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # --- lifecycle -----------------------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> LocalSite:
        if self._thread is None:
            self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                            name="localsite", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> LocalSite:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # --- what it serves -----------------------------------------------------------------------------------------

    @property
    def hosts(self) -> list[str]:
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and "." in p.name)

    def host_map(self, hosts: list[str] | None = None) -> dict[str, str]:
        """``[http] host_map`` pointing every snapshot host (or the given ones) at this server."""
        return {host: self.base_url for host in (hosts or self.hosts)}

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

    def spans(self, host: str | None = None) -> list[tuple[float, float]]:
        """(arrival, answer written) of each answered request to ``host`` (or all), in order of arrival."""
        with self._lock:
            return sorted((a, b) for h, a, b in self._spans if host is None or h == host)

    def clear_log(self) -> None:
        with self._lock:
            self.log.clear()
            self._spans.clear()

    # --- used by the handler -----------------------------------------------------------------------------------------

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

    def _record(self, entry: LoggedRequest) -> None:
        with self._lock:
            self.log.append(entry)

    def _locate(self, host: str, path: str) -> tuple[str, Path | None, bytes | None]:
        """(host, file, body) for a request: the file when it exists, or gzip bytes made from ``X`` for ``X.gz``."""
        if not (self.root / host).is_dir():
            first, _, rest = path.lstrip("/").partition("/")
            if (self.root / first).is_dir():
                host, path = first, "/" + rest
        base = (self.root / host).resolve()
        relative = unquote(urlsplit(path).path).lstrip("/")
        target = (base / relative).resolve()
        if not target.is_relative_to(base):
            return host, None, None
        if target.is_dir() or relative == "" or relative.endswith("/"):
            target = target / "index.html"
        if target.is_file():
            return host, target, None
        if target.suffix == ".gz" and target.with_suffix("").is_file():
            return host, target, gzip.compress(target.with_suffix("").read_bytes(), mtime=0)
        return host, None, None


class _QuietServer(ThreadingHTTPServer):
    """Clients that hang up (timeouts, closed keep-alive connections) are normal here, not tracebacks on stderr."""

    def handle_error(self, request: object, client_address: object) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError):
            return
        log.warning("localsite: error while serving %s", client_address, exc_info=True)


def _content_type(path: Path, body: bytes) -> str:
    known = _TYPES.get(path.suffix.lower())
    if known:
        return known
    head = body[:1024].lstrip().lower()
    if b"<rss" in head:
        return "application/rss+xml; charset=utf-8"
    if b"<rdf:rdf" in head:
        return "application/rdf+xml; charset=utf-8"
    if head.startswith(b"<?xml") or b"<urlset" in head or b"<sitemapindex" in head:
        return "application/xml; charset=utf-8"
    if b"<html" in head or b"<!doctype html" in head:
        return "text/html"
    return "application/octet-stream"


def _handler_for(site: LocalSite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "localsite/1"
        # Headers and body go out in two writes; with Nagle on, a keep-alive client waits ~40 ms for each response.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_HEAD(self) -> None:
            self._serve(send_body=False)

        def do_GET(self) -> None:
            self._serve(send_body=True)

        def _serve(self, *, send_body: bool) -> None:
            arrived = time.monotonic()
            host = (self.headers.get("Host") or "").split(":")[0].lower()
            host, path, generated = site._locate(host, self.path)
            fault = site._take_fault(host, self.path)
            status, headers, body = self._answer(path, generated, fault)
            site._record(LoggedRequest(arrived, host, self.path, self.command, status, dict(self.headers.items())))
            if fault is not None and fault.delay:
                time.sleep(fault.delay)
            try:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if send_body and status not in (204, 304):
                    self.wfile.write(body)
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
                pass
            answered = time.monotonic()
            with site._lock:
                site._spans.append((host, arrived, answered))

        def _answer(self, path: Path | None, generated: bytes | None, fault: Fault | None) -> tuple[
            int, dict[str, str], bytes
        ]:
            if fault is not None and (fault.status != 200 or fault.body is not None):
                headers = dict(fault.headers)
                if fault.retry_after is not None:
                    headers["Retry-After"] = str(fault.retry_after)
                body = fault.body if fault.body is not None else f"status {fault.status}\n".encode()
                headers.setdefault("Content-Type", "text/plain; charset=utf-8")
                return fault.status, headers, body
            if path is None:
                return 404, {"Content-Type": "text/html"}, b"<html><body><h1>404 Not Found</h1></body></html>"
            body = generated if generated is not None else path.read_bytes()
            mtime = path.stat().st_mtime if path.exists() else path.with_suffix("").stat().st_mtime
            etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
            headers = {
                "Content-Type": _content_type(path, body),
                "ETag": etag,
                "Last-Modified": email.utils.formatdate(mtime, usegmt=True),
            }
            if fault is not None:
                headers.update(fault.headers)
            if self._not_modified(etag, mtime):
                return 304, headers, b""
            accepts = self.headers.get("Accept-Encoding") or ""
            if len(body) > _GZIP_MIN and "gzip" in accepts and path.suffix != ".gz":
                body = gzip.compress(body, compresslevel=1, mtime=0)  # fast, as servers that compress on the fly are
                headers["Content-Encoding"] = "gzip"
            return 200, headers, body

        def _not_modified(self, etag: str, mtime: float) -> bool:
            match = self.headers.get("If-None-Match")
            if match is not None:
                return etag in [tag.strip() for tag in match.split(",")] or match.strip() == "*"
            since = self.headers.get("If-Modified-Since")
            if since:
                try:
                    when = email.utils.parsedate_to_datetime(since).timestamp()
                except (TypeError, ValueError):
                    return False
                return int(mtime) <= int(when)
            return False

    return Handler


def main(argv: list[str] | None = None) -> None:
    """``python -m monitor.localsite SNAPSHOT [--port N]``: serve a snapshot until interrupted, printing the
    host_map to export (``MONITOR_HTTP__HOST_MAP``)."""
    import argparse
    import json

    parser = argparse.ArgumentParser(prog="python -m monitor.localsite", description=main.__doc__)
    parser.add_argument("snapshot", type=Path)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    with LocalSite(args.snapshot, port=args.port) as site:
        print(f"serving {site.root} at {site.base_url}", flush=True)
        print(f"MONITOR_HTTP__HOST_MAP='{json.dumps(site.host_map())}'", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()


__all__ = ["Fault", "LocalSite", "LoggedRequest"]

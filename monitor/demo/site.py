"""A local stand-in for the real sites: an HTTP server on 127.0.0.1 serving a snapshot directory, for the offline demo,
the benchmarks and the end-to-end tests (whose fault hooks, tests/_localsite.py, build on this server).

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

The request picks its host from the ``Host`` header (what :class:`monitor.http.HttpClient` sends under host_map); a
browser can use ``http://127.0.0.1:<port>/<host>/<path>`` instead. Query strings are ignored when looking up files.

Behaviour: a path ending in ``/`` serves ``index.html``; types come from the extension or are sniffed (rss, rdf,
sitemap, html); every file has an ``ETag`` and ``Last-Modified`` and conditional requests get 304; bodies over 1 KB
are gzip-encoded for clients that accept it; ``robots.txt`` is a file like any other (absent: 404, "allow all").

A subclass may answer otherwise (:meth:`LocalSite._intercept`: an :class:`Answer` instead of the file, or extra
headers and a delay on it) and see every request (:meth:`LocalSite._record`).

From a shell: ``python -m monitor.demo.site SNAPSHOT [--port N]`` serves until Ctrl-C and prints the
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

log = logging.getLogger("monitor.demo.site")


@dataclass
class Answer:
    """What a subclass answers instead of the file (a ``status`` other than 200, or a ``body``), or adds to it
    (``headers``, and a ``delay`` in seconds before the response goes out)."""

    status: int = 200
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class LocalSite:
    """The snapshot server. Start with :meth:`start` or ``with``; it runs in a daemon thread on an ephemeral port."""

    def __init__(self, root: Path | str, *, bind: str = "127.0.0.1", port: int = 0) -> None:
        self.root = Path(root).resolve()
        if not self.root.is_dir():
            raise FileNotFoundError(f"snapshot directory {self.root} does not exist")
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

    # --- for subclasses ----------------------------------------------------------------------------------------------

    def _intercept(self, host: str, path: str) -> Answer | None:
        """Another answer for a request of ``path`` (with its query) on ``host``, or None to serve the file."""
        return None

    def _answered(self, host: str, arrived: float, answered: float) -> None:
        """Called once the answer to a request is written (times from ``time.monotonic()``)."""

    def _record(self, arrived: float, host: str, path: str, method: str, status: int, headers: dict[str, str]) -> None:
        """Called for every request (``arrived``: ``time.monotonic()`` when it came in)."""

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
            fault = site._intercept(host, self.path)
            status, headers, body = self._answer(path, generated, fault)
            site._record(arrived, host, self.path, self.command, status, dict(self.headers.items()))
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
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
                return
            site._answered(host, arrived, time.monotonic())

        def _answer(self, path: Path | None, generated: bytes | None, fault: Answer | None) -> tuple[
            int, dict[str, str], bytes
        ]:
            if fault is not None and (fault.status != 200 or fault.body is not None):
                headers = dict(fault.headers)
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
    """``python -m monitor.demo.site SNAPSHOT [--port N]``: serve a snapshot until interrupted, printing the
    host_map to export (``MONITOR_HTTP__HOST_MAP``)."""
    import argparse
    import json

    parser = argparse.ArgumentParser(prog="python -m monitor.demo.site", description=main.__doc__)
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


__all__ = ["Answer", "LocalSite"]

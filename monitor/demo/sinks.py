"""Local stand-ins for Slack and a mail server, for the offline demo and end-to-end tests.

:class:`SlackSink` is an HTTP server on 127.0.0.1 that accepts incoming-webhook POSTs and appends each request
body as one JSON line to a file; :class:`SmtpSink` is an aiosmtpd server that writes every message it receives
as one ``.eml`` file. Both run in background threads and bind ephemeral ports.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from monitor._serving import BackgroundHTTPServer
from monitor.errors import ConfigError

# A test may script the sink's answers: a callable given the request number returns (status, headers, delay).
Responder = Callable[[int], tuple[int, dict[str, str], float]]


class SlackSink(BackgroundHTTPServer):
    """A Slack incoming-webhook stand-in that records every accepted request body in ``path`` (JSON lines)."""

    def __init__(self, path: Path, responder: Responder | None = None, *, bind: str = "127.0.0.1") -> None:
        """``bind``: the address to listen on (a test whose daemons live in network namespaces gives its link's)."""
        self.path = path
        self.responder = responder
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._received = threading.Condition(self._lock)
        self._count = 0
        self.received_at: list[float] = []  # time.monotonic() of each recorded request (latency benchmark)
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with sink._lock:
                    sink._count += 1
                    number = sink._count
                status, headers, delay = sink.responder(number) if sink.responder else (200, {}, 0.0)
                if delay:
                    threading.Event().wait(delay)
                if status == 200:
                    try:
                        payload = json.loads(body)
                    except ValueError:
                        status = 400
                    else:
                        sink._record(payload)
                reply = b"ok" if status == 200 else b"error"
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", str(len(reply)))
                    self.end_headers()
                    self.wfile.write(reply)
                except OSError:  # the client gave up (timeout test)
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                pass

        super().__init__((bind, 0), Handler, name="slack-sink")

    def _record(self, payload: dict[str, Any]) -> None:
        with self._lock:
            self.requests.append(payload)
            self.received_at.append(time.monotonic())
            self._received.notify_all()
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(payload, ensure_ascii=False) + "\n")

    def wait_for(self, count: int, timeout: float) -> bool:
        """Wait until ``count`` requests are recorded (True), or ``timeout`` seconds have passed (False)."""
        with self._received:
            return self._received.wait_for(lambda: len(self.requests) >= count, timeout)

    @property
    def url(self) -> str:
        return f"http://{self.address}/services/demo"


class SmtpSink:
    """An SMTP server (aiosmtpd) on 127.0.0.1 that saves each received message as ``NNN.eml`` in ``folder``."""

    def __init__(self, folder: Path) -> None:
        try:
            from aiosmtpd.controller import Controller
        except ImportError:
            # An optional dependency (the `demo` extra): say how to get it rather than end in a traceback.
            raise ConfigError("the demo needs aiosmtpd for its local mail server: install the demo extra "
                              "(pip install 'monitor[demo]', or from a checkout: pip install '.[demo]')") from None

        self.folder = folder
        self.messages: list[bytes] = []
        # A reused folder (``monitor demo --dir`` run again) keeps its earlier messages: number after them.
        self._first = len(list(folder.glob("*.eml"))) if folder.is_dir() else 0
        sink = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                data: bytes = envelope.original_content or envelope.content
                sink._save(data)
                return "250 Message accepted for delivery"

        # aiosmtpd probes its own port after starting, so it needs a real number rather than 0.
        self._controller = Controller(Handler(), hostname="127.0.0.1", port=_free_port())
        self._lock = threading.Lock()

    def _save(self, data: bytes) -> None:
        with self._lock:
            self.messages.append(data)
            self.folder.mkdir(parents=True, exist_ok=True)
            (self.folder / f"{self._first + len(self.messages):03d}.eml").write_bytes(data)

    @property
    def port(self) -> int:
        return int(self._controller.port)

    def start(self) -> SmtpSink:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])

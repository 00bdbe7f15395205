"""Serving the web application with uvicorn: on the main thread until Ctrl-C (``monitor web``, ``monitor demo
--web``) or on a thread of its own (the demo's quick look, the browser tests). The socket is bound before anything
else, so a port in use is one clear error and port 0 picks a free one whose address is known at once."""

from __future__ import annotations

import socket
import threading
from types import TracebackType

import uvicorn
from fastapi import FastAPI

from monitor.errors import ConfigError


class _Server(uvicorn.Server):
    """uvicorn's server, telling a waiting thread when it is up (or has given up)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets=sockets)
        finally:
            self.ready.set()


class WebServer:
    """A bound socket and the server that will answer on it."""

    def __init__(self, app: FastAPI, host: str, port: int) -> None:
        try:
            family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
            self.socket = socket.socket(family, kind, proto)
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.socket.bind(address)
            self.socket.listen(128)
        except OSError as exc:
            raise ConfigError(f"web: cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        bound = self.socket.getsockname()
        self.host = host
        self.port: int = bound[1]
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                                timeout_graceful_shutdown=3)
        self._server = _Server(config)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def serve_forever(self) -> None:
        """Serve on this thread until SIGINT/SIGTERM (uvicorn stops gracefully on either). Ctrl-C is the way to stop
        it, not an error: it returns normally; uvicorn re-raises the signal once it has shut down."""
        try:
            self._server.run(sockets=[self.socket])
        except KeyboardInterrupt:
            pass
        finally:
            self.socket.close()

    def start(self) -> WebServer:
        """Serve on a thread of its own; returns once the server answers."""
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self.socket]},
                                        name="monitor-web", daemon=True)
        self._thread.start()
        self._server.ready.wait(timeout=30)
        if not self._server.started:
            self.stop()
            raise ConfigError(f"web: the server at {self.url} did not start")
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self.socket.close()

    def __enter__(self) -> WebServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


__all__ = ["WebServer"]

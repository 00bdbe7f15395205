"""``monitor web``: the analyst's pages over the archive (search, articles, stories, backtests, alerts, sources),
Atom feeds and a JSON API, served on 127.0.0.1:8080 by default."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from monitor.cli._app import app, fail
from monitor.errors import MonitorError


@app.command("web")
def web(
    host: Annotated[str | None, typer.Option(help="Address to listen on (default: web.host, 127.0.0.1). Any "
                                                  "non-loopback address needs MONITOR_WEB_TOKEN or MONITOR_WEB_USERS "
                                                  "in the environment.")] = None,
    port: Annotated[int | None, typer.Option(min=0, max=65535, help="Port (default: web.port, 8080; 0: any free "
                                                                     "one).")] = None,
) -> None:
    """Serve the web pages over the archive until Ctrl-C. Read-only except queueing dead alerts again."""
    from monitor.logs import configure_logging
    from monitor.services import Opened
    from monitor.store import describe
    from monitor.web import create_app
    from monitor.web.security import Credentials, check_bind
    from monitor.web.server import WebServer

    try:
        with Opened.from_config(existing=True) as opened:
            settings = opened.settings
            configure_logging(settings.daemon.log_format, level=logging.WARNING)
            host = host or settings.web.host
            port = settings.web.port if port is None else port
            credentials = Credentials.from_env(settings.web)
            check_bind(host, credentials, settings.web)
            store = opened.store
            server = WebServer(create_app(settings, store, credentials=credentials, clock=opened.clock), host, port)
            typer.echo(f"monitor web: the archive at {describe(store.engine.url)} on {server.url} "
                       f"({'authentication on' if credentials.configured else 'loopback only'}; Ctrl-C stops)")
            server.serve_forever()
    except MonitorError as exc:
        raise fail(str(exc)) from None

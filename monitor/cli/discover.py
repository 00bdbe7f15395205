"""``monitor discover`` and ``monitor fetch``: discovery and the HTTP client, one stage at a time."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Annotated

import typer

from monitor.cli._app import CHANGED_SINCE_HELP, SINCE, UNTIL, UNTIL_HELP, app, fail
from monitor.errors import MonitorError


@app.command()
def discover(
    source: Annotated[str, typer.Argument(help="A source name from the config ([[sources]] name).")],
    since: Annotated[datetime | None, typer.Option(help=CHANGED_SINCE_HELP + " Default: the source's lookback "
                                                        "window.", parser=SINCE)] = None,
    until: Annotated[datetime | None, typer.Option(help=UNTIL_HELP, parser=UNTIL)] = None,
    keys: Annotated[bool, typer.Option("--keys", help="Print the article key before each URL.")] = False,
) -> None:
    """Print the article URLs a source yields now (feeds, sitemaps, section pages), one per line.

    Broken parts of the source are reported on stderr, one line each, and make the exit status 2.
    """
    from monitor.discovery import discover_source
    from monitor.services import Opened

    try:
        with Opened.from_config() as opened:
            config = opened.settings.source(source)
            result = discover_source(opened.detached_client, config, registry=opened.registry, since=since,
                                     until=until, now=opened.clock())
    except MonitorError as exc:
        raise fail(str(exc)) from None
    for key, entry in zip(result.keys, result.entries, strict=True):
        typer.echo(f"{key}\t{entry.url}" if keys else entry.url)
    for error in result.errors:
        typer.echo(f"monitor: error: {error}", err=True)
    if result.errors:
        raise typer.Exit(2)


@app.command()
def fetch(
    url: Annotated[str, typer.Argument(help="The URL to fetch (through the polite client, robots.txt included).")],
    raw: Annotated[bool, typer.Option("--raw", help="Print the body as served instead of the archive text.")] = False,
) -> None:
    """Fetch one URL and print its status and size; for an article page, then its archive text."""
    from monitor.render import render_article
    from monitor.services import Opened
    from monitor.urls import article_key, canonical_url

    try:
        with Opened.from_config() as opened:
            registry = opened.registry
            is_article = article_key(canonical_url(url), registry) is not None
            fetched = opened.detached_client.fetch(url, expect="html" if is_article else "any")
        typer.echo(f"HTTP {fetched.status}  {len(fetched.content)} bytes  {fetched.media_type or '-'}  "
                   f"{fetched.final_url}")
        if raw:
            sys.stdout.buffer.write(fetched.content)
            return
        if is_article:
            article = registry.parse(fetched.text(), canonical_url(fetched.final_url))
            typer.echo("")
            sys.stdout.buffer.write(render_article(article).encode("utf-8") + b"\n")
    except MonitorError as exc:
        raise fail(str(exc)) from None


__all__ = ["discover", "fetch"]

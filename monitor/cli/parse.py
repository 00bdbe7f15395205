"""``monitor parse``: a saved page to archive text (or the structured article)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from monitor.cli._app import app, fail


@app.command()
def parse(
    page: Annotated[str, typer.Argument(help="Saved page: a file path, or - for standard input.")],
    url: Annotated[str, typer.Option("--url", help="The URL the page was served from.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the structured article instead of its text.")] = False,
) -> None:
    """Print the archive text of a saved article page."""
    from monitor.decoding import decode_html
    from monitor.errors import MonitorError
    from monitor.render import render_article
    from monitor.services import Opened

    where = "<stdin>" if page == "-" else page
    try:
        data = sys.stdin.buffer.read() if page == "-" else Path(page).read_bytes()
    except OSError as exc:
        raise fail(f"cannot read {where}: {exc.strerror or exc}") from None
    try:
        html = decode_html(data, where=url)
        # Pangea services the operator added in monitor.toml are parsed like the built-in ones.
        article = Opened.from_config().registry.parse(html, url)
    except MonitorError as exc:
        raise fail(f"{where}: {exc}") from None
    if as_json:
        sys.stdout.write(json.dumps(article.to_json(), ensure_ascii=False, indent=2) + "\n")
    else:
        sys.stdout.buffer.write(render_article(article).encode("utf-8"))

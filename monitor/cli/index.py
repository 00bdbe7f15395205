"""``monitor index rebuild|catch-up|status``: the search index of an archive (built on ingest; rebuilt here for an
archive that predates it, or after the language analysis changed; caught up after an index write failed)."""

from __future__ import annotations

from typing import Annotated

import typer

from monitor.cli._app import app, fail
from monitor.errors import MonitorError

index_app = typer.Typer(help="The search index: build it for an existing archive, see how complete it is.",
                        no_args_is_help=True)
app.add_typer(index_app, name="index")


@index_app.command("rebuild")
def index_rebuild(
    restart: Annotated[bool, typer.Option("--restart", help="Start again from the first article instead of going on "
                                                            "where an interrupted rebuild stopped.")] = False,
    batch: Annotated[int, typer.Option(min=1, max=10000, help="Articles per transaction (and per checkpoint).")] = 500,
) -> None:
    """Index every stored article's latest text. Interrupted (Ctrl-C), the same command goes on where it stopped."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from monitor.search.index import SearchIndex
    from monitor.services import Opened

    console = Console(stderr=True)
    columns = (TextColumn("indexing"), BarColumn(), MofNCompleteColumn(), TextColumn("articles"),
               TimeRemainingColumn())
    try:
        opened = Opened.from_config()
        store, archive = opened.store, opened.archive
    except MonitorError as exc:
        raise fail(str(exc)) from None
    try:
        index = SearchIndex(store.engine, clock=opened.clock)
        resumed = index.status().rebuild_next_pk
        if resumed is not None and not restart:
            console.print(f"going on with the rebuild from article id {resumed}", highlight=False)
        with Progress(*columns, console=console, disable=not console.is_terminal) as bar:
            task = bar.add_task("index", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            indexed = index.rebuild(archive, restart=restart, batch=batch, progress=progress)
    except KeyboardInterrupt:
        typer.echo("monitor: interrupted: run `monitor index rebuild` again to go on where it stopped", err=True)
        raise typer.Exit(130) from None
    except MonitorError as exc:
        raise fail(str(exc)) from None
    finally:
        opened.close()
    typer.echo(f"{indexed} article(s) indexed")


@index_app.command("status")
def index_status() -> None:
    """How many articles the index holds, how many it lacks or holds an older revision of, and its size."""
    from monitor.search.index import SearchIndex
    from monitor.services import Opened

    try:
        with Opened.from_config(upgrade=False) as opened:
            status = SearchIndex(opened.store.engine).status()
    except MonitorError as exc:
        raise fail(str(exc)) from None
    typer.echo(f"backend: {status.backend}")
    typer.echo(f"articles: {status.articles}")
    typer.echo(f"indexed: {status.indexed}")
    typer.echo(f"missing: {status.missing}")
    typer.echo(f"stale: {status.stale} (indexed at an older revision)")
    typer.echo(f"pending: {status.pending} (latest text not indexed yet: searches read them beside the index)")
    if status.size_bytes is not None:
        per = f", {status.size_bytes / status.indexed:.0f} bytes per article" if status.indexed else ""
        typer.echo(f"size: {status.size_bytes / 1e6:.1f} MB{per}")
    if status.rebuild_next_pk is not None:
        typer.echo(f"rebuild: interrupted before article id {status.rebuild_next_pk}; "
                   "`monitor index rebuild` goes on from there")
    elif status.missing or status.stale or status.pending:
        typer.echo("run `monitor index catch-up` (or `monitor index rebuild`) to index what is missing; the daemon "
                   "catches up in its housekeeping")


@index_app.command("catch-up")
def index_catch_up() -> None:
    """Index the articles whose latest text is not indexed yet (an index write that failed, or never ran)."""
    from monitor.search.index import SearchIndex
    from monitor.services import Opened

    try:
        with Opened.from_config() as opened:
            indexed = SearchIndex(opened.store.engine).catch_up(opened.archive)
    except MonitorError as exc:
        raise fail(str(exc)) from None
    typer.echo(f"{indexed} article(s) indexed")

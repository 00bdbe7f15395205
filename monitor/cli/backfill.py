"""``monitor backfill SOURCE --since DATE [--until DATE]``: archive a source's past articles from its sitemaps."""

from __future__ import annotations

import logging
import shlex
import threading
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer

from monitor.cli._app import CHANGED_SINCE_HELP, SINCE, UNTIL, UNTIL_HELP, app, as_argument, fail
from monitor.errors import MonitorError

if TYPE_CHECKING:
    from rich.progress import ProgressColumn

    from monitor.backfill import BackfillReport

#: Exit status of a run stopped by Ctrl-C (128 + SIGINT), as shells report it.
EXIT_INTERRUPTED = 130


def _rate_column() -> ProgressColumn:
    from rich.progress import ProgressColumn, Task
    from rich.text import Text

    class _RateColumn(ProgressColumn):
        """Articles per second (rich's own speed column counts bytes)."""

        def render(self, task: Task) -> Text:
            speed = task.finished_speed or task.speed
            return Text(f"{speed:.2f}/s" if speed else "-/s", style="progress.data.speed")

    return _RateColumn()


@app.command("backfill")
def backfill_command(
    source: Annotated[str, typer.Argument(help="The configured source's name (config/monitor.toml).")],
    since: Annotated[datetime, typer.Option(help=CHANGED_SINCE_HELP, parser=SINCE)],
    until: Annotated[datetime | None, typer.Option(help=UNTIL_HELP, parser=UNTIL)] = None,
    alerts: Annotated[bool, typer.Option(
        "--alerts", help="Queue alerts for what the rules match (default: muted, nothing is sent).")] = False,
) -> None:
    """Archive a source's past articles from its sitemap index, politely, beside the running daemon if need be.

    Interrupted (Ctrl-C), it stops after the current article; the same command resumes where it stopped.
    """
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeRemainingColumn,
    )

    from monitor.backfill import backfill
    from monitor.logs import configure_logging
    from monitor.services import Opened
    from monitor.signals import stop_on_signals

    if until is not None and until < since:
        raise fail(f"--until {as_argument(until)} is before --since {as_argument(since)}")
    opened = Opened.from_config()
    settings = opened.settings
    try:
        watched = settings.source(source)
    except MonitorError as exc:
        raise fail(str(exc)) from None
    console = Console(stderr=True)
    # Per-article log lines would tear the bar apart; warnings (a page that failed) still show.
    configure_logging(settings.daemon.log_format, level=logging.WARNING if console.is_terminal else logging.INFO)
    stop = threading.Event()
    columns = (SpinnerColumn(), TextColumn("[progress.description]{task.description}"), BarColumn(),
               MofNCompleteColumn(), _rate_column(), TimeRemainingColumn())
    try:
        services = opened.pipeline(alerts=alerts, detached=True)  # see monitor.backfill: validators of its own
    except MonitorError as exc:
        opened.close()
        raise fail(str(exc)) from None
    try:
        with Progress(*columns, console=console, disable=not console.is_terminal) as bar, \
                stop_on_signals(stop, lambda _: console.print(
                    "stopping after the current article (Ctrl-C again to quit at once)", highlight=False),
                    second_quits=True):
            task = bar.add_task(f"{watched.name}: reading sitemaps", total=None)

            def progress(done: int, total: int | None) -> None:
                if total is not None:
                    bar.update(task, description=f"{watched.name}: archiving", completed=done, total=total)

            report = backfill(services, watched, since=since, until=until, stop=stop, progress=progress)
    except MonitorError as exc:
        raise fail(str(exc)) from None
    finally:
        opened.close()
    typer.echo(_summary(report))
    for error in report.errors:
        typer.echo(f"monitor: warning: {error}", err=True)
    if report.interrupted:
        command = ["monitor", "backfill", source, "--since", as_argument(since)]
        if until is not None:
            command += ["--until", as_argument(until)]
        if alerts:
            command.append("--alerts")
        typer.echo(f"interrupted with {report.left} articles left; to resume, run the same command again: "
                   f"{shlex.join(command)}")
        raise typer.Exit(EXIT_INTERRUPTED)
    if report.errors:
        typer.echo(f"{len(report.errors)} sitemaps could not be read: run the command again to retry them", err=True)
        raise typer.Exit(1)


def _summary(report: BackfillReport) -> str:
    run = report.run
    span = f"{report.since.isoformat(timespec='seconds')} .. " + (
        report.until.isoformat(timespec="seconds") if report.until else "now")
    return (f"backfill {report.source} ({span}): {report.candidates} articles in range, {report.already} already "
            f"archived; this run: {run.new} new, {run.revised} revised, {run.seen} unchanged, {run.failed} failed, "
            f"{run.alerts} alerts queued, {len(report.errors)} sitemap errors")


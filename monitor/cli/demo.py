"""``monitor demo``: the daemon, offline, from the shipped config, with a summary of what it did."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from monitor.cli._app import app, fail
from monitor.errors import MonitorError

if TYPE_CHECKING:
    from monitor.demo.runner import DemoResult
    from monitor.pipeline import RunReport


@app.command("demo")
def demo(
    directory: Annotated[Path | None, typer.Option(
        "--dir", help="Keep everything under this directory (new, empty, or made by an earlier demo): the archive, "
                      "monitor.db, slack.jsonl, mail/*.eml and the snapshot. Default: a temporary directory, "
                      "removed at the end.", file_okay=False)] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show the daemon's log lines.")] = False,
    web: Annotated[bool, typer.Option("--web", help="Then keep the web page over the demo's archive open (on "
                                                    "127.0.0.1:8080, or a free port) until Ctrl-C.")] = False,
) -> None:
    """Run the real daemon offline for two polling cycles, from the shipped config/monitor.toml and config/rules.toml
    (MONITOR_* variables are ignored): a local HTTP server plays the sources' hosts (www.rferl.org, www.dw.com,
    rss.dw.com) with the fixture pages, including the two seed articles, under their real URLs and feeds and
    sitemaps generated for them; local Slack and SMTP servers receive the alerts. Prints what was archived and
    delivered; the second cycle finds nothing new. Then it starts the web page (`monitor web`) on the archive it built
    and prints its address (--web: keeps it open until Ctrl-C). No network; the pages come from the checkout's
    tests/fixtures or their copy in the installed package; needs the demo extra (aiosmtpd). Exit 1 when something
    did not work as shown."""
    from monitor.demo.runner import run_demo, serve_web
    from monitor.logs import configure_logging

    configure_logging("text", level=logging.INFO if verbose else logging.WARNING)
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd's SMTP dialogue: the sink, not the monitor
    try:
        if directory is not None:
            result = run_demo(directory, echo=typer.echo)
            _print(result, kept=True)
            serve_web(result.directory, keep=web, echo=typer.echo)
        else:
            with tempfile.TemporaryDirectory(prefix="monitor-demo-") as temporary:
                result = run_demo(Path(temporary), echo=typer.echo)
                _print(result, kept=False)
                serve_web(result.directory, keep=web, echo=typer.echo)
    except MonitorError as exc:
        raise fail(str(exc)) from None
    if result.problems:
        for problem in result.problems:
            typer.echo(f"problem: {problem}", err=True)
        raise typer.Exit(1)


def _print(result: DemoResult, *, kept: bool) -> None:
    from monitor.demo.runner import CYCLES

    root = result.directory / "archive"
    new = [a for a in result.archived if a.new]
    typer.echo("")
    if new:
        typer.echo(f"archived ({len(new)} texts):")
        for item in new:
            typer.echo(f"  {_relative(item.path, root)}  {item.headline}")
    else:
        typer.echo(f"archived: nothing new; the {len(result.archived)} texts in {root} are from an earlier run")
    typer.echo("")
    if result.delivered:
        typer.echo(f"alerts delivered ({len(result.delivered)} messages):")
        for alert in result.delivered:
            typer.echo(f"  {alert.channel:<6} {alert.rule:<16} {alert.headline}")
    else:
        typer.echo("alerts delivered: none by this run (each story is alerted once per channel, and an earlier run "
                   "delivered these)")
    typer.echo("")
    for number, reports in enumerate(result.cycles, 1):
        typer.echo(f"cycle {number}: {_cycle_line(reports)}")
    typer.echo("")
    if kept:
        typer.echo(f"everything is in {result.directory}: archive/, monitor.db, slack.jsonl (the Slack messages), "
                   "mail/ (the emails), snapshot/ (what the local server served)")
        typer.echo("")
        typer.echo(f"the database is {result.directory / 'monitor.db'}, beside the archive rather than under it; to "
                   "point the other commands at both, set these two variables (with the shipped config):")
        typer.echo(f"  {demo_environment(result.directory)} monitor status")
        typer.echo("  (likewise monitor export, monitor rules test QUERY, monitor archive verify, monitor alerts list)")
    else:
        typer.echo(f"{result.directory} was a temporary directory and is removed; "
                   "`monitor demo --dir DIR` keeps the archive, the database and the messages")
    if len(result.cycles) < CYCLES:
        typer.echo("(stopped early)")


def demo_environment(directory: Path) -> str:
    """The variables that point every command at what ``monitor demo --dir DIR`` made, as shell words."""
    import shlex

    root = directory.resolve()
    return " ".join(shlex.quote(f"{name}={value}") for name, value in (
        ("MONITOR_STORAGE__ARCHIVE_ROOT", root / "archive"),
        ("MONITOR_STORAGE__URL", f"sqlite:///{root / 'monitor.db'}")))


def _cycle_line(reports: list[RunReport]) -> str:
    new = sum(r.new for r in reports)
    revised = sum(r.revised for r in reports)
    known = sum(r.discovered - r.fetched - r.failed + r.seen for r in reports)
    parts = [f"{new} new, {revised} revised" + ("" if new or revised else " (nothing new)"),
             f"{sum(r.alerts for r in reports)} alerts queued",
             f"{sum(r.unchanged for r in reports)} feeds and sitemaps unchanged (304)"]
    if known:
        parts.append(f"{known} pages already archived")
    return ", ".join(parts)


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)

"""``monitor run`` (the daemon), ``monitor status`` and ``monitor health``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from monitor.cli._app import app, fail
from monitor.errors import MonitorError

if TYPE_CHECKING:
    from monitor.scheduler import DaemonSummary
    from monitor.services import Opened


@app.command("run")
def run(
    cycles: Annotated[int | None, typer.Option(
        help="Stop after every source has run this many times (and its alerts had a delivery round).",
        min=1)] = None,
) -> None:
    """Run the daemon: poll every source on its schedule, archive what is new, deliver alerts. Stop with SIGTERM."""
    from monitor.lock import DaemonLock
    from monitor.logs import configure_logging
    from monitor.services import Opened
    from monitor.store.engine import database_url

    opened = Opened.from_config()
    settings = opened.settings
    configure_logging(settings.daemon.log_format)
    # The lock first: a second daemon is refused before it touches the database or the health port.
    lock = DaemonLock(database_url(settings.storage))
    try:
        lock.acquire()
    except MonitorError as exc:
        raise fail(str(exc)) from None
    try:
        with opened:
            summary = _run_locked(opened, cycles)
    finally:
        lock.release()
    if cycles is not None:
        new = sum(r.new for r in summary.runs)
        revised = sum(r.revised for r in summary.runs)
        typer.echo(f"{len(summary.runs)} source runs: {new} new, {revised} revised, "
                   f"{summary.delivered} alert messages delivered")


def _run_locked(opened: Opened, cycles: int | None) -> DaemonSummary:
    import threading

    from monitor.metrics import HealthServer
    from monitor.scheduler import Daemon, interruptible_sleep

    settings = opened.settings
    stop = threading.Event()
    try:
        services = opened.pipeline(sleep=interruptible_sleep(stop))
    except MonitorError as exc:
        raise fail(str(exc)) from None
    server: HealthServer | None = None
    try:
        daemon = Daemon(services, stop=stop)
        if settings.daemon.health_listen:
            server = HealthServer(settings.daemon.health_listen, daemon.metrics, daemon.problems).start()
        return daemon.run(cycles=cycles, take_lock=False)
    except MonitorError as exc:
        raise fail(str(exc)) from None
    finally:
        if server is not None:
            server.stop()


@app.command("status")
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print the status as JSON.")] = False,
) -> None:
    """Per source: last run, last success, articles today, errors; per channel: the outbox backlog."""
    from rich.console import Console
    from rich.table import Table

    from monitor.services import Opened
    from monitor.status import assemble

    try:
        with Opened.from_config(upgrade=False) as opened:
            now = assemble(opened.settings, opened.store, opened.registry, opened.clock())
            where = opened.store.where
    except MonitorError as exc:
        raise fail(str(exc)) from None
    if as_json:
        typer.echo(json.dumps(now.to_json(), indent=2))
        return
    processes = now.processes
    console = Console(width=160)
    table = Table(title=f"sources ({where})")
    for column in ("source", "last run", "last success", "today", "errors", "problem", "held by"):
        table.add_column(column)
    for row in now.sources:
        errors = str(row["consecutive_failures"])
        if row["last_error"]:
            errors += f" ({row['last_error']})"
        table.add_row(str(row["source"]), _short(row["last_run"]), _short(row["last_success"]),
                      str(row["articles_today"]), errors, str(row["problem"] or "-"), str(row["held_by"] or "-"))
    console.print(table)
    if processes:
        daemons = Table(title="daemons")
        for column in ("process", "host", "pid", "started", "last seen", "alive", "sources"):
            daemons.add_column(column)
        for p in processes:
            daemons.add_row(str(p["id"]), str(p["host"]), str(p["pid"]), _short(p["started"]),
                            str(p["last_seen"]).replace("T", " ").replace("+00:00", ""), "yes" if p["alive"] else "NO",
                            str(len(p["sources"])))
        console.print(daemons)
    backlog = Table(title="alert outbox")
    for column in ("channel", "queued", "sending", "buffered", "sent", "dead"):
        backlog.add_column(column)
    for channel, states in sorted(now.outbox.items()):
        backlog.add_row(channel, *(str(states.get(s, 0)) for s in ("queued", "sending", "buffered", "sent", "dead")))
    console.print(backlog)
    console.print(f"search index: {now.index_pending} article(s) pending"
                  + (" (not indexed yet: searches read them beside the index; the daemon catches up)"
                     if now.index_pending else ""), highlight=False)
    for problem in now.problems:
        console.print(f"[red]problem:[/red] {problem}", highlight=False)


@app.command("health")
def health() -> None:
    """Exit 0 when the daemon runs and every source is well; 1 and one line per problem otherwise (for systemd
    and container health checks)."""
    # Run every few minutes by a timer: it reads two tables without the ORM (monitor.store.glance).
    from monitor import health as source_health
    from monitor.errors import DaemonAlreadyRunning
    from monitor.lock import DaemonLock
    from monitor.services import Opened
    from monitor.store.engine import database_url

    opened = Opened.from_config()
    settings = opened.settings
    try:
        seen = opened.glance()
    except MonitorError as exc:
        raise fail(str(exc), code=1) from None
    problems = source_health.problems(settings.sources, seen.healths, seen.outbox, now=opened.clock(),
                                      failures_before_alert=settings.daemon.failures_before_alert)
    lock = DaemonLock(database_url(settings.storage))
    if not lock.exclusive:  # PostgreSQL: running when some daemon's heartbeat is recent
        try:
            running = opened.daemon_running()
        except MonitorError as exc:
            raise fail(str(exc), code=1) from None
        if not running:
            problems.insert(0, "no daemon is running (no heartbeat within daemon.lease_ttl)")
    else:
        try:
            lock.acquire()
        except DaemonAlreadyRunning:
            pass  # the daemon holds it: running
        except MonitorError as exc:
            problems.append(str(exc))
        else:
            lock.release()
            problems.insert(0, "the daemon is not running (nobody holds its lock)")
    if problems:
        for problem in problems:
            typer.echo(f"unhealthy: {problem}")
        raise typer.Exit(1)
    typer.echo("healthy")


def _short(value: object) -> str:
    return str(value).replace("T", " ").replace("+00:00", "")[:16] if value else "-"

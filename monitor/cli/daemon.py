"""``monitor run`` (the daemon), ``monitor status`` and ``monitor health``."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from monitor import health as source_health
from monitor.cli._app import app, fail
from monitor.errors import MonitorError
from monitor.lock import DaemonAlreadyRunning, DaemonLock
from monitor.logs import configure_logging
from monitor.metrics import HealthServer
from monitor.notify.service import AlertService
from monitor.scheduler import Daemon, DaemonSummary, interruptible_sleep
from monitor.services import Services
from monitor.settings import Settings, load_settings
from monitor.sites import default_registry
from monitor.status import source_statuses
from monitor.store import Store
from monitor.store.engine import database_url


@app.command("run")
def run(
    cycles: Annotated[int | None, typer.Option(
        help="Stop after every source has run this many times (and its alerts had a delivery round).",
        min=1)] = None,
) -> None:
    """Run the daemon: poll every source on its schedule, archive what is new, deliver alerts. Stop with SIGTERM."""
    settings = load_settings()
    configure_logging(settings.daemon.log_format)
    # The lock first: a second daemon is refused before it touches the database or the health port.
    lock = DaemonLock(database_url(settings.storage))
    try:
        lock.acquire()
    except MonitorError as exc:
        raise fail(str(exc)) from None
    try:
        summary = _run_locked(settings, cycles)
    finally:
        lock.release()
    if cycles is not None:
        new = sum(r.new for r in summary.runs)
        revised = sum(r.revised for r in summary.runs)
        typer.echo(f"{len(summary.runs)} source runs: {new} new, {revised} revised, "
                   f"{summary.delivered} alert messages delivered")


def _run_locked(settings: Settings, cycles: int | None) -> DaemonSummary:
    stop = threading.Event()
    try:
        services = Services.open(settings, sleep=interruptible_sleep(stop))
    except MonitorError as exc:
        raise fail(str(exc)) from None
    server: HealthServer | None = None
    try:
        daemon = Daemon(services, stop=stop)
        if settings.daemon.health_listen:
            server = HealthServer(settings.daemon.health_listen, daemon.metrics,
                                  lambda: _problems(settings, services.store, services.alerts)).start()
        return daemon.run(cycles=cycles, take_lock=False)
    except MonitorError as exc:
        raise fail(str(exc)) from None
    finally:
        if server is not None:
            server.stop()
        services.close()


def _problems(settings: Settings, store: Store, alerts: AlertService | None) -> list[str]:
    healths = {h.source: h for h in store.source_healths()}
    outbox = alerts.status() if alerts is not None else {}
    reasons = alerts.dead_reasons() if alerts is not None else {}
    return source_health.problems(settings.sources, healths, outbox, now=datetime.now(UTC),
                                  failures_before_alert=settings.daemon.failures_before_alert,
                                  dead_reasons=reasons)


def _open_for_reading(settings: Settings) -> tuple[Store, AlertService]:
    store = Store.open(settings.storage, upgrade=False)
    return store, AlertService(store.engine, settings.alerts, rules=[], senders={})


@app.command("status")
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print the status as JSON.")] = False,
) -> None:
    """Per source: last run, last success, articles today, errors; per channel: the outbox backlog."""
    settings = load_settings()
    try:
        store, alerts = _open_for_reading(settings)
    except MonitorError as exc:
        raise fail(str(exc)) from None
    try:
        # The web's Sources page shows the same assembly; the CLI keeps its own keys.
        sources = [{k: v for k, v in row.items() if k not in ("archive_site", "runs")}
                   for row in source_statuses(settings, store, default_registry(settings.pangea_hosts),
                                              datetime.now(UTC))]
        outbox = alerts.status()
        problems = _problems(settings, store, alerts)
        # Several daemons on PostgreSQL: who holds which source, and each process's heartbeat.
        from monitor.sharing import source_holders_of
        from monitor.store.leases import LeaseStore

        leases = LeaseStore(store.engine, "")
        holders = source_holders_of([s for s in settings.sources if s.enabled], leases.holders())
        seen_now = leases.now()
        processes: list[dict[str, Any]] = [{"id": p.id, "host": p.host, "pid": p.pid, "started": _iso(p.started),
                      "last_seen": _iso(p.last_seen),
                      "alive": (seen_now - p.last_seen).total_seconds() < settings.daemon.lease_ttl,
                      "sources": sorted(name for name, holder in holders.items() if holder == p.id)}
                     for p in leases.processes()]
        for row in sources:
            row["held_by"] = holders.get(str(row["source"]))
    except MonitorError as exc:
        raise fail(str(exc)) from None
    finally:
        store.close()
    if as_json:
        typer.echo(json.dumps({"sources": sources, "outbox": outbox, "problems": problems,
                               "processes": processes}, indent=2))
        return
    console = Console(width=160)
    table = Table(title=f"sources ({store.where})")
    for column in ("source", "last run", "last success", "today", "errors", "problem", "held by"):
        table.add_column(column)
    for row in sources:
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
    for channel, states in sorted(outbox.items()):
        backlog.add_row(channel, *(str(states.get(s, 0)) for s in ("queued", "sending", "buffered", "sent", "dead")))
    console.print(backlog)
    for problem in problems:
        console.print(f"[red]problem:[/red] {problem}", highlight=False)


@app.command("health")
def health() -> None:
    """Exit 0 when the daemon runs and every source is well; 1 and one line per problem otherwise (for systemd
    and container health checks)."""
    settings = load_settings()
    try:
        store, alerts = _open_for_reading(settings)
    except MonitorError as exc:
        raise fail(str(exc), code=1) from None
    try:
        problems = _problems(settings, store, alerts)
    except MonitorError as exc:
        raise fail(str(exc), code=1) from None
    finally:
        store.close()
    lock = DaemonLock(database_url(settings.storage))
    if not lock.exclusive:  # PostgreSQL: running when some daemon's heartbeat is recent
        from monitor.store.leases import daemon_running

        try:
            running = daemon_running(store.engine, settings.daemon.lease_ttl)
        except MonitorError as exc:
            raise fail(str(exc), code=1) from None
        finally:
            store.close()
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


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


def _short(value: object) -> str:
    return str(value).replace("T", " ").replace("+00:00", "")[:16] if value else "-"

"""Prometheus metrics of one daemon and the optional localhost endpoint serving ``/metrics`` and ``/healthz``.

The metrics live in their own registry (injected, never the process-global default), so tests and several daemons
in one process do not share counters.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Self

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from monitor._serving import BackgroundHTTPServer
from monitor.errors import ConfigError

if TYPE_CHECKING:
    from monitor.notify.delivery import ChannelReport
    from monitor.pipeline import RunReport
    from monitor.store.leases import ProcessRow

log = logging.getLogger("monitor.metrics")

#: What ``/healthz`` asks: a list of problems, empty when all is well.
HealthCheck = Callable[[], list[str]]


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.runs = Counter("monitor_source_runs", "Source runs", ["source", "outcome"], registry=r)
        self.articles = Counter("monitor_articles", "Articles archived", ["source", "status"], registry=r)
        self.alerts_queued = Counter("monitor_alerts_queued", "Alerts queued", ["source"], registry=r)
        self.run_seconds = Histogram("monitor_source_run_seconds", "Duration of a source run", ["source"],
                                     registry=r, buckets=(0.5, 1, 5, 15, 30, 60, 120, 300, 600))
        self.last_run = Gauge("monitor_source_last_run_timestamp_seconds", "End of the last run", ["source"],
                              registry=r)
        self.problem = Gauge("monitor_source_problem", "1 while the source has a health problem", ["source"],
                             registry=r)
        self.sent = Counter("monitor_alerts_sent", "Alert messages delivered", ["channel"], registry=r)
        self.dead = Counter("monitor_alerts_dead", "Alert messages given up", ["channel"], registry=r)
        self.channel_failing = Gauge("monitor_channel_failing", "1 while the channel's deliveries fail", ["channel"],
                                     registry=r)
        # Several daemons on one PostgreSQL (monitor/sharing.py): every process's heartbeat and who holds each
        # source, as this process last read them (each process exports the same picture).
        self.process_last_seen = Gauge("monitor_process_last_seen_timestamp_seconds",
                                       "Last heartbeat of each daemon sharing the database",
                                       ["process", "host", "pid"], registry=r)
        self.source_holder = Gauge("monitor_source_held", "1 for the process holding the source's lease",
                                   ["source", "process"], registry=r)
        self.is_self = Gauge("monitor_process_self", "1 for this process's id", ["process"], registry=r)
        self._channel_problems: dict[str, str] = {}  # channel -> why it fails, while it does
        self._channels_lock = threading.Lock()

    def observe_run(self, report: RunReport, seconds: float) -> None:
        outcome = "interrupted" if report.interrupted else "error" if report.errors else "ok"
        self.runs.labels(report.source, outcome).inc()
        for status in ("new", "revised"):
            count = getattr(report, status)
            if count:
                self.articles.labels(report.source, status).inc(count)
        if report.alerts:
            self.alerts_queued.labels(report.source).inc(report.alerts)
        self.run_seconds.labels(report.source).observe(seconds)
        if report.finished is not None:
            self.last_run.labels(report.source).set(report.finished.timestamp())

    def observe_health(self, source: str, problem: str | None) -> None:
        self.problem.labels(source).set(1 if problem else 0)

    def observe_sharing(self, me: str, processes: list[ProcessRow], holders: dict[str, str]) -> None:
        self.process_last_seen.clear()
        for process in processes:
            self.process_last_seen.labels(process.id, process.host, str(process.pid)).set(
                process.last_seen.timestamp())
        self.source_holder.clear()
        for source, holder in holders.items():
            self.source_holder.labels(source, holder).set(1)
        self.is_self.clear()
        self.is_self.labels(me).set(1)

    def observe_delivery(self, channel: str, report: ChannelReport) -> None:
        """A round's outcome: a channel fails from a round that sent nothing and met errors (or was stopped by a
        configuration error) until a round sends something. A round with nothing due changes nothing (a failing
        channel waits out its back-off in such rounds)."""
        if report.sent:
            self.sent.labels(channel).inc(report.sent)
        if report.dead:
            self.dead.labels(channel).inc(report.dead)
        if report.halted:
            self._set_channel(channel, report.halted)
        elif report.sent:
            self._set_channel(channel, None)
        elif report.errors:
            self._set_channel(channel, report.errors[-1])

    def observe_delivery_failure(self, channel: str, error: str) -> None:
        """A round that could not run at all (the database is down)."""
        self._set_channel(channel, error)

    def _set_channel(self, channel: str, problem: str | None) -> None:
        self.channel_failing.labels(channel).set(1 if problem else 0)
        with self._channels_lock:
            if problem:
                self._channel_problems[channel] = problem
            else:
                self._channel_problems.pop(channel, None)

    def channel_problems(self) -> list[str]:
        """One line per channel whose deliveries are failing now, for ``/healthz``."""
        with self._channels_lock:
            return [f"channel {channel}: delivery failing: {why}"
                    for channel, why in sorted(self._channel_problems.items())]


class HealthServer(BackgroundHTTPServer):
    """``GET /healthz`` (200 "ok" or 503 with the problems as JSON) and ``GET /metrics`` on a local address."""

    def __init__(self, listen: str, metrics: Metrics, check: HealthCheck) -> None:
        host, _, port = listen.rpartition(":")
        if not host or not port.isdigit():
            raise ConfigError(f"daemon.health_listen: expected HOST:PORT, got {listen!r}")
        self.metrics = metrics
        self.check = check
        try:
            super().__init__((host, int(port)), self._handler(), name="health")
        except OSError as exc:  # the port is taken (another daemon, another service) or the address is not ours
            raise ConfigError(f"daemon.health_listen: cannot listen on {listen}: {exc.strerror or exc}") from None

    def start(self) -> Self:
        super().start()
        log.info("health endpoint on http://%s/healthz and /metrics", self.address)
        return self

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/metrics":
                    self._send(200, CONTENT_TYPE_LATEST, generate_latest(server.metrics.registry))
                elif path == "/healthz":
                    try:
                        problems = server.check()
                    except Exception as exc:  # the check itself failing (database down) is unhealthy
                        problems = [f"health check failed: {exc}"]
                    problems += server.metrics.channel_problems()
                    body = json.dumps({"ok": not problems, "problems": problems}).encode()
                    self._send(503 if problems else 200, "application/json", body)
                else:
                    self._send(404, "text/plain", b"not found\n")

            def _send(self, status: int, kind: str, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler

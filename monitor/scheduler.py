"""The daemon: one APScheduler job per source at its interval with jitter, one delivery thread per alert channel, a
digest flush and housekeeping.

SQLite: one process, holding the daemon lock of its database. PostgreSQL: any number of processes share the work
through leases in the database (monitor/sharing.py): a source's job runs only in the process holding its host
group, and only when the shared schedule says it is due; digests and housekeeping run in the leader only.

A channel's delivery thread runs a round when an alert is queued for it (woken at once) and every
``delivery_interval`` seconds (retries whose back-off has ended); a slow round delays only that channel's next one.

Every job catches its own failures, logs one structured line and goes on: one bad page, feed or message never stops
the daemon. A stop request (SIGTERM, SIGINT, :meth:`Daemon.stop`) lets running jobs finish the article they are on
(its file and row are written together or not at all) and then ends the process.

:meth:`Daemon.cycle` runs every source once and delivers, synchronously: what the scheduler's jobs do, without the
timing, for tests with a controlled clock and for soak benchmarks.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from monitor import health, status
from monitor.errors import MonitorError, StopRequested, StoreError
from monitor.lock import DaemonLock
from monitor.metrics import Metrics
from monitor.notify.delivery import ChannelReport
from monitor.pipeline import RunReport, queue_pending_alerts, run_source
from monitor.run_errors import RunError
from monitor.services import Services
from monitor.settings import SourceSettings
from monitor.sharing import Coordinator
from monitor.signals import stop_on_signals
from monitor.store.engine import database_url

log = logging.getLogger("monitor.daemon")


def _scheduler_now() -> datetime:
    """The real time, for APScheduler's ``next_run_time``: the scheduler waits for its run times on the real clock
    (and drops runs later than their misfire grace), so they must be real times; an injected clock (a test's, fixed
    in the past) would make every run a misfire. The daemon's own "now"s come from ``services.clock``."""
    return datetime.now(UTC)

FETCH_LOG_KEPT = timedelta(days=30)
#: A daemon not seen for this long leaves ``monitor status`` (the leader forgets it).
PROCESSES_KEPT = timedelta(days=1)
#: Articles the housekeeping indexes at most per round (pending ones: an index write failed after archiving).
INDEX_CATCH_UP = 5000


#: Run reports a daemon keeps in memory: enough for ``--cycles`` runs and the demo, bounded for one that runs for
#: months (the counts of every run are in the log and the metrics).
KEPT_RUNS = 1000


@dataclass
class DaemonSummary:
    """What a daemon run did, for ``monitor run --cycles`` and the demo."""

    runs: deque[RunReport] = field(default_factory=lambda: deque(maxlen=KEPT_RUNS))  # the latest runs
    delivered: int = 0
    operations: int = 0


def interruptible_sleep(stop: threading.Event) -> Callable[[float], None]:
    """The HTTP client's sleep for a daemon: a wait for a host (pacing, retry back-off, Retry-After) ends when the
    daemon is asked to stop, with StopRequested, so a stop does not sit out a failing host's retries."""

    def sleep(seconds: float) -> None:
        if stop.wait(seconds):
            raise StopRequested("stopping: the wait for the host was cut short")

    return sleep


def _announce_stop(signal_name: str) -> None:
    log.info("received %s: stopping after the current articles", signal_name)


class Daemon:
    def __init__(self, services: Services, *, metrics: Metrics | None = None,
                 stop: threading.Event | None = None) -> None:
        """``stop``: the event :meth:`stop` sets; pass the one given to :func:`interruptible_sleep` (for
        :meth:`Services.open`) so that a stop also cuts the HTTP client's waits short."""
        self.services = services
        self.settings = services.settings
        self.sources = [s for s in self.settings.sources if s.enabled]
        self.metrics = metrics or Metrics()
        self.summary = DaemonSummary()
        self._stop = stop or threading.Event()
        self._lock = threading.Lock()  # guards summary and the per-source run counts
        self._runs: dict[str, int] = {}
        self._source_locks = {s.name: threading.Lock() for s in self.sources}
        # Set when a run lost the database: texts it archived may still wait for their alert rules. The next job
        # that reaches the database queues them (a delivery round, every delivery_interval), not the next start.
        self._stranded = threading.Event()
        self._mending = threading.Lock()
        self.coordinator: Coordinator | None = None  # set by run() on PostgreSQL: several daemons share the work
        self._scheduler: BackgroundScheduler | None = None

    # --- jobs ---------------------------------------------------------------------------------------------------

    def poll(self, source: SourceSettings, lost: threading.Event | None = None) -> RunReport:
        """One run of one source, never raising: failures become the report's errors and the source's health.

        ``lost``: set when this process no longer holds the source (several daemons): the run ends after the
        article in flight, as on a stop."""
        guard = self._source_locks[source.name]
        if not guard.acquire(blocking=False):  # APScheduler's max_instances already says so; cycle() may not
            log.info("source=%s skipped: still running", source.name)
            return RunReport(source=source.name, started=self.services.clock(), interrupted=True)
        started = time.monotonic()
        try:
            # Filled as the run goes: a fault that stops the run (a full disk, the database gone) keeps the counts
            # of what it did before, and the summary says so.
            report = RunReport(source=source.name, started=self.services.clock())
            self.mend_stranded()
            try:
                run_source(self.services, source, stop=lost or self._stop, report=report)
            except MonitorError as exc:
                report.errors.append(RunError.run_failed(exc))
                if isinstance(exc, StoreError):
                    self._stranded.set()
            except Exception as exc:  # a bug must not kill the daemon: log it with its traceback and go on
                log.exception("source=%s run crashed", source.name)
                report.errors.append(RunError.crash(exc))
            report.finished = report.finished or self.services.clock()
            if self._stop.is_set() or (lost is not None and lost.is_set()):
                # Stopped during discovery or before the article loop noticed: its errors may be the stop's own
                # (cut-short waits), so the run says nothing about the source's health.
                report.interrupted = True
            if not report.interrupted:
                self._record_health(source, report)
            self._log_run(report, time.monotonic() - started)
            self.metrics.observe_run(report, time.monotonic() - started)
            with self._lock:
                self.summary.runs.append(report)
                self._runs[source.name] = self._runs.get(source.name, 0) + 1
            return report
        finally:
            guard.release()

    def _record_health(self, source: SourceSettings, report: RunReport) -> None:
        store = self.services.store
        try:
            previous = store.source_health(source.name)
            state, notices = health.record_run(previous, report, source, now=self.services.clock(),
                                               failures_before_alert=self.settings.daemon.failures_before_alert)
            # Notices first: a crash after them resends nothing (one per key); a crash before them sends them on
            # the next run, because the stored state has not changed yet.
            for notice in notices:
                self._operations(notice)
            store.save_source_health(state)
            self.metrics.observe_health(source.name, state.problem)
        except MonitorError as exc:
            log.error("source=%s health not recorded: %s", source.name, exc)

    def _operations(self, notice: health.Notice) -> None:
        log.warning("operations: %s: %s", notice.title, notice.text)
        alerts = self.services.alerts
        if alerts is not None and alerts.operations(notice.title, notice.text, notice.key) is not None:
            with self._lock:
                self.summary.operations += 1

    def mend_stranded(self) -> int:
        """Queue the alerts of texts a run archived before it lost the database, once the database answers again.

        Queueing is idempotent (one alert per rule, story, channel and version), so a text a running source is
        queueing at the same moment gets no second alert."""
        if not self._stranded.is_set() or not self._mending.acquire(blocking=False):
            return 0
        try:
            self._stranded.clear()
            queued = queue_pending_alerts(self.services)
        except MonitorError:
            self._stranded.set()  # still away: the caller's own attempt logs the failure
            return 0
        finally:
            self._mending.release()
        if queued:
            log.warning("queued %d alerts of texts archived before the database went away", queued)
        return queued

    def deliver(self, channel: str) -> ChannelReport | None:
        alerts = self.services.alerts
        if alerts is None:
            return None
        self.mend_stranded()
        try:
            report = alerts.deliver_channel(channel)
        except MonitorError as exc:
            log.error("channel=%s delivery round failed: %s", channel, exc)
            self.metrics.observe_delivery_failure(channel, str(exc))
            return None
        except Exception as exc:
            log.exception("channel=%s delivery round crashed", channel)
            self.metrics.observe_delivery_failure(channel, f"internal error: {type(exc).__name__}: {exc}")
            return None
        if report.sent or report.retrying or report.dead or report.errors:
            log.info("channel=%s sent=%d retrying=%d dead=%d%s", channel, report.sent, report.retrying, report.dead,
                     f" error={report.errors[0]!r}" if report.errors else "")
        self.metrics.observe_delivery(channel, report)
        with self._lock:
            self.summary.delivered += report.sent
        return report

    def _leading(self) -> bool:
        """Whether this process does the work done once for all (alone on SQLite, the leader on PostgreSQL)."""
        return self.coordinator is None or self.coordinator.is_leader

    def flush_digests(self) -> None:
        if self.services.alerts is None or not self._leading():
            return
        try:
            self.services.alerts.flush_digests()
        except MonitorError as exc:
            log.error("digest flush failed: %s", exc)
        except Exception:
            log.exception("digest flush crashed")

    def catch_up(self) -> None:
        """Alerts a crash left unqueued (archived, rules not run) and half-sent, at start."""
        try:
            if self.services.alerts is not None and self.coordinator is not None:
                # Others may be sending right now: only what dead processes left half-sent goes back.
                requeued = self.requeue_abandoned()
            elif self.services.alerts is not None:
                requeued = self.services.alerts.recover()
                if requeued:
                    log.warning("requeued %d alerts a previous run left half-sent", requeued)
            self._queue_unqueued("a previous run")
        except MonitorError as exc:
            log.error("catch-up after restart failed: %s", exc)

    def _queue_unqueued(self, who: str) -> None:
        """The alerts of texts archived but never queued (the writer died in between)."""
        queued = queue_pending_alerts(self.services)
        if queued:
            log.warning("queued %d alert(s) of texts %s archived but did not queue", queued, who)

    def clean_leftovers(self) -> None:
        """Temporary files an earlier crash left in the archive, at start: those whose writer is gone (no such process
        on this host) or that are older than an hour; a live writer's, another daemon's included, stay."""
        try:
            removed = self.services.archive.clean_temporary()
        except MonitorError as exc:
            log.error("removing temporary files a previous run left failed: %s", exc)
            return
        if removed:
            log.warning("removed %d temporary files a previous run left in the archive", len(removed))

    def requeue_abandoned(self) -> int:
        """Alerts left ``sending`` by processes not seen for two lease times go back to the queue."""
        if self.coordinator is None or self.services.alerts is None:
            return 0
        live = self.coordinator.leases.live_processes(2 * self.coordinator.ttl)
        count = self.services.alerts.outbox.requeue_abandoned(self.services.clock(), live)
        if count:
            log.warning("queued again %d alert(s) a stopped process left half-sent", count)
        return count

    def _abandoned_job(self) -> None:
        """The leader, every lease time: what a dead process left undone goes on. Its half-sent alerts back to the
        queue, and the alerts of texts it archived but died before queueing (at start-up is not enough: the others
        keep running). Queueing is idempotent, so a live process between archiving and queueing costs nothing."""
        if not self._leading():
            return
        try:
            self.requeue_abandoned()
            self._queue_unqueued("a stopped process")
        except MonitorError as exc:
            log.error("taking over a stopped process's alerts failed: %s", exc)

    def _catch_up_index(self) -> None:
        """Index the texts whose index write failed (the search reads them beside the index meanwhile); an archive
        that predates the index is `monitor index rebuild`'s, so at most INDEX_CATCH_UP per round."""
        from monitor.search.index import SearchIndex

        indexed = SearchIndex(self.services.store.engine).catch_up(self.services.archive, limit=INDEX_CATCH_UP)
        if indexed:
            log.warning("indexed %d article(s) the search index lacked", indexed)

    def housekeeping(self) -> None:
        if not self._leading():
            return
        try:
            self.services.store.prune_fetch_log(self.services.clock() - FETCH_LOG_KEPT)
            if self.coordinator is not None:
                self.coordinator.leases.prune_processes(PROCESSES_KEPT.total_seconds())
            self._catch_up_index()
        except MonitorError as exc:
            log.error("housekeeping failed: %s", exc)

    def problems(self) -> list[str]:
        """What ``/healthz`` reports: unwell sources and dead alerts, one line each, judged at the daemon's clock."""
        return status.problems(self.settings, self.services.store, self.services.clock())

    def cycle(self) -> list[RunReport]:
        """Every enabled source once, then digests and one delivery round per channel (synchronously)."""
        reports = [self.poll(source) for source in self.sources]
        self.flush_digests()
        for channel in self.channels:
            self.deliver(channel)
        return reports

    @property
    def channels(self) -> list[str]:
        return self.services.alerts.channels if self.services.alerts is not None else []

    # --- the scheduled daemon -----------------------------------------------------------------------------------

    def stop(self) -> None:
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def run(self, *, cycles: int | None = None, handle_signals: bool = True, take_lock: bool = True) -> DaemonSummary:
        """Run until stopped (or, with ``cycles``, until every source has run that many times and the alerts they
        queued have had a delivery round). Raises DaemonAlreadyRunning when another daemon holds the database.

        ``take_lock=False``: the caller holds the daemon lock already (the CLI takes it before anything else, so a
        second daemon is refused before it opens the health port the first one listens on)."""
        lock: AbstractContextManager[object] = DaemonLock(database_url(self.settings.storage)) if take_lock \
            else nullcontext()
        with lock, stop_on_signals(self._stop, _announce_stop, enabled=handle_signals):
            self.clean_leftovers()
            scheduler = BackgroundScheduler(timezone=UTC, job_defaults={"coalesce": True, "max_instances": 1})
            self._scheduler = scheduler
            if self.services.store.engine.dialect.name == "postgresql":
                self._share(scheduler)
            try:
                self._run_scheduled(scheduler, cycles)
            finally:
                if self.coordinator is not None:
                    self.coordinator.stop()
            log.info("daemon stopped")
        return self.summary

    def _share(self, scheduler: BackgroundScheduler) -> None:
        """Join the processes sharing this database: register, take a share of the host groups, heartbeat."""
        daemon = self.settings.daemon
        coordinator = Coordinator(self.services.store.engine, self.sources, ttl=daemon.lease_ttl,
                                  host_delay=self.settings.http.min_delay, on_gained=self._gained,
                                  metrics=self.metrics, daemon_stop=self._stop)
        if self.services.alerts is not None:
            self.services.alerts.deliverer.claimer = coordinator.process_id
        short = [s.name for s in self.sources if s.interval < daemon.lease_ttl * 4 / 3]
        if short:
            log.warning("daemon.lease_ttl %.0f s is long for the intervals of %s: a dead process's sources may wait "
                        "up to interval + %.0f s", daemon.lease_ttl, ", ".join(short), daemon.lease_ttl * 4 / 3)
        coordinator.start()
        self.coordinator = coordinator
        log.info("sharing the work with other daemons as %s: %d host groups, holding %s", coordinator.process_id,
                 len(coordinator.groups), ", ".join(coordinator.held_groups()) or "none yet")

    def _gained(self, sources: list[SourceSettings]) -> None:
        """Groups just taken over: their sources' jobs run now (each claims its run only if it is due)."""
        scheduler = self._scheduler
        if scheduler is None or not scheduler.running:
            return
        for source in sources:
            with suppress(LookupError):  # JobLookupError: stopping
                scheduler.modify_job(f"source:{source.name}", next_run_time=_scheduler_now())

    def _run_scheduled(self, scheduler: BackgroundScheduler, cycles: int | None) -> None:
        self.catch_up()
        now = _scheduler_now()
        for source in self.sources:
            scheduler.add_job(
                self._poll_job, IntervalTrigger(seconds=source.interval, jitter=source.jitter or None),
                args=[source, cycles], id=f"source:{source.name}", name=f"poll {source.name}",
                next_run_time=now, misfire_grace_time=max(1, int(source.interval)),
            )
        daemon = self.settings.daemon
        loops = {channel: _ChannelLoop(self, channel, daemon.delivery_interval) for channel in self.channels}
        if self.services.alerts is not None:
            self.services.alerts.on_queued(lambda channel: loops[channel].wake() if channel in loops else None)
        scheduler.add_job(self.flush_digests, IntervalTrigger(seconds=daemon.digest_interval), id="digests")
        scheduler.add_job(self.housekeeping, IntervalTrigger(hours=6), id="housekeeping", next_run_time=now)
        if self.coordinator is not None:
            scheduler.add_job(self._abandoned_job, IntervalTrigger(seconds=self.coordinator.ttl), id="abandoned")
        log.info("daemon started: %d sources (%s), channels: %s", len(self.sources),
                 ", ".join(s.name for s in self.sources) or "none", ", ".join(self.channels) or "none")
        scheduler.start()
        for loop in loops.values():
            loop.start()
        try:
            while not self._stop.wait(0.5):
                if cycles is not None and self._done(cycles):
                    break
        finally:
            log.info("daemon stopping: waiting for running jobs to finish")
            self._stop.set()
            for loop in loops.values():
                loop.wake()
            scheduler.shutdown(wait=True)
            for loop in loops.values():
                loop.join()
        if cycles is not None:
            # The last runs' alerts: digests due and one more round per channel, so a bounded run delivers
            # what it found.
            self.flush_digests()
            for channel in self.channels:
                self.deliver(channel)

    def _poll_job(self, source: SourceSettings, cycles: int | None) -> None:
        if self._stop.is_set() or (cycles is not None and self._runs.get(source.name, 0) >= cycles):
            return
        if self.coordinator is None:
            self.poll(source)
            return
        with self.coordinator.running(source.name) as lost:
            if lost is None:
                return  # another process holds the source's hosts
            try:
                claim = self.coordinator.claim_run(source, source.interval + random.uniform(0, source.jitter))
            except MonitorError as exc:
                log.error("source=%s not run: %s", source.name, exc)
                return
            claimed_at = time.monotonic()
            if claim.claimed:
                self.poll(source, lost)
            # The next run when the shared schedule says, on this host's clock.
            self._next_run(source, claim.next_due - claim.db_now, since=claimed_at)

    def _next_run(self, source: SourceSettings, wait: timedelta, *, since: float) -> None:
        scheduler = self._scheduler
        if scheduler is None or self._stop.is_set():
            return
        elapsed = time.monotonic() - since
        with suppress(LookupError):  # the job is gone: stopping
            scheduler.modify_job(f"source:{source.name}", next_run_time=_scheduler_now() + wait
                                 - timedelta(seconds=elapsed))

    def _done(self, cycles: int) -> bool:
        with self._lock:
            return all(self._runs.get(s.name, 0) >= cycles for s in self.sources)

    # --- logging ------------------------------------------------------------------------------------------------

    def _log_run(self, report: RunReport, seconds: float) -> None:
        counts = report.counts()
        fields = " ".join(f"{k}={v}" for k, v in counts.items())
        extra: dict[str, Any] = {"event": "source_run", "source": report.source, "seconds": round(seconds, 3),
                                 **counts}
        if report.interrupted:
            extra["interrupted"] = True
        level = logging.WARNING if report.errors else logging.INFO
        suffix = f" first_error={str(report.errors[0])!r}" if report.errors else ""
        log.log(level, "source=%s %s seconds=%.2f%s%s", report.source, fields, seconds,
                " interrupted" if report.interrupted else "", suffix, extra=extra)


class _ChannelLoop:
    """One channel's sender: a round at start, whenever woken (an alert was queued) and every ``interval`` seconds
    (for retries), until the daemon stops. Rounds of one channel never overlap, and a wake during a round gives one
    more round right after it (the alert may have come too late for the round's claim)."""

    def __init__(self, daemon: Daemon, channel: str, interval: float) -> None:
        self.daemon = daemon
        self.channel = channel
        self.interval = interval
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"deliver-{channel}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def join(self) -> None:
        self._thread.join()

    def _run(self) -> None:
        while not self.daemon.stopping:
            self._wake.clear()
            self.daemon.deliver(self.channel)
            self._wake.wait(self.interval)

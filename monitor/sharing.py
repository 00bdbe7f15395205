"""Several daemons on one PostgreSQL: who runs which sources, who is the leader, and how a dead process's work moves.

The unit of work a process takes is a **host group**: the sources that share a host (a site, a feed host, a sitemap
host), joined transitively. All DW languages share www.dw.com and form one group; each RFE/RL service has its own
host and its own group. A group is held through a lease row (monitor/store/leases.py: a deadline renewed by a
heartbeat, reckoned by the database's clock — see that module for why not advisory locks). Holding every source of a
host under one lease is what keeps the politeness rules across processes: only the holder requests the group's
hosts, so its in-process pacer (one request in flight per host, a delay between requests) is the only one, and a
hand-over waits the host's delay (``free_after``).

A source is polled once per interval across all processes: its next due time is in ``source_schedule``, and a run is
claimed by moving it forward in one statement (two processes cannot both claim one run, even in the instant a lease
changes hands).

One process at a time is the **leader** (the ``leader`` lease): it flushes digests, does the housekeeping and puts
back in the queue the alerts a dead process left half-sent. Source-health messages go with the source: the process
that ran it records its health, and a notice is stored at most once per key anyway.

Delivery is not leased: every process sends, claiming outbox rows with ``FOR UPDATE SKIP LOCKED``.

**Bounds.** A process heartbeats every ``ttl / 3`` seconds (``daemon.lease_ttl``, default 30). Its leases lapse
``ttl`` seconds after its last heartbeat; the others look every ``ttl / 3`` seconds, so a dead process's groups are
taken within ``4/3 × ttl`` of its death, and each of its sources is polled again at its next due time or at the
take-over, whichever is later: the gap between two polls of a source is at most ``interval + 4/3 × ttl``, which is
within 2 × interval whenever ``ttl ≤ 3/4 × interval`` (the daemon warns at start when a source's interval is shorter
than that). A process that cannot renew (the database or the network gone, a stall) considers its groups lost
``2/3 × ttl`` after the heartbeat it last *sent*: it starts no run of them and cuts its runs in progress short after
the article in flight, a third of the lease before anyone else may take them.

**Sharing.** Every process aims at an equal share: ``ceil(groups / live processes)``. One over its share hands back
a group it is not running; one under it takes free groups. A new process thus gets work within a few heartbeats.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from sqlalchemy.engine import Engine

from monitor.errors import MonitorError
from monitor.metrics import Metrics
from monitor.settings import SourceSettings
from monitor.store.leases import LEADER, Claim, LeaseStore

log = logging.getLogger("monitor.sharing")

GROUP_PREFIX = "group:"


def source_hosts(source: SourceSettings) -> set[str]:
    """Every host a source's runs request: its site and the hosts of its feeds, sitemaps and section pages."""
    hosts = {source.site.lower()}
    for url in (*source.feeds, *source.sitemaps, *source.sections):
        host = urlsplit(url).hostname
        if host:
            hosts.add(host.lower())
    return hosts


def host_groups(sources: list[SourceSettings]) -> dict[str, list[SourceSettings]]:
    """Sources joined by the hosts they share (transitively), named ``group:<first host>``."""
    parent: dict[str, str] = {}

    def find(host: str) -> str:
        while parent.setdefault(host, host) != host:
            parent[host] = parent[parent[host]]
            host = parent[host]
        return host

    for source in sources:
        first, *rest = sorted(source_hosts(source))
        find(first)
        for host in rest:
            a, b = find(first), find(host)
            if a != b:
                parent[max(a, b)] = min(a, b)  # a set's root stays its least host: the group's name
    groups: dict[str, list[SourceSettings]] = {}
    for source in sources:
        groups.setdefault(GROUP_PREFIX + find(min(source_hosts(source))), []).append(source)
    return groups


def source_holders_of(sources: list[SourceSettings], holders: dict[str, str]) -> dict[str, str]:
    """Source -> the process holding its group, from the lease holders (``monitor status``, the metrics)."""
    return {s.name: holders[group] for group, members in host_groups(sources).items() if group in holders
            for s in members}


def new_process_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Coordinator:
    """This process's side of the sharing: a heartbeat thread that renews, takes and hands back leases.

    ``on_gained(sources)`` is called (from the heartbeat thread) with the sources of every group just taken, so the
    daemon runs those that are due at once rather than at its own timer's next tick."""

    def __init__(self, engine: Engine, sources: list[SourceSettings], *, ttl: float, host_delay: float,
                 on_gained: Callable[[list[SourceSettings]], None] | None = None,
                 process_id: str | None = None, monotonic: Callable[[], float] = time.monotonic,
                 metrics: Metrics | None = None, daemon_stop: threading.Event | None = None) -> None:
        self.process_id = process_id or new_process_id()
        self.leases = LeaseStore(engine, self.process_id)
        self.ttl = ttl
        self.host_delay = host_delay
        self.groups = host_groups(sources)
        self.group_of = {s.name: name for name, members in self.groups.items() for s in members}
        self._on_gained = on_gained
        self._monotonic = monotonic
        self._metrics = metrics
        self._lock = threading.Lock()  # held, valid_until and running
        self._held: set[str] = set()
        self._valid_until = 0.0  # our monotonic clock: when our leases may have lapsed for the others
        self._running: dict[str, int] = {}  # group -> runs in progress
        self._runs: dict[threading.Event, str] = {}  # each run's "group lost" event -> its group
        self._daemon_stop = daemon_stop
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="leases", daemon=True)
        self._watcher = threading.Thread(target=self._watch, name="leases-watch", daemon=True)
        self.live: list[str] = []

    # --- lifecycle ----------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Register, take a first share (synchronously: a lone daemon starts with all the work) and heartbeat."""
        self.leases.register(socket.gethostname(), os.getpid())
        self.tick()
        self._thread.start()
        self._watcher.start()

    def stop(self) -> None:
        """Stop heartbeating and hand every lease back (the others need not wait for the deadline)."""
        self._stop.set()
        for thread in (self._thread, self._watcher):
            if thread.is_alive():
                thread.join()
        with self._lock:
            self._held.clear()
        try:
            self.leases.unregister(self.host_delay)
        except MonitorError as exc:  # the database is gone: the leases lapse by themselves
            log.warning("leases not handed back (they lapse in %.0f s): %s", self.ttl, exc)

    def _loop(self) -> None:
        while not self._stop.wait(self.ttl / 3):
            try:
                self.tick()
            except MonitorError as exc:
                log.error("heartbeat failed: %s", exc)
            except Exception:
                log.exception("heartbeat crashed")

    # --- what this process may do ---------------------------------------------------------------------------------

    def _valid(self) -> bool:
        return self._monotonic() < self._valid_until

    def holds(self, source: str) -> bool:
        with self._lock:
            return self._valid() and self.group_of.get(source) in self._held

    @property
    def is_leader(self) -> bool:
        with self._lock:
            return self._valid() and LEADER in self._held

    def held_groups(self) -> list[str]:
        with self._lock:
            return sorted(g for g in self._held if g != LEADER) if self._valid() else []

    @contextmanager
    def running(self, source: str) -> Iterator[threading.Event | None]:
        """A run of ``source`` in progress (its group is not handed back meanwhile). Yields None when this process
        does not hold the source's group (do not run it), else an event set when the group is lost (a late
        heartbeat, the database out of reach) or the daemon stops: the run ends after the article in flight."""
        group = self.group_of.get(source)
        lost = threading.Event()
        with self._lock:
            ok = group is not None and self._valid() and group in self._held
            if ok and group is not None:
                self._running[group] = self._running.get(group, 0) + 1
                self._runs[lost] = group
        try:
            yield lost if ok else None
        finally:
            if ok and group is not None:
                with self._lock:
                    self._running[group] -= 1
                    self._runs.pop(lost, None)

    def _watch(self) -> None:
        """Cut short the runs whose group this process may no longer hold, as soon as that is so (the heartbeat
        thread may itself be stuck on a database out of reach)."""
        while not self._stop.wait(0.1):
            with self._lock:
                valid = self._valid()
                for event, group in self._runs.items():
                    if not valid or group not in self._held or (self._daemon_stop is not None
                                                                and self._daemon_stop.is_set()):
                        event.set()

    def claim_run(self, source: SourceSettings, interval: float) -> Claim:
        # A timer firing a little early (the hosts' clocks and the database's tick apart) still claims its run.
        return self.leases.claim_run(source.name, interval, slack=min(1.0, source.interval / 10))

    # --- the heartbeat ----------------------------------------------------------------------------------------------

    def tick(self) -> None:
        """Renew what we hold, then even out the shares: hand back extras, take free groups, the leader lease."""
        sent = self._monotonic()
        _now, held = self.leases.heartbeat(self.ttl)
        with self._lock:
            lost = (self._held - held) if self._valid() else set()
            self._held = held
            # Our own deadline comes a third of the lease before the database's: the article in flight when it
            # passes (the watcher cuts the run short) ends before anyone else may take the group.
            self._valid_until = sent + self.ttl * 2 / 3
        for name in sorted(lost):
            log.warning("lease %s lapsed (a heartbeat came too late): its sources are left to the others", name)
        live = self.leases.live_processes(self.ttl)
        self.live = live
        share = math.ceil(len(self.groups) / max(1, len(live)))
        mine = [g for g in held if g != LEADER]
        if len(mine) > share:
            self._hand_back(mine, len(mine) - share)
        elif len(mine) < share:
            self._take(share - len(mine))
        if LEADER not in held and self.leases.try_take(LEADER, self.ttl):
            with self._lock:
                self._held.add(LEADER)
            log.info("this process is the leader (digests, housekeeping, abandoned alerts)")
        if self._metrics is not None:
            self._metrics.observe_sharing(self.process_id, self.leases.processes(), self.source_holders())

    def source_holders(self) -> dict[str, str]:
        """Source -> the process holding its group (sources nobody holds are left out)."""
        holders = self.leases.holders()
        return {s.name: holders[group] for group, members in self.groups.items() if group in holders
                for s in members}

    def _hand_back(self, mine: list[str], count: int) -> None:
        for group in sorted(mine, key=self._order, reverse=True):
            if count == 0:
                return
            with self._lock:
                if self._running.get(group, 0):
                    continue
                self._held.discard(group)  # under the lock: no run of it starts from here on
            self.leases.release(group, self.host_delay)
            log.info("handed back %s (more than an equal share)", group)
            count -= 1

    def _take(self, count: int) -> None:
        holders = self.leases.holders()
        gained: list[SourceSettings] = []
        for group in sorted(self.groups, key=self._order):
            if count == 0:
                break
            if group in holders:
                continue
            if self.leases.try_take(group, self.ttl):
                with self._lock:
                    self._held.add(group)
                log.info("took %s: %s", group, ", ".join(s.name for s in self.groups[group]))
                gained += self.groups[group]
                count -= 1
        if gained and self._on_gained is not None:
            self._on_gained(gained)

    def _order(self, group: str) -> int:
        # Each process tries the free groups in an order of its own, so that several starting at once rarely
        # race for the same one.
        return zlib.crc32(f"{self.process_id}/{group}".encode())

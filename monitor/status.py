"""What the monitor says about itself, assembled once for its three views: ``monitor status`` (table or JSON), the
daemon's ``/healthz`` and the web's Sources page. Per configured source: its site, last run, last success, articles
first seen today, errors and problem; per alert channel: the outbox backlog; the problems ``monitor health``
reports (unwell sources, dead alerts); and how many articles the search index has yet to catch up.

(``monitor health`` itself reads the same tables without the ORM, :mod:`monitor.store.glance`, for its start-up
time; it shares :func:`monitor.health.problems` with this module.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from monitor import health
from monitor.settings import Settings
from monitor.sites import SiteRegistry
from monitor.store import Store


@dataclass(frozen=True, slots=True)
class Status:
    sources: list[dict[str, Any]]  # one row per configured source, see source_statuses
    outbox: dict[str, dict[str, int]]  # per channel, rows per state
    problems: list[str]  # what `monitor health` and /healthz report as wrong
    # Several daemons on PostgreSQL: each process's heartbeat and the sources it holds (empty on SQLite).
    processes: list[dict[str, Any]]
    # Archived articles whose latest text the search index lacks (an index write failed): the daemon catches up.
    index_pending: int = 0

    def to_json(self) -> dict[str, Any]:
        """``monitor status --json``: the rows without the web's extra keys."""
        return {"sources": [{k: v for k, v in row.items() if k not in _WEB_ONLY} for row in self.sources],
                "outbox": self.outbox, "problems": self.problems, "processes": self.processes,
                "search_index": {"pending": self.index_pending}}


#: Keys of a source row only the web page shows (the CLI's JSON keeps its documented keys).
_WEB_ONLY = ("archive_site", "runs")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


def source_statuses(settings: Settings, store: Store, registry: SiteRegistry, now: datetime) -> list[dict[str, Any]]:
    """Per configured source: its site, last run, last success, articles its runs archived today, errors and problem."""
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    healths = {h.source: h for h in store.source_healths()}
    sources: list[dict[str, Any]] = []
    for source in settings.sources:
        h = healths.get(source.name)
        site = registry.site_of_host(source.site)
        sources.append({
            "source": source.name, "site": source.site, "archive_site": site, "enabled": source.enabled,
            "last_run": _iso(h.last_run if h else None), "last_success": _iso(h.last_success if h else None),
            "last_new": _iso(h.last_new if h else None),
            # What this source's runs archived, not its site's: sources sharing a site count apart.
            "articles_today": store.archived_by(source.name, today),
            "consecutive_failures": h.consecutive_failures if h else 0,
            "last_error": h.last_error if h else None, "problem": h.problem if h else None,
            "last_run_counts": health.last_run_counts(h) if h else {},
            "runs": h.runs if h else 0,
        })
    return sources


def problems(settings: Settings, store: Store, now: datetime) -> list[str]:
    """Unwell sources and dead alerts, one line each (``/healthz``; empty when all is well)."""
    from monitor.store.outbox import OutboxState

    outbox = store.outbox
    return health.problems(settings.sources, {h.source: h for h in store.source_healths()}, outbox.status_counts(),
                           now=now, failures_before_alert=settings.daemon.failures_before_alert,
                           dead_reasons=outbox.last_errors([OutboxState.DEAD]))


def processes(settings: Settings, store: Store, sources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Which daemon holds which source and when each was last seen (PostgreSQL; SQLite has one daemon and none of
    this). Sets each source row's ``held_by``."""
    for row in sources:
        row["held_by"] = None
    if store.engine.dialect.name != "postgresql":
        return []
    from monitor.sharing import source_holders_of
    from monitor.store.leases import LeaseStore

    leases = LeaseStore(store.engine, "")
    holders = source_holders_of([s for s in settings.sources if s.enabled], leases.holders())
    seen_now = leases.now()
    for row in sources:
        row["held_by"] = holders.get(str(row["source"]))
    return [{"id": p.id, "host": p.host, "pid": p.pid, "started": _iso(p.started), "last_seen": _iso(p.last_seen),
             "alive": (seen_now - p.last_seen).total_seconds() < settings.daemon.lease_ttl,
             "sources": sorted(name for name, holder in holders.items() if holder == p.id)}
            for p in leases.processes()]


def assemble(settings: Settings, store: Store, registry: SiteRegistry, now: datetime) -> Status:
    """The whole status: sources, the outbox backlog per channel, problems, and the daemons sharing the work."""
    from monitor.search.index import SearchIndex

    sources = source_statuses(settings, store, registry, now)
    return Status(sources=sources, outbox=store.outbox.status_counts(),
                  problems=problems(settings, store, now), processes=processes(settings, store, sources),
                  index_pending=SearchIndex(store.engine).pending_count())


__all__ = ["Status", "assemble", "problems", "processes", "source_statuses"]

"""What ``monitor status`` and the web's Sources page show per configured source: one assembly, two views."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from monitor.settings import Settings
from monitor.sites import SiteRegistry
from monitor.store import Store


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
            "last_run_counts": json.loads(h.last_counts) if h else {},
            "runs": h.runs if h else 0,
        })
    return sources

"""Source health: what one run of a source says about the source, and when that deserves an operations message.

Pure logic over the stored :class:`~monitor.store.tables.SourceHealth` row and a run's report; the daemon saves the
row and sends the notices. A problem is raised once when it starts and answered by one recovery message when it
ends; each incident has its own key, so a restart in between neither repeats nor loses either message.

Problems:

- ``failing``: ``failures_before_alert`` runs in a row had errors (a feed or sitemap unavailable or unreadable, a
  zombie feed that answers 200 with no items, a run that crashed, a run whose every page answered but could not be
  read: the kinds of :class:`~monitor.run_errors.RunError`, which decide; their text is for people). A page that is
  missing or whose server fails is not the source's error: the pipeline tries it again on its own schedule and gives
  it up after a few attempts;
- ``quiet``: no new article for longer than the source's ``quiet_hours`` although its runs succeed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from monitor.run_errors import RunErrorKind
from monitor.settings import SourceSettings

if TYPE_CHECKING:
    from monitor.pipeline import RunReport
    from monitor.store.tables import SourceHealth


class HealthState(Protocol):
    """What ``monitor health`` reads of a source's stored health: the table row, or the light
    :class:`monitor.store.glance.HealthGlance` (which spares the health check the ORM's import)."""

    @property
    def problem(self) -> str | None: ...
    @property
    def last_error(self) -> str | None: ...
    @property
    def last_run(self) -> datetime | None: ...


@dataclass(frozen=True, slots=True)
class Notice:
    """An operations message: sent at most once per ``key``."""

    title: str
    text: str
    key: str


def record_run(previous: SourceHealth | None, report: RunReport, source: SourceSettings, *,
               failures_before_alert: int, now: datetime) -> tuple[SourceHealth, list[Notice]]:
    """The source's health after ``report``, and the notices the change calls for."""
    from monitor.store.tables import SourceHealth

    health = SourceHealth.model_validate(previous.model_dump()) if previous else SourceHealth(source=source.name)
    health.first_run = health.first_run or report.started
    health.last_run = report.started
    health.runs += 1
    if report.errors:
        health.consecutive_failures += 1
        health.last_error = str(report.errors[0]) if len(report.errors) == 1 else (
            f"{report.errors[0]} (and {len(report.errors) - 1} more)")
        health.last_error_kind = report.errors[0].kind.value
    elif _pages_failing(health) and not (report.fetched or report.failed):
        # The failures were in the article pages, and this run tried none (its feeds answered 304): it says
        # nothing about whether pages parse again, so it neither heals the source nor counts against it.
        pass
    else:
        health.consecutive_failures = 0
        health.last_error = health.last_error_kind = None
        health.last_success = report.started
    health.last_counts = json.dumps(report.counts(), sort_keys=True)
    if report.new or report.revised:
        health.last_new = report.started

    problem, detail = _problem(health, report, source, failures_before_alert, now)
    notices: list[Notice] = []
    if problem != health.problem:
        if health.problem is not None and health.problem_since is not None:
            notices.append(_recovered(source.name, health.problem, health.problem_since, problem, now))
        health.problem = problem
        health.problem_since = now if problem else None
        if problem is not None:
            notices.append(Notice(
                title=f"{source.name}: {_TITLES[problem]}",
                text=detail,
                key=f"health:{source.name}:{problem}:{now.isoformat()}",
            ))
    return health, notices


_TITLES = {"failing": "source failing", "quiet": "no new articles"}


def _pages_failing(health: SourceHealth) -> bool:
    """Whether the source's failing runs are runs whose every article page failed."""
    return health.consecutive_failures > 0 and health.last_error_kind == RunErrorKind.PAGES_FAILED


def last_run_counts(health: SourceHealth) -> dict[str, int]:
    """The counts of the source's last run (``monitor status``, the web's Sources page)."""
    counts: dict[str, int] = json.loads(health.last_counts)
    return counts


def _problem(health: SourceHealth, report: RunReport, source: SourceSettings, failures_before_alert: int,
             now: datetime) -> tuple[str | None, str]:
    if health.consecutive_failures >= max(1, failures_before_alert):
        kind = "zombie feed" if report.zombie else "errors"
        return "failing", (f"{health.consecutive_failures} runs in a row with {kind}; last: {health.last_error}")
    if health.problem == "failing" and health.consecutive_failures > 0:
        return "failing", ""  # not healed until a run without errors
    quiet_since = health.last_new or health.first_run
    limit = timedelta(hours=source.quiet_hours)
    if quiet_since is not None and now - quiet_since > limit:
        return "quiet", (f"nothing new since {quiet_since:%Y-%m-%d %H:%M} UTC (expected something every "
                         f"{source.quiet_hours:g} h); feeds and sitemaps answer, but may have stopped changing")
    return None, ""


def _recovered(source: str, problem: str, since: datetime, now_problem: str | None, now: datetime) -> Notice:
    lasted = now - since
    hours = lasted.total_seconds() / 3600
    text = f"{_TITLES[problem]} since {since:%Y-%m-%d %H:%M} UTC, for {hours:.1f} h; "
    text += "working again" if now_problem is None else f"now: {_TITLES[now_problem]}"
    return Notice(title=f"{source}: recovered ({_TITLES[problem]})", text=text,
                  key=f"health:{source}:{problem}:{since.isoformat()}:recovered")


def is_unwell(health: HealthState, source: SourceSettings, *, now: datetime, failures_before_alert: int) -> str | None:
    """Why ``monitor health`` should fail for this source, or None. A source not polled for three intervals (plus
    jitter) is unwell too: the daemon is down or stuck."""
    if health.problem == "failing":
        return f"failing: {health.last_error}"
    if health.problem == "quiet":
        return "quiet: no new articles for longer than expected"
    if health.last_run is None:
        return "never polled"
    overdue = timedelta(seconds=3 * (source.interval + source.jitter) + 60)
    if now - health.last_run > overdue:
        return f"not polled since {health.last_run:%Y-%m-%d %H:%M} UTC"
    return None


def problems(sources: list[SourceSettings], healths: Mapping[str, HealthState], outbox: dict[str, dict[str, int]],
             *, now: datetime, failures_before_alert: int, dead_reasons: dict[str, str] | None = None) -> list[str]:
    """Everything ``monitor health`` and ``/healthz`` report as wrong: unwell sources and dead alert messages."""
    found: list[str] = []
    for source in sources:
        if not source.enabled:
            continue
        state = healths.get(source.name)
        why = "never polled" if state is None else is_unwell(state, source, now=now,
                                                              failures_before_alert=failures_before_alert)
        if why:
            found.append(f"source {source.name}: {why}")
    for channel, states in sorted(outbox.items()):
        dead = states.get("dead", 0)
        if dead:
            why = f", the latest: {dead_reasons[channel]}" if dead_reasons and channel in dead_reasons else ""
            found.append(f"channel {channel}: {dead} alerts dead{why} (see `monitor alerts list`, "
                         "`monitor alerts retry`)")
    return found

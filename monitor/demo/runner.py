"""``monitor demo``: the real daemon, offline, against local stand-ins for the sites, Slack and a mail server.

The shipped config (config/monitor.toml and its rules file) is loaded with overrides that only say *where* things
are: every source host mapped to a :class:`~monitor.demo.site.LocalSite` serving the snapshot
(:mod:`monitor.demo.snapshot`), storage under the demo directory, the Slack channel's webhook variable pointing at a
:class:`~monitor.demo.sinks.SlackSink`, the email channel at an :class:`~monitor.demo.sinks.SmtpSink`, and short
intervals so two polling cycles take seconds. Nothing in the pipeline knows it is a demo.

The demo directory::

    DIR/.monitor-demo     marks it as a demo directory (a later run may reuse it, nothing else is touched)
    DIR/snapshot/         what the local server serves (rebuilt on every run, dated "now")
    DIR/archive/          the archive the daemon wrote (texts and raw HTML)
    DIR/monitor.db        its database (SQLite)
    DIR/monitor.daemon.lock  the daemon lock beside it (two demos on one DIR: the second is refused)
    DIR/slack.jsonl       one JSON request body per line, as the Slack sink received them
    DIR/mail/NNN.eml      one file per message the SMTP server received
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.clock import Clock, utc_now
from monitor.demo.sinks import SlackSink, SmtpSink
from monitor.demo.site import LocalSite
from monitor.demo.snapshot import Snapshot, build_snapshot, fixtures_dir
from monitor.errors import ConfigError
from monitor.notify.content import content_of
from monitor.pipeline import RunReport
from monitor.scheduler import Daemon
from monitor.services import Services
from monitor.settings import DEFAULT_CONFIG, EmailChannel, Settings, SlackChannel, load_settings
from monitor.store.outbox import OutboxState

MARKER = ".monitor-demo"
CYCLES = 2
INTERVAL = 4.0  # seconds between polls of a source: long enough for the first cycle of ~25 sources to end on a
#                 loaded machine before the second starts (the scheduler skips a poll still running and says so)
MIN_DELAY = 0.05  # seconds between requests to one host; the local server needs no politeness, only the code path

Echo = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class Archived:
    path: Path  # the archive text (its first folder under the archive root is the site)
    headline: str
    new: bool  # written by this run (False: an earlier demo run archived it)


@dataclass(frozen=True, slots=True)
class Delivered:
    channel: str
    rule: str
    headline: str
    url: str


@dataclass
class DemoResult:
    directory: Path
    archived: list[Archived] = field(default_factory=list)
    delivered: list[Delivered] = field(default_factory=list)  # by this run
    cycles: list[list[RunReport]] = field(default_factory=list)  # per cycle, one report per source
    undelivered: int = 0  # alerts still queued or dead after the final delivery round

    @property
    def problems(self) -> list[str]:
        """What went wrong, one line each (empty: the demo did what it shows)."""
        found = [f"cycle {n}: {report.source}: {error}"
                 for n, reports in enumerate(self.cycles, 1) for report in reports for error in report.errors]
        found += [f"cycle {n}: {report.source}: {report.failed} pages could not be archived"
                  for n, reports in enumerate(self.cycles, 1) for report in reports if report.failed]
        if len(self.cycles) < CYCLES:
            found.append(f"the daemon stopped after {len(self.cycles)} of {CYCLES} cycles")
        elif any(r.new or r.revised for r in self.cycles[-1]):
            found.append("the second cycle found something new: conditional requests or the seen-URL check failed")
        if self.undelivered:
            found.append(f"{self.undelivered} alerts were not delivered")
        return found


def prepare_directory(directory: Path) -> None:
    """Create DIR, or accept an empty one or one an earlier demo made; refuse anything else (ConfigError)."""
    if directory.exists() and not directory.is_dir():
        raise ConfigError(f"{directory}: not a directory")
    if directory.is_dir() and any(directory.iterdir()) and not (directory / MARKER).is_file():
        raise ConfigError(f"{directory}: not empty and not made by `monitor demo`; give a new or empty directory")
    directory.mkdir(parents=True, exist_ok=True)
    (directory / MARKER).write_text("made by `monitor demo`; `monitor demo --dir` may reuse it\n", encoding="utf-8")


def run_demo(directory: Path, *, echo: Echo = lambda line: None, clock: Clock = utc_now) -> DemoResult:
    """Run the daemon for two cycles against the snapshot, storing everything under ``directory``. ``clock``: the
    daemon's and the snapshot's "now"."""
    directory = directory.resolve()
    fixtures = fixtures_dir()
    prepare_directory(directory)
    with _demo_environment():
        base = load_settings(DEFAULT_CONFIG)
        snapshot_root = directory / "snapshot"
        shutil.rmtree(snapshot_root, ignore_errors=True)
        snapshot = build_snapshot(snapshot_root, list(base.sources), now=clock(), fixtures=fixtures)
        with LocalSite(snapshot.root) as site, SlackSink(directory / "slack.jsonl") as slack, \
                SmtpSink(directory / "mail") as smtp:
            settings = load_settings(DEFAULT_CONFIG, overrides=_overrides(base, snapshot, site, smtp, directory))
            for channel in settings.alerts.channels.values():
                if isinstance(channel, SlackChannel):
                    os.environ[channel.webhook_url_env] = slack.url
            pages = sum(len(p) for p in snapshot.pages.values())
            echo(f"serving {pages} pages of {', '.join(snapshot.hosts)} at {site.base_url}; "
                 f"Slack sink at {slack.url}; SMTP sink at 127.0.0.1:{smtp.port}")
            echo(f"running the daemon for {CYCLES} polling cycles (sources every {INTERVAL:g} s) ...")
            return _run_daemon(settings, directory, clock)


def _run_daemon(settings: Settings, directory: Path, clock: Clock) -> DemoResult:
    started = clock()
    result = DemoResult(directory=directory)
    with Services.open(settings, clock=clock) as services:
        daemon = Daemon(services)
        summary = daemon.run(cycles=CYCLES, handle_signals=True)
        result.cycles = _by_cycle(list(summary.runs))
        root = Path(settings.storage.archive_root)
        for revision in services.store.iter_revisions():
            stored = services.store.article(revision.article_key)
            result.archived.append(Archived(path=root / revision.text_path,
                                            headline=stored.headline if stored else revision.article_key,
                                            new=revision.stored_at >= started))
        outbox = services.store.outbox
        for item in outbox.rows(states=[OutboxState.SENT], limit=10_000):
            if item.sent_at is not None and item.sent_at >= started:
                content = content_of(item)
                match = content.matches[0]
                result.delivered.append(Delivered(channel=item.channel, rule=item.rule, headline=match.headline,
                                                  url=match.url))
        waiting = (OutboxState.QUEUED, OutboxState.SENDING, OutboxState.DEAD)
        result.undelivered = sum(states.get(s, 0) for states in outbox.status_counts().values()
                                 for s in waiting)
    return result


def _by_cycle(runs: list[RunReport]) -> list[list[RunReport]]:
    """The daemon's run reports, grouped: the n-th run of each source belongs to cycle n."""
    cycles: list[list[RunReport]] = []
    seen: dict[str, int] = {}
    for report in runs:
        n = seen.get(report.source, 0)
        seen[report.source] = n + 1
        while len(cycles) <= n:
            cycles.append([])
        cycles[n].append(report)
    return cycles


def _overrides(base: Settings, snapshot: Snapshot, site: LocalSite, smtp: SmtpSink,
               directory: Path) -> dict[str, Any]:
    rules_file = _shipped_rules(base)
    channels: dict[str, Any] = {}
    for name, channel in base.alerts.channels.items():
        if isinstance(channel, EmailChannel):
            channels[name] = {"host": "127.0.0.1", "port": smtp.port, "security": "none", "username_env": None,
                              "password_env": None, "ca_file": None}
    return {
        "http": {"host_map": site.host_map(snapshot.hosts), "min_delay": MIN_DELAY, "retries": 1,
                 "backoff_base": 0.1},
        "storage": {"archive_root": str(directory / "archive"), "url": f"sqlite:///{directory / 'monitor.db'}"},
        "daemon": {"delivery_interval": 1.0, "digest_interval": 1.0, "health_listen": None},
        "alerts": {"rules_file": str(rules_file), "channels": channels},
        "sources": [{**source.model_dump(), "interval": INTERVAL, "jitter": 0.0} for source in base.sources],
    }


def _shipped_rules(base: Settings) -> Path:
    """The shipped config's rule file, beside it whatever the working directory holds: the demo runs anywhere."""
    rules_file = base.alerts.rules_file
    return rules_file if rules_file.is_absolute() else DEFAULT_CONFIG.parent.parent / rules_file


@contextlib.contextmanager
def _demo_environment() -> Iterator[None]:
    """No MONITOR_* variable of the caller's shell may steer the demo (a production database URL, a real webhook):
    they are set aside for the demo, and the environment is put back as it was after (the webhook variable too)."""
    saved = dict(os.environ)
    for name in [n for n in saved if n.startswith("MONITOR_")]:
        del os.environ[name]
    # The Slack sink is local: an HTTP(S)_PROXY of the shell must not carry the webhook POSTs away.
    for name in ("NO_PROXY", "no_proxy"):
        os.environ[name] = ",".join(filter(None, [saved.get(name), "127.0.0.1", "localhost"]))
    try:
        yield
    finally:
        for name in [n for n in os.environ if n not in saved]:
            del os.environ[name]
        for name, value in saved.items():
            if os.environ.get(name) != value:
                os.environ[name] = value


# --- the web page over the demo's archive (monitor web) ------------------------------------------------------------


def web_settings(directory: Path) -> Settings:
    """The shipped config pointed at a demo directory's database, archive and rules, as ``monitor web`` reads it."""
    directory = directory.resolve()
    with _demo_environment():
        base = load_settings(DEFAULT_CONFIG)
        rules_file = _shipped_rules(base)
        return load_settings(DEFAULT_CONFIG, overrides={
            "storage": {"archive_root": str(directory / "archive"), "url": f"sqlite:///{directory / 'monitor.db'}"},
            "alerts": {"rules_file": str(rules_file)}, "web": {"host": "127.0.0.1"}})


def serve_web(directory: Path, *, keep: bool, echo: Echo, port: int | None = None, clock: Clock = utc_now) -> str:
    """Start ``monitor web`` on the demo's archive (on web.port, or any free port when that one is taken) and print
    its address. ``keep``: serve until Ctrl-C; otherwise check that the search page answers, then stop. Returns the
    address."""
    import httpx

    from monitor.services import open_existing_store
    from monitor.web import create_app
    from monitor.web.server import WebServer

    settings = web_settings(directory)
    store = open_existing_store(settings)
    try:
        app = create_app(settings, store, clock=clock)
        try:
            server = WebServer(app, "127.0.0.1", settings.web.port if port is None else port)
        except ConfigError:  # the usual port is taken (a `monitor web` running, say): any free one will do
            server = WebServer(app, "127.0.0.1", 0)
        if keep:
            echo(f"web page: {server.url} (the archive of this demo; Ctrl-C stops)")
            server.serve_forever()
            return server.url
        with server:
            answer = httpx.get(server.url + "search", timeout=30, trust_env=False)
        echo(f"web page: {server.url} served this archive while the demo ran (search page: HTTP "
             f"{answer.status_code}); `monitor demo --dir DIR --web` keeps it open, `monitor web` serves yours")
        return server.url
    finally:
        store.close()


__all__ = ["Archived", "Delivered", "DemoResult", "prepare_directory", "run_demo", "serve_web", "web_settings"]

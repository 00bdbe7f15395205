"""Source health through the daemon with a controlled clock: a feed outage, a 429 with a long Retry-After, an empty
feed and a zombie feed each raise exactly one operations message after ``failures_before_alert`` runs (a restart in
the middle repeats nothing) and exactly one recovery message when the source heals; so does a source that stays
quiet longer than its ``quiet_hours``. /healthz and /metrics follow the same state."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.demo.sinks import SlackSink, SmtpSink
from monitor.http import HttpClient
from monitor.metrics import HealthServer
from monitor.scheduler import Daemon
from monitor.services import Services
from monitor.settings import Settings
from tests._daemon_support import FEED_PATH, Clock, Snapshot, rss, settings, source
from tests._localsite import Fault, LocalSite
from tests._synth import HOST

pytestmark = pytest.mark.slow


class Monotonic:
    """The HTTP client's monotonic clock and sleep, moved by the test (host back-off, Retry-After)."""

    def __init__(self) -> None:
        self.now = time.monotonic()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)


@dataclass
class World:
    tmp: Path
    clock: Clock
    mono: Monotonic
    snapshot: Snapshot
    site: LocalSite
    slack: SlackSink
    smtp: SmtpSink

    def settings(self, **changes: object) -> Settings:
        return settings(self.tmp, self.site.host_map([HOST]), smtp_port=self.smtp.port, **changes)  # type: ignore[arg-type]

    def open(self, config: Settings) -> Services:
        client = HttpClient(config.http, clock=self.mono, sleep=self.mono.sleep)
        return Services.open(config, clock=self.clock, client=client)

    def operations(self) -> list[str]:
        """The operations messages on Slack: headline and the blocks with the detail."""
        return [json.dumps(r, ensure_ascii=False) for r in self.slack.requests if "rule operations" in str(r["text"])]


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    # Near the real time, as a daemon's would be (/healthz judges by this clock: Daemon.problems).
    clock = Clock(datetime.now(UTC).replace(microsecond=0))
    snapshot = Snapshot(tmp_path / "site", clock)
    with LocalSite(snapshot.root) as site, SlackSink(tmp_path / "slack.jsonl") as slack, \
            SmtpSink(tmp_path / "mail") as smtp:
        monkeypatch.setenv("MONITOR_SLACK_WEBHOOK_URL", slack.url)
        yield World(tmp_path, clock, Monotonic(), snapshot, site, slack, smtp)


def _break_outage(world: World) -> Callable[[], None]:
    world.site.fault(HOST, FEED_PATH, Fault(status=503))
    return world.site.clear_faults


def _break_429(world: World) -> Callable[[], None]:
    # Retry-After beyond backoff_max: the client leaves the host alone for an hour instead of waiting inline.
    world.site.fault(HOST, FEED_PATH, Fault(status=429, retry_after=3600))

    def heal() -> None:
        world.site.clear_faults()
        world.mono.sleep(3601)

    return heal


def _break_empty(world: World) -> Callable[[], None]:
    world.site.fault(HOST, FEED_PATH, Fault(status=200, body=b""))
    return world.site.clear_faults


def _break_zombie(world: World) -> Callable[[], None]:
    world.snapshot.write_feed(rss([]))  # a valid feed with no items
    return world.snapshot.write_feed


BREAKS = {"outage": _break_outage, "429": _break_429, "empty": _break_empty, "zombie": _break_zombie}
EXPECTED_ERROR = {"outage": "HTTP 503", "429": "3600 s", "empty": "empty body", "zombie": "zombie feed"}


@pytest.mark.parametrize("kind", list(BREAKS))
def test_a_failing_source_raises_one_operations_alert_and_one_recovery(world: World, kind: str) -> None:
    world.snapshot.add(1)
    config = world.settings()
    assert config.daemon.failures_before_alert == 3
    with world.open(config) as services:
        daemon = Daemon(services)
        assert daemon.cycle()[0].new == 1
        assert world.operations() == []

        heal = BREAKS[kind](world)
        world.site.clear_log()
        for run in range(1, 6):
            world.clock.advance(minutes=5)
            report = daemon.cycle()[0]
            assert report.errors and EXPECTED_ERROR[kind] in str(report.errors[0]), report.errors
            assert len(world.operations()) == (0 if run < 3 else 1), (run, world.operations())
        if kind == "429":  # the first answer sent the host into back-off: no request to it since
            assert len(world.site.requests(HOST)) == 1
        alert = world.operations()[0]
        assert "voa: source failing" in alert and "3 runs in a row" in alert
        assert ("zombie feed" in alert) == (kind == "zombie"), alert
        health = services.store.source_health("voa")
        assert health is not None and health.problem == "failing" and health.consecutive_failures == 5
        assert daemon.summary.operations == 1

    # A restart while the source still fails: the incident is remembered, nothing is repeated.
    with world.open(config) as services:
        daemon = Daemon(services)
        daemon.catch_up()
        world.clock.advance(minutes=5)
        assert daemon.cycle()[0].errors
        assert len(world.operations()) == 1

        heal()
        world.clock.advance(minutes=5)
        world.snapshot.add(2)
        healed = daemon.cycle()[0]
        assert (healed.errors, healed.new) == ([], 1)
        for _ in range(2):
            world.clock.advance(minutes=5)
            assert daemon.cycle()[0].errors == []
        operations = world.operations()
        assert len(operations) == 2, operations
        assert "voa: recovered (source failing)" in operations[1] and "working again" in operations[1]
        health = services.store.source_health("voa")
        assert health is not None and (health.problem, health.consecutive_failures) == (None, 0)
    # The article alerts went out as usual: one per article on Slack (plus the two operations messages).
    assert len(world.slack.requests) == 4 and len(world.smtp.messages) == 2


def test_a_quiet_source_raises_one_alert_and_recovers_when_something_new_arrives(world: World) -> None:
    world.snapshot.add(1)
    config = world.settings(sources=[source(quiet_hours=1.0)])
    with world.open(config) as services:
        daemon = Daemon(services)
        daemon.cycle()
        world.clock.advance(minutes=30)
        assert daemon.cycle()[0].unchanged == 1
        assert world.operations() == []
        world.clock.advance(minutes=31)  # 61 minutes since the last new article
        daemon.cycle()
        assert len(world.operations()) == 1 and "voa: no new articles" in world.operations()[0]
        for _ in range(3):
            world.clock.advance(minutes=20)
            daemon.cycle()
        assert len(world.operations()) == 1
        health = services.store.source_health("voa")
        assert health is not None and health.problem == "quiet"

        world.clock.advance(minutes=5)
        world.snapshot.add(2)
        assert daemon.cycle()[0].new == 1
        world.clock.advance(minutes=5)
        daemon.cycle()
        operations = world.operations()
        assert len(operations) == 2 and "voa: recovered (no new articles)" in operations[1], operations


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return int(answer.status), answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_healthz_and_metrics_follow_the_source_health(world: World) -> None:
    world.snapshot.add(1)
    config = world.settings(daemon={"failures_before_alert": 2})
    with world.open(config) as services:
        daemon = Daemon(services)
        server = HealthServer("127.0.0.1:0", daemon.metrics, daemon.problems).start()
        base = f"http://{server.address}"
        try:
            status, body = _get(f"{base}/healthz")
            assert status == 503 and json.loads(body)["problems"] == ["source voa: never polled"]
            daemon.cycle()
            status, body = _get(f"{base}/healthz")
            assert (status, json.loads(body)) == (200, {"ok": True, "problems": []})
            status, metrics = _get(f"{base}/metrics")
            text = metrics.decode()
            assert status == 200
            assert 'monitor_source_runs_total{outcome="ok",source="voa"} 1.0' in text
            assert 'monitor_articles_total{source="voa",status="new"} 1.0' in text
            assert 'monitor_alerts_sent_total{channel="slack"} 1.0' in text
            assert 'monitor_source_problem{source="voa"} 0.0' in text

            world.site.fault(HOST, FEED_PATH, Fault(status=503))
            for _ in range(2):
                world.clock.advance(minutes=5)
                daemon.cycle()
            status, body = _get(f"{base}/healthz")
            problems = json.loads(body)["problems"]
            assert status == 503 and len(problems) == 1 and problems[0].startswith("source voa: failing: ")
            text = _get(f"{base}/metrics")[1].decode()
            assert 'monitor_source_problem{source="voa"} 1.0' in text
            assert 'monitor_source_runs_total{outcome="error",source="voa"} 2.0' in text
            assert _get(f"{base}/nothing")[0] == 404

            world.site.clear_faults()
            world.clock.advance(minutes=5)
            daemon.cycle()
            assert _get(f"{base}/healthz")[0] == 200
        finally:
            server.stop()


def test_a_health_port_in_use_is_one_clear_error() -> None:
    from monitor.errors import ConfigError
    from monitor.metrics import Metrics

    first = HealthServer("127.0.0.1:0", Metrics(), list).start()
    try:
        with pytest.raises(ConfigError, match=rf"daemon.health_listen: cannot listen on {first.address}: "):
            HealthServer(first.address, Metrics(), list)
        with pytest.raises(ConfigError, match="expected HOST:PORT"):
            HealthServer("9108", Metrics(), list)
    finally:
        first.stop()

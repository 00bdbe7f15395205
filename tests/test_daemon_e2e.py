"""The daemon end to end with a clock the test controls: a local site whose feed grows between polls, the shipped
Lavrov/Ukraine rule, local Slack and SMTP stand-ins. New articles are archived once and alerted once; a poll with
nothing new queues and sends nothing; a crash between archiving and queueing is made good on the next start; the
APScheduler loop runs each source on its own, never twice at once."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from monitor.archive import Archive
from monitor.archive_check import verify
from monitor.demo.sinks import SlackSink, SmtpSink
from monitor.notify import AlertService
from monitor.pipeline import RunReport
from monitor.run_errors import RunErrorKind
from monitor.scheduler import Daemon, interruptible_sleep
from monitor.services import Services
from monitor.settings import Settings, SourceSettings
from tests._daemon_support import FEED_PATH, SEED_URL, Clock, Snapshot, settings, source
from tests._localsite import Fault, Gate, LocalSite
from tests._synth import HOST, article_url

pytestmark = pytest.mark.slow


@dataclass
class World:
    tmp: Path
    clock: Clock
    snapshot: Snapshot
    site: LocalSite
    slack: SlackSink
    smtp: SmtpSink

    def settings(self, **changes: object) -> Settings:
        return settings(self.tmp, self.site.host_map([HOST, "www.rferl.org"]), smtp_port=self.smtp.port,
                        **changes)  # type: ignore[arg-type]

    def slack_texts(self) -> list[str]:
        return [str(r["text"]) for r in self.slack.requests]

    def mail_subjects(self) -> list[str]:
        return [str(message_from_bytes(m, policy=policy.default)["Subject"]) for m in self.smtp.messages]


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    clock = Clock()
    snapshot = Snapshot(tmp_path / "site", clock)
    snapshot.write_feed()
    with LocalSite(snapshot.root) as site, SlackSink(tmp_path / "slack.jsonl") as slack, \
            SmtpSink(tmp_path / "mail") as smtp:
        monkeypatch.setenv("MONITOR_SLACK_WEBHOOK_URL", slack.url)
        yield World(tmp_path, clock, snapshot, site, slack, smtp)


def _alerted(world: World, n: int) -> tuple[int, int]:
    """How many Slack messages and emails name synthetic article ``n``."""
    marker = f"story {n} edit 0"
    return (sum(marker in t for t in world.slack_texts()), sum(marker in s for s in world.mail_subjects()))


def test_new_articles_between_polls_are_archived_and_alerted_once(world: World) -> None:
    world.snapshot.add(1, 2)
    world.snapshot.add_seed()
    rferl = source(name="rferl", site="www.rferl.org", feeds=["https://www.rferl.org/api/zrqiteuuir"])
    settings = world.settings(sources=[source(), rferl])
    with Services.open(settings, clock=world.clock) as services:
        daemon = Daemon(services)
        first = {r.source: r for r in daemon.cycle()}
        assert (first["voa"].new, first["voa"].alerts, first["voa"].errors) == (2, 4, [])
        assert (first["rferl"].new, first["rferl"].alerts) == (1, 2)
        assert len(world.slack.requests) == 3 and len(world.smtp.messages) == 3
        assert sum("Tillerson" in t for t in world.slack_texts()) == 1

        # Nothing changed: the feeds answer 304, nothing is fetched, queued or sent.
        world.clock.advance(minutes=5)
        world.site.clear_log()
        quiet = daemon.cycle()
        assert [(r.unchanged, r.fetched, r.new, r.alerts) for r in quiet] == [(1, 0, 0, 0), (1, 0, 0, 0)]
        assert {r.path for r in world.site.requests()} == {FEED_PATH, "/api/zrqiteuuir"}
        assert len(world.slack.requests) == 3 and len(world.smtp.messages) == 3

        # Two new items at the top of the feed (its ETag changes): only they are fetched, archived and alerted.
        world.clock.advance(minutes=5)
        world.snapshot.add(3, 4)
        world.site.clear_log()
        third = daemon.cycle()[0]
        assert (third.discovered, third.fetched, third.new, third.alerts) == (4, 2, 2, 4)
        fetched_pages = {r.path for r in world.site.requests(HOST) if r.path != FEED_PATH}
        assert fetched_pages == {f"/a/{p.split('/a/', 1)[1]}" for p in (article_url(3), article_url(4))}

        # The feed changes again without a new article (a re-dated item): nothing new, nothing sent.
        world.clock.advance(minutes=5)
        world.snapshot.items[0] = (world.snapshot.items[0][0], "re-dated", world.clock())
        world.snapshot.write_feed()
        fourth = daemon.cycle()[0]
        assert (fourth.unchanged, fourth.discovered, fourth.new, fourth.alerts) == (0, 4, 0, 0)

        for n in (1, 2, 3, 4):
            assert _alerted(world, n) == (1, 1), n
            key = f"voanews.com:{9_000_000 + n}"
            assert len(services.store.revisions(key)) == 1
        assert services.store.counts()["articles"] == 5
        assert services.alerts is not None
        assert services.alerts.status() == {"email": {"sent": 5}, "slack": {"sent": 5}}
        verified = verify(services.store, Archive.from_settings(settings.storage))
        assert verified.clean, verified
        assert daemon.summary.delivered == 10 and daemon.summary.operations == 0
        health = services.store.source_health("voa")
        assert health is not None and health.runs == 4 and health.problem is None
        assert health.last_new == third.started

    # A restart on the same database and archive: the feed is read with the stored validators (304), nothing
    # is repeated.
    world.clock.advance(minutes=5)
    with Services.open(settings, clock=world.clock) as services:
        daemon = Daemon(services)
        daemon.catch_up()
        again = daemon.cycle()
        assert [(r.unchanged, r.fetched, r.alerts) for r in again] == [(1, 0, 0), (1, 0, 0)]
    assert len(world.slack.requests) == 5 and len(world.smtp.messages) == 5
    assert any(SEED_URL in str(r) for r in world.slack.requests)


def test_crash_between_archiving_and_queueing_alerts_is_made_good_once_on_restart(world: World,
                                                                                   monkeypatch: pytest.MonkeyPatch
                                                                                   ) -> None:
    world.snapshot.add(1, 2)
    settings = world.settings()
    calls = {"n": 0}
    original = AlertService.on_article

    def crash_on_second(self: AlertService, *args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("killed between archiving and queueing")
        return original(self, *args, **kwargs)  # type: ignore[arg-type]

    with Services.open(settings, clock=world.clock) as services:
        monkeypatch.setattr(AlertService, "on_article", crash_on_second)
        report = Daemon(services).cycle()[0]
        monkeypatch.setattr(AlertService, "on_article", original)
        assert report.errors and report.errors[0].kind is RunErrorKind.CRASH
        assert str(report.errors[0]).startswith("internal error: RuntimeError: killed between")
        # Both articles are archived; the second one's alerts were never queued.
        assert services.store.counts()["articles"] == 2
        pending = services.store.alerts_pending(world.clock() - _days(3))
        assert [(a.key, r.number) for a, r in pending] == [("voanews.com:9000001", 0)]  # the feed lists 2 first
    assert _alerted(world, 2) == (1, 1) and _alerted(world, 1) == (0, 0)

    # The next poll alone would not notice (the URL is known): the start-up catch-up queues it, exactly once.
    world.clock.advance(minutes=5)
    with Services.open(settings, clock=world.clock) as services:
        daemon = Daemon(services)
        daemon.catch_up()
        daemon.catch_up()
        assert services.store.alerts_pending(world.clock() - _days(3)) == []
        daemon.cycle()
        daemon.cycle()
    assert _alerted(world, 1) == (1, 1) and _alerted(world, 2) == (1, 1)


def _days(n: int) -> timedelta:
    return timedelta(days=n)


# --- the scheduler itself ---------------------------------------------------------------------------------------


class Recording(Daemon):
    """A daemon that records when each poll of each source ran (time.monotonic()), and lets a test wait on them."""

    def __init__(self, services: Services) -> None:
        super().__init__(services)
        self.spans: dict[str, list[tuple[float, float]]] = {}
        self._recorded = threading.Condition()

    def poll(self, source: SourceSettings) -> RunReport:
        started = time.monotonic()
        try:
            return super().poll(source)
        finally:
            with self._recorded:
                self.spans.setdefault(source.name, []).append((started, time.monotonic()))
                self._recorded.notify_all()

    def runs(self, name: str) -> int:
        with self._recorded:
            return len(self.spans.get(name, []))

    def wait_runs(self, name: str, count: int) -> None:
        """Wait until ``name`` has finished ``count`` polls (the timeout only guards against a hang)."""
        with self._recorded:
            assert self._recorded.wait_for(lambda: len(self.spans.get(name, [])) >= count, 120), self.spans


def test_scheduler_runs_each_source_on_its_own_never_twice_at_once(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    snapshot = Snapshot(tmp_path / "site", clock)
    snapshot.add(1)
    (tmp_path / "site" / "www.rferl.org" / "api").mkdir(parents=True)
    snapshot.add_seed()
    with LocalSite(snapshot.root) as site, SlackSink(tmp_path / "slack.jsonl") as slack, \
            SmtpSink(tmp_path / "mail") as smtp:
        monkeypatch.setenv("MONITOR_SLACK_WEBHOOK_URL", slack.url)
        # "slow"'s feed answers only when the test says so, though "slow" is due every 0.2 s; "fast" too.
        held = Gate()
        site.fault("www.rferl.org", "/api/zrqiteuuir", Fault(hold=held))
        slow = source(name="slow", site="www.rferl.org", feeds=["https://www.rferl.org/api/zrqiteuuir"],
                      interval=0.2)
        fast = source(name="fast", interval=0.2)
        config = settings(tmp_path, site.host_map(), sources=[slow, fast], smtp_port=smtp.port,
                          daemon={"delivery_interval": 0.2})
        with Services.open(config, clock=clock) as services:
            daemon = Recording(services)
            runner = threading.Thread(target=daemon.run, kwargs={"handle_signals": False})
            runner.start()
            try:
                assert held.reached.wait(120)  # slow's first poll waits for its feed ...
                before = daemon.runs("fast")
                daemon.wait_runs("fast", before + 6)  # ... while fast polls on its own schedule, six times
                assert daemon.runs("slow") == 0
                held.open()
                daemon.wait_runs("slow", 1)
                ended = daemon.spans["slow"][0][1]
                # After the held poll, as long as fast polls six more times: slow runs on its schedule again, its
                # polls missed meanwhile (it was due at least five times) coalesced into one, not queued.
                after = daemon.runs("fast")
                daemon.wait_runs("fast", after + 6)
            finally:
                held.open()
                daemon.stop()
                runner.join(timeout=60)
            assert not runner.is_alive()
            # A bounded run: every source twice, then the alerts are delivered.
            bounded = Recording(services).run(cycles=2, handle_signals=False)
    slow_spans, fast_spans = daemon.spans["slow"], daemon.spans["fast"]
    for spans in (slow_spans, fast_spans):
        assert all(b[0] >= a[1] for a, b in itertools.pairwise(spans)), spans  # never overlapping
    fast_after = [span for span in fast_spans if span[0] >= ended]
    slow_after = [span for span in slow_spans if span[0] >= ended]
    assert len(slow_after) <= len(fast_after) + 2, (slow_after, fast_after)
    assert sum(r.new for r in daemon.summary.runs) == 2
    assert [r.source for r in bounded.runs].count("slow") == 2 and [r.source for r in bounded.runs].count("fast") == 2
    # Both articles alerted once over both runs (by a delivery job or the bounded run's final round).
    assert len(slack.requests) == 2 and len(smtp.messages) == 2


def test_a_stop_cuts_short_the_retries_of_a_failing_host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    snapshot = Snapshot(tmp_path / "site", clock)
    snapshot.add(1)
    with LocalSite(snapshot.root) as site, SlackSink(tmp_path / "slack.jsonl") as slack, \
            SmtpSink(tmp_path / "mail") as smtp:
        monkeypatch.setenv("MONITOR_SLACK_WEBHOOK_URL", slack.url)
        site.fault(HOST, FEED_PATH, Fault(status=503))
        # Four attempts with back-off of 5-10, 10-20 and 20-40 minutes in between: an hour for one feed unless cut
        # short.
        config = settings(tmp_path, site.host_map([HOST]), smtp_port=smtp.port, retries=3, backoff_base=600.0,
                          backoff_max=3600.0)
        stop = threading.Event()
        backing_off = threading.Event()
        waits: list[float] = []
        interruptible = interruptible_sleep(stop)

        def sleep(seconds: float) -> None:
            waits.append(seconds)
            backing_off.set()
            interruptible(seconds)

        with Services.open(config, clock=clock, sleep=sleep) as services:
            daemon = Daemon(services, stop=stop)
            runner = threading.Thread(target=daemon.run, kwargs={"handle_signals": False})
            runner.start()
            assert backing_off.wait(60)  # the feed failed once; the client waits before the next attempt
            daemon.stop()
            runner.join(timeout=60)  # far less than the first back-off: the stop cut it short
            assert not runner.is_alive()
            assert services.store.source_health("voa") is None  # a cut-short run is no failure of the source
        assert len(waits) == 1 and waits[0] >= 300, waits  # and no wait after it
        assert [r.path for r in site.requests(HOST)] == ["/robots.txt", FEED_PATH]  # no attempt after the stop
        (report,) = daemon.summary.runs
        assert report.interrupted and "stopping" in str(report.errors[0])


def test_sigint_stops_the_daemon_and_the_previous_handlers_come_back(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import signal

    snapshot = Snapshot(tmp_path / "site", Clock())
    snapshot.add(1)
    with LocalSite(snapshot.root) as site, SlackSink(tmp_path / "slack.jsonl") as slack, \
            SmtpSink(tmp_path / "mail") as smtp:
        monkeypatch.setenv("MONITOR_SLACK_WEBHOOK_URL", slack.url)
        config = settings(tmp_path, site.host_map([HOST]), smtp_port=smtp.port, sources=[source(interval=3600.0)])
        before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
        with Services.open(config, clock=Clock()) as services:
            daemon = Daemon(services)

            def interrupt_after_the_first_run() -> None:
                while not daemon.summary.runs:  # a counter, polled: the interrupt comes after the first run
                    time.sleep(0.01)
                signal.raise_signal(signal.SIGINT)

            interrupter = threading.Thread(target=interrupt_after_the_first_run, daemon=True)
            interrupter.start()
            daemon.run()  # in the main thread: the daemon's handlers catch the signal (no KeyboardInterrupt)
            interrupter.join()
        assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
        assert [r.new for r in daemon.summary.runs] == [1]

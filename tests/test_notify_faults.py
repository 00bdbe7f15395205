"""Delivery under faults (issue 11, items 4, 10, 18, 25): a database that fails under the outbox, channels
configured so that no alert can get through, a health endpoint that sees failing channels, and a sender woken
when an alert is queued instead of waiting for its timer."""

from __future__ import annotations

import email
import email.policy
import json
import logging
import sqlite3
import ssl
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine

from monitor.demo.sinks import SlackSink, _free_port
from monitor.errors import StoreError
from monitor.metrics import HealthServer, Metrics
from monitor.model import Match, MatchedTerm
from monitor.notify import ChannelReport, Deliverer, enqueue_matches
from monitor.notify.email import EmailSender
from monitor.notify.slack import SlackSender
from monitor.rules import Rule, parse_rules
from monitor.scheduler import Daemon
from monitor.services import Services
from monitor.settings import DeliverySettings, EmailChannel
from monitor.store.outbox import AlertOutbox, Outbox, OutboxItem, OutboxState, create_outbox_tables
from tests._daemon_support import Clock, Snapshot, source
from tests._daemon_support import settings as daemon_settings
from tests._localsite import LocalSite
from tests._synth import HOST

T0 = datetime(2026, 11, 23, 10, 0, 5, tzinfo=UTC)
HOOK_ENV = "TEST_MONITOR_FAULTS_HOOK"


class FlakyDatabase:
    """Every statement on the engine fails with the driver's own OperationalError while ``down`` is set (or, with
    ``only``, the statements that contain that text): what a database outage looks like from the outbox."""

    def __init__(self, engine: Engine) -> None:
        self.down = False
        self.only: str | None = None
        self.failures = 0
        event.listen(engine, "before_cursor_execute", self._check)

    def _check(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if self.down and (self.only is None or self.only in statement):
            self.failures += 1
            raise sqlite3.OperationalError("disk I/O error")


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    engine = create_engine(f"sqlite:///{tmp_path / 'monitor.db'}")
    create_outbox_tables(engine)
    return engine


@pytest.fixture
def rules() -> dict[str, Rule]:
    return {r.name: r for r in parse_rules('[[rule]]\nname = "r"\nquery = "Lavrov"\nchannels = ["chan"]\n')}


def match(n: int = 1) -> Match:
    return Match(rule="r", article_key=f"rferl.org:{n}", url=f"https://www.rferl.org/a/{n}.html",
                 headline=f"Lavrov {n}", site="rferl.org", published=T0,
                 terms=(MatchedTerm("Lavrov", "body", 0, 6, "Lavrov"),), snippet="Lavrov spoke", highlights=((0, 6),))


def queue(engine: Engine, rules: dict[str, Rule], *numbers: int) -> list[OutboxItem]:
    return [item for n in numbers
            for item in enqueue_matches(Outbox(engine), [match(n)], rules, story_key=f"s{n}", now=T0)]


def delivery(**changes: float) -> DeliverySettings:
    values: dict[str, Any] = {"max_attempts": 3, "backoff_base": 10.0, "backoff_max": 100.0, "timeout": 5.0}
    values.update(changes)
    return DeliverySettings(**values)


class Recorder:
    """A sender that records what it was given; ``on_send`` runs first (to break something mid-round)."""

    def __init__(self) -> None:
        self.sent: list[int] = []
        self.on_send: Any = None

    def send(self, item: OutboxItem) -> str | None:
        if self.on_send is not None:
            self.on_send(item)
        self.sent.append(item.id)
        return None


# --- item 4: the outbox under a failing database ----------------------------------------------------------------


def test_outbox_database_errors_come_out_as_store_errors(engine: Engine, rules: dict[str, Rule]) -> None:
    (item,) = queue(engine, rules, 1)
    outbox = Outbox(engine)
    FlakyDatabase(engine).down = True
    calls = {
        "claim due alerts": lambda: outbox.claim_due("chan", T0),
        "record a sent alert": lambda: outbox.mark_sent(item.id, T0),
        "record a failed alert": lambda: outbox.mark_failed(item.id, "x", None),
        "count alerts": outbox.status_counts,
        "list alerts": outbox.rows,
        "queue interrupted alerts again": lambda: outbox.recover_interrupted(T0),
        "queue dead alerts again": lambda: outbox.retry_dead(T0),
        "queue an alert": lambda: queue(engine, rules, 2),
    }
    for what, call in calls.items():
        with pytest.raises(StoreError) as caught:
            call()
        assert str(caught.value) == f"database {outbox.where}: alert outbox: {what}: disk I/O error"


def test_a_round_cut_short_by_the_database_is_mended_by_the_next_round(engine: Engine,
                                                                       rules: dict[str, Rule]) -> None:
    queue(engine, rules, 1, 2, 3)
    db = FlakyDatabase(engine)
    sender = Recorder()

    def outage_after_the_first_send(item: OutboxItem) -> None:
        db.down = True
        sender.on_send = None

    sender.on_send = outage_after_the_first_send
    deliverer = Deliverer(engine, {"chan": sender}, delivery(), Clock(T0))
    with pytest.raises(StoreError):
        deliverer.deliver_channel("chan")  # sent #1, could not record it
    assert sender.sent == [1]
    db.down = False
    assert [r.state for r in Outbox(engine).rows()] == [OutboxState.SENDING] * 3
    # The database is back: the same daemon, no restart. #1 is recorded as sent (not sent again); the two the
    # round had claimed but not tried go out now.
    report = deliverer.deliver_channel("chan")
    assert report.sent == 2 and not report.errors
    assert sender.sent == [1, 2, 3]
    assert [r.state for r in Outbox(engine).rows()] == [OutboxState.SENT] * 3


def test_a_claim_that_fails_to_record_leaves_nothing_stranded(engine: Engine, rules: dict[str, Rule]) -> None:
    queue(engine, rules, 1, 2)
    db = FlakyDatabase(engine)
    db.down, db.only = True, "UPDATE alert_outbox SET state"  # the claim's update fails after its select
    sender = Recorder()
    deliverer = Deliverer(engine, {"chan": sender}, delivery(), Clock(T0))
    assert deliverer.deliver()["chan"].errors[0].endswith("claim due alerts: disk I/O error")
    db.down = False
    assert deliverer.deliver_channel("chan").sent == 2
    assert sender.sent == [1, 2]


def test_the_daemon_logs_one_line_per_failing_delivery_round(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    with SlackSink(tmp_path / "slack.jsonl") as slack:
        monkeypatch.setenv("MONITOR_SLACK_WEBHOOK_URL", slack.url)
        config = daemon_settings(tmp_path, {}, smtp_port=_free_port())
        with Services.open(config) as services:
            assert services.alerts is not None
            daemon = Daemon(services)
            services.alerts.operations("a title", "a text", "key-1")
            db = FlakyDatabase(services.store.engine)
            db.down = True
            caplog.clear()
            with caplog.at_level(logging.INFO):
                for _ in range(3):
                    assert daemon.deliver("slack") is None
            records = [r for r in caplog.records if r.levelno >= logging.WARNING]
            assert len(records) == 3 and not any(r.exc_info for r in records)
            assert all("channel=slack delivery round failed: database" in r.getMessage() for r in records)
            assert daemon.metrics.channel_problems()[0].startswith("channel slack: delivery failing: database")
            db.down = False
            report = daemon.deliver("slack")
            assert report is not None and report.sent == 1
            assert daemon.metrics.channel_problems() == []
        assert len(slack.requests) == 1


# --- item 18: woken when an alert is queued -------------------------------------------------------------------


class Watched(Daemon):
    """A daemon that says when a delivery round of its Slack channel is over."""

    def __init__(self, services: Services) -> None:
        super().__init__(services)
        self.rounds = threading.Semaphore(0)

    def deliver(self, channel: str) -> ChannelReport | None:
        try:
            return super().deliver(channel)
        finally:
            if channel == "slack":
                self.rounds.release()


def test_an_alert_is_delivered_when_queued_not_when_the_timer_fires(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    with SlackSink(tmp_path / "slack.jsonl") as slack:
        monkeypatch.setenv("MONITOR_SLACK_WEBHOOK_URL", slack.url)
        config = daemon_settings(tmp_path, {}, smtp_port=_free_port(), sources=[source(enabled=False)],
                                 daemon={"delivery_interval": 3600.0})
        with Services.open(config) as services:
            assert services.alerts is not None
            daemon = Watched(services)
            runner = threading.Thread(target=daemon.run, kwargs={"handle_signals": False})
            runner.start()
            try:
                assert daemon.rounds.acquire(timeout=30)  # the round at start is over: the next is an hour away
                services.alerts.operations("queued after the first round", "text", "key-2")
                assert slack.wait_for(1, timeout=30), "the alert waited for the delivery timer"
            finally:
                daemon.stop()
                runner.join(timeout=30)
            assert not runner.is_alive()
    assert "queued after the first round" in json.dumps(slack.requests[0])


# --- item 10: delivery ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["http://[::1", "not a URL", "ftp://hooks.example/x"])
def test_an_invalid_webhook_url_is_dead_at_once_in_one_line(engine: Engine, rules: dict[str, Rule], url: str,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    queue(engine, rules, 1, 2)
    monkeypatch.setenv(HOOK_ENV, url)
    deliverer = Deliverer(engine, {"chan": SlackSender(HOOK_ENV, 2.0)}, delivery(), Clock(T0))
    with caplog.at_level(logging.INFO):
        report = deliverer.deliver_channel("chan")
    assert report.dead == 1 and report.retrying == 0 and report.halted
    assert "not a valid URL" in report.halted or "not an http(s) URL" in report.halted
    assert url not in report.halted  # the URL is a secret
    assert [r.state for r in Outbox(engine).rows()] == [OutboxState.DEAD, OutboxState.QUEUED]
    errors = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(errors) == 1 and errors[0].exc_info is None
    assert deliverer.deliver_channel("chan").halted  # the rest waits: no attempt, no second line
    assert len([r for r in caplog.records if r.levelno >= logging.WARNING]) == 1


def _get(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_healthz_fails_while_a_channel_fails() -> None:
    metrics = Metrics()
    server = HealthServer("127.0.0.1:0", metrics, lambda: []).start()
    try:
        url = f"http://{server.address}/healthz"
        assert _get(url) == (200, {"ok": True, "problems": []})
        metrics.observe_delivery("slack", ChannelReport(retrying=1, paused=True, errors=["Slack webhook: HTTP 500"]))
        status, body = _get(url)
        assert status == 503 and body["problems"] == ["channel slack: delivery failing: Slack webhook: HTTP 500"]
        metrics.observe_delivery("slack", ChannelReport())  # waiting out the back-off: still failing
        assert _get(url)[0] == 503
        metrics.observe_delivery("slack", ChannelReport(sent=1))
        assert _get(url) == (200, {"ok": True, "problems": []})
    finally:
        server.stop()


class Blocking:
    """A channel that hangs on its first send until released."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()

    def send(self, item: OutboxItem) -> str | None:
        self.started.set()
        self.release.wait(30)
        return None


def test_a_slow_channel_does_not_flood_the_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               caplog: pytest.LogCaptureFixture) -> None:
    config = daemon_settings(tmp_path, {}, smtp_port=_free_port(), sources=[source(enabled=False)],
                             daemon={"delivery_interval": 0.05})
    monkeypatch.setenv("MONITOR_SLACK_WEBHOOK_URL", "http://127.0.0.1:9/unused")
    with Services.open(config) as services:
        assert services.alerts is not None
        blocking = Blocking()
        services.alerts.deliverer.senders["slack"] = blocking
        services.alerts.operations("slow", "text", "key-3")
        daemon = Daemon(services)
        runner = threading.Thread(target=daemon.run, kwargs={"handle_signals": False})
        with caplog.at_level(logging.INFO):
            runner.start()
            try:
                assert blocking.started.wait(30)
                # The channel's round hangs for twenty of its intervals.
                blocking.release.wait(1.0)
            finally:
                blocking.release.set()
                daemon.stop()
                runner.join(timeout=30)
    assert not runner.is_alive()
    assert not [r for r in caplog.records if "maximum number of running instances" in r.getMessage()]
    assert not [r for r in caplog.records if r.name.startswith("apscheduler") and r.levelno >= logging.WARNING]


# --- items 10 and 25: email against a real SMTP server with TLS and login --------------------------------------


class Server:
    """aiosmtpd on 127.0.0.1 with what the test asks for; counts logins and keeps the messages."""

    def __init__(self, *, tls: ssl.SSLContext | None = None, implicit_tls: bool = False,
                 login: tuple[str, str] | None = None, auth_require_tls: bool = True) -> None:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword

        self.messages: list[bytes] = []
        self.logins = 0
        server = self

        class Handler:
            async def handle_DATA(self, smtp: object, session: object, envelope: Any) -> str:
                server.messages.append(envelope.original_content or envelope.content)
                return "250 OK"

        def check(smtp: object, session: object, envelope: object, mechanism: str, data: object) -> AuthResult:
            server.logins += 1
            ok = isinstance(data, LoginPassword) and (data.login.decode(), data.password.decode()) == login
            return AuthResult(success=ok, handled=False)

        options: dict[str, Any] = {"auth_require_tls": auth_require_tls}
        if login is not None:
            options["authenticator"] = check
        if tls is not None and implicit_tls:
            options.update(ssl_context=tls, auth_require_tls=False)
        elif tls is not None:
            options.update(tls_context=tls, require_starttls=True)
        self.port = _free_port()
        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, ready_timeout=10, **options)

    def __enter__(self) -> Server:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()


@pytest.fixture
def pki(tmp_path: Path) -> dict[str, Any]:
    trustme = pytest.importorskip("trustme")
    ours, other = trustme.CA(), trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ours.issue_cert("127.0.0.1").configure_cert(context)
    ours.cert_pem.write_to_path(str(tmp_path / "ours.pem"))
    other.cert_pem.write_to_path(str(tmp_path / "other.pem"))
    return {"server": context, "ours": tmp_path / "ours.pem", "other": tmp_path / "other.pem"}


def mail_channel(port: int, security: str = "starttls", *, host: str = "127.0.0.1", login: bool = True,
                 ca_file: Path | None = None) -> EmailChannel:
    return EmailChannel(type="email", host=host, port=port, security=security,  # type: ignore[arg-type]
                        username_env="TEST_FAULTS_USER" if login else None,
                        password_env="TEST_FAULTS_PASSWORD" if login else None,
                        sender="monitor@example.org", recipients=["analyst@example.org"], ca_file=ca_file)


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_FAULTS_USER", "analyst")
    monkeypatch.setenv("TEST_FAULTS_PASSWORD", "s3cret")


def deliver_mail(engine: Engine, channel: EmailChannel, clock: Clock | None = None) -> ChannelReport:
    clock = clock or Clock(T0)
    return Deliverer(engine, {"chan": EmailSender(channel, 5.0, clock)}, delivery(), clock).deliver_channel("chan")


def test_ca_file_is_trusted_on_top_of_the_system_cas(engine: Engine, rules: dict[str, Rule], pki: dict[str, Any],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # The server's CA stands for one the system trusts; ca_file names another (a private relay's, say).
    monkeypatch.setenv("SSL_CERT_FILE", str(pki["ours"]))
    queue(engine, rules, 1)
    with Server(tls=pki["server"], login=("analyst", "s3cret")) as server:
        report = deliver_mail(engine, mail_channel(server.port, ca_file=pki["other"]))
    assert report.sent == 1, report.errors
    assert len(server.messages) == 1


def test_a_refused_login_stops_the_round_after_one_attempt(engine: Engine, rules: dict[str, Rule],
                                                           pki: dict[str, Any], monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    monkeypatch.setenv("TEST_FAULTS_PASSWORD", "wrong")
    queue(engine, rules, 1, 2, 3)
    with Server(tls=pki["server"], login=("analyst", "s3cret")) as server:
        clock = Clock(T0)
        deliverer = Deliverer(engine, {"chan": EmailSender(mail_channel(server.port, ca_file=pki["ours"]), 5.0)},
                              delivery(), clock)
        report = deliverer.deliver_channel("chan")
        assert server.logins == 1  # one refused login, not one per queued alert (nor one per mechanism)
        assert report.dead == 1 and report.halted and "refused the login (535)" in report.halted
        assert deliverer.deliver_channel("chan").halted and server.logins == 1  # the next round does not log in
        clock.now += timedelta(seconds=100)  # backoff_max later it tries again, once
        deliverer.deliver_channel("chan")
        assert server.logins == 2
    assert [r.state for r in Outbox(engine).rows()] == [OutboxState.DEAD, OutboxState.DEAD, OutboxState.QUEUED]
    assert "refused the login" in (Outbox(engine).last_errors([OutboxState.DEAD])["chan"])


@pytest.mark.parametrize("case", ["untrusted", "no-starttls", "no-auth", "plain-remote"])
def test_configuration_errors_are_reported_at_once(engine: Engine, rules: dict[str, Rule], pki: dict[str, Any],
                                                   case: str) -> None:
    queue(engine, rules, 1, 2)
    expected = {"untrusted": "certificate not trusted", "no-starttls": "does not offer STARTTLS",
                "no-auth": "does not offer AUTH", "plain-remote": "would send the password unencrypted"}[case]
    if case == "untrusted":
        server = Server(tls=pki["server"], login=("analyst", "s3cret"))  # its CA is nowhere in our trust
    elif case == "no-starttls":
        server = Server()
    else:
        server = Server()  # offers AUTH only after STARTTLS, which it does not offer either
    with server:
        if case == "plain-remote":
            channel = mail_channel(1, "none", host="mail.example.org")  # refused before any connection
        else:
            channel = mail_channel(server.port, "none" if case == "no-auth" else "starttls")
        report = deliver_mail(engine, channel)
    assert report.dead == 1 and report.retrying == 0, report.errors
    assert report.halted is not None and expected in report.halted
    assert not report.halted.startswith("email:")  # `monitor` prints "<channel>: <error>": no doubled prefix
    assert server.messages == []
    (dead,) = [r for r in Outbox(engine).rows() if r.state == OutboxState.DEAD]
    assert expected in (dead.last_error or "")


def test_plain_login_to_a_loopback_server_is_allowed(engine: Engine, rules: dict[str, Rule]) -> None:
    queue(engine, rules, 1)
    with Server(login=("analyst", "s3cret"), auth_require_tls=False) as server:
        report = deliver_mail(engine, mail_channel(server.port, "none"))
    assert report.sent == 1, report.errors
    assert server.logins == 1


def test_the_date_is_the_send_time_and_the_mail_says_it_is_automatic(engine: Engine, rules: dict[str, Rule]
                                                                     ) -> None:
    queue(engine, rules, 1)  # created at T0
    clock = Clock(T0)
    clock.now = T0 + timedelta(hours=2)  # sent two hours later (the server was down meanwhile)
    with Server() as server:
        report = deliver_mail(engine, mail_channel(server.port, "none", login=False), clock)
    assert report.sent == 1, report.errors
    message = email.message_from_bytes(server.messages[0], policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    assert message["Date"].datetime == T0 + timedelta(hours=2)
    assert message["Auto-Submitted"] == "auto-generated"


def test_dead_reasons_name_the_channel_error(engine: Engine) -> None:
    outbox = Outbox(engine)
    item = outbox.enqueue(AlertOutbox(rule="r", story_key="s", channel="mail", kind="new", payload="{}",
                                      state=OutboxState.QUEUED, created_at=T0, next_attempt_at=T0,
                                      message_id="<x@y>"))
    assert item is not None
    outbox.mark_failed(item.id, "SMTP 127.0.0.1:587 refused the login (535)", None)
    assert outbox.last_errors([OutboxState.DEAD]) == {"mail": "SMTP 127.0.0.1:587 refused the login (535)"}


@pytest.fixture(autouse=True)
def _no_leftover_threads() -> Iterator[None]:
    before = set(threading.enumerate())
    yield
    leftover = [t for t in threading.enumerate() if t not in before and t.name.startswith("deliver")]
    assert not leftover


def test_monitor_health_names_the_reason_of_dead_alerts() -> None:
    from monitor.health import problems

    found = problems([], {}, {"mail": {"dead": 2, "queued": 1}}, now=T0, failures_before_alert=3,
                     dead_reasons={"mail": "SMTP 127.0.0.1:587: certificate not trusted"})
    assert found == ["channel mail: 2 alerts dead, the latest: SMTP 127.0.0.1:587: certificate not trusted "
                     "(see `monitor alerts list`, `monitor alerts retry`)"]


def test_alerts_of_a_text_archived_as_the_database_went_away_are_queued_when_it_answers_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The run archived the article, then lost the database before its rules ran: no restart is needed for its
    alert, the next delivery round queues and sends it."""
    snapshot = Snapshot(tmp_path / "site", Clock(datetime.now(UTC)))
    snapshot.add(1)
    with LocalSite(snapshot.root) as site, SlackSink(tmp_path / "slack.jsonl") as slack:
        monkeypatch.setenv("MONITOR_SLACK_WEBHOOK_URL", slack.url)
        config = daemon_settings(tmp_path, site.host_map([HOST]), smtp_port=_free_port(),
                                 daemon={"delivery_interval": 3600.0})
        with Services.open(config) as services:
            assert services.alerts is not None
            daemon = Daemon(services)
            real = services.alerts.on_article
            calls: list[str] = []

            def gone(*args: Any, **kwargs: Any) -> Any:
                calls.append("lost")
                raise StoreError("database test: alert outbox: queue alert: server closed the connection")

            monkeypatch.setattr(services.alerts, "on_article", gone)
            report = daemon.poll(config.sources[0])
            assert report.new == 1 and report.errors and calls == ["lost"]
            assert services.alerts.status() == {}  # archived, nothing queued
            monkeypatch.setattr(services.alerts, "on_article", real)
            delivered = daemon.deliver("slack")
            assert delivered is not None and delivered.sent == 1
            assert daemon.deliver("slack") is not None  # nothing left, nothing queued twice
        assert len(slack.requests) == 1 and "Lavrov on Ukraine" in json.dumps(slack.requests[0])

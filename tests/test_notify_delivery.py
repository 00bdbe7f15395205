"""Delivery against real local servers: a Slack stand-in on 127.0.0.1 (200, 429 + Retry-After, 500, hang) and
aiosmtpd; the outbox's uniqueness, digests, dead letters, and restarts in the middle of sending."""

from __future__ import annotations

import email
import email.policy
import json
import ssl
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine

from monitor.demo.sinks import SlackSink, SmtpSink
from monitor.model import Match, MatchedTerm
from monitor.notify import Deliverer, enqueue_matches, flush_digests
from monitor.notify.email import EmailSender
from monitor.notify.slack import SlackSender
from monitor.rules import Rule, parse_rules
from monitor.settings import DeliverySettings, EmailChannel
from monitor.store.outbox import Outbox, OutboxItem, OutboxState, create_outbox_tables

T0 = datetime(2026, 11, 23, 10, 0, 5, tzinfo=UTC)
HOOK_ENV = "TEST_MONITOR_SLACK_HOOK"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    engine = create_engine(f"sqlite:///{tmp_path / 'monitor.db'}")
    create_outbox_tables(engine)
    return engine


@pytest.fixture
def clock() -> Clock:
    return Clock()


RULES_TOML = """
[[rule]]
name = "lavrov-ukraine"
query = "Lavrov AND Ukrain*"
channels = ["slack", "email"]

[[rule]]
name = "with-updates"
query = "Lavrov"
channels = ["email"]
updates = true

[[rule]]
name = "daily"
query = "Kyiv"
channels = ["slack", "email"]
mode = "digest"
period = "1h"
"""


@pytest.fixture
def rules() -> dict[str, Rule]:
    return {r.name: r for r in parse_rules(RULES_TOML)}


def make_match(rule: str = "lavrov-ukraine", key: str = "rferl.org:1", headline: str = "Lavrov on Ukraine") -> Match:
    snippet = "Sergei Lavrov said Ukraine <b>&</b>"
    return Match(
        rule=rule, article_key=key, url=f"https://www.rferl.org/a/x/{key.split(':')[1]}.html", headline=headline,
        site="rferl.org", published=datetime(2026, 11, 23, 9, 30, tzinfo=UTC),
        terms=(MatchedTerm("Lavrov", "body", 7, 13, "Lavrov"), MatchedTerm("Ukrain*", "body", 19, 26, "Ukraine")),
        snippet=snippet, highlights=((7, 13), (19, 26)),
    )


def settings(**changes: float) -> DeliverySettings:
    values: dict[str, float] = {"max_attempts": 3, "backoff_base": 10.0, "backoff_max": 100.0, "timeout": 2.0}
    values.update(changes)
    return DeliverySettings(**values)  # type: ignore[arg-type]


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[SmtpSink]:
    with SmtpSink(tmp_path / "mail") as sink:
        yield sink


def email_sender(smtp: SmtpSink) -> EmailSender:
    channel = EmailChannel(type="email", host="127.0.0.1", port=smtp.port, security="none", username_env=None,
                           password_env=None, sender="monitor@example.org", recipients=["analyst@example.org"])
    return EmailSender(channel, timeout=5.0)


def slack_sender(sink: SlackSink, monkeypatch: pytest.MonkeyPatch, timeout: float = 2.0) -> SlackSender:
    monkeypatch.setenv(HOOK_ENV, sink.url)
    return SlackSender(HOOK_ENV, timeout)


def parse_mail(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


# --- Slack ------------------------------------------------------------------------------------------------


def test_slack_200_block_kit_message_escapes_article_text(tmp_path: Path, engine: Engine, clock: Clock,
                                                         rules: dict[str, Rule], monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    evil = "Lavrov <!channel> <@U123> & <https://evil.example|click> @here"
    enqueue_matches(Outbox(engine), [make_match(headline=evil)], {"lavrov-ukraine": rules["lavrov-ukraine"]},
                    story_key="story-1", now=clock())
    with SlackSink(tmp_path / "slack.jsonl") as sink:
        report = Deliverer(engine, {"slack": slack_sender(sink, monkeypatch)}, settings(), clock).deliver()
    assert report["slack"].sent == 1
    (payload,) = sink.requests
    dumped = json.dumps(payload)
    assert "<!channel>" not in dumped and "<@U123>" not in dumped and "<https://evil" not in dumped
    assert "link_names" not in payload
    headline_block = payload["blocks"][0]["text"]["text"]
    assert headline_block == ("*New:* *<https://www.rferl.org/a/x/1.html|Lavrov &lt;!channel&gt; &lt;@U123&gt; "
                              "&amp; &lt;https://evil.example¦click&gt; @here>*")
    context = payload["blocks"][1]["elements"][0]["text"]
    assert "rferl.org" in context and "2026-11-23 09:30 UTC" in context and "lavrov-ukraine" in context
    assert payload["blocks"][2]["text"]["text"] == "> Sergei *Lavrov* said *Ukraine* &lt;b&gt;&amp;&lt;/b&gt;"
    # email is not configured here
    assert [r.state for r in Outbox(engine).rows()] == [OutboxState.SENT, OutboxState.QUEUED]


def test_slack_429_honours_retry_after_and_holds_the_rest_of_the_channel(
        tmp_path: Path, engine: Engine, clock: Clock, rules: dict[str, Rule], monkeypatch: pytest.MonkeyPatch) -> None:
    only_slack = {"lavrov-ukraine": rules["lavrov-ukraine"]}
    for n in (1, 2):
        enqueue_matches(Outbox(engine), [make_match(key=f"rferl.org:{n}")], only_slack, story_key=f"s{n}", now=clock())
    answers = {1: (429, {"Retry-After": "7"}, 0.0)}
    with SlackSink(tmp_path / "slack.jsonl", lambda n: answers.get(n, (200, {}, 0.0))) as sink:
        deliverer = Deliverer(engine, {"slack": slack_sender(sink, monkeypatch)}, settings(), clock)
        report = deliverer.deliver_channel("slack")
        assert report.rate_limited and report.sent == 0 and "429" in report.errors[0]
        slack_rows = [r for r in Outbox(engine).rows() if r.channel == "slack"]
        assert [r.next_attempt_at for r in slack_rows] == [T0 + timedelta(seconds=7)] * 2
        assert [r.attempts for r in slack_rows] == [1, 0]  # the second was never tried
        clock.advance(6)
        assert deliverer.deliver_channel("slack").sent == 0  # still waiting
        clock.advance(1)
        assert deliverer.deliver_channel("slack").sent == 2
    assert len(sink.requests) == 2


def test_slack_500_backs_off_exponentially_then_dead_letter_then_retry(
        tmp_path: Path, engine: Engine, clock: Clock, rules: dict[str, Rule], monkeypatch: pytest.MonkeyPatch) -> None:
    enqueue_matches(Outbox(engine), [make_match()], {"lavrov-ukraine": rules["lavrov-ukraine"]}, story_key="s",
                    now=clock())
    failing = True
    with SlackSink(tmp_path / "slack.jsonl", lambda n: (500, {}, 0.0) if failing else (200, {}, 0.0)) as sink:
        deliverer = Deliverer(engine, {"slack": slack_sender(sink, monkeypatch)}, settings(), clock)
        waits = []
        for _ in range(3):
            deliverer.deliver_channel("slack")
            (row,) = [r for r in Outbox(engine).rows() if r.channel == "slack"]
            waits.append((row.next_attempt_at - clock()).total_seconds())
            clock.advance(1000)
        assert waits[:2] == [10.0, 20.0]
        assert row.state == OutboxState.DEAD and "HTTP 500" in (row.last_error or "")
        assert Outbox(engine).status_counts()["slack"] == {"dead": 1}
        failing = False
        assert Outbox(engine).retry_dead(clock(), channel="slack") == 1
        assert deliverer.deliver_channel("slack").sent == 1
    assert len(sink.requests) == 1
    assert Outbox(engine).status_counts()["slack"] == {"sent": 1}


def test_a_failing_channel_pauses_instead_of_trying_its_whole_queue(
        tmp_path: Path, engine: Engine, clock: Clock, rules: dict[str, Rule], monkeypatch: pytest.MonkeyPatch) -> None:
    only_slack = {"lavrov-ukraine": rules["lavrov-ukraine"]}
    for n in (1, 2, 3):
        enqueue_matches(Outbox(engine), [make_match(key=f"rferl.org:{n}")], only_slack, story_key=f"s{n}", now=clock())
    with SlackSink(tmp_path / "slack.jsonl", lambda n: (503, {}, 0.0)) as sink:
        report = Deliverer(engine, {"slack": slack_sender(sink, monkeypatch)}, settings(), clock).deliver()
    assert report["slack"].paused and report["slack"].retrying == 1 and not report["slack"].rate_limited
    slack_rows = [r for r in Outbox(engine).rows() if r.channel == "slack"]
    assert [r.attempts for r in slack_rows] == [1, 0, 0]
    assert {r.next_attempt_at for r in slack_rows} == {T0 + timedelta(seconds=10)}
    assert {r.state for r in slack_rows} == {OutboxState.QUEUED}


def test_slack_4xx_is_permanent(tmp_path: Path, engine: Engine, clock: Clock, rules: dict[str, Rule],
                                monkeypatch: pytest.MonkeyPatch) -> None:
    enqueue_matches(Outbox(engine), [make_match()], {"lavrov-ukraine": rules["lavrov-ukraine"]}, story_key="s",
                    now=clock())
    with SlackSink(tmp_path / "slack.jsonl", lambda n: (404, {}, 0.0)) as sink:
        report = Deliverer(engine, {"slack": slack_sender(sink, monkeypatch)}, settings(), clock).deliver()
    assert report["slack"].dead == 1


@pytest.mark.slow
def test_a_hanging_slack_times_out_without_delaying_email(tmp_path: Path, engine: Engine, clock: Clock,
                                                          rules: dict[str, Rule], smtp: SmtpSink,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    enqueue_matches(Outbox(engine), [make_match()], rules, story_key="s", now=clock())
    release = threading.Event()
    emailed = threading.Event()

    def hang(n: int) -> tuple[int, dict[str, str], float]:
        # Slack gives no answer before the email is out (nor for 10 s after): were email waiting behind Slack, it
        # would only go out once Slack's request had timed out.
        emailed.wait(30)
        return (200, {}, 0.0) if release.is_set() else (200, {}, 10.0)

    with SlackSink(tmp_path / "slack.jsonl", hang) as sink:
        finished: list[str] = []

        class Recorded:
            def __init__(self, name: str, inner: SlackSender | EmailSender) -> None:
                self.name, self.inner = name, inner

            def send(self, item: OutboxItem) -> str | None:
                try:
                    return self.inner.send(item)
                finally:
                    finished.append(self.name)
                    if self.name == "email":
                        emailed.set()

        senders = {"slack": Recorded("slack", slack_sender(sink, monkeypatch, timeout=3.0)),
                   "email": Recorded("email", email_sender(smtp))}
        report = Deliverer(engine, senders, settings(), clock).deliver()
        release.set()
        emailed.set()
    assert report["email"].sent == 1 and report["slack"].retrying == 1
    assert "no answer within 3s" in report["slack"].errors[0]
    assert finished == ["email", "slack"]
    assert len(smtp.messages) == 1


# --- email ------------------------------------------------------------------------------------------------


def test_email_multipart_with_message_id_and_update_threads_under_first(
        engine: Engine, clock: Clock, rules: dict[str, Rule], smtp: SmtpSink) -> None:
    only = {"with-updates": rules["with-updates"]}
    enqueue_matches(Outbox(engine), [make_match("with-updates")], only, story_key="story-9", now=clock())
    # A revision of the same story: the rule asks for updates.
    clock.advance(60)
    enqueue_matches(Outbox(engine),
                    [make_match("with-updates", headline="Lavrov on\r\nBcc: x@evil.example Ukraine (updated)")], only,
                    story_key="story-9", revision="rev-2", now=clock())
    report = Deliverer(engine, {"email": email_sender(smtp)}, settings(), clock).deliver()
    assert report["email"].sent == 2
    first, update = (parse_mail(m) for m in smtp.messages)
    assert first["Message-ID"].startswith("<") and first["Message-ID"].endswith("@monitor.invalid>")
    assert first["In-Reply-To"] is None
    assert update["In-Reply-To"] == first["Message-ID"] and update["References"] == first["Message-ID"]
    assert update["Subject"].strip() == "Re: [monitor] with-updates: Lavrov on Bcc: x@evil.example Ukraine (updated)"
    assert update["Bcc"] is None  # a headline cannot add a header
    assert first.get_content_type() == "multipart/alternative"
    text = first.get_body(("plain",))
    html = first.get_body(("html",))
    assert text is not None and html is not None
    assert "Sergei [Lavrov] said [Ukraine]" in text.get_content()
    html_text = html.get_content()
    assert "<mark>Lavrov</mark>" in html_text and "&lt;b&gt;&amp;&lt;/b&gt;" in html_text
    assert '<a href="https://www.rferl.org/a/x/1.html">' in html_text
    assert [r.provider_id for r in Outbox(engine).rows()] == [first["Message-ID"], update["Message-ID"]]


def test_email_server_down_is_transient(engine: Engine, clock: Clock, rules: dict[str, Rule]) -> None:
    enqueue_matches(Outbox(engine), [make_match("with-updates")], {"with-updates": rules["with-updates"]},
                    story_key="s", now=clock())
    channel = EmailChannel(type="email", host="127.0.0.1", port=1, security="none", username_env=None,
                           password_env=None, recipients=["a@example.org"])
    report = Deliverer(engine, {"email": EmailSender(channel, 2.0)}, settings(), clock).deliver()
    assert report["email"].retrying == 1 and "127.0.0.1:1" in report["email"].errors[0]


# --- at most one alert per rule, story and channel -----------------------------------------------------------


def test_same_story_on_another_site_or_revised_gives_no_second_new_alert(engine: Engine, clock: Clock,
                                                                         rules: dict[str, Rule]) -> None:
    lu = {"lavrov-ukraine": rules["lavrov-ukraine"]}
    outbox = Outbox(engine)
    assert len(enqueue_matches(outbox, [make_match(key="rferl.org:1")], lu, story_key="story-1", now=clock())) == 2
    # The same story found on another site (the store linked both articles to story-1):
    assert enqueue_matches(outbox, [make_match(key="svoboda.org:77")], lu, story_key="story-1", now=clock()) == []
    # A revision, and the rule does not ask for updates:
    assert enqueue_matches(outbox, [make_match()], lu, story_key="story-1", revision="rev-2", now=clock()) == []
    # A different story is a new alert.
    assert len(enqueue_matches(outbox, [make_match(key="rferl.org:2")], lu, story_key="story-2", now=clock())) == 2
    assert len(Outbox(engine).rows()) == 4


def test_updates_are_sent_once_per_revision(engine: Engine, clock: Clock, rules: dict[str, Rule]) -> None:
    wu = {"with-updates": rules["with-updates"]}
    enqueue_matches(Outbox(engine), [make_match("with-updates")], wu, story_key="s", now=clock())
    assert len(enqueue_matches(Outbox(engine), [make_match("with-updates")], wu, story_key="s", revision="r2")) == 1
    assert enqueue_matches(Outbox(engine), [make_match("with-updates")], wu, story_key="s", revision="r2") == []
    assert [r.kind for r in Outbox(engine).rows()] == ["new", "update"]


# --- digests ----------------------------------------------------------------------------------------------


def test_digest_one_message_per_channel_per_period(tmp_path: Path, engine: Engine, clock: Clock,
                                                   rules: dict[str, Rule], smtp: SmtpSink,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    daily = {"daily": rules["daily"]}
    outbox = Outbox(engine)
    periods = {"daily": rules["daily"].period}
    enqueue_matches(outbox, [make_match("daily", key="rferl.org:1", headline="Kyiv one")], daily, story_key="a",
                    now=clock())
    enqueue_matches(outbox, [make_match("daily", key="dw.com:a-2", headline="Kyiv two")], daily, story_key="b",
                    now=clock())
    assert flush_digests(outbox, clock(), periods=periods) == []  # the hour is not over
    clock.advance(3600)
    digests = flush_digests(outbox, clock(), periods=periods)
    assert sorted(d.channel for d in digests) == ["email", "slack"]
    assert flush_digests(outbox, clock(), periods=periods) == []  # once per period
    with SlackSink(tmp_path / "slack.jsonl") as sink:
        senders = {"slack": slack_sender(sink, monkeypatch), "email": email_sender(smtp)}
        report = Deliverer(engine, senders, settings(), clock).deliver()
    assert report["slack"].sent == 1 and report["email"].sent == 1
    (payload,) = sink.requests
    assert payload["blocks"][0]["text"]["text"] == "Digest: 2 matches"
    # The period it covers, and per entry the matched words and the snippet, as an immediate alert shows them.
    assert payload["blocks"][1]["elements"][0]["text"] == "2026-11-23 10:00–11:00 UTC"
    entry = payload["blocks"][2]["text"]["text"]
    assert "Kyiv one" in entry and "matched: Lavrov, Ukraine" in entry
    assert "> Sergei *Lavrov* said *Ukraine*" in entry
    assert "Kyiv two" in json.dumps(payload)
    mail = parse_mail(smtp.messages[0])
    assert mail["Subject"] == "[monitor] digest: 2 matches (daily), 2026-11-23 10:00–11:00 UTC"
    text = mail.get_body(("plain",))
    html_part = mail.get_body(("html",))
    assert text is not None and html_part is not None
    plain, rich = text.get_content(), html_part.get_content()
    assert plain.startswith("Digest: 2 matches (daily), 2026-11-23 10:00–11:00 UTC")
    assert plain.count("matched: Lavrov, Ukraine") == 2 and "Sergei [Lavrov] said [Ukraine]" in plain
    assert "matched: Lavrov, Ukraine" in rich and "<mark>Lavrov</mark>" in rich
    states = sorted(r.state for r in outbox.rows())
    assert states == ["digested"] * 4 + ["sent"] * 2


def test_a_digest_says_its_period_without_the_rules_periods(engine: Engine, clock: Clock,
                                                            rules: dict[str, Rule]) -> None:
    from monitor.notify.content import content_of

    outbox = Outbox(engine)
    enqueue_matches(outbox, [make_match("daily")], {"daily": rules["daily"]}, story_key="a", now=clock())
    clock.advance(3600)
    (digest, _) = flush_digests(outbox, clock())
    # From its first entry (10:00:05) to the end of the period.
    assert content_of(digest).period == (T0, datetime(2026, 11, 23, 11, 0, tzinfo=UTC))


# --- restarts in the middle of sending ----------------------------------------------------------------------


class Crash(BaseException):
    """Stands in for the process dying: nothing after it runs, nothing catches it."""


def test_restart_between_stored_and_sent_loses_nothing(tmp_path: Path, engine: Engine, clock: Clock,
                                                       rules: dict[str, Rule], monkeypatch: pytest.MonkeyPatch) -> None:
    enqueue_matches(Outbox(engine), [make_match()], {"lavrov-ukraine": rules["lavrov-ukraine"]}, story_key="s",
                    now=clock())
    with SlackSink(tmp_path / "slack.jsonl") as sink:
        real = slack_sender(sink, monkeypatch)

        class DiesBeforeSending:
            def send(self, item: OutboxItem) -> str | None:
                raise Crash

        with pytest.raises(Crash):
            Deliverer(engine, {"slack": DiesBeforeSending()}, settings(), clock).deliver_channel("slack")
        assert [r.state for r in Outbox(engine).rows() if r.channel == "slack"] == [OutboxState.SENDING]
        # The restarted sender:
        restarted = Deliverer(engine, {"slack": real}, settings(), clock)
        assert restarted.recover() == 1
        assert restarted.deliver_channel("slack").sent == 1
        assert restarted.deliver_channel("slack").sent == 0
    assert len(sink.requests) == 1


def test_restart_between_sent_and_recorded_gives_at_most_one_duplicate(
        tmp_path: Path, engine: Engine, clock: Clock, rules: dict[str, Rule], smtp: SmtpSink,
        monkeypatch: pytest.MonkeyPatch) -> None:
    enqueue_matches(Outbox(engine), [make_match()], {"lavrov-ukraine": rules["lavrov-ukraine"]}, story_key="s",
                    now=clock())
    with SlackSink(tmp_path / "slack.jsonl") as sink:
        senders = {"slack": slack_sender(sink, monkeypatch), "email": email_sender(smtp)}

        def dies_before_recording(*args: object, **kwargs: object) -> None:
            raise Crash

        with monkeypatch.context() as patch:
            patch.setattr(Outbox, "mark_sent", dies_before_recording)
            for channel in senders:
                with pytest.raises(Crash):
                    Deliverer(engine, senders, settings(), clock).deliver_channel(channel)
        assert len(sink.requests) == 1 and len(smtp.messages) == 1  # sent, but not recorded
        restarted = Deliverer(engine, senders, settings(), clock)
        assert restarted.recover() == 2
        assert {k: r.sent for k, r in restarted.deliver().items()} == {"slack": 1, "email": 1}
        for _ in range(2):  # and never again
            clock.advance(3600)
            restarted.recover()
            assert {k: r.sent for k, r in restarted.deliver().items()} == {"slack": 0, "email": 0}
    assert len(sink.requests) == 2 and len(smtp.messages) == 2  # exactly one duplicate each
    # The email twin carries the same Message-ID, so a mail client shows it once.
    assert len({parse_mail(m)["Message-ID"] for m in smtp.messages}) == 1
    assert {r.state for r in Outbox(engine).rows()} == {OutboxState.SENT}


# --- SMTP security: STARTTLS and implicit TLS, credentials from the environment --------------------------------


class _Collect:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        self.messages.append(envelope.original_content or envelope.content)  # type: ignore[attr-defined]
        return "250 OK"


def _authenticator(expected: tuple[str, str]) -> object:
    from aiosmtpd.smtp import AuthResult, LoginPassword

    def check(server: object, session: object, envelope: object, mechanism: str, auth_data: object) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (
            auth_data.login.decode(), auth_data.password.decode()) == expected
        return AuthResult(success=ok, handled=False)

    return check


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_email_over_starttls_and_tls_with_login_from_environment(
        tmp_path: Path, engine: Engine, clock: Clock, rules: dict[str, Rule], security: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    trustme = pytest.importorskip("trustme")
    from aiosmtpd.controller import Controller

    from monitor.demo.sinks import _free_port

    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    handler = _Collect()
    port = _free_port()
    options: dict[str, object] = {"authenticator": _authenticator(("analyst", "s3cret"))}
    if security == "starttls":
        options.update(tls_context=server_context, require_starttls=True, auth_require_tls=True)
    else:
        # aiosmtpd only counts STARTTLS as TLS when it decides whether to offer AUTH.
        options.update(ssl_context=server_context, auth_require_tls=False)
    controller = Controller(handler, hostname="127.0.0.1", port=port, ready_timeout=10, **options)
    controller.start()
    try:
        monkeypatch.setenv("TEST_SMTP_USER", "analyst")
        monkeypatch.setenv("TEST_SMTP_PASSWORD", "s3cret")
        channel = EmailChannel(type="email", host="127.0.0.1", port=port, security=security,  # type: ignore[arg-type]
                               username_env="TEST_SMTP_USER", password_env="TEST_SMTP_PASSWORD",
                               recipients=["analyst@example.org"], ca_file=ca_file)
        enqueue_matches(Outbox(engine), [make_match("with-updates")], {"with-updates": rules["with-updates"]},
                        story_key="s", now=clock())
        report = Deliverer(engine, {"email": EmailSender(channel, 5.0)}, settings(), clock).deliver()
        assert report["email"].sent == 1, report["email"].errors
        assert len(handler.messages) == 1
        # A wrong password is refused, and that is permanent: no point retrying until someone fixes it.
        monkeypatch.setenv("TEST_SMTP_PASSWORD", "wrong")
        enqueue_matches(Outbox(engine), [make_match("with-updates")], {"with-updates": rules["with-updates"]},
                        story_key="s2", now=clock())
        report = Deliverer(engine, {"email": EmailSender(channel, 5.0)}, settings(), clock).deliver()
        assert report["email"].dead == 1 and "refused the login" in report["email"].errors[0]
    finally:
        controller.stop()

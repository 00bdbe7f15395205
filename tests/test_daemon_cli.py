"""``monitor run``, ``status`` and ``health`` as an operator uses them: real processes against a local site, local
Slack and SMTP stand-ins. SIGTERM mid-run leaves a consistent archive and a restart finishes the rest, each article
archived and alerted once; a second daemon on the same database refuses to start; ``health`` exits 0 only while a
daemon runs and every source is well; the JSON log has one line per run with its counts; no secret reaches a log or
the status output."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from monitor.cli import app
from monitor.demo.sinks import SlackSink, SmtpSink
from monitor.lock import DaemonLock
from monitor.settings import Settings, StorageSettings
from monitor.store import Store
from monitor.store.engine import database_url
from tests._daemon_support import FEED_PATH, ROOT, Clock, Snapshot, settings, source
from tests._localsite import Fault, Gate, LocalSite
from tests._synth import HOST, article_path

pytestmark = pytest.mark.slow

ARTICLES = 24


def to_toml(settings: Settings) -> str:
    """The settings as a config file (only what the tests set: scalars, lists of scalars, tables, sources)."""

    def value(v: Any) -> str:
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{json.dumps(k)} = {value(x)}" for k, x in v.items()) + " }"
        return json.dumps(v)

    def table(name: str, data: dict[str, Any]) -> list[str]:
        lines = [f"[{name}]"]
        nested: list[str] = []
        for key, v in data.items():
            if v is None:
                continue
            if isinstance(v, dict) and v and all(isinstance(x, dict) for x in v.values()):
                for sub, x in v.items():
                    nested += table(f"{name}.{key}.{sub}", x)
            elif isinstance(v, dict) and key == "delivery":
                nested += table(f"{name}.{key}", v)
            else:
                lines.append(f"{key} = {value(v)}")
        return lines + nested

    data = settings.model_dump(mode="json")
    lines: list[str] = []
    for section in ("http", "storage", "alerts", "daemon"):
        lines += table(section, data[section])
    for src in data["sources"]:
        lines += ["[[sources]]", *(f"{k} = {value(v)}" for k, v in src.items())]
    return "\n".join(lines) + "\n"


class Operator:
    """Runs the monitor commands on one config file: in a child process (the daemon) or in-process (CliRunner)."""

    def __init__(self, tmp: Path, config: Settings, env: dict[str, str]) -> None:
        self.path = tmp / "monitor.toml"
        self.path.write_text(to_toml(config), encoding="utf-8")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
        self.env.update({"MONITOR_CONFIG": str(self.path), "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT), **env})

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, "-m", "monitor", "run", *args], env=self.env, cwd=ROOT, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def cli(self, *args: str) -> Result:
        return CliRunner().invoke(app, list(args), env=self.env)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def sinks(tmp_path: Path) -> Iterator[tuple[SlackSink, SmtpSink]]:
    with SlackSink(tmp_path / "slack.jsonl") as slack, SmtpSink(tmp_path / "mail") as smtp:
        yield slack, smtp


def _json_lines(stderr: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


def test_sigterm_mid_run_then_restart_archives_and_alerts_each_article_once(
        tmp_path: Path, sinks: tuple[SlackSink, SmtpSink]) -> None:
    slack, smtp = sinks
    snapshot = Snapshot(tmp_path / "site", Clock(datetime.now(UTC)))
    snapshot.add(*range(ARTICLES))
    with LocalSite(snapshot.root) as site:
        # Five pages are served, then each page asked for waits until the test lets it go: the run is still going
        # while a second daemon starts up, however long that takes.
        gate = Gate(free=5)
        for n in range(ARTICLES):
            site.fault(HOST, article_path(n), Fault(hold=gate))
        listen = f"127.0.0.1:{_free_port()}"
        config = settings(tmp_path, site.host_map([HOST]), smtp_port=smtp.port,
                          sources=[source(interval=3600.0, quiet_hours=48.0)],
                          daemon={"delivery_interval": 0.3, "log_format": "json", "health_listen": listen})
        operator = Operator(tmp_path, config, {"MONITOR_SLACK_WEBHOOK_URL": slack.url})

        def pages_served() -> int:
            return sum(1 for r in site.requests(HOST) if r.path != FEED_PATH and r.status == 200)

        first = operator.start()
        try:
            _wait(lambda: gate.reached.is_set() or first.poll() is not None, 60, "the daemon to fetch articles")
            assert first.poll() is None, first.communicate()[1]
            # A second daemon on the same database: refused, with a message naming the holder.
            second = operator.start("--cycles", "1")
            _, err = second.communicate(timeout=120)
            assert second.returncode == 2, err
            assert "another monitor daemon (pid " in err and "is already running on this database" in err, err
            assert first.poll() is None, "the refused daemon must not disturb the running one"
            assert pages_served() == 5
            first.send_signal(signal.SIGTERM)
            gate.open()  # the pages in flight are answered; the daemon stops after their articles
            _, err = first.communicate(timeout=60)
        finally:
            gate.open()
            if first.poll() is None:
                first.kill()
        assert first.returncode == 0, err
        runs = [line for line in _json_lines(err) if line.get("event") == "source_run"]
        assert len(runs) == 1 and runs[0]["interrupted"] is True and runs[0]["source"] == "voa"
        archived = runs[0]["new"]
        assert 5 <= archived < ARTICLES

        # Consistent: every row has its files, every file its row, no temporary file is left.
        verified = operator.cli("archive", "verify")
        assert verified.exit_code == 0, verified.output
        assert not [p for p in (tmp_path / "archive").rglob(".tmp-*")]
        with Store.open(StorageSettings(archive_root=tmp_path / "archive"), upgrade=False) as store:
            assert store.counts()["articles"] == archived

        # Not running: unhealthy.
        down = operator.cli("health")
        assert down.exit_code == 1 and "the daemon is not running" in down.output

        # The restart finishes the rest; `health` says healthy while it runs and its first run is done.
        site.clear_faults()
        restarted = operator.start()
        try:
            _wait(lambda: operator.cli("health").exit_code == 0, 60, "monitor health to report healthy")
            _wait(lambda: len(slack.requests) >= ARTICLES and len(smtp.messages) >= ARTICLES, 30,
                  "every alert to be delivered")
            status = operator.cli("status", "--json")
            assert status.exit_code == 0, status.output
            # The daemon's own endpoint agrees, and counts the run.
            with urllib.request.urlopen(f"http://{listen}/healthz", timeout=5) as answer:
                assert answer.status == 200 and json.load(answer) == {"ok": True, "problems": []}
            with urllib.request.urlopen(f"http://{listen}/metrics", timeout=5) as answer:
                metrics = answer.read().decode()
            assert 'monitor_source_runs_total{outcome="ok",source="voa"} 1.0' in metrics
            assert 'monitor_alerts_sent_total{channel="slack"} ' in metrics
            table = operator.cli("status")
            restarted.send_signal(signal.SIGTERM)
            _out, err = restarted.communicate(timeout=30)
        finally:
            if restarted.poll() is None:
                restarted.kill()
        assert restarted.returncode == 0, err

    with Store.open(StorageSettings(archive_root=tmp_path / "archive"), upgrade=False) as store:
        counts = store.counts()
    assert counts["articles"] == ARTICLES and counts["revisions"] == ARTICLES
    headlines = [str(r["text"]) for r in slack.requests]
    subjects = [str(message_from_bytes(m, policy=policy.default)["Subject"]) for m in smtp.messages]
    for n in range(ARTICLES):
        assert sum(f"story {n} edit 0" in h for h in headlines) == 1, n
        assert sum(f"story {n} edit 0" in s for s in subjects) == 1, n
    assert len(headlines) == ARTICLES and len(subjects) == ARTICLES
    assert operator.cli("archive", "verify").exit_code == 0

    state = json.loads(status.output)
    (voa,) = state["sources"]
    assert voa["source"] == "voa" and voa["last_run"] and voa["last_success"] and voa["problem"] is None
    assert voa["articles_today"] == ARTICLES
    assert voa["last_run_counts"]["new"] == ARTICLES - archived
    assert state["problems"] == []
    assert set(state["outbox"]) == {"slack", "email"}
    assert "voa" in table.output and "alert outbox" in table.output


def test_status_and_health_name_what_is_wrong(tmp_path: Path, sinks: tuple[SlackSink, SmtpSink],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from monitor.scheduler import Daemon
    from monitor.services import Services

    slack, smtp = sinks
    snapshot = Snapshot(tmp_path / "site", Clock(datetime.now(UTC)))
    snapshot.add(1)
    with LocalSite(snapshot.root) as site:
        config = settings(tmp_path, site.host_map([HOST]), smtp_port=smtp.port,
                          daemon={"failures_before_alert": 1})
        operator = Operator(tmp_path, config, {"MONITOR_SLACK_WEBHOOK_URL": slack.url})
        monkeypatch.setenv("MONITOR_SLACK_WEBHOOK_URL", slack.url)
        with DaemonLock(database_url(config.storage)):  # "the daemon runs"
            with Services.open(config) as services:
                never = operator.cli("health")
                assert never.exit_code == 1 and "unhealthy: source voa: never polled" in never.output
                Daemon(services).cycle()
            healthy = operator.cli("health")
            assert (healthy.exit_code, healthy.output) == (0, "healthy\n")

            site.fault(HOST, FEED_PATH, Fault(status=503))
            with Services.open(config) as services:
                Daemon(services).cycle()
            failing = operator.cli("health")
            assert failing.exit_code == 1
            assert "unhealthy: source voa: failing: feed unavailable: HTTP 503" in failing.output
            status = operator.cli("status", "--json")
            voa = json.loads(status.output)["sources"][0]
            assert voa["consecutive_failures"] == 1 and voa["problem"] == "failing"
            assert "HTTP 503" in voa["last_error"]

            # Healed, but the alert channel is dead: a dead letter is unhealthy too.
            site.clear_faults()
            slack.responder = lambda n: (404, {}, 0.0)
            snapshot.add(2)
            with Services.open(config) as services:
                Daemon(services).cycle()
            dead = operator.cli("health")
            assert dead.exit_code == 1, dead.output
            assert "channel slack: " in dead.output and "dead" in dead.output
            assert "source voa" not in dead.output
            text = operator.cli("status")
            assert text.exit_code == 0 and "problem:" in text.output and "channel slack" in text.output


SLACK_SECRET = "T0SECRET/B0SECRET/xoxSECRETwebhook9f3a"
SMTP_SECRET = "pa55-SECRET-smtp-7c1e"


def test_secrets_never_reach_the_log_or_the_status(tmp_path: Path, sinks: tuple[SlackSink, SmtpSink]) -> None:
    slack, smtp = sinks
    slack.responder = lambda n: (500, {}, 0.0)  # every Slack delivery fails (and is logged)
    snapshot = Snapshot(tmp_path / "site", Clock(datetime.now(UTC)))
    snapshot.add(1, 2)
    with LocalSite(snapshot.root) as site:
        config = settings(tmp_path, site.host_map([HOST]), smtp_port=smtp.port,
                          daemon={"log_format": "json"})
        # The email channel logs in (the local SMTP server offers no AUTH without TLS: the login fails).
        data = config.model_dump()
        data["alerts"]["channels"]["email"].update(username_env="MONITOR_SMTP_USERNAME",
                                                   password_env="MONITOR_SMTP_PASSWORD")
        config = Settings(**data)
        webhook = f"{slack.url.rstrip('/')}/{SLACK_SECRET}"
        operator = Operator(tmp_path, config, {"MONITOR_SLACK_WEBHOOK_URL": webhook,
                                               "MONITOR_SMTP_USERNAME": "monitor",
                                               "MONITOR_SMTP_PASSWORD": SMTP_SECRET})
        run = operator.start("--cycles", "1")
        out, err = run.communicate(timeout=60)
    assert run.returncode == 0, err
    lines = _json_lines(err)
    assert len(lines) == len(err.strip().splitlines()), "every log line is JSON"
    (voa,) = [line for line in lines if line.get("event") == "source_run"]
    assert {k: voa[k] for k in ("discovered", "fetched", "new", "revised", "alerts", "errors")} == {
        "discovered": 2, "fetched": 2, "new": 2, "revised": 0, "alerts": 4, "errors": 0}
    assert voa["level"] == "info" and voa["source"] == "voa" and "seconds" in voa
    deliveries = [line["message"] for line in lines if line["message"].startswith("channel=")]
    assert any("channel=slack" in d and "error=" in d for d in deliveries), deliveries
    assert any("channel=email" in d and "error=" in d for d in deliveries), deliveries
    status = operator.cli("status")
    status_json = operator.cli("status", "--json")
    health = operator.cli("health")
    for text in (out, err, status.output, status_json.output, health.output):
        assert SLACK_SECRET not in text and "SECRET" not in text
        assert SMTP_SECRET not in text

"""Fault campaign: ``python -m benchmarks.faults`` (or ``make faults``) kills and starves the monitor and checks that
nothing is lost or doubled.

Four parts, each against local servers only (a :class:`tests._localsite.LocalSite` snapshot of synthetic
www.voanews.com articles that the shipped Lavrov/Ukraine rule alerts on, each its own story, and a local Slack
webhook sink), each printing its figures and the guarantee it checks:

- ``ingest``: ``monitor run`` SIGKILLed at random points (after a random number of pages served) while it archives
  ``--articles`` (600) articles, restarted each time; then one clean ``--cycles 1`` run. Every article archived
  once, every alert delivered once (at most one extra copy per kill), ``monitor archive verify`` clean without
  ``--repair``.
- ``schema``: ``monitor db upgrade`` on a new SQLite database SIGKILLed at a random moment after ``monitor.db``
  appears; then ``monitor db upgrade`` and ``monitor status`` must both work.
- ``delivery``: alerts queued while the webhook is unreachable, then ``monitor run`` SIGKILLed at random points
  while it delivers them: no alert lost, at most one extra copy per kill.
- ``outage``: a throwaway PostgreSQL cluster of its own (``initdb``/``pg_ctl``; skipped where they are absent) stopped
  while the daemon delivers through a slow webhook, and started again: every alert delivered within two delivery
  intervals of the database coming back, without a restart, and a clean exit on SIGTERM afterwards.

Exit status 1 when any guarantee failed. ``--kills`` (20) and ``--articles`` (600) set the size; ``--only`` picks parts.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from monitor.demo.sinks import Responder, SlackSink
from tests._daemon_support import FEED_URL, Clock, Snapshot
from tests._localsite import LocalSite
from tests._synth import HOST, article_id

ROOT = Path(__file__).resolve().parent.parent
WEBHOOK_ENV = "MONITOR_SLACK_WEBHOOK_URL"
PARTS = ("ingest", "schema", "delivery", "outage")
# Each synthetic article is its own story about Lavrov and Ukraine: one alert per article.
RULES = """
[[rule]]
name = "faults"
query = "Lavrov AND Ukraine"
channels = ["slack"]
"""


@dataclass
class Outcome:
    """One part's figures and whether its guarantees held."""

    name: str
    figures: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def check(self, ok: bool, what: str) -> None:
        if not ok:
            self.failures.append(what)

    def show(self) -> None:
        verdict = "ok" if not self.failures else "FAILED"
        print(f"faults {self.name}: {verdict}")
        for line in self.figures:
            print(f"  {line}")
        for line in self.failures:
            print(f"  failed: {line}")


# --- the monitor under test --------------------------------------------------------------------------------------


def _toml(value: object) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + " }"
    return json.dumps(value)


def write_config(workdir: Path, host_map: dict[str, str], *, database_url: str | None = None,
                 delivery_interval: float = 0.5, interval: float = 3600.0) -> Path:
    """A config file for one source (the snapshot's feed) alerting the local Slack sink with the shipped rules."""
    storage: dict[str, object] = {"archive_root": str(workdir / "archive"), "fsync": False}
    if database_url:
        storage["url"] = database_url
    sections: dict[str, dict[str, object]] = {
        "http": {"host_map": host_map, "min_delay": 0.0, "retries": 0, "backoff_base": 0.01, "backoff_max": 1.0,
                 "host_failures": 1000, "read_timeout": 5.0},
        "storage": storage,
        "alerts": {"rules_file": str(workdir / "rules.toml"), "operations_channel": "slack"},
        "alerts.delivery": {"backoff_base": 0.0, "backoff_max": 0.0, "timeout": 5.0},
        "alerts.channels.slack": {"type": "slack", "webhook_url_env": WEBHOOK_ENV},
        "daemon": {"delivery_interval": delivery_interval, "log_format": "json"},
    }
    lines: list[str] = []
    for name, values in sections.items():
        lines.append(f"[{name}]")
        lines += [f"{key} = {_toml(value)}" for key, value in values.items()]
    lines += ["[[sources]]", 'name = "voa"', f"site = {json.dumps(HOST)}", f"feeds = [{json.dumps(FEED_URL)}]",
              f"interval = {interval}", "jitter = 0.0", "quiet_hours = 48.0"]
    (workdir / "rules.toml").write_text(RULES, encoding="utf-8")
    path = workdir / "monitor.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class Monitor:
    """``python -m monitor`` on one config file, in child processes."""

    def __init__(self, config: Path, webhook: str) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
        self.env.update({"MONITOR_CONFIG": str(config), "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT),
                         WEBHOOK_ENV: webhook})
        self.logs = config.parent / "logs"
        self.logs.mkdir(exist_ok=True)
        self.started = 0

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        self.started += 1
        log = (self.logs / f"{self.started:03d}-{args[0]}.log").open("wb")
        try:
            return subprocess.Popen([sys.executable, "-m", "monitor", *args], env=self.env, cwd=ROOT,
                                    stdout=log, stderr=subprocess.STDOUT)
        finally:
            log.close()

    def run(self, *args: str, timeout: float = 600.0) -> tuple[int, str]:
        process = self.start(*args)
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            code = -9
        return code, self.last_log()

    def last_log(self) -> str:
        return (self.logs / sorted(p.name for p in self.logs.iterdir())[-1]).read_text(errors="replace")

    def tracebacks(self) -> int:
        return sum(p.read_text(errors="replace").count("Traceback") for p in self.logs.iterdir())


class Exited(Exception):
    """A monitor process ended by itself with an error before it could be killed."""


def kill(process: subprocess.Popen[bytes], monitor: Monitor) -> bool:
    """SIGKILL; True when the process was still running (the kill landed)."""
    if process.poll() is not None:
        if process.returncode != 0:
            raise Exited(f"exit {process.returncode}: {monitor.last_log().strip()[-400:]}")
        return False
    process.send_signal(signal.SIGKILL)
    process.wait()
    return True


def wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def delivered(sink: SlackSink) -> Counter[str]:
    """Alerts received per article id (the synthetic article ids are in the alert's link)."""
    counts: Counter[str] = Counter()
    for payload in list(sink.requests):
        text = json.dumps(payload)
        for token in text.replace("/", " ").replace(".html", " ").split():
            if token.isdigit() and len(token) == 7 and token.startswith("9"):
                counts[token] += 1
                break
    return counts


def archived_rows(database: Path) -> tuple[int, int]:
    """(articles, distinct canonical URLs) in a SQLite database."""
    with sqlite3.connect(database) as db:
        articles = db.execute("SELECT count(*) FROM articles").fetchone()[0]
        urls = db.execute("SELECT count(DISTINCT url) FROM article_urls").fetchone()[0]
    return int(articles), int(urls)


def alert_figures(outcome: Outcome, sink: SlackSink, expected: list[str], kills: int) -> None:
    counts = delivered(sink)
    lost = [n for n in expected if counts[n] == 0]
    extra = sum(max(0, counts[n] - 1) for n in expected)
    outcome.figures.append(f"alerts: {len(expected)} expected, {sum(counts.values())} received, {len(lost)} lost, "
                           f"{extra} extra copies (allowed: at most {kills}, one per kill)")
    outcome.check(not lost, f"{len(lost)} alerts never delivered (articles {', '.join(lost[:5])} ...)")
    outcome.check(extra <= kills, f"{extra} extra alert copies for {kills} kills")


# --- the parts ---------------------------------------------------------------------------------------------------


def _site(workdir: Path, articles: int) -> tuple[Snapshot, list[str]]:
    """A local site serving ``articles`` synthetic articles, and their ids (what every part expects archived)."""
    snapshot = Snapshot(workdir / "site", Clock(datetime.now(UTC)))
    snapshot.add(*range(articles))
    return snapshot, [article_id(n) for n in range(articles)]


def ingest_part(workdir: Path, kills: int, articles: int, rng: random.Random) -> Outcome:
    outcome = Outcome("ingest")
    snapshot, expected = _site(workdir, articles)
    with LocalSite(snapshot.root) as site, SlackSink(workdir / "slack.jsonl") as sink:
        monitor = Monitor(write_config(workdir, site.host_map([HOST])), sink.url)
        monitor.run("db", "upgrade")

        def pages() -> int:
            return sum(1 for r in site.requests(HOST) if r.path.endswith(".html") and r.status == 200)

        landed = attempts = 0
        started = time.monotonic()
        while landed < kills and attempts < kills * 5:
            attempts += 1
            target = pages() + rng.randint(1, max(2, articles // (kills + 5)))
            process = monitor.start("run")
            wait_for(lambda t=target, p=process: pages() >= t or p.poll() is not None, 120.0)
            landed += kill(process, monitor)
        code, log = monitor.run("run", "--cycles", "1")
        outcome.check(code == 0, f"the clean run after the kills exited {code}: {log[-500:]}")
        # Alerts queued by the last run but not yet due are sent by one more round.
        wait_for(lambda: len(delivered(sink)) >= articles, 5.0)
        elapsed = time.monotonic() - started
        rows, urls = archived_rows(workdir / "archive" / "monitor.db")
        outcome.figures.append(f"{landed} SIGKILLs of `monitor run` during a {articles}-article ingest "
                               f"({attempts} starts, {elapsed:.0f} s)")
        outcome.figures.append(f"archived: {rows} articles, {urls} URLs (expected {articles} each)")
        outcome.check(landed >= kills, f"only {landed} kills landed while the daemon ran")
        outcome.check(rows == articles and urls == articles, f"{rows} articles archived, expected {articles}")
        code, log = monitor.run("archive", "verify")
        outcome.figures.append(f"`monitor archive verify` (no --repair): exit {code}")
        outcome.check(code == 0, f"archive verify failed: {log.strip()[-500:]}")
        alert_figures(outcome, sink, expected, landed)
    return outcome


def schema_part(workdir: Path, kills: int, rng: random.Random) -> Outcome:
    outcome = Outcome("schema")
    landed = attempts = broken = 0
    errors: list[str] = []
    while landed < kills and attempts < kills * 10:
        attempts += 1
        trial = workdir / f"trial-{attempts:03d}"
        trial.mkdir()
        monitor = Monitor(write_config(trial, {HOST: "http://127.0.0.1:9"}), "http://127.0.0.1:9/")
        database = trial / "archive" / "monitor.db"
        process = monitor.start("db", "upgrade")
        wait_for(lambda d=database, p=process: d.exists() or p.poll() is not None, 60.0)
        time.sleep(rng.uniform(0.0, 0.25))  # somewhere in the schema's creation (it takes ~0.1-0.5 s)
        if not kill(process, monitor):
            continue
        landed += 1
        for command in (("db", "upgrade"), ("status",), ("archive", "verify")):
            code, log = monitor.run(*command, timeout=120.0)
            if code != 0:
                broken += 1
                errors.append(f"trial {attempts}: monitor {' '.join(command)} exited {code}: "
                              f"{log.strip().splitlines()[-1] if log.strip() else ''}")
                break
    outcome.figures.append(f"{landed} SIGKILLs after monitor.db appeared ({attempts} tries); "
                           f"{broken} databases left unusable")
    outcome.check(landed >= kills, f"only {landed} kills landed during schema creation")
    outcome.check(broken == 0, "; ".join(errors[:3]))
    return outcome


def delivery_part(workdir: Path, kills: int, articles: int, rng: random.Random) -> Outcome:
    outcome = Outcome("delivery")
    snapshot, expected = _site(workdir, articles)
    with LocalSite(snapshot.root) as site, SlackSink(workdir / "slack.jsonl") as sink:
        config = write_config(workdir, site.host_map([HOST]))
        # Queue every alert while the webhook refuses connections: they wait in the outbox.
        unreachable = Monitor(config, f"http://127.0.0.1:{_free_port()}/services/none")
        code, log = unreachable.run("run", "--cycles", "1")
        outcome.check(code == 0, f"queueing run exited {code}: {log[-300:]}")
        monitor = Monitor(config, sink.url)
        monitor.logs = unreachable.logs
        monitor.started = unreachable.started
        landed = attempts = 0
        while landed < kills and attempts < kills * 5 and len(delivered(sink)) < articles:
            attempts += 1
            target = sum(delivered(sink).values()) + rng.randint(1, max(2, articles // (kills + 5)))
            process = monitor.start("run")
            wait_for(lambda t=target, p=process: sum(delivered(sink).values()) >= t or p.poll() is not None, 120.0)
            landed += kill(process, monitor)
        code, log = monitor.run("run", "--cycles", "1")
        outcome.check(code == 0, f"the clean run after the kills exited {code}: {log[-300:]}")
        outcome.figures.append(f"{landed} SIGKILLs of `monitor run` while it delivered {articles} queued alerts")
        outcome.check(landed >= kills, f"only {landed} kills landed during delivery")
        alert_figures(outcome, sink, expected, landed)
    return outcome


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _pg_tool(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


class Cluster:
    """A throwaway PostgreSQL cluster of its own on a free loopback port (``initdb``/``pg_ctl``)."""

    def __init__(self, workdir: Path) -> None:
        initdb, pg_ctl = _pg_tool("initdb"), _pg_tool("pg_ctl")
        if not initdb or not pg_ctl:
            raise LookupError("initdb/pg_ctl not found")
        self.pg_ctl = pg_ctl
        self.data = workdir / "pgdata"
        self.port = _free_port()
        self.as_user: list[str] = []
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            self.as_user = ["runuser", "-u", "postgres", "--"]
            workdir.parent.chmod(0o755)  # a TemporaryDirectory is 0700: the postgres user must get through it
            shutil.chown(workdir, "postgres")
        subprocess.run([*self.as_user, initdb, "-D", str(self.data), "-A", "trust", "-U", "postgres"], check=True,
                       capture_output=True)
        self.options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {workdir} -c fsync=off"
        self.log = workdir / "pg.log"
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        subprocess.run([*self.as_user, self.pg_ctl, "-D", str(self.data), "-w", "-o", self.options, "-l",
                        str(self.log), "start"], check=True, capture_output=True)

    def stop(self) -> None:
        subprocess.run([*self.as_user, self.pg_ctl, "-D", str(self.data), "-w", "-m", "immediate", "stop"],
                       capture_output=True)


@contextmanager
def throwaway_cluster(workdir: Path) -> Iterator[Cluster]:
    cluster = Cluster(workdir)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


def outage_part(workdir: Path, articles: int) -> Outcome:
    outcome = Outcome("outage")
    cluster_dir = workdir / "cluster"
    cluster_dir.mkdir()
    try:
        with throwaway_cluster(cluster_dir) as cluster:
            _outage(workdir, cluster, articles, outcome)
    except (LookupError, subprocess.CalledProcessError) as exc:
        outcome.figures.append(f"skipped: no throwaway PostgreSQL cluster ({exc})")
    return outcome


def _outage(workdir: Path, cluster: Cluster, articles: int, outcome: Outcome) -> None:
    interval = 1.0
    delay = 0.2  # a slow webhook, so that deliveries are in flight when the database goes away
    snapshot, expected = _site(workdir, articles)
    slow: Responder = lambda number: (200, {}, delay)  # noqa: E731
    with LocalSite(snapshot.root) as site, SlackSink(workdir / "slack.jsonl", responder=slow) as sink:
        # Polls every 2 s: the source runs fail during the outage too, and must recover as well.
        monitor = Monitor(write_config(workdir, site.host_map([HOST]), database_url=cluster.url,
                                       delivery_interval=interval, interval=2.0), sink.url)
        code, log = monitor.run("db", "upgrade")
        outcome.check(code == 0, f"db upgrade on the throwaway cluster exited {code}: {log[-300:]}")
        daemon = monitor.start("run")
        try:
            # Every article archived (so every alert queued) and a few delivered: the slow webhook has the rest in
            # flight or waiting when the database goes away.
            texts = workdir / "archive"
            wait_for(lambda: (len(delivered(sink)) >= 3 and sum(1 for _ in texts.rglob("*.txt")) >= articles)
                     or daemon.poll() is not None, 120.0)
            cluster.stop()
            down = time.monotonic()
            before = len(delivered(sink))
            time.sleep(5.0)  # the outage: several delivery rounds fail meanwhile
            cluster.start()
            back = time.monotonic()
            done = wait_for(lambda: len(delivered(sink)) >= articles or daemon.poll() is not None, 120.0)
            after = [t - back for t in list(sink.received_at) if t >= back]
            resumed = after[0] if after else float("inf")
            finished = after[-1] if after else float("inf")
            outcome.figures.append(
                f"database down {back - down:.1f} s with {before}/{articles} alerts delivered; after it came back "
                f"the first alert went out in {resumed:.1f} s (goal: two delivery intervals, {2 * interval:.1f} s, "
                f"plus one {delay:.1f} s send) and the last in {finished:.1f} s (the slow webhook takes "
                f"{delay:.1f} s per alert)")
            outcome.check(daemon.poll() is None, "the daemon died during the outage")
            outcome.check(done, "not every alert was delivered after the database came back")
            outcome.check(resumed <= 2 * interval + delay,
                          f"delivery resumed only {resumed:.1f} s after the database came back")
        finally:
            if daemon.poll() is None:
                daemon.send_signal(signal.SIGTERM)
                try:
                    code = daemon.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    daemon.kill()
                    code = -9
                outcome.figures.append(f"SIGTERM after the outage: exit {code}")
                outcome.check(code == 0, f"SIGTERM after the outage exited {code}")
        tracebacks = monitor.tracebacks()
        outcome.figures.append(f"tracebacks in the daemon's log: {tracebacks}")
        outcome.check(tracebacks == 0, f"{tracebacks} tracebacks logged (one line per failing round expected)")
        alert_figures(outcome, sink, expected, 0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.faults", description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=20, help="SIGKILLs per part (default 20)")
    parser.add_argument("--articles", type=int, default=600, help="articles of the ingest part (default 600)")
    parser.add_argument("--alerts", type=int, default=200, help="alerts of the delivery part (default 200)")
    parser.add_argument("--only", default=",".join(PARTS), help=f"comma-separated parts (default {','.join(PARTS)})")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: random, printed)")
    parser.add_argument("--keep", action="store_true", help="keep each part's folder (logs, archive) and print it")
    args = parser.parse_args(argv)
    parts = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        parser.error(f"--only: unknown part(s) {', '.join(unknown)}; expected some of {', '.join(PARTS)}")
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 30)
    rng = random.Random(seed)
    print(f"faults: seed {seed}; parts {', '.join(parts)}", flush=True)
    outcomes: list[Outcome] = []
    for part in parts:
        with _workdir(part, keep=args.keep) as workdir:
            try:
                outcome = run_part(part, workdir, args, rng)
            except Exited as exc:
                outcome = Outcome(part, failures=[f"a monitor process failed by itself: {exc}"])
        outcome.show()
        outcomes.append(outcome)
    failed = [o.name for o in outcomes if o.failures]
    print(f"faults: {'all guarantees held' if not failed else 'FAILED: ' + ', '.join(failed)}")
    return 1 if failed else 0


@contextmanager
def _workdir(part: str, *, keep: bool) -> Iterator[Path]:
    if keep:
        folder = Path(tempfile.mkdtemp(prefix=f"monitor-faults-{part}-"))
        print(f"faults {part}: working in {folder} (kept)", flush=True)
        yield folder
        return
    with tempfile.TemporaryDirectory(prefix=f"monitor-faults-{part}-") as tmp:
        yield Path(tmp)


def run_part(part: str, workdir: Path, args: argparse.Namespace, rng: random.Random) -> Outcome:
    if part == "ingest":
        return ingest_part(workdir, args.kills, args.articles, rng)
    if part == "schema":
        return schema_part(workdir, args.kills, rng)
    if part == "delivery":
        return delivery_part(workdir, args.kills, args.alerts, rng)
    return outage_part(workdir, min(args.alerts, 40))


if __name__ == "__main__":
    sys.exit(main())

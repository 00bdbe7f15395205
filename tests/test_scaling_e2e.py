"""Three ``monitor run`` processes on one PostgreSQL against a local replay of both site families, while new articles
keep appearing: every article archived once, every alert delivered once per story, each source polled once per
interval in total, never two requests to one host at once; then one daemon dies (SIGKILL mid-run, or its network link
cut) and the others finish its sources within the stated bound (interval + 4/3 lease time), nothing lost or doubled.

The first test runs on the local PostgreSQL (MONITOR_TEST_DATABASE_URL, a schema of its own); the second, as root
only, puts each daemon in a network namespace of its own, reaching a throwaway PostgreSQL cluster and the replay over
veth links on a bridge, and cuts one daemon's link."""

from __future__ import annotations

import ipaddress
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import Engine

from monitor.demo.sinks import SlackSink
from monitor.settings import Settings
from monitor.store.leases import LeaseStore
from monitor.store.tables import ArticleRow, Revision
from tests._daemon_support import ROOT, settings
from tests._localsite import Fault, LocalSite
from tests._replay_support import Replay, article_url, feeds, sources
from tests._store_support import pg_url_fixture  # noqa: F401  (fixture)
from tests.test_daemon_cli import to_toml

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

INTERVAL = 4.0
JITTER = 0.5
TTL = 1.5  # <= 3/4 x INTERVAL: a dead daemon's sources are polled again within INTERVAL + 4/3 TTL < 2 x INTERVAL
MIN_DELAY = 0.2  # long enough that the server's clock readings, late on a busy machine, cannot fake an overlap
DAEMONS = 3
SLOW_PAGE = 0.6  # the victim's pages, so that it dies mid-run (a fetch in flight)
#: Scheduling latitude on a shared two-core machine (three daemons starting, polling, parsing at once): a poll may
#: come this much after its due time, because the run before it was still going or the process had no CPU.
LATE = INTERVAL


def _wait(condition: Callable[[], bool], timeout: float, what: str, *, alive: Callable[[], None] | None = None,
          why: Callable[[], object] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if alive is not None:
            alive()
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}" + (f": {why()}" if why is not None else ""))
        time.sleep(0.02)


@dataclass
class Network:
    """Where the daemons run and how one is taken away: loopback and SIGKILL, or namespaces and a cut link."""

    address: str = "127.0.0.1"  # where the replay, the sink (and the throwaway database) listen
    prefixes: list[list[str]] = field(default_factory=lambda: [[] for _ in range(DAEMONS)])
    cut: Callable[[int, subprocess.Popen[str]], None] | None = None  # None: SIGKILL

    def take_away(self, index: int, process: subprocess.Popen[str]) -> None:
        if self.cut is None:
            process.send_signal(signal.SIGKILL)
        else:
            self.cut(index, process)


class Fleet:
    def __init__(self, tmp: Path, config: Settings, env: dict[str, str], network: Network) -> None:
        self.path = tmp / "monitor.toml"
        self.path.write_text(to_toml(config), encoding="utf-8")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
        self.env.update({"MONITOR_CONFIG": str(self.path), "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT), **env})
        self.network = network
        self.logs = tmp / "logs"
        self.logs.mkdir()
        self.processes: list[subprocess.Popen[str]] = []

    def start(self) -> None:
        for index, prefix in enumerate(self.network.prefixes):
            log = (self.logs / f"daemon{index}.log").open("w", encoding="utf-8")
            self.processes.append(subprocess.Popen([*prefix, sys.executable, "-m", "monitor", "run"], env=self.env,
                                                   cwd=ROOT, text=True, stdout=log, stderr=log))

    def check_alive(self, *, but: int | None = None) -> None:
        for index, process in enumerate(self.processes):
            if index != but and process.poll() is not None:
                raise AssertionError(f"daemon {index} exited {process.returncode}: {self.log(index)[-3000:]}")

    def log(self, index: int) -> str:
        return (self.logs / f"daemon{index}.log").read_text(encoding="utf-8")

    def stop(self, *, but: int | None = None) -> None:
        for index, process in enumerate(self.processes):
            if index != but and process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for index, process in enumerate(self.processes):
            if index == but:
                continue  # killed, or cut off (then it waits on its dead link: killed at the end)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                raise AssertionError(f"daemon {index} did not stop: {self.log(index)[-3000:]}") from None

    def kill_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait()


def _counts(engine: Engine) -> tuple[int, int]:
    with engine.connect() as connection:
        articles = connection.execute(select(func.count()).select_from(ArticleRow)).scalar_one()
        revisions = connection.execute(select(func.count()).select_from(Revision)).scalar_one()
    return int(articles), int(revisions)


def _archived_keys(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return list(connection.execute(select(ArticleRow.key)).scalars())


def _alerted(slack: SlackSink, n: int) -> int:
    return sum(f"story {n} " in str(r.get("text", "")) for r in slack.requests)


def scenario(tmp: Path, database_url: str, network: Network) -> None:
    replay = Replay(tmp / "site")
    replay.add(*range(12))
    with LocalSite(replay.root, bind=network.address) as site, \
            SlackSink(tmp / "slack.jsonl", bind=network.address) as slack:
        config = settings(tmp, site.host_map(replay.hosts), sources=sources(INTERVAL, JITTER),
                          daemon={"delivery_interval": 0.3, "lease_ttl": TTL, "log_format": "json",
                                  "failures_before_alert": 1000}, min_delay=MIN_DELAY)
        data = config.model_dump()
        data["storage"]["url"] = database_url
        data["alerts"]["operations_channel"] = None
        rules = tmp / "rules.toml"
        rules.write_text('[[rule]]\nname = "lavrov-ukraine"\nquery = "Lavrov* AND Ukrain*"\nchannels = ["slack"]\n'
                         'mode = "immediate"\nupdates = false\n', encoding="utf-8")
        data["alerts"]["rules_file"] = rules
        config = Settings(**data)
        fleet = Fleet(tmp, config, {"MONITOR_SLACK_WEBHOOK_URL": slack.url}, network)
        engine = create_engine(database_url)
        leases = LeaseStore(engine, "")
        total = 12
        try:
            fleet.start()

            def everything_in(count: int) -> Callable[[], bool]:
                return lambda: _counts(engine)[0] >= count and all(_alerted(slack, n) >= 1 for n in range(count))

            def tables() -> bool:
                with engine.connect() as connection:
                    return bool(connection.execute(text(
                        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'leases' "
                        "AND table_schema = current_schema()")).scalar())

            _wait(tables, 120, "the schema", alive=fleet.check_alive)
            # All three share the work: every group held, by three processes.
            groups = {f"group:{host}" for host in ("rss.dw.com", *[f.host for f in feeds()
                                                                   if f.template == "pangea"])}

            def shared() -> bool:
                holders = leases.holders()
                return groups <= set(holders) and len({holders[g] for g in groups}) == DAEMONS

            _wait(shared, 120, "three daemons sharing the groups", alive=fleet.check_alive)
            _wait(everything_in(total), 120, "the first articles", alive=fleet.check_alive)
            steady = time.monotonic()  # start-up over: every daemon has its share and its first runs are done
            # New articles keep appearing, one round per feed at a time.
            for _ in range(3):
                replay.add(*range(total, total + len(feeds())))
                total += len(feeds())
                _wait(everything_in(total), 60, f"{total} articles archived and alerted", alive=fleet.check_alive)

            # One daemon dies mid-run: the one holding rferl, while it fetches a (slow) new page of it.
            holders = leases.holders()
            victim_id = holders["group:www.rferl.org"]
            by_pid = {p.pid: i for i, p in enumerate(fleet.processes)}
            victim = by_pid[int(victim_id.split(":")[1])]
            its_groups = sorted(g for g, h in holders.items() if h == victim_id and g.startswith("group:"))
            its_feeds = [f for f in feeds() if f"group:{f.host}" in its_groups]
            _wait(lambda: not leases.live_processes(TTL) or _queue_empty(engine), 30, "an idle outbox")
            slow = [total + i for i, f in enumerate(feeds()) if f in its_feeds]
            for n, feed in zip(slow, its_feeds, strict=True):
                site.fault(feed.article_host, "/" + article_url(feed, n).split("/", 3)[3], Fault(delay=SLOW_PAGE))
            replay.add(*range(total, total + len(feeds())))
            total += len(feeds())
            slow_paths = {"/" + article_url(feeds()[n % len(feeds())], n).split("/", 3)[3] for n in slow}
            _wait(lambda: any(r.path in slow_paths for r in site.requests()), 60, "the victim to fetch a new page",
                  alive=fleet.check_alive)
            fleet.network.take_away(victim, fleet.processes[victim])
            killed = time.monotonic()

            def taken_over() -> bool:
                now_held = leases.holders()
                return all(now_held.get(g) not in (None, victim_id) for g in its_groups)

            _wait(taken_over, 4 / 3 * TTL + LATE, "the survivors to take the dead daemon's groups",
                  alive=lambda: fleet.check_alive(but=victim),
                  why=lambda: (victim_id, its_groups, leases.holders(), leases.processes(),
                               [_sharing_lines(fleet.log(i)) for i in range(DAEMONS) if i != victim]))
            _wait(everything_in(total), INTERVAL + 4 / 3 * TTL + 30, "the dead daemon's articles",
                  alive=lambda: fleet.check_alive(but=victim),
                  why=lambda: _missing(engine, slack, replay, total, leases, fleet, victim))
            # Its sources were polled again within the bound.
            for feed in its_feeds:
                after = [r.time for r in site.requests(feed.host) if r.path == feed.path and r.time > killed]
                assert after, f"{feed.source} was never polled after the death"
                assert after[0] - killed <= INTERVAL + JITTER + 4 / 3 * TTL + LATE, (feed.source, after[0] - killed)
            # And more articles after the take-over, to everyone's sources.
            site.clear_faults()
            replay.add(*range(total, total + len(feeds())))
            total += len(feeds())
            _wait(everything_in(total), 60, "the last articles", alive=lambda: fleet.check_alive(but=victim))
            finished = time.monotonic()
            fleet.stop(but=victim)
        finally:
            fleet.kill_all()
            engine.dispose()

    # Every article archived once, every alert delivered once (per story and the one channel).
    engine = create_engine(database_url)
    try:
        assert _counts(engine) == (total, total)
        assert sorted(_archived_keys(engine)) == sorted(set(_archived_keys(engine)))
    finally:
        engine.dispose()
    for n in range(total):
        assert _alerted(slack, n) == 1, (n, [r for r in slack.requests if f"story {n} " in str(r)])
    assert len(slack.requests) == total
    # Every archive file once: one text per article under the shared root, no temporary left.
    texts = [p for p in (tmp / "archive").rglob("*.txt")]
    assert len(texts) == total and not list((tmp / "archive").rglob(".tmp-*"))

    # Each source polled once per interval in total: never twice for one due run (two polls closer than half the
    # interval), no more polls than intervals in the steady window; and, once start-up is over, no gap longer than
    # the bound (interval + jitter + 4/3 lease, plus a busy machine's latitude).
    for feed in feeds():
        polls = [r.time for r in site.requests(feed.host) if r.path == feed.path]
        assert len(polls) >= 3, feed.source
        for a, b in itertools.pairwise(polls):
            assert b - a >= INTERVAL / 2, (feed.source, "polled twice", b - a, a - killed, _runs(tmp, feed.source))
            bound = INTERVAL + JITTER + 4 / 3 * TTL + LATE
            assert b - a <= bound or a < steady or b > finished, (feed.source, "late", b - a, a - killed,
                                                                  _runs(tmp, feed.source))
        steady_polls = [t for t in polls if steady <= t <= finished]
        claim_slack = min(1.0, INTERVAL / 10)
        assert len(steady_polls) <= (finished - steady) / (INTERVAL - claim_slack) + 1, (feed.source, "too many")
    # Never two requests to one host at once, and the host's delay between them, whichever process sent them.
    for host in replay.hosts:
        spans = site.spans(host)
        for (_a_start, a_end), (b_start, _b_end) in itertools.pairwise(spans):
            assert b_start >= a_end, (host, "overlap", a_end - b_start)
            assert b_start - a_end >= MIN_DELAY / 2, (host, "too close", b_start - a_end)


def _missing(engine: Engine, slack: SlackSink, replay: Replay, total: int, leases: LeaseStore, fleet: Fleet,
             victim: int) -> object:
    """What a timed-out wait for the articles still lacks, and the state it is in."""
    keys = set(_archived_keys(engine))
    unarchived = [url for url in replay.urls if not any(url.rstrip(".html").endswith(k.split(":")[1])
                                                        for k in keys)]
    unalerted = [n for n in range(total) if _alerted(slack, n) == 0]
    with engine.connect() as connection:
        outbox = connection.execute(text("SELECT state, claimed_by, count(*) FROM alert_outbox "
                                         "WHERE state <> 'sent' GROUP BY state, claimed_by")).all()
    return {"unarchived": unarchived[:5], "unalerted": unalerted[:10], "outbox": outbox,
            "holders": leases.holders(), "victim": fleet.processes[victim].pid,
            "logs": [_sharing_lines(fleet.log(i)) for i in range(DAEMONS) if i != victim]}


def _sharing_lines(log: str) -> list[str]:
    return [line[:220] for line in log.splitlines()
            if any(word in line for word in ("took ", "handed back", "lapsed", "heartbeat", "leader"))][-8:]


def _runs(tmp: Path, source: str) -> list[str]:
    """The source's runs as the daemons logged them (when, how long, by whom): what a failed cadence check shows."""
    found = []
    for log in sorted((tmp / "logs").glob("*.log")):
        for line in log.read_text(encoding="utf-8").splitlines():
            if f'"source": "{source}"' in line and '"event": "source_run"' in line:
                record = json.loads(line)
                found.append(f"{record['time'][11:23]} {log.stem} {record['seconds']}s new={record['new']}")
    return sorted(found)


def _queue_empty(engine: Engine) -> bool:
    with engine.connect() as connection:
        return not connection.execute(text(
            "SELECT count(*) FROM alert_outbox WHERE state IN ('queued', 'sending')")).scalar()


def test_three_daemons_share_the_work_and_take_over_a_killed_ones(tmp_path: Path, pg_url: str) -> None:
    scenario(tmp_path, pg_url, Network())


# --- network namespaces ---------------------------------------------------------------------------------------------


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


def _free_subnet() -> ipaddress.IPv4Network:
    """A /24 in 10.231-10.239 that no interface of this machine uses (never Docker's 172.17/16)."""
    used = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True, check=True).stdout
    routes = subprocess.run(["ip", "-4", "route"], capture_output=True, text=True, check=True).stdout
    for second in range(231, 240):
        net = ipaddress.ip_network(f"10.{second}.0.0/24")
        if f"10.{second}." not in used and f"10.{second}." not in routes:
            return net
    pytest.skip("no free 10.23x.0.0/24 for the test's links")


@contextmanager
def namespaces(count: int) -> Iterator[tuple[str, list[str], list[str]]]:
    """A bridge holding ``<subnet>.1`` and ``count`` namespaces, each on a veth pair bridged to it: yields the
    bridge's address, the namespaces and the host ends of their links (set one down to cut it)."""
    tag = uuid.uuid4().hex[:5]
    net = _free_subnet()
    hosts = list(net.hosts())
    bridge, names, ends = f"mb{tag}", [f"mon-{tag}-{i}" for i in range(count)], [f"mh{tag}{i}" for i in range(count)]
    made: list[Callable[[], None]] = []
    try:
        _ip("link", "add", bridge, "type", "bridge")
        made.append(lambda: _ip("link", "del", bridge))
        _ip("addr", "add", f"{hosts[0]}/{net.prefixlen}", "dev", bridge)
        _ip("link", "set", bridge, "up")
        for i, (ns, end) in enumerate(zip(names, ends, strict=True)):
            _ip("netns", "add", ns)
            made.append(lambda ns=ns: _ip("netns", "del", ns))  # type: ignore[misc]
            inner = f"mn{tag}{i}"
            _ip("link", "add", end, "type", "veth", "peer", "name", inner)
            made.append(lambda end=end: _ip("link", "del", end))  # type: ignore[misc]
            _ip("link", "set", inner, "netns", ns)
            _ip("link", "set", end, "master", bridge)
            _ip("link", "set", end, "up")
            _ip("-n", ns, "addr", "add", f"{hosts[10 + i]}/{net.prefixlen}", "dev", inner)
            _ip("-n", ns, "link", "set", inner, "up")
            _ip("-n", ns, "link", "set", "lo", "up")
        yield str(hosts[0]), names, ends
    finally:
        for undo in reversed(made):
            with suppress(subprocess.CalledProcessError):  # gone with its namespace or bridge
                undo()


@dataclass
class Cluster:
    """A throwaway PostgreSQL cluster listening on the bridge's address (``initdb``/``pg_ctl`` as ``postgres``)."""

    workdir: Path
    address: str
    subnet: str
    port: int = 55439

    def __post_init__(self) -> None:
        initdb, self.pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
        if not initdb or not self.pg_ctl:
            pytest.skip("initdb/pg_ctl not found")
        self.as_user = ["runuser", "-u", "postgres", "--"]
        self.workdir.chmod(0o755)
        shutil.chown(self.workdir, "postgres")
        self.data = self.workdir / "pgdata"
        subprocess.run([*self.as_user, initdb, "-D", str(self.data), "-A", "trust", "-U", "postgres"], check=True,
                       capture_output=True)
        with (self.data / "pg_hba.conf").open("a", encoding="utf-8") as hba:
            hba.write(f"host all all {self.subnet} trust\n")
        self.options = (f"-p {self.port} -c listen_addresses={self.address} -k {self.workdir} -c fsync=off "
                        "-c max_connections=200")
        self.url = f"postgresql+psycopg://postgres@{self.address}:{self.port}/postgres"

    def start(self) -> None:
        subprocess.run([*self.as_user, str(self.pg_ctl), "-D", str(self.data), "-w", "-o", self.options, "-l",
                        str(self.workdir / "pg.log"), "start"], check=True, capture_output=True)

    def stop(self) -> None:
        subprocess.run([*self.as_user, str(self.pg_ctl), "-D", str(self.data), "-w", "-m", "immediate", "stop"],
                       capture_output=True)


def test_daemons_in_network_namespaces_and_a_cut_link(tmp_path: Path) -> None:
    if os.geteuid() != 0 or not shutil.which("ip"):
        pytest.skip("network namespaces need root and iproute2")
    probe = f"mon-probe-{uuid.uuid4().hex[:5]}"
    if subprocess.run(["ip", "netns", "add", probe], capture_output=True).returncode != 0:
        pytest.skip("cannot create network namespaces here")
    _ip("netns", "del", probe)
    with namespaces(DAEMONS) as (address, names, ends), tempfile.TemporaryDirectory() as pgdir:
        subnet = str(ipaddress.ip_network(f"{address}/24", strict=False))
        cluster = Cluster(Path(pgdir), address, subnet)
        cluster.start()
        try:
            network = Network(address=address, prefixes=[["ip", "netns", "exec", ns] for ns in names],
                              cut=lambda index, _process: _ip("link", "set", ends[index], "down"))
            scenario(tmp_path, cluster.url, network)
        finally:
            cluster.stop()

"""Leases in the database (monitor/store/leases.py, monitor/sharing.py): one holder at a time, a lease that lapses
when its holder stops renewing, one claim per due run, equal shares among processes and a dead one's share taken by
the others, the leader, outbox claims that two processes never share. PostgreSQL via MONITOR_TEST_DATABASE_URL."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from monitor.lock import DaemonAlreadyRunning, DaemonLock
from monitor.settings import SourceSettings, StorageSettings
from monitor.sharing import Coordinator, host_groups
from monitor.store import Store
from monitor.store.leases import LEADER, LeaseStore
from monitor.store.outbox import AlertOutbox, Outbox, OutboxState
from tests._store_support import pg_url_fixture  # noqa: F401  (fixture)


def _wait(condition: Callable[[], bool], timeout: float, what: str) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)
    return time.monotonic() - started


def _source(name: str, host: str, *feeds: str) -> SourceSettings:
    return SourceSettings(name=name, site=host, feeds=list(feeds), interval=60.0, jitter=0.0)


def test_sources_sharing_a_host_form_one_group() -> None:
    sources = [
        _source("rferl", "www.rferl.org", "https://www.rferl.org/api/a"),
        _source("svoboda", "www.svoboda.org", "https://www.svoboda.org/api/b"),
        _source("dw-en", "www.dw.com", "https://rss.dw.com/xml/rss-en-all"),
        _source("dw-ru", "www.dw.com", "https://rss.dw.com/xml/rss-ru-all"),
        # A source whose feed lives on another family's host joins that host's group (one pacer per host).
        _source("odd", "www.example.org", "https://rss.dw.com/xml/odd"),
    ]
    groups = {name: sorted(s.name for s in members) for name, members in host_groups(sources).items()}
    assert groups == {"group:www.rferl.org": ["rferl"], "group:www.svoboda.org": ["svoboda"],
                      "group:rss.dw.com": ["dw-en", "dw-ru", "odd"]}


def test_sqlite_keeps_one_daemon_and_says_several_need_postgresql(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'monitor.db'}"
    with DaemonLock(url) as first, pytest.raises(DaemonAlreadyRunning, match="several daemons on one database "
                                                                          "need PostgreSQL"):
        assert first.exclusive
        DaemonLock(url).acquire()


@pytest.fixture
def engine(pg_url: str, tmp_path: Path) -> Iterator[Engine]:
    store = Store.open(StorageSettings(url=pg_url, archive_root=tmp_path / "archive"))
    try:
        yield store.engine
    finally:
        store.close()


pg = pytest.mark.postgres


@pg
def test_postgresql_takes_no_daemon_lock(pg_url: str) -> None:
    with DaemonLock(pg_url) as first, DaemonLock(pg_url) as second:  # the leases share the work instead
        assert not first.exclusive and not second.exclusive


@pg
def test_a_lease_has_one_holder_and_lapses_when_it_is_not_renewed(engine: Engine) -> None:
    a, b = LeaseStore(engine, "host-a:1:x"), LeaseStore(engine, "host-b:2:y")
    a.register("host-a", 1)
    b.register("host-b", 2)
    ttl = 0.6
    assert a.try_take("group:www.rferl.org", ttl)
    assert not b.try_take("group:www.rferl.org", ttl)
    assert a.holders() == {"group:www.rferl.org": "host-a:1:x"}
    # Renewed, it stays a's; a stops renewing (it died): b gets it once the deadline has passed, not before.
    _now, held = a.heartbeat(ttl)
    assert held == {"group:www.rferl.org"}
    renewed = time.monotonic()
    _wait(lambda: b.try_take("group:www.rferl.org", ttl), 5, "the lease to lapse")
    assert time.monotonic() - renewed >= ttl * 0.9  # database and test clocks tick apart by a little
    _now, held = a.heartbeat(ttl)
    assert held == set(), "a lapsed lease is not renewed by its old holder"
    # A hand-back keeps the host's delay: nobody takes it before free_after.
    b.release("group:www.rferl.org", free_after=0.5)
    released = time.monotonic()
    _wait(lambda: a.try_take("group:www.rferl.org", ttl), 5, "the lease after its host delay")
    assert time.monotonic() - released >= 0.4


@pg
def test_a_due_run_is_claimed_once_among_racing_processes(engine: Engine) -> None:
    stores = [LeaseStore(engine, f"h:{n}:z") for n in range(6)]
    barrier = threading.Barrier(len(stores))
    claims: list[bool] = []

    def claim(store: LeaseStore) -> None:
        barrier.wait()
        claims.append(store.claim_run("rferl", 0.5).claimed)

    threads = [threading.Thread(target=claim, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claims) == [False] * 5 + [True]
    refused = stores[0].claim_run("rferl", 0.5)
    assert not refused.claimed and timedelta(0) < refused.next_due - refused.db_now <= timedelta(seconds=0.5)
    _wait(lambda: stores[1].claim_run("rferl", 0.5).claimed, 5, "the next due run")


def _coordinators(engine: Engine, sources: list[SourceSettings], count: int, ttl: float) -> list[Coordinator]:
    made = []
    for n in range(count):
        coordinator = Coordinator(engine, sources, ttl=ttl, host_delay=0.0, process_id=f"host{n}:{n}:p")
        coordinator.leases.register(f"host{n}", n)
        made.append(coordinator)
    return made


def _lease_rows(engine: Engine, *holders: str) -> dict[str, tuple[datetime, datetime, str]]:
    """The leases ``holders`` hold: name -> (acquired_at, expires_at, holder), as the database has them."""
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT name, acquired_at, expires_at, holder FROM leases "
                                       "WHERE holder = ANY(:holders)"), {"holders": list(holders)}).all()
    return {name: (acquired, expires, holder) for name, acquired, expires, holder in rows}


@pg
def test_processes_share_the_groups_equally_and_take_over_a_dead_ones(engine: Engine) -> None:
    sources = [_source(f"s{n}", f"www.site{n}.org") for n in range(6)]
    ttl = 1.0
    first, second, third = _coordinators(engine, sources, 3, ttl)
    for _ in range(3):  # all three registered: each aims at two of the six groups
        for c in (first, second, third):
            c.tick()
    shares = [set(c.held_groups()) for c in (first, second, third)]
    assert [len(s) for s in shares] == [2, 2, 2] and set().union(*shares) == set(host_groups(sources))
    assert sum(c.is_leader for c in (first, second, third)) == 1
    leader = next(c for c in (first, second, third) if c.is_leader)
    # Each source is run by its holder only.
    for source in sources:
        assert sum(c.holds(source.name) for c in (first, second, third)) == 1
    # The leader dies (it stops heartbeating, hands nothing back): the others take its groups and the leadership.
    survivors = [c for c in (first, second, third) if c is not leader]
    its_sources = [s.name for s in sources if leader.holds(s.name)]
    assert len(its_sources) == 2
    # When its claims lapse, by the database's clock: its leases' deadlines, and its heartbeat a lease time old.
    its_leases = _lease_rows(engine, leader.process_id)
    assert set(its_leases) == set(leader.held_groups()) | {LEADER}
    (its_process,) = [p for p in leader.leases.processes() if p.id == leader.process_id]
    lapsed = max([row[1] for row in its_leases.values()] + [its_process.last_seen + timedelta(seconds=ttl)])
    rounds_after_lapse = 0

    def taken_over() -> bool:
        nonlocal rounds_after_lapse
        rounds_after_lapse += survivors[0].leases.now() > lapsed
        for c in survivors:
            c.tick()
        held = [set(c.held_groups()) for c in survivors]
        return set().union(*held) == set(host_groups(sources)) and any(c.is_leader for c in survivors)

    _wait(taken_over, 10, "the survivors to take the dead process's groups")
    # Taken at the first round of heartbeats after the dead one's claims lapsed (events, not the wall clock; none
    # counted when they lapsed between the clock's read and the round) ...
    assert rounds_after_lapse <= 1
    # ... and never before its deadline: each of its leases was acquired anew by a survivor after it had passed.
    survivor_ids = {c.process_id for c in survivors}
    for name, (acquired, _expires, holder) in _lease_rows(engine, *survivor_ids).items():
        if name in its_leases:
            assert holder in survivor_ids and acquired >= its_leases[name][1], name
    assert sorted(len(c.held_groups()) for c in survivors) == [3, 3]
    # The dead one's own view lapses by its clock: it would not start a run even if it came back unrenewed.
    assert not any(leader.holds(name) for name in its_sources) and leader.held_groups() == []
    assert not leader.is_leader


@pg
def test_a_new_process_gets_its_share_from_one_that_held_everything(engine: Engine) -> None:
    sources = [_source(f"s{n}", f"www.site{n}.org") for n in range(4)]
    (alone,) = _coordinators(engine, sources, 1, 5.0)
    alone.tick()
    assert len(alone.held_groups()) == 4 and alone.is_leader
    (newcomer,) = [Coordinator(engine, sources, ttl=5.0, host_delay=0.0, process_id="late:9:q")]
    newcomer.leases.register("late", 9)
    with alone.running("s0") as lost:  # a run in progress: that group is not handed back meanwhile
        assert lost is not None and not lost.is_set()
        alone.tick()
        newcomer.tick()
        assert "group:www.site0.org" in alone.held_groups()
    assert len(alone.held_groups()) == 2 and len(newcomer.held_groups()) == 2
    assert alone.is_leader and not newcomer.is_leader
    alone.stop()  # a clean stop hands everything back at once
    newcomer.tick()
    assert len(newcomer.held_groups()) == 4 and newcomer.is_leader


@pg
def test_outbox_claims_are_never_shared_and_only_a_dead_processs_are_requeued(engine: Engine) -> None:
    now = datetime.now(UTC)
    outbox = Outbox(engine)
    for n in range(60):
        outbox.enqueue(AlertOutbox(rule="r", story_key=f"s{n}", channel="slack", kind="new", payload="{}",
                                   state=OutboxState.QUEUED, created_at=now, next_attempt_at=now,
                                   message_id=f"<{n}@x>"))
    barrier = threading.Barrier(3)
    taken: dict[str, list[int]] = {}

    def claim(who: str) -> None:
        barrier.wait()
        mine: list[int] = []
        while batch := outbox.claim_due("slack", datetime.now(UTC), 7, claimer=who):
            mine += [item.id for item in batch]
        taken[who] = mine

    threads = [threading.Thread(target=claim, args=(f"p{n}",)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [i for ids in taken.values() for i in ids]
    assert len(every) == 60 and len(set(every)) == 60
    # p0 died: its rows go back; p1's and p2's are being sent by live processes and stay.
    assert outbox.requeue_abandoned(datetime.now(UTC), ["p1", "p2"]) == len(taken["p0"])
    counts = outbox.status_counts()["slack"]
    assert counts == {OutboxState.QUEUED: len(taken["p0"]), OutboxState.SENDING: 60 - len(taken["p0"])}


@pg
def test_the_heartbeat_comes_back_after_the_database_dropped_its_connections(pg_url: str, tmp_path: Path) -> None:
    name = f"lease_test_{time.monotonic_ns()}"
    url = pg_url + f"&application_name={name}"
    store = Store.open(StorageSettings(url=url, archive_root=tmp_path / "archive"))
    admin = create_engine(pg_url)
    try:
        leases = LeaseStore(store.engine, "h:1:a")
        leases.register("h", 1)
        assert leases.try_take(LEADER, 30.0)
        with admin.begin() as connection:  # what a PostgreSQL restart does to every session
            killed = connection.execute(text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                             "WHERE application_name = :n"), {"n": name}).scalar()
        assert killed and killed >= 1
        _now, held = leases.heartbeat(30.0)
        assert held == {LEADER}, "a lease row outlives the session that took it"
    finally:
        store.close()
        admin.dispose()


@pg
def test_status_and_metrics_show_who_holds_which_source(engine: Engine, pg_url: str, tmp_path: Path) -> None:
    from prometheus_client import generate_latest
    from typer.testing import CliRunner

    from monitor.cli import app
    from monitor.metrics import Metrics
    from monitor.settings import Settings
    from tests.test_daemon_cli import to_toml

    sources = [_source(f"s{n}", f"www.site{n}.org", f"https://www.site{n}.org/feed") for n in range(4)]
    metrics = Metrics()
    first = Coordinator(engine, sources, ttl=30.0, host_delay=0.0, process_id="alpha:101:a", metrics=metrics)
    second = Coordinator(engine, sources, ttl=30.0, host_delay=0.0, process_id="beta:202:b")
    first.leases.register("alpha", 101)
    second.leases.register("beta", 202)
    for _ in range(2):
        first.tick()
        second.tick()
    held = {s.name: c.process_id for c in (first, second) for s in sources if c.holds(s.name)}
    assert sorted(held.values()) == ["alpha:101:a"] * 2 + ["beta:202:b"] * 2

    config = Settings(storage={"url": pg_url, "archive_root": tmp_path / "archive"}, sources=sources)
    (tmp_path / "monitor.toml").write_text(to_toml(config), encoding="utf-8")
    env = {"MONITOR_CONFIG": str(tmp_path / "monitor.toml")}
    result = CliRunner().invoke(app, ["status", "--json"], env=env)
    assert result.exit_code == 0, result.output
    state = json.loads(result.output)
    assert {row["source"]: row["held_by"] for row in state["sources"]} == held
    daemons = {p["id"]: p for p in state["processes"]}
    assert set(daemons) == {"alpha:101:a", "beta:202:b"}
    assert daemons["alpha:101:a"]["host"] == "alpha" and daemons["alpha:101:a"]["pid"] == 101
    assert daemons["beta:202:b"]["alive"] and daemons["beta:202:b"]["last_seen"]
    assert sorted(daemons["beta:202:b"]["sources"]) == sorted(n for n, h in held.items() if h == "beta:202:b")
    table = CliRunner().invoke(app, ["status"], env=env)
    assert table.exit_code == 0 and "daemons" in table.output and "beta:202:b" in table.output

    exported = generate_latest(metrics.registry).decode()
    assert 'monitor_process_last_seen_timestamp_seconds{host="beta",pid="202",process="beta:202:b"}' in exported
    for source, holder in held.items():
        assert f'monitor_source_held{{process="{holder}",source="{source}"}} 1.0' in exported

    # `health` on PostgreSQL: a daemon runs while some heartbeat is recent; none once they all stopped.
    running = CliRunner().invoke(app, ["health"], env=env)
    assert running.exit_code == 1 and "no daemon is running" not in running.output  # the sources were never polled
    first.stop()
    second.stop()
    stopped = CliRunner().invoke(app, ["health"], env=env)
    assert stopped.exit_code == 1 and "unhealthy: no daemon is running" in stopped.output
    assert json.loads(CliRunner().invoke(app, ["status", "--json"], env=env).output)["processes"] == []


@pg
def test_a_run_is_cut_short_when_its_lease_may_have_lapsed(engine: Engine) -> None:
    class Clock:
        now = 1000.0

        def __call__(self) -> float:
            return self.now

    clock = Clock()
    sources = [_source("s0", "www.site0.org")]
    coordinator = Coordinator(engine, sources, ttl=30.0, host_delay=0.0, process_id="h:1:c", monotonic=clock)
    coordinator.start()
    try:
        with coordinator.running("s0") as lost:
            assert lost is not None and not lost.is_set()
            # No heartbeat got through for 2/3 of the lease (a stalled process, a database out of reach): the run
            # stops after its article in flight, before the database lets anyone else take the group at 30 s.
            clock.now += 19.0
            assert not lost.wait(0.5)
            clock.now += 2.0
            assert lost.wait(5), "the watcher cuts the run short"
        with coordinator.running("s0") as refused:
            assert refused is None  # and no new run starts
    finally:
        coordinator.stop()


@pg
def test_the_leader_queues_the_alerts_a_dead_process_archived_but_never_queued(
        pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from monitor.pipeline import run_source
    from monitor.scheduler import Daemon
    from monitor.services import Services
    from monitor.settings import Settings
    from tests._daemon_support import Clock, Snapshot, settings
    from tests._localsite import LocalSite

    monkeypatch.setenv("MONITOR_SLACK_WEBHOOK_URL", "http://127.0.0.1:9/unused")
    snapshot = Snapshot(tmp_path / "site", Clock(datetime.now(UTC)))
    snapshot.add(1, 2)
    with LocalSite(snapshot.root) as site:
        data = settings(tmp_path, site.host_map(), smtp_port=1).model_dump()  # nothing is sent here
        data["storage"]["url"] = pg_url
        config = Settings(**data)
        with Services.open(config) as services:
            run_source(services, config.sources[0])
            outbox = Outbox(services.store.engine)
            assert len(outbox.rows()) == 4  # two articles, two channels
            # What a process killed between archiving two texts and queueing their alerts leaves behind.
            with services.store.engine.begin() as connection:
                connection.execute(text("UPDATE revisions SET alerts_done_at = NULL"))
                connection.execute(text("DELETE FROM alert_outbox"))
            follower, leader = Daemon(services), Daemon(services)
            for n, daemon in enumerate((leader, follower)):
                coordinator = Coordinator(services.store.engine, daemon.sources, ttl=30.0, host_delay=0.0,
                                          process_id=f"h:{n}:l")
                coordinator.leases.register("h", n)
                coordinator.tick()
                daemon.coordinator = coordinator
            assert leader.coordinator is not None and leader.coordinator.is_leader
            follower._abandoned_job()
            assert outbox.rows() == []  # only the leader does it
            leader._abandoned_job()
            assert sorted(r.article_key for r in outbox.rows()) == sorted(
                f"voanews.com:{9_000_000 + n}" for n in (1, 2) for _channel in range(2))
            leader._abandoned_job()  # idempotent
            assert len(outbox.rows()) == 4

"""Several daemons on one PostgreSQL: ``python -m benchmarks.scaling``. Throughput and delivery rate for 1, 2 and 3
``monitor run`` processes, and the failover time after one of them is SIGKILLed.

A local replay of both site families (four Pangea services on hosts of their own, two DW languages on www.dw.com:
five host groups, six sources; tests/_replay_support.py) with pacing off (``http.min_delay = 0``). For each number
of daemons, in a fresh schema: the daemons start, share the groups, then ``--articles`` articles appear at once
(spread over the feeds) and the run is timed from their appearance until every one is archived (articles/s). The
Slack sink holds its answers meanwhile; once every alert is queued it lets them through, and the time until all have
arrived gives the delivery rate (alerts/s, every daemon's sender claiming from the one outbox).

Then, with three daemons in steady state, the holder of www.rferl.org's group is SIGKILLed: printed are the time
until another daemon holds the group (goal: at most 4/3 of ``daemon.lease_ttl``) and until the group's feed is
polled again (bound: the source's next due time or the take-over, whichever is later, so at most
interval + 4/3 × lease_ttl).

The database: ``--database-url`` or MONITOR_TEST_DATABASE_URL (each run in a schema of its own, dropped after).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import create_engine, text

from monitor.demo.sinks import SlackSink
from monitor.settings import Settings
from monitor.store.leases import LeaseStore
from tests._daemon_support import settings
from tests._localsite import LocalSite
from tests._replay_support import Replay, feeds, sources
from tests._store_support import own_schema
from tests.test_scaling_e2e import Fleet, Network

INTERVAL = 4.0
TTL = 3.0


def _wait(condition: Callable[[], bool], timeout: float, what: str, fleet: Fleet, *, but: int | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        fleet.check_alive(but=but)
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.02)


def _config(tmp: Path, site: LocalSite, replay: Replay, url: str) -> Settings:
    config = settings(tmp, site.host_map(replay.hosts), sources=sources(INTERVAL, 0.0), min_delay=0.0,
                      daemon={"delivery_interval": 0.5, "lease_ttl": TTL, "log_format": "json",
                              "failures_before_alert": 1000})
    data = config.model_dump()
    data["storage"]["url"] = url
    data["alerts"]["operations_channel"] = None
    data["alerts"]["delivery"]["timeout"] = 600.0  # the sink holds its first answers until the benchmark lets go
    rules = tmp / "rules.toml"
    rules.write_text('[[rule]]\nname = "lavrov-ukraine"\nquery = "Lavrov* AND Ukrain*"\nchannels = ["slack"]\n'
                     'mode = "immediate"\nupdates = false\n', encoding="utf-8")
    data["alerts"]["rules_file"] = rules
    return Settings(**data)


def _count(engine_url: str, sql: str) -> int:
    engine = create_engine(engine_url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text(sql)).scalar_one())
    finally:
        engine.dispose()


def run(base: str, daemons: int, articles: int, *, failover: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder, own_schema(base, "scaling_bench") as url:
        tmp = Path(folder)
        replay = Replay(tmp / "site")
        gate = threading.Event()

        def held(_number: int) -> tuple[int, dict[str, str], float]:
            gate.wait()
            return 200, {}, 0.0

        with LocalSite(replay.root) as site, SlackSink(tmp / "slack.jsonl", responder=held) as slack:
            network = Network(prefixes=[[] for _ in range(daemons)])
            fleet = Fleet(tmp, _config(tmp, site, replay, url), {"MONITOR_SLACK_WEBHOOK_URL": slack.url}, network)
            engine = create_engine(url)
            leases = LeaseStore(engine, "")
            figures: dict[str, float] = {}
            try:
                fleet.start()

                def tables() -> bool:
                    with engine.connect() as connection:
                        return bool(connection.execute(text(
                            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'source_schedule' "
                            "AND table_schema = current_schema()")).scalar())

                _wait(tables, 120, "the schema", fleet)
                groups = 5

                def shared() -> bool:
                    holders = {h for g, h in leases.holders().items() if g.startswith("group:")}
                    return len(leases.holders()) >= groups + 1 and len(holders) == daemons

                _wait(shared, 120, f"{daemons} daemons sharing the groups", fleet)
                appeared = time.monotonic()
                replay.add(*range(articles))
                _wait(lambda: _count(url, "SELECT count(*) FROM articles") >= articles, 600, "the articles", fleet)
                archived = time.monotonic()
                _wait(lambda: _count(url, "SELECT count(*) FROM alert_outbox WHERE state IN ('queued', 'sending')")
                      >= articles, 600, "every alert queued", fleet)
                released = time.monotonic()
                gate.set()
                _wait(lambda: len(slack.requests) >= articles, 600, "the alerts", fleet)
                delivered = time.monotonic()
                figures["archive_per_s"] = articles / (archived - appeared)
                figures["deliver_per_s"] = articles / max(1e-3, delivered - released)
                if failover:
                    figures.update(_failover(fleet, leases, site))
                fleet.stop()
            finally:
                fleet.kill_all()
                engine.dispose()
            return figures


def _failover(fleet: Fleet, leases: LeaseStore, site: LocalSite) -> dict[str, float]:
    group = "group:www.rferl.org"
    feed = next(f for f in feeds() if f.host == "www.rferl.org")
    holder = leases.holders()[group]
    victim = next(i for i, p in enumerate(fleet.processes) if p.pid == int(holder.split(":")[1]))
    fleet.processes[victim].kill()
    killed = time.monotonic()
    _wait(lambda: leases.holders().get(group) not in (None, holder), 60, "the take-over", fleet, but=victim)
    taken = time.monotonic()
    _wait(lambda: any(r.path == feed.path and r.time > taken for r in site.requests(feed.host)), 60,
          "the next poll", fleet, but=victim)
    polled = next(r.time for r in site.requests(feed.host) if r.path == feed.path and r.time > taken)
    fleet.processes[victim].wait()
    return {"failover_lease_s": taken - killed, "failover_poll_s": polled - killed}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scaling", description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("MONITOR_TEST_DATABASE_URL"))
    parser.add_argument("--articles", type=int, default=240)
    parser.add_argument("--daemons", type=int, nargs="+", default=[1, 2, 3])
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("a PostgreSQL URL is needed: --database-url or MONITOR_TEST_DATABASE_URL")
    print(f"replay: {len(feeds())} sources in 5 host groups, {args.articles} articles appearing at once, "
          f"pacing off; interval {INTERVAL:.0f} s, lease_ttl {TTL} s")
    print(f"{'daemons':>7}  {'archived/s':>10}  {'delivered/s':>11}")
    last: dict[str, float] = {}
    for count in args.daemons:
        last = run(args.database_url, count, args.articles, failover=count == max(args.daemons) > 1)
        print(f"{count:>7}  {last['archive_per_s']:>10.1f}  {last['deliver_per_s']:>11.1f}", flush=True)
    if "failover_lease_s" in last:
        print(f"failover after SIGKILL of one of {max(args.daemons)}: group taken over after "
              f"{last['failover_lease_s']:.2f} s (bound 4/3 x lease_ttl = {4 / 3 * TTL:.2f} s), its feed polled "
              f"again after {last['failover_poll_s']:.2f} s (bound interval + 4/3 x lease_ttl = "
              f"{INTERVAL + 4 / 3 * TTL:.2f} s)")
    else:
        print("failover: not measured (it needs a run of 2 or more daemons, one of them killed)")


if __name__ == "__main__":
    sys.exit(main())

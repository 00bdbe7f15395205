"""Alert latency: ``python -m benchmarks.latency``. How long an article takes from appearing on a site to being
archived, and from being archived to reaching Slack.

A local site (:class:`monitor.demo.site.LocalSite`, 127.0.0.1) lists synthetic VOA articles in a feed polled every
``--poll`` seconds; a rule matches every one of them and alerts the local Slack sink
(:class:`monitor.demo.sinks.SlackSink`). The daemon runs as ``monitor run`` does (scheduler, one delivery thread per
channel) with the default 10 s delivery timer. ``--articles`` (default 12) articles appear one after another, each
at a random moment of a poll interval, and each is waited for on the sink before the next appears.

Printed per stage, median and max: appeared -> archived (the poll interval dominates: the daemon only sees an
article on its next poll), archived -> delivered (goal: median under 1 s; a sender woken when an alert is queued
rather than on its 10 s timer), and appeared -> delivered.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from monitor.demo.sinks import SlackSink
from monitor.demo.site import LocalSite
from monitor.scheduler import Daemon
from monitor.services import Services
from monitor.settings import Settings
from tests._daemon_support import HOST, Snapshot, settings, source

GOAL_S = 1.0
RULES = """
[[rule]]
name = "latency"
query = "Lavrov AND Ukraine"
channels = ["slack"]
"""
WEBHOOK_ENV = "MONITOR_SLACK_WEBHOOK_URL"


def _config(root: Path, site: LocalSite, poll: float, delivery_interval: float) -> Settings:
    rules = root / "rules.toml"
    rules.write_text(RULES, encoding="utf-8")
    config = settings(root, site.host_map([HOST]), sources=[source(interval=poll, quiet_hours=24.0)],
                      daemon={"delivery_interval": delivery_interval})
    alerts = config.alerts.model_copy(update={"rules_file": rules, "operations_channel": None})
    return config.model_copy(update={"alerts": alerts})


def _stats(values: list[float]) -> str:
    return f"median {statistics.median(values):6.3f} s   max {max(values):6.3f} s"


def run(articles: int, poll: float, delivery_interval: float, seed: int) -> int:
    rng = random.Random(seed)
    appeared: list[float] = []  # wall clock (time.time())
    delivered: list[float] = []
    with tempfile.TemporaryDirectory(prefix="monitor-latency-") as tmp:
        root = Path(tmp)
        snapshot = Snapshot(root / "site", lambda: datetime.now(UTC))
        snapshot.write_feed()
        with LocalSite(snapshot.root) as site, SlackSink(root / "slack.jsonl") as slack:
            os.environ[WEBHOOK_ENV] = slack.url
            config = _config(root, site, poll, delivery_interval)
            with Services.open(config) as services:
                daemon = Daemon(services)
                runner = threading.Thread(target=daemon.run, kwargs={"handle_signals": False}, name="daemon")
                runner.start()
                try:
                    offset = time.time() - time.monotonic()  # the sink stamps with the monotonic clock
                    for n in range(1, articles + 1):
                        # Appear at a random moment between two polls, as news does.
                        time.sleep(rng.uniform(0.0, poll))
                        appeared.append(time.time())
                        snapshot.add(n)
                        if not slack.wait_for(n, timeout=poll + delivery_interval + 30):
                            print(f"article {n} was not delivered in time", file=sys.stderr)
                            return 1
                        request = slack.requests[n - 1]
                        if f"story {n} edit" not in json.dumps(request):
                            print(f"article {n}: the sink got another message: {request.get('text')}",
                                  file=sys.stderr)
                            return 1
                        delivered.append(slack.received_at[n - 1] + offset)
                finally:
                    daemon.stop()
                    runner.join()
                stored = {r.article_key: r.stored_at.timestamp() for r in services.store.iter_revisions()}
    archived = [t for _, t in sorted(stored.items(), key=lambda kv: kv[1])]
    if len(archived) != articles:
        print(f"expected {articles} archived articles, found {len(archived)}", file=sys.stderr)
        return 1
    to_archive = [a - s for s, a in zip(appeared, archived, strict=True)]
    to_deliver = [d - a for a, d in zip(archived, delivered, strict=True)]
    total = [d - s for s, d in zip(appeared, delivered, strict=True)]
    print(f"alert latency over {articles} articles (poll every {poll:g} s, delivery timer {delivery_interval:g} s, "
          "local site and Slack sink on 127.0.0.1)")
    print(f"  appeared -> archived    {_stats(to_archive)}")
    print(f"  archived -> delivered   {_stats(to_deliver)}   (goal: median under {GOAL_S:g} s)")
    print(f"  appeared -> delivered   {_stats(total)}")
    met = statistics.median(to_deliver) < GOAL_S
    print(f"  goal {'met' if met else 'NOT met'}")
    return 0 if met else 1


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.latency", description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=12, help="articles that appear, one after another (>= 10)")
    parser.add_argument("--poll", type=float, default=2.0, help="the source's poll interval in seconds")
    parser.add_argument("--delivery-interval", type=float, default=10.0, help="the delivery timer in seconds")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    sys.exit(run(args.articles, args.poll, args.delivery_interval, args.seed))


if __name__ == "__main__":
    main()

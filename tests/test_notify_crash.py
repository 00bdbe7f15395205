"""Real process deaths in the middle of delivery: a child process sends through the outbox and is killed
(``os._exit``: no cleanup, no finally) either before the send or after it but before "sent" is recorded; a fresh
sender then recovers. No alert is lost; the second case gives exactly one duplicate."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.demo.sinks import SlackSink
from monitor.model import Match
from monitor.notify import Deliverer, enqueue_matches
from monitor.notify.slack import SlackSender
from monitor.rules import parse_rules
from monitor.settings import DeliverySettings
from monitor.store import make_engine, migrate
from monitor.store.outbox import Outbox, OutboxState

CHILD = textwrap.dedent("""
    import os, sys
    from monitor.notify import Deliverer
    from monitor.notify.slack import SlackSender
    from monitor.settings import DeliverySettings
    from monitor.store import make_engine
    from monitor.store.outbox import Outbox

    url, hook, when = sys.argv[1:4]
    os.environ["CRASH_TEST_HOOK"] = hook
    real = SlackSender("CRASH_TEST_HOOK", 5.0)

    class Sender:
        def send(self, item):
            if when == "before-send":
                os._exit(17)
            return real.send(item)

    if when == "after-send":
        Outbox.mark_sent = lambda *args, **kwargs: os._exit(17)
    Deliverer(make_engine(url), {"slack": Sender()}, DeliverySettings()).deliver()
    os._exit(0)
""")


@pytest.mark.slow
@pytest.mark.parametrize(("when", "expected_posts"), [("before-send", 1), ("after-send", 2)])
def test_killed_sender_loses_nothing_and_duplicates_at_most_once(tmp_path: Path, when: str, expected_posts: int,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'monitor.db'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    rules = {r.name: r for r in parse_rules('[[rule]]\nname = "r"\nquery = "Lavrov"\nchannels = ["slack"]\n')}
    match = Match(rule="r", article_key="rferl.org:1", url="https://www.rferl.org/a/1.html", headline="Lavrov",
                  site="rferl.org", published=None, terms=(), snippet="Lavrov")
    enqueue_matches(Outbox(engine), [match], rules, story_key="s1", now=datetime.now(UTC))
    with SlackSink(tmp_path / "slack.jsonl") as sink:
        child = subprocess.run([sys.executable, "-c", CHILD, url, sink.url, when], capture_output=True, text=True,
                               timeout=60)
        assert child.returncode == 17, child.stderr
        assert [r.state for r in Outbox(engine).rows()] == [OutboxState.SENDING]
        assert len(sink.requests) == expected_posts - 1
        # The restarted sender.
        monkeypatch.setenv("CRASH_TEST_HOOK", sink.url)
        restarted = Deliverer(engine, {"slack": SlackSender("CRASH_TEST_HOOK", 5.0)}, DeliverySettings())
        assert restarted.recover() == 1
        assert restarted.deliver()["slack"].sent == 1
        assert restarted.recover() == 0 and restarted.deliver()["slack"].sent == 0
    assert len(sink.requests) == expected_posts
    assert [r.state for r in Outbox(engine).rows()] == [OutboxState.SENT]

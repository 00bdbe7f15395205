"""The outbox on PostgreSQL (MONITOR_TEST_DATABASE_URL): uniqueness and claims that two workers cannot share.
Runs in a schema of its own so it never touches other tests' tables."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from monitor.errors import StoreError
from monitor.model import Match
from monitor.notify import Deliverer, enqueue_matches
from monitor.rules import parse_rules
from monitor.settings import DeliverySettings
from monitor.store.outbox import Outbox, OutboxItem, OutboxState, create_outbox_tables

URL = os.environ.get("MONITOR_TEST_DATABASE_URL")
pytestmark = [pytest.mark.postgres, pytest.mark.skipif(not URL, reason="MONITOR_TEST_DATABASE_URL is not set")]
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture
def engine() -> Iterator[Engine]:
    assert URL
    schema = f"outbox_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = create_engine(URL, connect_args={"options": f"-csearch_path={schema}", "application_name": schema})
    try:
        create_outbox_tables(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_unique_alert_and_exclusive_claims_on_postgres(engine: Engine) -> None:
    rules = {r.name: r for r in parse_rules('[[rule]]\nname = "r"\nquery = "Lavrov"\nchannels = ["slack"]\n')}
    for n in range(40):
        match = Match(rule="r", article_key=f"rferl.org:{n}", url="", headline="h", site="rferl.org",
                      published=None, terms=(), snippet="")
        assert len(enqueue_matches(Outbox(engine), [match], rules, story_key=f"s{n}", now=NOW)) == 1
        assert enqueue_matches(Outbox(engine), [match], rules, story_key=f"s{n}", now=NOW) == []
    claimed: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        while items := Outbox(engine).claim_due("slack", NOW, limit=5):
            with lock:
                claimed.extend(i.id for i in items)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(claimed) == 40 and len(set(claimed)) == 40
    assert Outbox(engine).status_counts() == {"slack": {"sending": 40}}


def _kill(application_name: str) -> int:
    """What a database restart does to a client: every connection of ``application_name`` is cut."""
    assert URL
    admin = create_engine(URL)
    try:
        with admin.begin() as conn:
            return len(conn.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = :name "
                "AND pid <> pg_backend_pid()"
            ), {"name": application_name}).all())
    finally:
        admin.dispose()


def test_the_outbox_mends_itself_after_its_connections_are_cut(engine: Engine) -> None:
    rules = {r.name: r for r in parse_rules('[[rule]]\nname = "r"\nquery = "Lavrov"\nchannels = ["slack"]\n')}
    for n in range(3):
        match = Match(rule="r", article_key=f"rferl.org:{n}", url="", headline="h", site="rferl.org",
                      published=None, terms=(), snippet="")
        enqueue_matches(Outbox(engine), [match], rules, story_key=f"s{n}", now=NOW)
    sent: list[int] = []
    with engine.connect() as conn:
        name = conn.execute(text("SELECT current_setting('application_name')")).scalar_one()
    assert name.startswith("outbox_test_")

    class Sender:
        def send(self, item: OutboxItem) -> str | None:
            if not sent:
                assert _kill(name) >= 1  # the database "restarts" while the first alert is on its way
            sent.append(item.id)
            return None

    deliverer = Deliverer(engine, {"slack": Sender()}, DeliverySettings(), clock=lambda: NOW)
    with pytest.raises(StoreError):
        deliverer.deliver_channel("slack")
    # The same process, the database back: what was sent is recorded, what was claimed goes out, each once.
    assert deliverer.deliver_channel("slack").sent == 2
    assert sorted(sent) == sorted(set(sent)) and len(sent) == 3
    assert Outbox(engine).status_counts() == {"slack": {OutboxState.SENT: 3}}

"""PostgreSQL connections carry a connect timeout and TCP keepalives, so a daemon whose database became unreachable
gets an error (one failed run, retried later) instead of hanging in a database call."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from monitor.errors import StoreError
from monitor.settings import StorageSettings
from monitor.store import Store, make_engine
from monitor.store import engine as engine_module
from monitor.store.engine import POSTGRES_CONNECT_ARGS, postgres_connect_args
from tests._store_support import pg_url_fixture  # noqa: F401  (fixture)

pytest.importorskip("psycopg")


@pytest.fixture(name="black_hole")
def black_hole_fixture() -> Iterator[int]:
    """A port on loopback whose listener completes TCP handshakes and then never says a word: what a server behind
    a cut network or a stuck proxy looks like to libpq."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()


def test_opening_a_silent_database_fails_with_a_store_error(black_hole: int, monkeypatch: pytest.MonkeyPatch) -> None:
    # libpq's smallest timeout (2 s) instead of the default 10 s; without any timeout the open would hang forever.
    monkeypatch.setitem(engine_module.POSTGRES_CONNECT_ARGS, "connect_timeout", 2)
    outcome: list[BaseException | None] = []

    def open_store() -> None:
        try:
            Store.open(StorageSettings(url=f"postgresql+psycopg://monitor@127.0.0.1:{black_hole}/db"))
        except BaseException as exc:  # handed to the test's thread
            outcome.append(exc)
        else:
            outcome.append(None)

    worker = threading.Thread(target=open_store, daemon=True)
    worker.start()
    worker.join(timeout=60)  # a safety bound only: the open gives up after ~2 s
    assert outcome, "opening a database that never answers hung"
    error = outcome[0]
    assert isinstance(error, StoreError)
    assert f"127.0.0.1:{black_hole}" in str(error) and "timeout" in str(error).lower()
    assert "\n" not in str(error)


def test_the_url_query_wins_over_the_defaults() -> None:
    assert "connect_timeout" not in postgres_connect_args({"connect_timeout": "30"})
    assert postgres_connect_args({})["keepalives_idle"] == POSTGRES_CONNECT_ARGS["keepalives_idle"]


def test_a_live_connection_carries_the_keepalives(pg_url: str) -> None:
    engine = make_engine(pg_url)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            parameters = connection.connection.dbapi_connection.info.get_parameters()  # type: ignore[union-attr]
    finally:
        engine.dispose()
    for name, value in POSTGRES_CONNECT_ARGS.items():
        assert parameters.get(name) == str(value), name

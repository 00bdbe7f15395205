"""Shared fixtures of the store tests: a fresh database per test on SQLite, and on PostgreSQL (own schema, dropped
afterwards) when ``MONITOR_TEST_DATABASE_URL`` is set."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from monitor.archive import Archive
from monitor.settings import StorageSettings
from monitor.sites import SiteRegistry, default_registry
from monitor.store import Store

PG_ENV = "MONITOR_TEST_DATABASE_URL"


@dataclass
class Env:
    settings: StorageSettings
    store: Store
    archive: Archive
    registry: SiteRegistry


@contextmanager
def own_schema(base: str, prefix: str = "monitor_test") -> Iterator[str]:
    """``base`` with a search_path of a new schema of its own, dropped afterwards (tests and benchmarks share one
    PostgreSQL database without seeing each other's tables)."""
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(name="pg_url")
def pg_url_fixture() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a schema of its own, dropped after the test."""
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} is not set")
    with own_schema(base) as url:
        yield url


@pytest.fixture(name="env", params=["sqlite", "postgres"])
def env_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Env]:
    url = request.getfixturevalue("pg_url") if request.param == "postgres" else None
    settings = StorageSettings(url=url, archive_root=tmp_path / "archive", story_threshold=0.8)
    archive = Archive(settings.archive_root)
    store = Store.open(settings)
    try:
        yield Env(settings, store, archive, default_registry())
    finally:
        store.close()

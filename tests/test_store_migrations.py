"""Schema migrations: the shipped alembic history builds exactly the tables the code declares (the outbox's
included), upgrading is idempotent, and a database behind the code is refused with the command that fixes it."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from typer.testing import CliRunner

from monitor.cli import app
from monitor.errors import StoreError
from monitor.settings import StorageSettings
from monitor.store import Store, make_engine
from monitor.store import migrate as migrations
from monitor.store.metadata import include_name, metadata
from tests._store_support import pg_url_fixture  # noqa: F401  (fixture)


def _no_drift(url: str) -> None:
    engine = make_engine(url)
    migrations.upgrade(engine)
    migrations.upgrade(engine)  # idempotent
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection, opts={"include_name": include_name}),
                                metadata())
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    assert diff == [], "tables changed without a migration: add one under monitor/store/migrations/versions"
    assert {"articles", "article_urls", "revisions", "stories", "story_bands", "sources", "feed_state", "fetch_log",
            "alert_outbox"} <= tables


def test_migrations_match_the_tables_on_sqlite(tmp_path: Path) -> None:
    _no_drift(f"sqlite:///{tmp_path / 'monitor.db'}")


@pytest.mark.postgres
def test_migrations_match_the_tables_on_postgres(pg_url: str) -> None:
    _no_drift(pg_url)


def test_a_database_behind_the_code_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="monitor db upgrade"):
        Store.open(StorageSettings(archive_root=tmp_path), upgrade=False)
    Store.open(StorageSettings(archive_root=tmp_path)).close()
    Store.open(StorageSettings(archive_root=tmp_path), upgrade=False).close()


def test_db_upgrade_command(tmp_path: Path) -> None:
    env = {"MONITOR_STORAGE__ARCHIVE_ROOT": str(tmp_path / "archive")}
    result = CliRunner().invoke(app, ["db", "upgrade"], env=env)
    assert result.exit_code == 0, result.output
    assert f"is at schema {migrations.head_revision()}" in result.output
    assert (tmp_path / "archive" / "monitor.db").exists()
    assert CliRunner().invoke(app, ["db", "upgrade"], env=env).exit_code == 0


def test_db_upgrade_reports_a_bad_url_in_one_line(tmp_path: Path) -> None:
    env = {"MONITOR_STORAGE__URL": "postgresql+psycopg://u:pw@127.0.0.1:1/x",
           "MONITOR_STORAGE__ARCHIVE_ROOT": str(tmp_path)}
    result = CliRunner().invoke(app, ["db", "upgrade"], env=env)
    assert result.exit_code == 2
    assert "127.0.0.1:1" in result.output and "pw" not in result.output


@pytest.mark.slow  # spawns processes
def test_processes_opening_a_fresh_sqlite_database_at_once_all_succeed(tmp_path: Path) -> None:
    """The daemon and a backfill (or any two commands) started together on a new install: without the migration
    lock, the later one would fail on "table already exists" while the first was creating the schema."""
    import subprocess
    import sys

    # Each child imports the monitor, says so, then waits for the go file: all three open the store at once.
    script = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from monitor.settings import StorageSettings\n"
        "from monitor.store import Store\n"
        "settings = StorageSettings(archive_root=Path(sys.argv[1]))\n"
        "print('ready', flush=True)\n"
        "while not os.path.exists(sys.argv[2]): pass\n"
        "with Store.open(settings) as store: print(store.counts()['articles'])\n"
    )
    for attempt in range(3):
        root = tmp_path / f"archive{attempt}"
        root.mkdir()
        go = tmp_path / f"go{attempt}"
        runs = [subprocess.Popen([sys.executable, "-c", script, str(root), str(go)], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True) for _ in range(3)]
        for run in runs:
            assert run.stdout is not None and run.stdout.readline().strip() == "ready", run.communicate()
        go.touch()
        results = [run.communicate(timeout=60) for run in runs]
        assert [run.returncode for run in runs] == [0, 0, 0], [err for _, err in results]
        assert [out.strip() for out, _ in results] == ["0", "0", "0"]

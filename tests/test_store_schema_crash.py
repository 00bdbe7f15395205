"""A crash during the first schema creation of a new SQLite database (SIGKILL after any statement or commit of it)
leaves whole migrations only: every later command works, and the schema is the one the code declares. A database an
older monitor left half-created (empty tables, no version) is mended by ``db upgrade``; one whose tables hold rows
is refused, untouched."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from typer.testing import CliRunner

from monitor.cli import app
from monitor.store import make_engine
from monitor.store import migrate as migrations
from monitor.store.metadata import include_name, metadata
from tests import _die_mid_schema

ROOT = Path(__file__).resolve().parent.parent


def _upgrade_dying_after(url: str, events: int | None) -> int:
    """Create the schema in a forked child that SIGKILLs itself at database event ``events``; its wait status."""
    pid = os.fork()
    if pid == 0:  # the child: no pytest clean-up, whatever happens
        try:
            _die_mid_schema.install(events)
            engine = make_engine(url)
            migrations.upgrade(engine)
            engine.dispose()
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    return status


def _events_of_a_first_creation(tmp_path: Path) -> int:
    seen, remove = _die_mid_schema.install(None)
    try:
        engine = make_engine(f"sqlite:///{tmp_path / 'count.db'}")
        migrations.upgrade(engine)
        engine.dispose()
    finally:
        remove()
    return seen[0]


def _works_after(root: Path) -> None:
    env = {"MONITOR_STORAGE__ARCHIVE_ROOT": str(root)}
    upgraded = CliRunner().invoke(app, ["db", "upgrade"], env=env)
    assert upgraded.exit_code == 0, upgraded.output
    for command in (["archive", "verify"], ["export"]):
        result = CliRunner().invoke(app, command, env=env)
        assert result.exit_code == 0, (command, result.output)
    engine = make_engine(f"sqlite:///{root / 'monitor.db'}")
    try:
        assert migrations.current_revision(engine) == migrations.head_revision()
        with engine.connect() as connection:
            assert compare_metadata(MigrationContext.configure(connection, opts={"include_name": include_name}),
                                    metadata()) == []
    finally:
        engine.dispose()


def test_a_kill_at_any_point_of_the_first_schema_creation_leaves_a_database_every_command_can_use(
        tmp_path: Path) -> None:
    total = _events_of_a_first_creation(tmp_path)
    assert total > 20  # tables, indexes, version stamps, commits: each a point to die at
    for point in range(1, total + 1):
        root = tmp_path / f"killed-{point}"
        root.mkdir()
        status = _upgrade_dying_after(f"sqlite:///{root / 'monitor.db'}", point)
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, (point, status)
        _works_after(root)


@pytest.mark.slow
def test_a_killed_db_upgrade_command_is_mended_by_the_next_command(tmp_path: Path) -> None:
    """The same through the real command line, at a point inside the first migration and at its commit."""
    total = _events_of_a_first_creation(tmp_path)
    for point in (total // 3, total // 2):
        root = tmp_path / f"killed-{point}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
        env.update({"MONITOR_STORAGE__ARCHIVE_ROOT": str(root), "PYTHONPATH": str(ROOT),
                    _die_mid_schema.VARIABLE: str(point)})
        killed = subprocess.run([sys.executable, "-m", "tests._die_mid_schema", "db", "upgrade"], env=env, cwd=ROOT,
                                capture_output=True, text=True, timeout=120, check=False)
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        assert (root / "monitor.db").exists()
        _works_after(root)


def _unversioned(root: Path, *, rows: bool) -> None:
    """What an older monitor left after a kill during its first schema creation: some tables, no version."""
    root.mkdir()
    engine = make_engine(f"sqlite:///{root / 'monitor.db'}")
    try:
        tables = metadata().tables
        metadata().create_all(engine, tables=[tables["alert_outbox"], tables["feed_state"], tables["fetch_log"]])
        if rows:
            with engine.begin() as connection:
                connection.execute(tables["feed_state"].insert().values(url="https://example.org/feed",
                                                                        consecutive_failures=0))
    finally:
        engine.dispose()


def test_a_half_created_schema_of_an_older_monitor_is_mended_by_db_upgrade(tmp_path: Path) -> None:
    root = tmp_path / "archive"
    _unversioned(root, rows=False)
    _works_after(root)


def test_unversioned_tables_with_rows_are_refused_not_dropped(tmp_path: Path) -> None:
    root = tmp_path / "archive"
    _unversioned(root, rows=True)
    result = CliRunner().invoke(app, ["db", "upgrade"], env={"MONITOR_STORAGE__ARCHIVE_ROOT": str(root)})
    assert result.exit_code == 2
    assert "no schema version but its tables feed_state hold rows" in result.stderr
    engine = make_engine(f"sqlite:///{root / 'monitor.db'}")
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT count(*) FROM feed_state").scalar() == 1
    finally:
        engine.dispose()

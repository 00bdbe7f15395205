"""Start-up cost: a command imports only what it uses (benchmarks/startup.py prints the times; these tests pin
which heavy libraries each light command may load, checked in a fresh interpreter)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # each test starts a fresh interpreter

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "tests" / "fixtures" / "pages" / "dw" / "dw_de_newgen_2024-01-30_nadeschdin_a-68117411.html"
HEAVY = ("alembic", "apscheduler", "charset_normalizer", "datasketch", "fastapi", "httpx", "jinja2", "lxml", "numpy",
         "pydantic", "pymorphy3", "rich", "scipy", "sqlalchemy", "sqlalchemy.orm", "sqlmodel", "uvicorn")
PROBE = f"""
import json, sys
from monitor.cli import main
sys.argv = ["monitor", *sys.argv[1:]]
try:
    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
print(json.dumps({{"code": code, "loaded": sorted(m for m in {HEAVY!r} if m in sys.modules)}}), file=sys.stderr)
"""


def _loaded(tmp_path: Path, *args: str) -> tuple[int, set[str]]:
    code, loaded, _ = _command(tmp_path, *args)
    return code, loaded


def _command(tmp_path: Path, *args: str) -> tuple[int, set[str], str]:
    """The command's exit code, the heavy libraries it loaded, and its output (stdout, then stderr)."""
    config = tmp_path / "monitor.toml"
    config.write_text(f'[storage]\narchive_root = "{tmp_path / "archive"}"\n', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")} | {"MONITOR_CONFIG": str(config)}
    result = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, env=env,
                            cwd=tmp_path, timeout=120)
    probe = json.loads(result.stderr.strip().splitlines()[-1])
    return probe["code"], set(probe["loaded"]), result.stdout + result.stderr


def test_help_imports_no_database_http_or_parser_library(tmp_path: Path) -> None:
    code, loaded = _loaded(tmp_path, "--help")
    assert code == 0
    assert loaded == set(), loaded  # neither sqlalchemy nor httpx, nor anything else heavy


def test_parse_imports_the_parsers_and_settings_only(tmp_path: Path) -> None:
    url = json.loads(PAGE.with_name(PAGE.name.replace(".html", ".expect.json")).read_text(encoding="utf-8"))["url"]
    code, loaded = _loaded(tmp_path, "parse", str(PAGE), "--url", url)
    assert code == 0
    assert loaded <= {"lxml", "pydantic", "charset_normalizer"}, loaded


def test_health_reads_sqlite_without_sqlalchemy(tmp_path: Path) -> None:
    code, loaded = _loaded(tmp_path, "db", "upgrade")  # the database health will read
    assert code == 0
    code, loaded = _loaded(tmp_path, "health")
    assert code == 1  # no daemon runs
    assert loaded <= {"pydantic"}, loaded


def test_health_knows_the_schema_head_without_alembic_and_says_when_the_database_lags(tmp_path: Path) -> None:
    import sqlite3

    from typer.testing import CliRunner

    from monitor.cli import app
    from monitor.store.glance import schema_head
    from monitor.store.migrate import head_revision

    assert schema_head() == head_revision() is not None
    env = {"MONITOR_STORAGE__ARCHIVE_ROOT": str(tmp_path / "archive"), "MONITOR_CONFIG": str(tmp_path / "none.toml")}
    (tmp_path / "none.toml").write_text("", encoding="utf-8")
    assert CliRunner().invoke(app, ["db", "upgrade"], env=env).exit_code == 0
    with sqlite3.connect(tmp_path / "archive" / "monitor.db") as connection:
        connection.execute("UPDATE alembic_version SET version_num = '0001'")
    result = CliRunner().invoke(app, ["health"], env=env)
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"monitor: error: database {tmp_path / 'archive' / 'monitor.db'} is at schema 0001, this monitor needs "
        f"{head_revision()}: run `monitor db upgrade`")


def test_rules_test_reads_the_archive_without_orm_migrations_web_or_an_unneeded_dictionary(tmp_path: Path) -> None:
    """``monitor rules test`` over the database (issue 14: its time is mostly start-up): Core selects, no SQLModel,
    ORM, Alembic or numpy; the ru/uk dictionary only for a rule with a Russian or Ukrainian word."""
    from datetime import UTC, datetime

    from monitor.archive import Archive
    from monitor.ingest import ingest_page
    from monitor.settings import StorageSettings
    from monitor.sites import default_registry
    from monitor.store import Store
    from tests._synth import article_url, synth_page

    settings = StorageSettings(archive_root=tmp_path / "archive", fsync=False)
    with Store.open(settings) as store:  # one article, archived and indexed as the pipeline does it
        ingest_page(store, Archive(settings.archive_root, fsync=False), default_registry(), synth_page(0),
                    article_url(0), datetime.now(UTC), clock=store.clock)
    code, loaded, output = _command(tmp_path, "rules", "test", "story NEAR/2 edit")
    assert code == 0, output
    assert "1 match(es) in 1 article(s)" in output
    assert loaded <= {"pydantic", "sqlalchemy"}, loaded
    code, loaded, output = _command(tmp_path, "rules", "test", "story OR кризис")
    assert code == 0 and "1 match(es) in 1 article(s)" in output, output
    assert "pymorphy3" in loaded  # a Russian word is inflected: the check above is not vacuous

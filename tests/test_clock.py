"""One clock: every "now" the monitor records or compares comes from the clock injected at the composition root
(``Services.clock``, ``Opened.clock``, ``create_app(clock=...)``; the real one is ``monitor.clock.utc_now``).

No module reads the real time itself (datetime.now, utcnow, date.today, time.time) except where real time is the
point, each listed with its reason; and with a clock fixed far from today, the daemon's health check, the status
and health commands, discovery's lookback window and the web pages judge by that clock."""

from __future__ import annotations

import ast
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import respx
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from monitor.cli import app
from monitor.discovery import discover_source
from monitor.http import HttpClient
from monitor.scheduler import Daemon
from monitor.services import Opened, Services
from monitor.settings import HttpSettings, Settings, SourceSettings, StorageSettings
from monitor.store import Store
from monitor.store.tables import SourceHealth
from monitor.web import create_app
from tests._daemon_support import Clock

PACKAGE = Path(__file__).resolve().parent.parent / "monitor"

#: (module, function) -> why it reads the real time rather than the injected clock.
REAL_TIME = {
    ("clock.py", "utc_now"): "the one real clock: the default of every clock parameter",
    ("archive.py", "file_age"): "a file's age against its mtime, which the file system set from the real clock",
    ("http/_retry.py", "retry_after"): "a Retry-After HTTP date is a real time; the wait is counted from now",
    ("scheduler.py", "_scheduler_now"): "APScheduler waits for its run times on the real clock",
    ("store/leases.py", "_now"): "the leases reckon by the database's clock (SQLite: this host's)",
}
#: Migrations run once, on the day they run, and take no injected clock.
MIGRATIONS = "store/migrations/"
#: Modules still on their way to the injected clock (none left): an entry is removed once its module no longer
#: reads the real time (the stale-entry test below says when).
TO_BE_REMOVED: set[str] = set()

_READERS = {("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"), ("date", "today"), ("time", "time"),
            ("time", "time_ns")}


def real_time_reads(source: str) -> list[tuple[int, str]]:
    """(line, enclosing function or "") of every call that reads the real time: ``datetime.now()``,
    ``datetime.utcnow()``, ``date.today()``, ``time.time()``, also through ``import datetime as dt``,
    ``from datetime import datetime as dt`` or ``from time import time``."""
    tree = ast.parse(source)
    names: dict[str, str] = {}  # local name -> the datetime/time name it stands for
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in ("datetime", "time"):
            for alias in node.names:
                names[alias.asname or alias.name] = alias.name if node.module == "datetime" else f"time.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in ("datetime", "time"):
                    names[alias.asname or alias.name] = alias.name
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST, function: str) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            function = node.name
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute):
                owner = func.value
                owner_name = names.get(owner.id, owner.id) if isinstance(owner, ast.Name) else \
                    owner.attr if isinstance(owner, ast.Attribute) else ""
                if (owner_name, func.attr) in _READERS:
                    found.append((node.lineno, function))
            elif isinstance(func, ast.Name) and names.get(func.id, "").startswith("time.") \
                    and tuple(names[func.id].split(".")) in _READERS:
                found.append((node.lineno, function))
        for child in ast.iter_child_nodes(node):
            visit(child, function)

    visit(tree, "")
    return found


def _reads_by_module() -> dict[str, list[tuple[int, str]]]:
    reads = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        found = real_time_reads(path.read_text(encoding="utf-8"))
        if found:
            reads[path.relative_to(PACKAGE).as_posix()] = found
    return reads


def test_the_detector_sees_every_way_of_reading_the_real_time() -> None:
    source = """
import datetime as dt
import time
from datetime import date, datetime
from datetime import datetime as stamp
from time import time as seconds

def f():
    return datetime.now(UTC), datetime.utcnow(), date.today(), dt.datetime.now(), stamp.now(), time.time(), seconds()

def g():
    return time.monotonic(), datetime.fromisoformat("2020-01-01"), clock()
"""
    assert real_time_reads(source) == [(9, "f")] * 7


def test_no_module_reads_the_real_time_but_those_that_must() -> None:
    wrong = [f"monitor/{module}:{line} ({function or 'module level'})"
             for module, reads in _reads_by_module().items() for line, function in reads
             if (module, function) not in REAL_TIME and module not in TO_BE_REMOVED
             and not module.startswith(MIGRATIONS)]
    assert wrong == [], "read the injected clock (monitor.clock) instead, or add the place to REAL_TIME with why"


def test_every_listed_exception_still_reads_the_real_time() -> None:
    reads = _reads_by_module()
    stale = [f"{module}:{function}" for module, function in REAL_TIME
             if function not in {f for _, f in reads.get(module, [])}]
    stale += [f"{module} (TO_BE_REMOVED)" for module in sorted(TO_BE_REMOVED) if module not in reads]
    assert stale == [], "no longer reads the real time: remove it from the list"


def test_clock_means_one_thing() -> None:
    """``Clock`` is the wall clock of monitor/clock.py, defined there only (a module needing it imports it); a
    monotonic-seconds callable has its own name (``Monotonic``, http/_pacing.py)."""
    def names(node: ast.AST) -> list[str]:
        if isinstance(node, ast.ClassDef):
            return [node.name]
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] \
            if isinstance(node, ast.AnnAssign) else []  # (a ``type Clock = ...`` statement needs 3.12)
        return [t.id for t in targets if isinstance(t, ast.Name)]

    defined = [path.relative_to(PACKAGE).as_posix() for path in sorted(PACKAGE.rglob("*.py"))
               for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))) if "Clock" in names(node)]
    assert defined == ["clock.py"]


# --- behaviour with a clock fixed far from today ----------------------------------------------------------------

POLLED = datetime(2020, 1, 1, 12, 0, tzinfo=UTC)
NOT_POLLED = "source voa: not polled since 2020-01-01 12:00 UTC"
FEED = "https://rss.dw.com/xml/rss-en-all"


def _settings(tmp_path: Path) -> Settings:
    return Settings(storage=StorageSettings(archive_root=tmp_path / "archive", fsync=False),
                    http=HttpSettings(min_delay=0.0, retries=0), alerts={"rules_file": tmp_path / "rules.toml"},  # type: ignore[arg-type]
                    sources=[SourceSettings(name="voa", site="www.dw.com", feeds=[FEED], interval=300, jitter=0)])


def _polled_at_noon(store: Store) -> None:
    """The source's health as its last run at POLLED left it."""
    store.save_source_health(SourceHealth(source="voa", first_run=POLLED, last_run=POLLED, last_success=POLLED,
                                          last_new=POLLED, runs=1))


def test_the_daemons_health_check_judges_by_the_daemons_clock(tmp_path: Path) -> None:
    clock = Clock(POLLED)
    with Services.open(_settings(tmp_path), alerts=False, clock=clock) as services:
        _polled_at_noon(services.store)
        daemon = Daemon(services)
        clock.advance(minutes=1)
        assert daemon.problems() == []
        clock.advance(hours=1)  # past three intervals
        assert daemon.problems() == [NOT_POLLED]


@pytest.fixture
def command_clock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    """The CLI on a config file in ``tmp_path``, its commands' Opened given a test clock."""
    config = tmp_path / "monitor.toml"
    config.write_text(f"""
[http]
min_delay = 0.0
retries = 0

[storage]
archive_root = {json.dumps(str(tmp_path / "archive"))}

[[sources]]
name = "voa"
site = "www.dw.com"
feeds = [{json.dumps(FEED)}]
interval = 300
jitter = 0
""", encoding="utf-8")
    for name in [n for n in os.environ if n.startswith("MONITOR_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("MONITOR_CONFIG", str(config))
    clock = Clock(POLLED)
    from_config = Opened.from_config.__func__  # type: ignore[attr-defined]
    monkeypatch.setattr(Opened, "from_config",
                        classmethod(lambda cls, **options: from_config(cls, **options, clock=clock)))
    yield clock


def test_status_and_health_judge_by_the_commands_clock(command_clock: Clock) -> None:
    with Opened.from_config() as opened:
        _polled_at_noon(opened.store)
    runner = CliRunner()
    command_clock.advance(minutes=1)
    status = runner.invoke(app, ["status", "--json"])
    assert status.exit_code == 0, status.output
    assert json.loads(status.stdout)["problems"] == []
    assert NOT_POLLED not in runner.invoke(app, ["health"]).output  # unhealthy all the same: no daemon runs
    command_clock.advance(hours=1)
    assert json.loads(runner.invoke(app, ["status", "--json"]).stdout)["problems"] == [NOT_POLLED]
    assert f"unhealthy: {NOT_POLLED}" in runner.invoke(app, ["health"]).output


def test_discover_looks_back_from_the_commands_clock(command_clock: Clock) -> None:
    feed = b"""<rss version="2.0"><channel><title>t</title>
      <item><link>https://www.dw.com/en/story/a-100</link><pubDate>Wed, 01 Jan 2020 10:00:00 GMT</pubDate></item>
      <item><link>https://www.dw.com/en/story/a-99</link><pubDate>Sun, 01 Dec 2019 10:00:00 GMT</pubDate></item>
    </channel></rss>"""
    with respx.mock(assert_all_called=False) as router:
        router.get("https://rss.dw.com/robots.txt").respond(404)
        router.get(FEED).respond(200, content=feed)
        found = CliRunner().invoke(app, ["discover", "voa"])
    assert found.exit_code == 0, found.output
    # The default lookback is two days before the clock's noon: the article of a month before is left out.
    assert found.stdout.splitlines() == ["https://www.dw.com/en/story/a-100"]


def test_discovery_without_a_start_needs_the_callers_now() -> None:
    source = SourceSettings(name="voa", site="www.dw.com", feeds=[FEED])
    with HttpClient(HttpSettings(min_delay=0.0)) as client, pytest.raises(ValueError, match="`now`"):
        discover_source(client, source)


def test_the_web_pages_judge_by_the_apps_clock(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    clock = Clock(POLLED)
    store = Store.open(settings.storage)
    try:
        _polled_at_noon(store)
        with TestClient(create_app(settings, store, clock=clock), base_url="http://127.0.0.1:8080") as client:
            clock.advance(minutes=1)
            assert "not polled since" not in client.get("/sources").text
            clock.advance(hours=1)
            assert "not polled since 2020-01-01 12:00 UTC" in client.get("/sources").text
            backtest = client.get("/backtest", params={"q": "Lavrov"})
            assert backtest.status_code == 200
            # The default range: the 30 days up to the clock's today.
            assert "from 2019-12-03 to 2020-01-01" in backtest.text
    finally:
        store.close()


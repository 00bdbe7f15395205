"""The CLI stays thin (issue 12 item 5): one parameter type for dates, one way to open what a command needs
(monitor.services.Opened), the status assembled outside it (monitor.status), texts read through the archive."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, get_args, get_type_hints

import pytest
import typer
from typer.models import OptionInfo

from monitor.cli import app
from monitor.cli._app import SINCE, UNTIL, as_argument

CLI = Path(__file__).resolve().parent.parent / "monitor" / "cli"


def _commands(typer_app: typer.Typer, path: str = "monitor") -> list[tuple[str, Any]]:
    """(command line, callback) of every command, sub-apps included."""
    found = [(f"{path} {info.name or info.callback.__name__}", info.callback)
             for info in typer_app.registered_commands if info.callback is not None]
    for group in typer_app.registered_groups:
        assert group.typer_instance is not None
        found += _commands(group.typer_instance, f"{path} {group.name}")
    return found


def test_every_date_option_is_read_by_the_one_date_parser() -> None:
    dated = []
    for where, callback in _commands(app):
        for name, hint in get_type_hints(callback, include_extras=True).items():
            if name in ("since", "until"):
                option = next(m for m in get_args(hint)[1:] if isinstance(m, OptionInfo))
                dated.append((where, name, option.parser))
    assert {where for where, _, _ in dated} >= {"monitor backfill", "monitor discover", "monitor reparse",
                                                 "monitor export", "monitor rules test"}
    for where, name, parser in dated:
        assert parser is (SINCE if name == "since" else UNTIL), (where, name)


def test_no_command_parses_dates_or_opens_services_its_own_way() -> None:
    forbidden = re.compile(r"\bparse_when\(|\bparse_date\b|\bload_settings\(|\bStore\.open\(|\bHttpClient\(|"
                           r"\bArchive\(|Archive\.from_settings|\bmake_engine\(|\bServices\.open\(|\bopen_services\(|"
                           r"\bdefault_registry\(")
    for module in sorted(CLI.glob("*.py")):
        hits = [line.strip() for line in module.read_text(encoding="utf-8").splitlines() if forbidden.search(line)]
        if module.name == "_app.py":  # where parse_when lives
            hits = [hit for hit in hits if not hit.startswith(("def parse_when(", "return parse_when("))]
        assert hits == [], module.name


def test_no_command_computes_where_the_database_is() -> None:
    """The database's URL and SQLite file come from monitor.store.engine (database_url, sqlite_file), not from the
    archive root and a file name written again (the demo's database, beside its archive, is its own choice)."""
    for module in sorted(CLI.glob("*.py")):
        text = module.read_text(encoding="utf-8")
        assert not re.search(r"archive_root\s*/|\bDB_FILE\b", text), module.name


def test_a_bare_until_is_the_whole_day_and_dates_are_given_back_as_typed() -> None:
    assert SINCE("2024-05-01") == datetime(2024, 5, 1, tzinfo=UTC)
    assert UNTIL("2024-05-01") == datetime(2024, 5, 1, 23, 59, 59, 999999, tzinfo=UTC)
    assert UNTIL("2024-05-01T12:00:00+00:00") == datetime(2024, 5, 1, 12, tzinfo=UTC)
    for typed in ("2024-05-01", "2024-05-01T12:00:00+00:00"):
        assert as_argument(SINCE(typed)) == typed and as_argument(UNTIL(typed)) == typed


def test_status_json_keeps_its_keys_and_the_web_gets_its_extras() -> None:
    from monitor.status import Status

    row = {"source": "voa", "archive_site": "voanews.com", "runs": 3, "problem": None}
    status = Status(sources=[row], outbox={"slack": {"dead": 1}}, problems=["channel slack: 1 alerts dead"],
                    processes=[])
    assert status.to_json() == {"sources": [{"source": "voa", "problem": None}], "outbox": {"slack": {"dead": 1}},
                                "problems": ["channel slack: 1 alerts dead"], "processes": [],
                                "search_index": {"pending": 0}}


def test_rules_test_reads_the_texts_through_the_archive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from monitor.archive import Archive
    from monitor.model import Article
    from monitor.settings import StorageSettings
    from monitor.store import NewRevision, Store

    archive = tmp_path / "archive"
    (archive / "rferl.org").mkdir(parents=True)
    (archive / "rferl.org" / "a.txt").write_text("Lavrov spoke about Ukraine.\n", encoding="utf-8")
    with Store.open(StorageSettings(archive_root=archive)) as store:
        article = Article(url="https://www.rferl.org/a/x/1.html", site="rferl.org", family="pangea",
                          template="pangea.article", article_id="1", language="en", headline="Lavrov")
        store.add_article(article, canonical=article.url, url_hash="0" * 16, folder="rferl.org",
                          revision=NewRevision(0, "h" * 64, 29, "rferl.org/a.txt", None, datetime.now(UTC)),
                          urls=[article.url], signature=None)
    read: list[str] = []
    real = Archive.read_text

    def spy(self: Archive, relative: str) -> str:
        read.append(relative)
        return real(self, relative)

    monkeypatch.setattr(Archive, "read_text", spy)
    config = tmp_path / "monitor.toml"
    config.write_text("", encoding="utf-8")
    result = CliRunner().invoke(app, ["rules", "test", "Lavrov AND Ukraine"],
                                env={"MONITOR_CONFIG": str(config), "MONITOR_STORAGE__ARCHIVE_ROOT": str(archive)})
    assert result.exit_code == 0, result.output
    assert read == ["rferl.org/a.txt"] and "1 match(es) in 1 article(s)" in result.stderr


def test_opened_opens_only_what_a_command_uses_and_closes_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from monitor.services import Opened
    from monitor.settings import load_settings
    from monitor.store import Store

    config = tmp_path / "monitor.toml"
    config.write_text(f'[storage]\narchive_root = "{tmp_path / "archive"}"\n', encoding="utf-8")
    closed: list[Store] = []
    real_close = Store.close
    monkeypatch.setattr(Store, "close", lambda self: (closed.append(self), real_close(self))[1])
    with Opened(load_settings(config)) as opened:
        assert opened.registry.site_of_host("www.rferl.org") == "rferl.org"
        assert not (tmp_path / "archive").exists()  # no database for a command that parses
        store = opened.store
        assert (tmp_path / "archive" / "monitor.db").exists() and opened.store is store
        assert closed == []
    assert closed == [store]

"""``monitor rules check|test`` and ``monitor alerts list|retry`` through the CLI runner."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from monitor.cli import app
from monitor.demo.sinks import SlackSink
from monitor.model import Match
from monitor.notify import enqueue_matches
from monitor.rules import parse_rules
from monitor.store import make_engine, migrate
from monitor.store.outbox import Outbox, OutboxState

SEEDS = Path(__file__).parent / "fixtures" / "seeds"
runner = CliRunner()


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "monitor.toml"
    path.write_text(
        f'[storage]\nurl = "sqlite:///{tmp_path / "monitor.db"}"\narchive_root = "{tmp_path / "archive"}"\n'
        '[alerts.channels.slack]\ntype = "slack"\nwebhook_url_env = "TEST_CLI_SLACK_HOOK"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("MONITOR_CONFIG", str(path))
    return path


def test_rules_check_accepts_the_shipped_file() -> None:
    result = runner.invoke(app, ["rules", "check", str(Path(__file__).parent.parent / "config" / "rules.toml")])
    assert result.exit_code == 0, result.output
    assert "2 rules OK (1 enabled)" in result.output


def test_rules_check_lists_every_error_and_exits_1(tmp_path: Path, config: Path) -> None:
    bad = tmp_path / "rules.toml"
    bad.write_text('[[rule]]\nname = "a"\nquery = "Lavrov AND"\nchannels = ["slack"]\n\n'
                   '[[rule]]\nname = "b"\nquery = "Kyiv"\nchannels = ["pager"]\n', encoding="utf-8")
    result = runner.invoke(app, ["rules", "check", str(bad)])
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0] == (f"{bad}: line 3, column 20: rule 'a': query column 11: expected a word, a \"phrase\" or '(' "
                        "after AND, found end of query")
    assert lines[1] == f"{bad}: line 6: rule 'b': channels: expected a configured channel (slack), found 'pager'"
    assert "2 error(s)" in lines[2]


def test_rules_check_unreadable_file_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["rules", "check", str(tmp_path / "missing.toml")])
    assert result.exit_code == 2
    assert result.stderr.startswith("monitor: error: cannot read")


def test_rules_test_prints_matches_with_snippets() -> None:
    result = runner.invoke(app, ["rules", "test", "Lawrow AND Ukrain*", "--path", str(SEEDS)])
    assert result.exit_code == 0, result.output
    assert "002_f083d0cb5867924c.txt" in result.stdout and "000_6f1a1f6774c517d9" not in result.stdout
    assert "[Lawrow]" in result.stdout or "[Ukraine]" in result.stdout
    assert "matched: " in result.stdout
    assert "1 match(es) in 2 article(s)" in result.stderr


def test_rules_test_bad_query_points_at_the_column() -> None:
    result = runner.invoke(app, ["rules", "test", "Lavrov NEAR Kyiv", "--path", str(SEEDS)])
    assert result.exit_code == 2
    assert "query column 8: expected NEAR/<number of words>" in result.stderr
    assert result.stderr.splitlines()[-1] == "         ^"


def test_rules_test_bad_since_exits_2() -> None:
    result = runner.invoke(app, ["rules", "test", "Lavrov", "--path", str(SEEDS), "--since", "yesterday"])
    assert result.exit_code == 2 and "--since" in result.stderr


def test_alerts_list_and_retry_resend_dead_letters(tmp_path: Path, config: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'monitor.db'}")
    migrate.upgrade(engine)  # the store's migrations create the outbox with every other table
    rules = {r.name: r for r in parse_rules('[[rule]]\nname = "r"\nquery = "Lavrov"\nchannels = ["slack"]\n')}
    match = Match(rule="r", article_key="rferl.org:1", url="https://www.rferl.org/a/1.html", headline="Lavrov",
                  site="rferl.org", published=None, terms=(), snippet="Lavrov")
    (item,) = enqueue_matches(Outbox(engine), [match], rules, story_key="s1", now=datetime(2026, 1, 1, tzinfo=UTC))
    Outbox(engine).mark_failed(item.id, "slack: HTTP 500", None)

    listed = runner.invoke(app, ["alerts", "list"])
    assert listed.exit_code == 0, listed.output
    assert "slack: 1 dead" in listed.stdout
    assert f"#{item.id} dead slack new rule=r story=s1" in listed.stdout and "HTTP 500" in listed.stdout

    with SlackSink(tmp_path / "slack.jsonl") as sink:
        monkeypatch.setenv("TEST_CLI_SLACK_HOOK", sink.url)
        retried = runner.invoke(app, ["alerts", "retry", "--send"])
    assert retried.exit_code == 0, retried.output
    assert "1 dead alert(s) queued again" in retried.stdout and "slack: 1 sent" in retried.stdout
    assert len(sink.requests) == 1
    assert [r.state for r in Outbox(engine).rows()] == [OutboxState.SENT]
    assert "slack: 1 sent" in runner.invoke(app, ["alerts", "list"]).stdout


def test_alerts_list_rejects_unknown_state(config: Path) -> None:
    result = runner.invoke(app, ["alerts", "list", "--state", "lost"])
    assert result.exit_code == 2 and "expected one of" in result.stderr


def _archive_seed(tmp_path: Path, ids: tuple[str, ...] = ("28902747",)) -> None:
    """The seed text archived and stored once per article id (one day apart, the first newest), as the config
    fixture's database and archive."""
    from datetime import timedelta

    from monitor.model import Article
    from monitor.settings import StorageSettings
    from monitor.store import NewRevision, Store

    archive = tmp_path / "archive"
    text = (SEEDS / "000_6f1a1f6774c517d9.txt").read_text(encoding="utf-8")
    (archive / "rferl.org").mkdir(parents=True)
    store = Store.open(StorageSettings(url=f"sqlite:///{tmp_path / 'monitor.db'}", archive_root=archive))
    for n, article_id in enumerate(ids):
        (archive / "rferl.org" / f"{article_id}.txt").write_text(text, encoding="utf-8")
        published = datetime(2017, 12, 7, 18, 0, tzinfo=UTC) - timedelta(days=n)
        article = Article(url=f"https://www.rferl.org/a/x/{article_id}.html", site="rferl.org", family="pangea",
                          template="pangea.article", article_id=article_id, language="en",
                          headline="Tillerson, Lavrov End Vienna Talks With No Apparent Breakthroughs",
                          published=published)
        stored = store.add_article(article, canonical=article.url, url_hash=f"{n:016d}", folder="rferl.org",
                                   revision=NewRevision(0, "h" * 64, len(text), f"rferl.org/{article_id}.txt", None,
                                                        published),
                                   urls=[article.url], signature=None)
        assert stored != "conflict"
    store.close()


def test_rules_test_searches_the_database_archive(tmp_path: Path, config: Path) -> None:
    _archive_seed(tmp_path)
    result = runner.invoke(app, ["rules", "test", "title:Lavrov AND Ukrain*"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Tillerson, Lavrov End Vienna Talks With No Apparent Breakthroughs\n"
                                    "  https://www.rferl.org/a/x/28902747.html  2017-12-07 18:00 UTC")
    assert "[Ukraine]" in result.stdout
    later = runner.invoke(app, ["rules", "test", "Lavrov", "--since", "2020-01-01"])
    assert "0 match(es) in 0 article(s)" in later.stderr


def test_rules_test_refuses_a_database_behind_the_code_as_the_store_does(tmp_path: Path, config: Path) -> None:
    """rules test reads without the store (no Alembic to import): its schema check says what Store.open does."""
    from sqlalchemy import text

    from monitor.errors import StoreError
    from monitor.services import check_schema
    from monitor.settings import StorageSettings
    from monitor.store import Store

    settings = StorageSettings(url=f"sqlite:///{tmp_path / 'monitor.db'}", archive_root=tmp_path / "archive")
    engine = make_engine(settings.url or "")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE unrelated (x INTEGER)"))  # a database, but not one of ours yet
    for state in ("none", "0001"):
        if state == "0001":
            migrate.upgrade(engine)
            with engine.begin() as connection:
                connection.execute(text("UPDATE alembic_version SET version_num = '0001'"))
        with pytest.raises(StoreError) as by_store:
            Store.open(settings, upgrade=False)
        assert f"is at schema {state}, this monitor needs" in str(by_store.value)
        with pytest.raises(StoreError) as by_reader:
            check_schema(engine)
        assert str(by_reader.value) == str(by_store.value)
        result = runner.invoke(app, ["rules", "test", "Lavrov"])
        assert result.exit_code == 2 and result.stderr == f"monitor: error: {by_store.value}\n"
    engine.dispose()


def test_rules_test_explains_inflected_forms_and_names(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("Сергей Лавров прокомментировал удар по Украине.\n", encoding="utf-8")
    plain = runner.invoke(app, ["rules", "test", "~Lawrow AND Украина", "--path", str(tmp_path)])
    assert "0 match(es) in 1 article(s)" in plain.stderr  # a file has no language: Украина only as written
    result = runner.invoke(app, ["rules", "test", "~Lawrow AND Украина", "--path", str(tmp_path), "--language", "ru"])
    assert result.exit_code == 0, result.output
    assert "matched: Лавров ← ~Lawrow (body 7-13), Украине ← Украина (body 39-46)" in result.stdout
    assert "1 match(es) in 1 article(s)" in result.stderr


def test_rules_test_a_database_failing_mid_search_is_one_store_error(tmp_path: Path, config: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The search reads through the store's error translation: a database that fails after the first batch is one
    line naming it, exit 2, not an SQLAlchemy exception (and nothing but MonitorError is caught: a bug shows)."""
    from functools import partial

    from sqlalchemy import text

    import monitor.search
    from monitor.search.service import SearchService

    _archive_seed(tmp_path, ("1", "2"))
    monkeypatch.setattr(monitor.search, "StoreScan", partial(monitor.search.StoreScan, batch=1))
    engine = make_engine(f"sqlite:///{tmp_path / 'monitor.db'}")
    read = SearchService.text

    def text_then_break_the_database(self: SearchService, candidate: monitor.search.Candidate) -> str | None:
        with engine.begin() as connection:  # the next batch finds no articles table
            connection.execute(text("ALTER TABLE articles RENAME TO articles_gone"))
        return read(self, candidate)

    monkeypatch.setattr(SearchService, "text", text_then_break_the_database)
    result = runner.invoke(app, ["rules", "test", "Lavrov", "--language", "en"])  # --language: the scan, batched
    engine.dispose()
    assert result.exit_code == 2, result.output
    assert result.stderr == (f"monitor: error: database sqlite:///{tmp_path / 'monitor.db'}: read the articles: "
                             "no such table: articles\n")

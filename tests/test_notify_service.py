"""The alerting facade end to end: a parsed seed article through the shipped rule into the outbox and out to a
local Slack stand-in; the same story again (another site, a revision, a restart) gives no second alert."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine

from monitor.demo.sinks import SlackSink
from monitor.errors import RuleFileError
from monitor.model import Article, Block, BlockKind
from monitor.notify import AlertService, load_rule_file
from monitor.settings import AlertsSettings, SlackChannel
from monitor.store.outbox import create_outbox_tables

ROOT = Path(__file__).resolve().parent.parent
SEEDS = Path(__file__).parent / "fixtures" / "seeds"


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    engine = create_engine(f"sqlite:///{tmp_path / 'monitor.db'}")
    create_outbox_tables(engine)
    return engine


def alerts(**changes: object) -> AlertsSettings:
    return AlertsSettings(rules_file=ROOT / "config" / "rules.toml",
                          channels={"slack": SlackChannel(type="slack", webhook_url_env="TEST_SERVICE_HOOK"),
                                    "email": SlackChannel(type="slack", webhook_url_env="TEST_SERVICE_HOOK")},
                          **changes)  # type: ignore[arg-type]


def dw_seed() -> Article:
    text = (SEEDS / "002_f083d0cb5867924c.txt").read_text(encoding="utf-8")
    return Article(url="https://www.dw.com/en/x/a-18447006", site="dw.com", family="dw", template="dw.legacy",
                   article_id="a-18447006", language="en", headline="'No breakthrough' in US-Russia talks",
                   blocks=[Block(BlockKind.PARAGRAPH, p) for p in text.split("\n\n")])


def test_daemon_refuses_an_invalid_rule_file(tmp_path: Path, engine: Engine) -> None:
    bad = tmp_path / "rules.toml"
    bad.write_text('[[rule]]\nname = "x"\nquery = "(Lavrov"\nchannels = ["slack"]\n', encoding="utf-8")
    with pytest.raises(RuleFileError, match=r"line 3, column 17: rule 'x': query column 8: expected '\)'"):
        AlertService.from_settings(engine, alerts(), bad)
    with pytest.raises(RuleFileError, match="cannot read"):
        load_rule_file(tmp_path / "missing.toml")


def test_article_to_slack_once_per_story(tmp_path: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    service = AlertService.from_settings(engine, alerts())
    article = dw_seed()
    matches, created = service.on_article(article, story_key="story-1")
    assert [m.rule for m in matches] == ["lavrov-ukraine"]
    assert sorted(i.channel for i in created) == ["email", "slack"]
    # The same story on another site, then a revision: no new alert.
    other = dw_seed()
    other.site, other.article_id = "svoboda.org", "555"
    assert service.on_article(other, story_key="story-1")[1] == []
    assert service.on_article(article, story_key="story-1", revision="rev-2")[1] == []
    with SlackSink(tmp_path / "slack.jsonl") as sink:
        monkeypatch.setenv("TEST_SERVICE_HOOK", sink.url)
        restarted = AlertService.from_settings(engine, alerts())
        assert restarted.recover() == 0
        reports = restarted.deliver()
    assert {k: r.sent for k, r in reports.items()} == {"slack": 1, "email": 1}
    assert restarted.status() == {"email": {"sent": 1}, "slack": {"sent": 1}}
    assert "No breakthrough" in sink.requests[0]["text"]


def test_operations_messages_once_per_key(engine: Engine) -> None:
    service = AlertService(engine, alerts(operations_channel="slack"), [])
    assert service.operations("rferl-en quiet", "no new article for 24 h", "quiet:rferl-en:2026-11-23") is not None
    assert service.operations("rferl-en quiet", "no new article for 24 h", "quiet:rferl-en:2026-11-23") is None
    assert AlertService(engine, alerts(), []).operations("t", "x", "k") is None


def test_operations_messages_say_what_they_are(engine: Engine, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    with SlackSink(tmp_path / "slack.jsonl") as sink:
        monkeypatch.setenv("TEST_SERVICE_HOOK", sink.url)
        service = AlertService(engine, alerts(operations_channel="slack"), [])
        service.operations("rferl: source failing", "3 runs in a row with errors", "health:rferl:failing:1")
        service.deliver()
        (payload,) = sink.requests
    assert payload["text"].startswith("Operations: rferl: source failing")
    context = payload["blocks"][1]["elements"][0]["text"]
    assert context.endswith("source health") and "matched" not in context

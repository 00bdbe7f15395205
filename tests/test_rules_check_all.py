"""`monitor rules check` lists every error of every rule, not the first of each."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from monitor.cli import app
from monitor.errors import RuleFileError
from monitor.rules import parse_rules

RULES = """\
[[rule]]
name = "first"
query = "Lavrov AND"
channels = ["slack", "pager"]
mode = "digest"
period = "soon"
colour = "red"

[[rule]]
name = "first"
query = "(Ukraine"
channels = []
mode = "immediate"
period = "1h"

[[rule]]
name = "fine"
query = "Lavrov"
channels = ["slack"]
"""


def test_every_error_of_every_rule_is_listed_with_its_position() -> None:
    with pytest.raises(RuleFileError) as caught:
        parse_rules(RULES, "rules.toml", channels={"slack"})
    problems = caught.value.problems
    first = [p for p in problems if p.startswith(("line 1:", "line 3,"))]
    second = [p for p in problems if p.startswith(("line 9:", "line 11,"))]
    assert len(first) == 4, problems  # unknown setting, unknown channel, query, period
    assert any("colour: unknown setting" in p for p in first)
    assert any("channels: expected a configured channel (slack), found 'pager'" in p for p in first)
    assert any(p.startswith("line 3, column 20: rule 'first': query column 11:") for p in first), first
    assert any("period: expected a period such as 30m, 1h or 1d, found 'soon'" in p for p in first)
    assert len(second) == 4, problems  # channels empty, name used twice, query, period without digest
    assert any("channels: " in p for p in second)
    assert any("expected a unique name, 'first' is used twice" in p for p in second)
    assert any(p.startswith("line 11, column") and "query column" in p for p in second), second
    assert any("expected no period unless mode" in p for p in second)
    assert len(problems) == 8


def test_rules_check_prints_them_all(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES, encoding="utf-8")
    config = tmp_path / "monitor.toml"
    config.write_text('[alerts.channels.slack]\ntype = "slack"\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["rules", "check", str(rules)], env={"MONITOR_CONFIG": str(config)})
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 9 and lines[-1].endswith("8 error(s); the file would be refused as a whole"), lines

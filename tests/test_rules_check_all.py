"""`monitor rules check` lists every error of every rule, not the first of each."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from monitor.cli import app
from monitor.errors import RuleFileError
from monitor.rules import parse_rules
from monitor.rules.query import query_errors

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


@pytest.mark.parametrize(("query", "expected"), [
    ("a OR OR b AND AND c", [(6, "expected a word, a \"phrase\" or '(' after OR, found 'OR'"),
                             (15, "expected a word, a \"phrase\" or '(' after AND, found 'AND'")]),
    ("a) b) c)", [(2, "found ')' without a matching '('"), (5, "found ')' without a matching '('"),
                  (8, "found ')' without a matching '('")]),
    # The lexer's errors (NEAR/0, the open quote) no longer hide the parser's one before them.
    ('Lavrov AND (OR x) NEAR/0 foo "bar', [(13, "expected a word, a \"phrase\" or '(', found 'OR'"),
                                          (19, "expected NEAR/1 or more words apart, found NEAR/0"),
                                          (30, "expected a closing quote for the phrase that starts here")]),
    ("nope: x AND", [(1, "expected a field title, teaser or body, found 'nope' (put words with ':' in quotes)"),
                     (12, "expected a word, a \"phrase\" or '(' after AND, found end of query")]),
    (")", [(1, "expected a word, a \"phrase\" or '(', found ')'")]),  # not also "empty query": that is the repair
    ("Lavrov NEAR/20 Ukrain*", []),
])
def test_every_syntax_error_of_a_query(query: str, expected: list[tuple[int, str]]) -> None:
    assert [(e.column, e.message) for e in query_errors(query)] == expected


def test_rules_check_lists_every_error_inside_one_query() -> None:
    text = '[[rule]]\nname = "r"\nquery = "a OR OR b AND AND c"\nchannels = ["slack"]\n'
    with pytest.raises(RuleFileError) as caught:
        parse_rules(text, "rules.toml")
    assert caught.value.problems == [
        "line 3, column 15: rule 'r': query column 6: expected a word, a \"phrase\" or '(' after OR, found 'OR'",
        "line 3, column 24: rule 'r': query column 15: expected a word, a \"phrase\" or '(' after AND, found 'AND'",
    ]

"""Rule files: validation with positions, refusal as a whole, and the shipped rule against the seed articles."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.errors import RuleFileError
from monitor.rules import Document, Matcher, parse_rules

ROOT = Path(__file__).resolve().parent.parent
SEEDS = Path(__file__).parent / "fixtures" / "seeds"

BAD = '''\
[[rule]]
name = "good"
query = "Lavrov"
channels = ["slack"]

[[rule]]
name = "broken-query"
query = "Lavrov AND (Kyiv OR"
channels = ["slack"]

[[rule]]
name = "multi-line"
query = """
Lavrov AND
  (Kyiv OR Kiev
"""
channels = ["slack"]

[[rule]]
name = "bad-settings"
query = "Lavrov"
channels = ["pager"]
mode = "weekly"

[[rule]]
name = "digest-without-period"
query = "Lavrov"
channels = ["email", "pager"]
mode = "digest"

[[rule]]
name = "good"
query = "Kyiv"
channels = ["slack"]
colour = "red"
'''


def test_a_file_with_errors_is_refused_as_a_whole_listing_every_error() -> None:
    with pytest.raises(RuleFileError) as info:
        parse_rules(BAD, "rules.toml", channels={"slack", "email"})
    problems = info.value.problems
    # The single-line query: file line 8, the query starts in column 10, the error is at query column 20.
    assert problems[0] == ("line 8, column 29: rule 'broken-query': query column 20: expected a word, a \"phrase\" "
                           "or '(' after OR, found end of query")
    # The multi-line query ends with its newline, so "end of query" is the start of the closing-quote line.
    assert problems[1].startswith("line 16, column 1: rule 'multi-line': query column 28: expected ')' to close "
                                  "the '(' at column 14")
    assert "line 19: rule 'bad-settings': mode: expected 'immediate' or 'digest'" in problems[2]
    wanted = "rule 'digest-without-period': channels: expected a configured channel (email, slack), found 'pager'"
    assert any(wanted in p for p in problems)
    assert any("rule 'digest-without-period': period: expected a digest period" in p for p in problems)
    assert any("rule 'good': colour: unknown setting" in p for p in problems)
    assert str(info.value).startswith("rules.toml: ")


def test_duplicate_names_and_bad_periods() -> None:
    text = "\n".join([
        "[[rule]]", 'name = "a"', 'query = "x"', 'channels = ["c"]', 'mode = "digest"', 'period = "soon"',
        "[[rule]]", 'name = "a"', 'query = "y"', 'channels = ["c"]', 'period = "1h"',
    ])
    with pytest.raises(RuleFileError) as info:
        parse_rules(text)
    assert "line 1: rule 'a': period: expected a period such as 30m, 1h or 1d, found 'soon'" in info.value.problems
    assert any("expected a unique name, 'a' is used twice" in p for p in info.value.problems)
    assert any("expected no period unless mode" in p for p in info.value.problems)


def test_toml_syntax_errors_are_reported() -> None:
    with pytest.raises(RuleFileError) as info:
        parse_rules("[[rule]\nname=", "r.toml")
    assert "line 1" in info.value.problems[0]


def shipped_rules_matcher() -> Matcher:
    text = (ROOT / "config" / "rules.toml").read_text(encoding="utf-8")
    return Matcher(parse_rules(text, "config/rules.toml", channels={"slack", "email"}))


def test_shipped_rules_file_is_valid() -> None:
    rules = parse_rules((ROOT / "config" / "rules.toml").read_text(encoding="utf-8"))
    assert rules[0].name == "lavrov-ukraine"


@pytest.mark.parametrize("seed", ["000_6f1a1f6774c517d9", "002_f083d0cb5867924c"])
def test_default_rule_matches_both_seed_texts(seed: str) -> None:
    text = (SEEDS / f"{seed}.txt").read_text(encoding="utf-8")
    matches = shipped_rules_matcher().match_document(Document.from_fields(body=text))
    assert [m.rule for m in matches] == ["lavrov-ukraine"]
    words = {t.text for t in matches[0].terms}
    assert "Lavrov" in words and "Ukraine" in words


def test_default_rule_catches_german_caption_of_dw_seed() -> None:
    caption = "John Kerry and Sergei Lawrow\nImage: Reuters/J. Roberts"
    (match,) = shipped_rules_matcher().match_document(Document.from_fields(body=caption + "\nKrieg in der Ukraine"))
    assert {t.text for t in match.terms} == {"Lawrow", "Ukraine"}


@pytest.mark.parametrize(
    "text",
    [
        "Сергей Лавров прокомментировал ситуацию на Украине",
        "Встреча с Лавровым в Киеве",
        "Переговоры Лаврова об Украине",
        "Лаўроў пра вайну ва Украіне",
        "Ławrow o Ukrainie",
        "Сергій Лавров заявив про Україну",
        "Лавров приїхав до Києва",
        "Лавров: Київ",
        "Lavrov's remarks on Ukraine's army",
        "Lawrow warnt die Ukraine",
        "Lavrovs par Ukrainu",
        "Lavrov visited Kyiv",
    ],
)
def test_default_rule_catches_declensions_and_spellings(text: str) -> None:
    assert shipped_rules_matcher().match_document(Document.from_fields(body=text))


@pytest.mark.parametrize("text", ["Lavrov in Syria", "Ukraine and Kerry", "Лавров о Сирии",
                                  # ~Ukraine is the country's name, not the adjective
                                  "Переговоры Лаврова об украинском кризисе", "Lavrov on the Ukrainian army"])
def test_default_rule_needs_both(text: str) -> None:
    assert not shipped_rules_matcher().match_document(Document.from_fields(body=text))


@pytest.mark.parametrize("seed", ["000_6f1a1f6774c517d9", "002_f083d0cb5867924c"])
def test_default_rule_matches_both_parsed_seed_articles(seed: str) -> None:
    from monitor.sites import default_registry

    html = (SEEDS / f"{seed}.source.html").read_text(encoding="utf-8")
    url = (SEEDS / f"{seed}.url").read_text(encoding="utf-8").strip()
    article = default_registry().parse(html, url)
    matches = shipped_rules_matcher().match(article)
    assert [m.rule for m in matches] == ["lavrov-ukraine"]
    assert matches[0].article_key == article.key and matches[0].url == article.url


def test_the_operations_name_is_reserved() -> None:
    with pytest.raises(RuleFileError) as info:
        parse_rules("\n".join(["[[rule]]", 'name = "operations"', 'query = "x"', 'channels = ["c"]']))
    assert info.value.problems == ["line 1: rule 'operations': name: 'operations' is reserved for source-health "
                                   "messages"]

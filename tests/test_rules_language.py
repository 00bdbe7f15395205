"""The query language: every operator, Unicode folding, punctuation, possessives, explained matches."""

from __future__ import annotations

import pytest

from monitor.rules import Document, Matcher, evaluate, mark, parse_query, parse_rules
from monitor.rules.query import QuerySyntaxError


def matches(query: str, body: str = "", title: str = "", teaser: str = "") -> bool:
    return evaluate(parse_query(query), Document.from_fields(title=title, teaser=teaser, body=body)) is not None


@pytest.mark.parametrize(
    ("query", "body", "expected"),
    [
        ("Lavrov", "Sergei Lavrov said", True),
        ("lavrov", "SERGEI LAVROV SAID", True),
        ("Lavrov", "Lavrova met him", False),  # whole words only
        ("Lav", "Lavrov", False),
        ("Lavrov AND Ukraine", "Lavrov on Ukraine", True),
        ("Lavrov AND Ukraine", "Lavrov on Syria", False),
        ("Lavrov Ukraine", "Ukraine, said Lavrov", True),  # side by side means AND
        ("Lavrov Ukraine", "Lavrov alone", False),
        ("Kyiv OR Kiev", "in Kiev today", True),
        ("Kyiv OR Kiev", "in Lviv today", False),
        ("Lavrov NOT Tillerson", "Lavrov spoke", True),
        ("Lavrov NOT Tillerson", "Lavrov and Tillerson spoke", False),
        ("Lavrov AND NOT (Tillerson OR Kerry)", "Lavrov and Kerry", False),
        ("(Kyiv OR Kiev) AND Lavrov", "Lavrov in Kyiv", True),
        ("Kyiv OR Kiev AND Lavrov", "Kyiv only", True),  # AND binds tighter than OR
        ('"Sergei Lavrov"', "Sergei Lavrov said", True),
        ('"Sergei Lavrov"', "Lavrov, Sergei said", False),
        ('"Sergei Lavrov"', "Sergei. Lavrov said", True),  # punctuation between words of a phrase is ignored
        ("“Sergei Lavrov”", "Sergei Lavrov said", True),  # curly quotes in the query
        ('"foreign minister"', "Foreign Minister Sergei", True),
        ("Ukrain*", "the Ukrainian side", True),
        ("Ukrain*", "Ukraine", True),
        ("Ukrain*", "Ukr", False),
        ('"Sergei Lav*"', "Sergei Lavrov", True),
        ("Lavrov NEAR/3 Ukraine", "Lavrov spoke about Ukraine", True),
        ("Lavrov NEAR/2 Ukraine", "Lavrov spoke about Ukraine", False),
        ("Lavrov NEAR/3 Ukraine", "Ukraine, said Mr Lavrov", True),  # either order
        ("Lavrov NEAR/1 (Kyiv OR Kiev)", "Lavrov Kiev", True),
        ('"Sergei Lavrov" NEAR/5 Ukrain*', "Sergei Lavrov went to Ukraine", True),
        ("Russia", "Russia-backed separatists", True),  # hyphens split words
        ("Lavrov", "Lavrov's remarks", True),  # possessive
        ("Lavrov", "Lavrov’s remarks", True),  # curly apostrophe
        ("Lavrov's", "Lavrov said", True),
        ("Tillerson", "Tillerson—Lavrov", True),
        ("U.S.", "the U.S. secretary", True),
        ("Лавров", "Сергей ЛАВРОВ заявил", True),  # Cyrillic case folding
        ("лавров*", "встреча с Лавровым", True),
        ("Лаврова", "Лавров", False),
        ("Україн*", "в УКРАЇНІ сьогодні", True),
        ("Київ", "у Київ", True),
        ("Киев", "Киева", False),
        ("Straße", "STRASSE", True),  # full case folding
        ("Lawrow", "Sergei Lawrow", True),
        ("resume", "his résumé", True),  # accents ignored
        ("Zelenskyy", "ZELENSKYY", True),
        ("10", "more than 10,000 people", True),
    ],
)
def test_operators_and_normalisation(query: str, body: str, expected: bool) -> None:
    assert matches(query, body) is expected


def test_field_scopes() -> None:
    assert matches("title:Lavrov", title="Lavrov in Vienna", body="nothing")
    assert not matches("title:Lavrov", title="Talks in Vienna", body="Lavrov spoke")
    assert matches("teaser:Kyiv", teaser="News from Kyiv")
    assert not matches("body:Kyiv", teaser="News from Kyiv")
    assert matches('title:(Lavrov OR Lawrow) AND body:"peace deal"', title="Lawrow", body="the peace deal")
    assert matches("Lavrov", title="Lavrov")  # no scope: any field


def test_near_stays_within_one_field() -> None:
    assert not matches("Lavrov NEAR/50 Ukraine", title="Lavrov", body="Ukraine")


def test_operators_only_in_capitals() -> None:
    assert matches("Lavrov and Ukraine", "Lavrov and Ukraine")
    assert not matches("Lavrov or Ukraine", "Lavrov and Ukraine")  # "or" is a word that must occur


def test_explained_match_names_terms_fields_offsets_and_snippet() -> None:
    body = "The talks ended. Russian Foreign Minister Sergei Lavrov's statement on Ukraine was short."
    rules = parse_rules('[[rule]]\nname = "lu"\nquery = "Lavrov AND Ukrain*"\nchannels = ["slack"]\n')
    (match,) = Matcher(rules).match_document(Document.from_fields(title="Talks", body=body))
    assert match.rule == "lu"
    found = {(t.term, t.field, t.text) for t in match.terms}
    assert found == {("Lavrov", "body", "Lavrov's"), ("Ukrain*", "body", "Ukraine")}
    for term in match.terms:
        assert body[term.start:term.end] == term.text
    marked = mark(match.snippet, match.highlights, "[", "]")
    assert "[Lavrov's]" in marked and "[Ukraine]" in marked


def test_matcher_skips_rules_without_anchor_words_but_keeps_not_rules() -> None:
    text = "\n".join([
        "[[rule]]", 'name = "a"', 'query = "Lavrov"', 'channels = ["x"]',
        "[[rule]]", 'name = "b"', 'query = "Kerry"', 'channels = ["x"]',
        "[[rule]]", 'name = "c"', 'query = "Ukrain* AND NOT Kerry"', 'channels = ["x"]',
    ])
    matcher = Matcher(parse_rules(text))
    doc = Document.from_fields(body="Lavrov in Ukraine")
    assert [m.rule for m in matcher.match_document(doc)] == ["a", "c"]


def test_scope_sites_languages_sections() -> None:
    text = "\n".join([
        "[[rule]]", 'name = "ru-only"', 'query = "Lavrov"', 'channels = ["x"]', 'languages = ["ru"]',
        'sites = ["svoboda.org"]',
    ])
    matcher = Matcher(parse_rules(text))
    assert matcher.match_document(Document.from_fields(body="Lavrov", site="www.svoboda.org", language="ru"))
    assert not matcher.match_document(Document.from_fields(body="Lavrov", site="www.rferl.org", language="ru"))
    assert not matcher.match_document(Document.from_fields(body="Lavrov", site="svoboda.org", language="en"))


@pytest.mark.parametrize(
    ("query", "column", "expected"),
    [
        ("Lavrov AND", 11, "expected a word, a \"phrase\" or '(' after AND, found end of query"),
        ("(Lavrov OR Kyiv", 16, "expected ')' to close the '(' at column 1"),
        ("Lavrov)", 7, "without a matching '('"),
        ('"Sergei Lavrov', 1, "closing quote"),
        ("Lavrov NEAR Ukraine", 8, "NEAR/<number of words>"),
        ("Lavrov NEAR/0 Ukraine", 8, "expected NEAR/1 or more words apart"),
        ("Lavrov NEAR/5 (Kyiv AND Kiev)", 8, "on both sides of NEAR/5"),
        ("Uk*raine", 3, "'*' only at the end of a word"),
        ("U*", 1, "at least 2 letters before '*'"),
        ("author:Lavrov", 1, "expected a field title, teaser or body, found 'author'"),
        ("NOT Lavrov", 1, "only of NOT"),
        ("", 1, "empty query"),
        ("Lavrov OR OR Kyiv", 11, "after OR, found 'OR'"),
        ('""', 1, "empty phrase"),
        ("()", 2, "inside the parentheses"),
        ("title:", 7, "after title:"),
    ],
)
def test_syntax_errors_name_column_and_expectation(query: str, column: int, expected: str) -> None:
    with pytest.raises(QuerySyntaxError) as info:
        parse_query(query)
    assert info.value.column == column, info.value
    assert expected in info.value.message

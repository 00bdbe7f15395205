"""The query language: every operator, Unicode folding, punctuation, possessives, explained matches."""

from __future__ import annotations

import pytest

from monitor.errors import QuerySyntaxError
from monitor.rules import Document, Matcher, evaluate, mark, parse_query, parse_rules


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


# --- inflection, =exact and ~names (the language of a text is the article's) ---------------------------------------


def lang_matches(query: str, title: str, language: str | None) -> bool:
    return evaluate(parse_query(query), Document.from_fields(title=title, language=language)) is not None


@pytest.mark.parametrize(
    ("query", "title", "language", "expected"),
    [
        ("Украина", "Новый удар по Украине", "ru", True),
        ("Украина", "обмен пленными с Украиной", "ru", True),
        ("Украина", "украинский флот", "ru", False),  # another word, though it starts the same
        ("Украина", "Новый удар по Украине", None, False),  # language unknown: the written form only
        ("Лавров", "встреча с Лавровым", "ru-RU", True),
        ("Україна", "Нічна атака по Україні", "uk", True),
        ("Україна", "українських військових", "uk", False),
        ("=Украина", "Новый удар по Украине", "ru", False),
        ("=Украина", "Украина и Россия", "ru", True),
        ("sanctions", "EU prepares new sanction", "en", True),
        ("Sanktion", "Neue Sanktionen gegen Moskau", "de", True),
        ("=Sanktion", "Neue Sanktionen gegen Moskau", "de", False),
        ('"Сергей Лавров"', "встреча с Сергеем Лавровым", "ru", True),  # phrase words inflect too
        ("~Lavrov", "Лаўроў прыехаў", "be", True),
        ("~Lavrov", "встреча с Лавровым", "ru", True),
        ("~Lavrov", "Ławrow w Moskwie", "pl", True),
        ("~Lavrov", "встреча с Лавровым", None, True),  # names need no language
        ("~Лавров", "Lavrov said", "en", True),
        ("~Zelensky", "Зяленскі заявіў", "be", True),
        ("~Zelensky", "Selenskyj reist", "de", True),
        ("~Zelensky", "зеленский цвет", "ru", False),  # a name is written with a capital
        ("~Lavrov", "Lavrentiev", "en", False),
        ("title:~Kyiv AND NOT =Kiev", "Удар по Києву", "uk", True),
        ("~Lavrov NEAR/3 ~Kyiv", "Лавров приїхав до Києва", "uk", True),
    ],
)
def test_inflection_exact_and_names(query: str, title: str, language: str | None, expected: bool) -> None:
    assert lang_matches(query, title, language) is expected


@pytest.mark.parametrize(
    ("query", "column", "message"),
    [
        ("~ Lavrov", 1, "expected a word with letters or digits, found '~'"),
        ("Lavrov AND =", 12, "expected a word with letters or digits, found '='"),
        ("~Lavr*", 1, "expected either ~word or word*, not both"),
        ("~Russia-backed", 1, "expected one word after '~'"),
    ],
)
def test_marker_errors_point_at_the_word(query: str, column: int, message: str) -> None:
    with pytest.raises(QuerySyntaxError) as info:
        parse_query(query)
    assert info.value.column == column and message in info.value.message


def test_matches_explain_the_query_word_and_the_form_found() -> None:
    from monitor.rules import explain

    rules = parse_rules('[[rule]]\nname = "r"\nquery = "~Lavrov AND Украина"\nchannels = ["slack"]\n')
    doc = Document.from_fields(title="Лаврова спросили об Украине", body="Лавров", language="ru")
    (match,) = Matcher(rules).match_document(doc)
    assert {explain(t) for t in match.terms} == {"Лаврова ← ~Lavrov", "Украине ← Украина", "Лавров ← ~Lavrov"}
    same = Matcher(parse_rules('[[rule]]\nname = "r"\nquery = "Lavrov"\nchannels = ["slack"]\n'))
    (plain,) = same.match_document(Document.from_fields(title="LAVROV", language="en"))
    assert [explain(t) for t in plain.terms] == ["LAVROV"]  # nothing to explain when the form is the word
    named = Matcher(parse_rules('[[rule]]\nname = "r"\nquery = "~Lavrov"\nchannels = ["slack"]\n'))
    (name,) = named.match_document(Document.from_fields(title="Lavrov's talks", language="en"))
    assert [explain(t) for t in name.terms] == ["Lavrov's"]


def test_matcher_chooses_rules_by_the_articles_language() -> None:
    text = ('[[rule]]\nname = "ru"\nquery = "Украина"\nchannels = ["s"]\n'
            '[[rule]]\nname = "de"\nquery = "Sanktion"\nchannels = ["s"]\n'
            '[[rule]]\nname = "name"\nquery = "~Kyiv"\nchannels = ["s"]\n')
    matcher = Matcher(parse_rules(text))
    assert [m.rule for m in matcher.match_document(Document.from_fields(title="По Украине", language="ru"))] == ["ru"]
    assert [m.rule for m in matcher.match_document(Document.from_fields(title="Sanktionen", language="de"))] == ["de"]
    assert [m.rule for m in matcher.match_document(Document.from_fields(title="Києва", language="uk"))] == ["name"]
    assert matcher.match_document(Document.from_fields(title="По Украине", language=None)) == []


# The examples of README.md's query-language table, word by word: (query, language, found, not found).
README_EXAMPLES = [
    ("Украина", "ru", "Украина Украины Украине Украину Украиной", "украинский Україна"),
    ("Україна", "uk", "Україна України Україні Україну Україною", "український"),
    ("Лавров", "ru", "Лавров Лаврова Лаврову Лавровым", "Лавры"),
    ("Лавров", "uk", "Лавровим", ""),
    ("Москва", "ru", "Москва Москвы Москве", "московский"),
    ("Москва", "uk", "Москви Москві", ""),
    ("sanctions", "en", "sanction sanctions", "sanctity"),
    ("Sanktion", "de", "Sanktion Sanktionen", ""),
    ("=Украина", "ru", "Украина", "Украины Украине"),
    ("~Lavrov", None, "Lavrov Lawrow Ławrow Lavrovs Лавров Лаврова Лавровым Лаўроў", "Лавра"),
    ("~Zelensky", None, "Zelensky Zelenskyy Selenskyj Зеленский Зеленского Зеленський Зеленському Зяленскі",
     "Зелёный"),
    ("~Лавров", "en", "Lavrov", ""),
    ("~Зеленський", "en", "Zelenskyy", ""),
    ("~Україна", None, "Ukraine Украина Украине Україні Украіна", "Ukrainian"),
    ("~Kyiv", None, "Kyiv Kiev Kiew Киев Києва", "Київщина"),
    ("~USA", "en", "USA US America", ""),
]


@pytest.mark.parametrize(("query", "language", "found", "not_found"), README_EXAMPLES)
def test_readme_query_language_examples(query: str, language: str | None, found: str, not_found: str) -> None:
    assert [w for w in found.split() if not lang_matches(query, w, language)] == []
    assert [w for w in not_found.split() if lang_matches(query, w, language)] == []


def test_alerts_say_which_query_word_found_which_form() -> None:
    from monitor.model import Article, Block, BlockKind
    from monitor.notify.content import AlertContent
    from monitor.notify.email import build_email
    from monitor.notify.slack import slack_payload

    rules = parse_rules('[[rule]]\nname = "lavrov"\nquery = "~Lavrov AND ~Ukraine"\nchannels = ["slack"]\n')
    article = Article(url="https://www.svoboda.org/a/1.html", site="www.svoboda.org", family="pangea",
                      template="article", article_id="1", language="ru", headline="Лаврова спросили об Украине",
                      blocks=[Block(BlockKind.PARAGRAPH, "Ответ Лаврова.")])
    (match,) = Matcher(rules).match(article)
    content = AlertContent("new", "lavrov", (match,), "<m@x>", None)
    email = build_email(content, "monitor@example.org", ["desk@example.org"])
    text = email.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "matched: Лаврова ← ~Lavrov, Украине ← ~Ukraine" in text
    context = slack_payload(content)["blocks"][1]["elements"][0]["text"]
    assert "matched: Лаврова ← ~Lavrov, Украине ← ~Ukraine" in context

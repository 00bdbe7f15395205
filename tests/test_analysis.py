"""monitor.analysis: words, inflection by dictionary and stem, names across scripts, and the one key API."""

from __future__ import annotations

import pytest

from monitor.analysis import NameQuery, analyze, name_key, query_keys
from monitor.analysis.names import NameRules, default_rules
from monitor.analysis.text import distinct_words, normalize_word, split

# --- names: the letter tables, one language at a time -----------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "spellings"),
    [
        ("ru", ["Лавров", "Lavrov"]),
        ("ru", ["Зеленский", "Zelensky"]),
        ("ru", ["Шойгу", "Shoigu"]),
        ("ru", ["Хабаровск", "Khabarovsk"]),
        ("ru", ["Щербаков", "Shcherbakov"]),
        ("uk", ["Зеленський", "Zelenskyy", "Zelensky"]),
        ("uk", ["Київ", "Kyiv"]),
        ("uk", ["Ґонґадзе", "Gongadze"]),
        ("uk", ["Зеленського", "Зеленского"]),  # Ukrainian г keys as Russian г
        ("be", ["Лаўроў", "Lavrov"]),
        ("be", ["Лукашэнка", "Lukashenka"]),
        ("pl", ["Ławrow", "Lavrov"]),
        ("pl", ["Łukaszenka", "Lukashenka"]),
        ("pl", ["Szczerbakow", "Shcherbakov"]),
        ("de", ["Lawrow", "Lavrov"]),
        ("de", ["Selenskyj", "Zelensky"]),
        ("de", ["Schoigu", "Shoigu"]),
        ("de", ["Chruschtschow", "Chrushchov"]),
        ("cs", ["Šojgu", "Shoigu"]),
        ("cs", ["Žukov", "Zhukov"]),
        ("en", ["Lavrov's", "Lavrov"]),
    ],
)
def test_letter_tables_bring_spellings_to_one_key(language: str, spellings: list[str]) -> None:
    keys = {name_key(s) for s in spellings}
    assert len(keys) == 1, f"{language}: {dict(zip(spellings, map(name_key, spellings), strict=True))}"


def test_different_names_keep_different_keys() -> None:
    assert len({name_key(n) for n in ["Lavrov", "Lavra", "Putin", "Trump", "Kyiv", "Kiev", "Rose", "Russia"]}) == 8


def test_abbreviations_key_apart_from_words() -> None:
    assert name_key("US") != name_key("Us") and name_key("РФ") == "=rf"


@pytest.mark.parametrize(
    ("query", "language", "found", "not_found"),
    [
        ("Lavrov", "ru", ["Лаврова", "Лаврову", "Лавровым", "Лавров"], ["Лавр", "Лаврентьев"]),
        ("Lavrov", "be", ["Лаўроў", "Лаўрова"], []),
        ("Lavrov", "pl", ["Ławrow", "Ławrowem", "Ławrowa"], []),
        ("Lavrov", "lv", ["Lavrovs", "Lavrova"], []),
        ("Lavrov", "de", ["Lawrow", "Lawrows"], ["Lawrowa"]),  # German declines no names this way
        ("Zelensky", "uk", ["Зеленський", "Зеленського", "Зеленському", "Зеленським"], ["Зеленщина"]),
        ("Zelensky", "be", ["Зяленскі", "Зяленскага"], []),
        ("Zelensky", "de", ["Selenskyj"], []),
        ("Лавров", "en", ["Lavrov", "Lavrov's"], ["Lavrova", "Lavr"]),
        ("Ukraine", "ru", ["Украина", "Украины", "Украине", "Украину", "Украиной"], ["Украинский", "Украинец"]),
        ("Ukraine", "uk", ["Україна", "України", "Україні", "Україною"], ["Український"]),
        ("Ukraine", "en", ["Ukraine", "Ukraine's"], ["Ukrainian", "Ukrainians"]),
        ("Russia", "en", ["Russia", "Russia's"], ["Rose", "Russian"]),
        ("Trump", "uk", ["Трамп", "Трампа", "Трампом"], ["Трампліна"]),
        ("USA", "en", ["USA", "US", "America"], ["Us", "USAID"]),
    ],
)
def test_names_find_their_spellings_and_case_forms(query: str, language: str, found: list[str],
                                                   not_found: list[str]) -> None:
    keys = NameQuery(query).keys(language)
    assert [w for w in found if name_key(w) not in keys] == []
    assert [w for w in not_found if name_key(w) in keys] == []


def test_name_tables_are_data_checked_for_conflicts() -> None:
    text = '[letters.ru]\n"в" = "v"\n[letters.be]\n"в" = "w"\n[folds]\n[endings]\n'
    with pytest.raises(ValueError, match=r"letters\.be"):
        NameRules.from_toml(text)


def test_every_letter_maps_to_plain_latin() -> None:
    rules = default_rules()
    assert all(latin.isascii() and latin == latin.lower() for latin in rules.letters.values())
    assert all(letter == letter.lower() for letter in rules.letters)


# --- inflection ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "language", "forms", "not_forms"),
    [
        ("Украина", "ru", ["украины", "украине", "украину", "украиной"], ["украинский", "украинец"]),
        ("Лавров", "ru", ["лаврова", "лаврову", "лавровым"], ["лавры", "лавр"]),  # the surname, not laurels
        ("Зеленский", "ru", ["зеленского", "зеленскому"], []),
        ("Україна", "uk", ["україни", "україні", "україною"], ["український"]),
        ("Москва", "uk", ["москви", "москві"], ["московський"]),
    ],
)
def test_dictionary_forms(word: str, language: str, forms: list[str], not_forms: list[str]) -> None:
    keys = query_keys(word, language)
    assert keys.kind == "form"
    assert {normalize_word(f) for f in forms} <= keys.values
    assert not {normalize_word(f) for f in not_forms} & keys.values


@pytest.mark.parametrize(
    ("word", "language", "same", "other"),
    [
        ("sanctions", "en", "sanction", "sanctity"),
        ("Sanktionen", "de", "Sanktion", "Sankt"),
        ("élections", "fr", "élection", "élu"),
    ],
)
def test_snowball_stems_elsewhere(word: str, language: str, same: str, other: str) -> None:
    keys = query_keys(word, language)
    assert keys.kind == "stem"
    stems = {t.form: t.stem for t in analyze(f"{same} {other}", language)}
    assert stems[normalize_word(same)] in keys.values and stems[normalize_word(other)] not in keys.values


def test_exact_and_unknown_language_compare_written_forms() -> None:
    assert query_keys("=Украина", "ru").values == {"украина"}
    assert query_keys("Украина", None).values == {"украина"}
    assert query_keys("Ukrain*", "en").kind == "prefix"


def test_latin_word_in_a_russian_text_is_taken_as_written() -> None:
    assert query_keys("SWIFT", "ru-RU").values == {"swift"}


# --- the shared API: a search over analyze()'s tokens agrees with the rule matcher --------------------------------


@pytest.mark.parametrize(
    ("query", "text", "language"),
    [
        ("Украина", "Новый удар России по Украине, украинский флот", "ru"),
        ("~Lavrov", "Лаврова встретили в Києві", "uk"),
        ("~Zelensky", "Selenskyj und Lawrow", "de"),
        ("sanctions", "New sanctions, sanction talk", "en"),
        ("=Украина", "Украина и Украине", "ru"),
    ],
)
def test_query_keys_and_analyze_agree_with_the_matcher(query: str, text: str, language: str) -> None:
    from monitor.rules import Document, evaluate, parse_query

    keys = query_keys(query, language)
    found = []
    for token in analyze(text, language):
        value = {"form": token.form, "stem": token.stem, "name": token.name}[keys.kind]
        if value in keys.values:
            found.append((token.start, token.end, token.surface))
    hits = evaluate(parse_query(query), Document.from_fields(title=text, language=language)) or []
    spans = Document.from_fields(title=text, language=language).fields["title"].spans
    assert found == [(spans[h.first][0], spans[h.first][1], text[spans[h.first][0]:spans[h.first][1]]) for h in hits]
    assert found  # every example finds something


def test_analyze_gives_offsets_and_dictionary_lemmas() -> None:
    (first, second) = analyze("Лаврова, Украине", "ru")
    assert (first.surface, first.start, first.end) == ("Лаврова", 0, 7)
    assert "лавров" in first.lemmas and second.lemmas == {"украина"}
    assert second.name == name_key("Украине")


def test_stemmer_languages_are_those_with_a_stemmer() -> None:
    from monitor.analysis import morphology

    listed = morphology.stemmer_languages()
    assert list(listed) == sorted(set(listed)) and {"de", "en", "es"} <= set(listed)
    assert all(morphology.has_stemmer(code) for code in listed)
    assert not {"ru", "uk"} & set(listed)  # inflected by dictionary instead


@pytest.mark.parametrize("text", [
    "Lavrov's talks\u00a0in Kyiv — \u201cno deal\u201d, said O\u2019Brien; rock\u2019n\u2019roll_fan foo__bar",
    "Лавров:\u2009«Україна» — зустріч\u200bв Києві, п'ять 5-ти 2024р. ʼязь ‘quoted’",
    "tabs\tand\nnew\r\nlines\x0bvertical\x1cseparators\u2028line\u3000ideographic 北京 نتيجة",
    "", "   ", "'''", "a'b' 'c d'e'f ''g",
])
def test_distinct_words_are_the_words_split_finds(text: str) -> None:
    # distinct_words cuts at whitespace first and remembers each chunk's words: the same words as the full scan.
    assert distinct_words(text) == set(split(text)[1::2])

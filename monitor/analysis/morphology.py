"""Inflection: the dictionary for Russian and Ukrainian (pymorphy3 with the OpenCorpora and LanguageTool
dictionaries, installed as packages, nothing downloaded at run time) and a Snowball stemmer for the other languages
that have one.

A dictionary says which written forms belong to one word, so ``Украина`` finds Украины, Украине, Украину and
Украиной but not "украинский", which a prefix or a stemmer would also take. Where there is no dictionary, Snowball's
stem is the best known approximation (German Sanktionen and Sanktion share ``sanktion``).
"""

from __future__ import annotations

from functools import cache, lru_cache
from typing import Any

import Stemmer

from monitor.analysis.text import normalize_word

#: Languages inflected by dictionary.
DICTIONARY_LANGUAGES = ("ru", "uk")

#: Snowball stemmers by language code (ISO 639-1, and the few codes the services use otherwise).
_SNOWBALL = {
    "ar": "arabic", "hy": "armenian", "eu": "basque", "ca": "catalan", "cs": "czech", "da": "danish", "nl": "dutch",
    "en": "english", "et": "estonian", "fi": "finnish", "fr": "french", "de": "german", "el": "greek",
    "hi": "hindi", "hu": "hungarian", "id": "indonesian", "ga": "irish", "it": "italian", "lt": "lithuanian",
    "ne": "nepali", "no": "norwegian", "nb": "norwegian", "fa": "persian", "pl": "polish", "pt": "portuguese",
    "ro": "romanian", "sr": "serbian", "sh": "serbian", "hr": "serbian", "bs": "serbian", "es": "spanish",
    "sv": "swedish", "ta": "tamil", "tr": "turkish",
}


@cache
def _analyzer(language: str) -> Any:
    """The dictionary of ``language``, loaded once per process (about 0.1 s and 15 MB each), and only by a process
    that matches a Russian or Ukrainian word: the import alone takes longer than most commands."""
    import pymorphy3

    return pymorphy3.MorphAnalyzer(lang=language)


@cache
def _stemmer(algorithm: str) -> Any:
    return Stemmer.Stemmer(algorithm)


def has_stemmer(language: str | None) -> bool:
    return language in _SNOWBALL


def stemmer_languages() -> tuple[str, ...]:
    """Every language code with a Snowball stemmer, sorted (a search index asks for a word's stem in each)."""
    return tuple(sorted(_SNOWBALL))


@lru_cache(maxsize=1 << 12)  # query words, and the words of phrases checked in place: documents use stems()
def stem(word: str, language: str) -> str:
    """The Snowball stem of an already normalised word; the word itself where ``language`` has no stemmer."""
    algorithm = _SNOWBALL.get(language)
    return _stemmer(algorithm).stemWord(word) if algorithm else word


#: Stems already known, per language: the words of articles repeat, and a dictionary lookup is several times
#: faster than asking Snowball again (whose own cache does little for German). Emptied when it reaches the limit.
_KNOWN_STEMS: dict[str, dict[str, str]] = {}
_KNOWN_LIMIT = 1 << 17


def stems(words: list[str], language: str) -> list[str]:
    """:func:`stem` for many words at once (what a document needs)."""
    algorithm = _SNOWBALL.get(language)
    if not algorithm:
        return words
    known = _KNOWN_STEMS.setdefault(language, {})
    missing = [w for w in words if w not in known]
    if missing:
        if len(known) + len(missing) > _KNOWN_LIMIT:
            known.clear()
        known.update(zip(missing, _stemmer(algorithm).stemWords(missing), strict=True))
    return [known[w] for w in words]


@lru_cache(maxsize=1 << 14)
def forms(word: str, language: str) -> frozenset[str]:
    """Every written form (normalised) of the dictionary word ``word`` (lower case, as written: the dictionary
    tells й from и) is a form of, in ``language`` (ru or uk).

    The word as an analyst writes it is usually the dictionary form: parses whose lemma is the word itself are
    taken (``Лавров`` is the surname, not the genitive plural of лавр); otherwise every parse's word.
    """
    morph = _analyzer(language)
    parses = morph.parse(word)
    norm = normalize_word(word)
    own = [p for p in parses if normalize_word(p.normal_form) == norm]
    found = {norm}
    for parse in own or parses:
        found.update(normalize_word(f.word) for f in parse.lexeme)
    return frozenset(found)


@lru_cache(maxsize=1 << 15)
def lemmas(word: str, language: str) -> frozenset[str]:
    """The dictionary words a normalised written form can be (Лаврова: лавров, лаврова), for an index."""
    return frozenset(normalize_word(p.normal_form) for p in _analyzer(language).parse(word))

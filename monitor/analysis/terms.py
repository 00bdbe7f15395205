"""What a query word and a text's words are compared by: the one API the rule matcher (and a search index) use.

A text's words (:func:`analyze`) carry keys of three kinds; a query word (:class:`QueryWord`) says, for a text of a
given language, which kind it compares by and which keys it accepts:

``form``    the normalised written form (:func:`~monitor.analysis.text.normalize_word`). ``=word`` compares by it;
            so does a plain Russian or Ukrainian word, expanded to every form of its dictionary word, and a plain
            word in a text whose language is unknown or has neither dictionary nor stemmer.
``stem``    the Snowball stem in the text's language: a plain word in German, English, French, ...
``name``    the name key (:mod:`monitor.analysis.names`): ``~Name``, in any script, with the case endings of the
            text's language.
``prefix``  ``Ukrain*``: any normalised form starting with the key (a text offers its forms for this).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from monitor.analysis import morphology
from monitor.analysis.names import name_key, name_query
from monitor.analysis.text import normalize_word, split

Kind = Literal["form", "stem", "name", "prefix"]
_CYRILLIC_RE = re.compile(r"[\u0400-\u04ff]")


def language_of(code: str | None) -> str | None:
    """The bare language of a text's code: ``ru-RU`` is ``ru``; None or empty when unknown."""
    return code.casefold().split("-")[0] or None if code else None


@dataclass(frozen=True, slots=True)
class Keys:
    kind: Kind
    values: frozenset[str]


class QueryWord:
    """One word of a query: ``Украина`` (inflected), ``=Украина`` (exact), ``~Lavrov`` (name) or ``Ukrain*``."""

    __slots__ = ("_keys", "_name", "kind", "norm", "prefix", "written")

    def __init__(self, norm: str, prefix: bool = False, kind: Literal["word", "exact", "name"] = "word",
                 written: str = "") -> None:
        self.norm = norm
        self.prefix = prefix
        self.kind = kind
        self.written = written or norm  # as the analyst wrote it (the dictionary needs й, ї and ё)
        self._keys: dict[str | None, Keys] = {}
        self._name = name_query(self.written) if kind == "name" else None

    def keys(self, language: str | None) -> Keys:
        """What this word accepts in a text of ``language`` (bare code, e.g. ``ru``; None when unknown)."""
        found = self._keys.get(language)
        if found is None:
            found = self._keys[language] = self._compute(language)
        return found

    def _compute(self, language: str | None) -> Keys:
        if self.prefix:
            return Keys("prefix", frozenset({self.norm}))
        if self._name is not None:
            return Keys("name", self._name.keys(language))
        if self.kind == "exact" or language is None:
            return Keys("form", frozenset({self.norm}))
        if language in morphology.DICTIONARY_LANGUAGES:
            if _CYRILLIC_RE.search(self.norm):
                return Keys("form", morphology.forms(self.written.casefold(), language))
            return Keys("form", frozenset({self.norm}))  # a Latin word in a Russian text: as written
        if morphology.has_stemmer(language):
            return Keys("stem", frozenset({morphology.stem(self.norm, language)}))
        return Keys("form", frozenset({self.norm}))

    def accepts(self, language: str | None, form: str, surface: str) -> bool:
        """Whether one word of a text (normalised ``form``, written ``surface``) is this query word."""
        keys = self.keys(language)
        if keys.kind == "prefix":
            return form.startswith(self.norm)
        if keys.kind == "form":
            return form in keys.values
        if keys.kind == "stem":
            return morphology.stem(form, language or "") in keys.values
        # A name is written with a capital: only such words are reduced to name keys (most words are not names).
        return surface[:1].isupper() and name_key(surface) in keys.values

    @property
    def label(self) -> str:
        """The word as a query shows it."""
        marker = {"exact": "=", "name": "~"}.get(self.kind, "")
        return f"{marker}{self.written}{'*' if self.prefix else ''}"

    def _identity(self) -> tuple[str, bool, str]:
        return (self.norm, self.prefix, self.kind)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, QueryWord) and other._identity() == self._identity()

    def __hash__(self) -> int:
        return hash(self._identity())

    def __repr__(self) -> str:
        return f"QueryWord({self.label!r})"


def query_keys(word: str, language: str | None) -> Keys:
    """The keys a query word (``Украина``, ``=Украина``, ``~Lavrov``, ``Ukrain*``) accepts in a text of
    ``language``: compare them with the same kind of key of :func:`analyze`'s tokens."""
    kind: Literal["word", "exact", "name"] = "word"
    if word[:1] in "=~":
        kind = "exact" if word[0] == "=" else "name"
        word = word[1:]
    prefix = word.endswith("*")
    word = word.rstrip("*")
    return QueryWord(normalize_word(word), prefix, kind, word).keys(language_of(language))


@dataclass(frozen=True, slots=True)
class Token:
    """One word of a text: as written, where, its normalised form, and its keys for comparing with a query."""

    surface: str
    start: int
    end: int
    form: str
    stem: str | None  # Snowball stem in the text's language, where it has a stemmer
    lemmas: frozenset[str]  # dictionary words (Russian and Ukrainian texts)
    name: str | None  # name key, of a word written with a capital (as names are)


def analyze(text: str, language: str | None) -> list[Token]:
    """Every word of ``text`` with its offsets and keys, for a text of ``language`` (e.g. ``ru``, ``de-DE``)."""
    language = language_of(language)
    parts = split(text)
    tokens: list[Token] = []
    pos = 0
    for i, part in enumerate(parts):
        if i % 2:
            form = normalize_word(part)
            stem = morphology.stem(form, language) if language and morphology.has_stemmer(language) else None
            lemmas = (morphology.lemmas(part.casefold(), language)
                      if language in morphology.DICTIONARY_LANGUAGES and _CYRILLIC_RE.search(part) else frozenset())
            name = name_key(part) if part[:1].isupper() else None
            tokens.append(Token(part, pos, pos + len(part), form, stem, lemmas, name))
        pos += len(part)
    return tokens

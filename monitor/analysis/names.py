"""Names across scripts: ``~Lavrov`` finds Лавров, Лаврова, Лаўроў, Lawrow, Ławrow and Lavrovs.

A written word is reduced to a *name key*, a coarse Latin spelling in which the usual transliterations of one name
coincide; a name in a query becomes the set of keys its inflected forms can have in a text of a given language.
The letters, folds, case endings and irregular spellings are data (``names.toml`` beside this module), so a new
language or an irregular name is an edit there, and each is tested on its own.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib import resources

from anyascii import anyascii

from monitor.analysis.text import unmix

_APOSTROPHES_RE = re.compile(r"['’ʼ‘`]")
_POSSESSIVE_RE = re.compile(r"['’ʼ‘]s$")
_DOUBLED_RE = re.compile(r"(.)\1+")
_VOWELS = frozenset("aeiou")


@dataclass(frozen=True, slots=True)
class NameRules:
    """The reduction tables (see ``names.toml``): letters per character, then ordered folds, then endings."""

    letters: Mapping[str, str]
    folds: tuple[tuple[str, str], ...]
    endings: Mapping[str, tuple[str, ...]]  # language -> endings as keys
    groups: tuple[frozenset[str], ...]  # irregular spellings of one name, as keys
    _table: dict[int, str] = field(default_factory=dict, compare=False, repr=False)
    # Every inflected key of each group, built on first use (a rule file names the same people again and again).
    _inflected_groups: list[frozenset[str]] = field(default_factory=list, compare=False, repr=False)

    @classmethod
    def from_toml(cls, text: str) -> NameRules:
        data = tomllib.loads(text)
        letters: dict[str, str] = {}
        for language, table in data["letters"].items():
            for letter, latin in table.items():
                if letters.get(letter, latin) != latin:
                    raise ValueError(f"names.toml: letters.{language}: {letter!r} is already {letters[letter]!r}")
                letters[letter] = latin
        folds = tuple((a, b) for rules in data["folds"].values() for a, b in rules)
        rules = cls(letters, folds, {}, (), {ord(k): v for k, v in letters.items()})
        endings = {lang: tuple(sorted({rules.key(e) for e in words})) for lang, words in data["endings"].items()}
        groups = tuple(frozenset(rules.key(s) for s in entry["spellings"]) for entry in data.get("name", []))
        return cls(letters, folds, endings, groups, rules._table)

    def key(self, word: str) -> str:
        """The name key of one written word: Лаўроў, Lawrow and Lavrov are all ``lavrov``. An abbreviation (two or
        three capitals: РФ, США, US) keys as itself marked with ``=``, takes no endings, and is no lower-case word."""
        word = _POSSESSIVE_RE.sub("", unmix(word))
        acronym = 2 <= len(word) <= 3 and word.isupper()
        text = word.casefold()
        text = _APOSTROPHES_RE.sub("", text).translate(self._table)
        if not text.isascii():
            text = anyascii(text).lower()
        for old, new in self.folds:
            text = text.replace(old, new)
        text = _DOUBLED_RE.sub(r"\1", text)
        return "=" + text if acronym else text

    def inflected(self, keys: Iterable[str], languages: Iterable[str]) -> frozenset[str]:
        """Every key the names ``keys`` can take with the case endings of ``languages``."""
        endings = {e for lang in languages for e in self.endings.get(lang, ())}
        found: set[str] = set()
        for key in keys:
            found.add(key)
            if key.startswith("="):
                continue
            # An ending that starts with a vowel takes the place of the name's own final vowel (Україн-а, Україн-ою).
            stem = key[:-1] if key[-1:] in _VOWELS else key
            for ending in endings:
                base = stem if ending[:1] in _VOWELS else key
                found.add(_DOUBLED_RE.sub(r"\1", base + ending))
        return frozenset(found)

    def spellings(self, key: str) -> frozenset[str]:
        """``key`` and the keys of the irregular spellings listed with it (Trump: Трамп)."""
        if not self._inflected_groups:
            self._inflected_groups.extend(self.inflected(group, self.endings) for group in self.groups)
        every = self.inflected([key], self.endings)
        found = {key}
        for group, inflected in zip(self.groups, self._inflected_groups, strict=True):
            if key in group or not every.isdisjoint(inflected):
                found |= group
        return frozenset(found)


@cache
def default_rules() -> NameRules:
    """The shipped tables, read once per process."""
    return NameRules.from_toml(resources.files("monitor.analysis").joinpath("names.toml").read_text("utf-8"))


@lru_cache(maxsize=1 << 15)  # the capitalised words of articles repeat; each is reduced once (bounded: a daemon)
def name_key(word: str) -> str:
    return default_rules().key(word)


@lru_cache(maxsize=1 << 12)
def name_query(name: str) -> NameQuery:
    """The shared :class:`NameQuery` of a name as written (rules name the same people again and again)."""
    return NameQuery(name)


class NameQuery:
    """``~Name`` in a query: the keys its spellings and inflections have, per language of the text searched."""

    __slots__ = ("_by_language", "_rules", "bases")

    def __init__(self, name: str, rules: NameRules | None = None) -> None:
        self._rules = rules or default_rules()
        self.bases = self._rules.spellings(self._rules.key(name))
        self._by_language: dict[str | None, frozenset[str]] = {}

    def keys(self, language: str | None) -> frozenset[str]:
        """The keys to look for in a text of ``language`` (None: any language's endings)."""
        found = self._by_language.get(language)
        if found is None:
            # Unknown: any language's endings; a language without listed endings: the spellings as they are.
            languages = list(self._rules.endings) if language is None else [language]
            found = self._by_language[language] = self._rules.inflected(self.bases, languages)
        return found

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NameQuery) and other.bases == self.bases

    def __hash__(self) -> int:
        return hash(self.bases)

    def __repr__(self) -> str:
        return f"NameQuery({sorted(self.bases)})"

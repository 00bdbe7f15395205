"""The search index's tokens: what a text offers and what a query asks for, in one scheme for SQLite and PostgreSQL.

Each distinct word of a field becomes up to three tokens, each a one-letter kind followed by a key of
:mod:`monitor.analysis` (the same keys the rule evaluator compares, so the index never disagrees with it):

``f<form>``  the normalised written form (case and accents folded): what ``=word``, Russian and Ukrainian words
             (expanded to every form of their dictionary word), words of texts without a stemmer and ``word*``
             (a prefix query on ``f``) compare by;
``s<stem>``  the Snowball stem in the text's language, where it has a stemmer (German, English, ...) and the stem
             differs from the form (else the ``f`` token stands for it, and a query asks for a stem as both);
``n<name>``  the name key of a word written with a capital (``~Lavrov`` finds Лавров, Lawrow, Лаўроў).

A query word's keys depend on the language of the text it is compared with; the index does not know which
languages it holds, so a word asks for the keys it has in *any* language (a superset: the evaluator decides).
Tokens are made of letters, digits and ``=`` only (anything else a name key may carry is dropped, on both sides),
so neither FTS5's tokenizer nor PostgreSQL's tsvector input cuts or changes one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from monitor.analysis import morphology
from monitor.analysis.names import name_key
from monitor.analysis.terms import QueryWord, language_of
from monitor.analysis.text import distinct_words, normalize_word
from monitor.rules.document import article_start

FIELDS = ("title", "teaser", "body")
_KIND_LETTER = {"form": "f", "stem": "s", "name": "n", "prefix": "f"}
# ASCII that is neither a letter, a digit nor '=': FTS5's "ascii" tokenizer would cut a token there.
_UNSAFE_RE = re.compile(r"[\x00-\x2f\x3a-\x3c\x3e-\x40\x5b-\x60\x7b-\x7f]")
#: Every language whose texts compare a query word differently: unknown (None) stands for all without a stemmer.
_LANGUAGES: tuple[str | None, ...] = (None, *morphology.DICTIONARY_LANGUAGES, *morphology.stemmer_languages())


def clean(token: str) -> str:
    return _UNSAFE_RE.sub("", token)


#: The tokens of one article, field by field (:data:`FIELDS`): what one index entry holds.
DocumentTokens = dict[str, list[str]]


def document_tokens(headline: str, text: str, language: str | None) -> DocumentTokens:
    """The index entry of an article: its headline as title, its archive text from the headline line on as body
    (as the search evaluates them: :meth:`~monitor.rules.document.Document.from_archive_text`); no field is a teaser
    yet (the archive text holds the lead)."""
    return {"title": field_tokens(headline, language), "teaser": [],
            "body": field_tokens(text[article_start(text, headline):], language)}


def field_tokens(text: str, language: str | None) -> list[str]:
    """The distinct tokens of one field's text, sorted (``language`` as stored, e.g. ``ru`` or ``de-DE``)."""
    bare = language_of(language)
    surfaces = distinct_words(text)
    if not surfaces:
        return []
    forms = set(map(normalize_word, surfaces))
    # Forms and stems are letters and digits already (a word is a run of them); only name keys need cleaning.
    tokens = {"f" + f for f in forms}
    if bare and morphology.has_stemmer(bare):
        listed = list(forms)
        # A stem that is the form itself is there as the form (a query asks for a stem as both): a third fewer tokens.
        tokens.update(["s" + s for f, s in zip(listed, morphology.stems(listed, bare), strict=True) if s != f])
    tokens.update([_name_token(s) for s in surfaces if s[:1].isupper()])
    tokens -= _EMPTY
    return sorted(tokens)


_EMPTY = frozenset({"", "f", "s", "n"})


@lru_cache(maxsize=1 << 15)
def _name_token(surface: str) -> str:
    key = name_key(surface)
    return "n" + (key if key.isalnum() else clean(key))


@lru_cache(maxsize=1 << 12)
def word_tokens(word: QueryWord) -> tuple[frozenset[str], bool]:
    """The tokens a query word accepts in a text of any language, and whether they are prefixes."""
    if word.prefix:
        return frozenset({clean("f" + word.norm)}), True
    found: set[str] = set()
    for language in _LANGUAGES:
        keys = word.keys(language)
        letter = _KIND_LETTER[keys.kind]
        found.update(clean(letter + value) for value in keys.values)
        if keys.kind == "stem":  # a text holds a stem equal to its word's form as that form (see field_tokens)
            found.update("f" + value for value in keys.values)
    return frozenset(found - {"", "f", "s", "n"}), False


# --- what the index is asked: a query made of terms, AND and OR ------------------------------------------------


@dataclass(frozen=True, slots=True)
class Term:
    """Any of ``tokens`` (as prefixes when ``prefix``) in ``field`` (None: any field)."""

    tokens: frozenset[str]
    prefix: bool
    field: str | None


@dataclass(frozen=True, slots=True)
class AllOf:
    children: tuple[IndexQuery, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    children: tuple[IndexQuery, ...]


IndexQuery = Term | AllOf | AnyOf


def all_of(children: Iterable[IndexQuery | None]) -> IndexQuery | None:
    """AND of ``children``; None (no restriction) children are dropped: None only when all are None."""
    kept = tuple(dict.fromkeys(c for c in children if c is not None))
    if not kept:
        return None
    return kept[0] if len(kept) == 1 else AllOf(kept)


def any_of(children: Iterable[IndexQuery | None]) -> IndexQuery | None:
    """OR of ``children``; one unrestricted child makes the whole unrestricted (None)."""
    kept: list[IndexQuery] = []
    for child in children:
        if child is None:
            return None
        kept.append(child)
    unique = tuple(dict.fromkeys(kept))
    return unique[0] if len(unique) == 1 else AnyOf(unique)

"""Words: the one place that decides what a "word" is and when two written words are the same word.

Both the article text and the query terms go through :func:`normalize_word`, so the rules stay symmetric: case is
folded the Unicode way (Cyrillic included, ``ß`` = ``ss``), accents are dropped (``é`` = ``e``; in Cyrillic this
also folds ``ё`` into ``е`` and ``ї`` into ``і``, which is what an analyst typing on a Latin keyboard layout expects),
curly apostrophes count as straight ones and a possessive ``'s`` belongs to the word it follows.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from itertools import accumulate, chain

# A word is a run of letters/digits, possibly joined by apostrophes ("Lavrov's", "м'ясо", "O'Brien").
# Hyphens split words, so "Russia-backed" holds the whole word "Russia".
WORD_RE = re.compile(r"[^\W_]+(?:['’ʼ‘][^\W_]+)*")
# The same words, possessive quantifiers: nothing after a run of letters could match by giving some back, so the
# matches are identical, and the engine skips the backtracking bookkeeping (tokenizing is hot in matching).
_FAST_WORD_RE = re.compile(r"[^\W_]++(?:['’ʼ‘][^\W_]++)*+")
_SPLIT_RE = re.compile(f"({_FAST_WORD_RE.pattern})")
_APOSTROPHES = str.maketrans({"’": "'", "ʼ": "'", "‘": "'"})
_POSSESSIVE_RE = re.compile(r"'s$")
# Latin letters that look like Cyrillic ones, as they slip into Cyrillic words ("CША" typed with a Latin C).
_HOMOGLYPHS = str.maketrans("ABCEHKMOPTXaceopxyi", "АВСЕНКМОРТХасеорхуі")
_CYRILLIC_RE = re.compile(r"[\u0400-\u04ff]")
_LATIN_RE = re.compile(r"[A-Za-z]")


def unmix(word: str) -> str:
    """A Cyrillic word with Latin look-alike letters in it, written in Cyrillic only; any other word as it is."""
    if _CYRILLIC_RE.search(word) and _LATIN_RE.search(word):
        return word.translate(_HOMOGLYPHS)
    return word


@lru_cache(maxsize=1 << 16)  # words repeat across articles; normalising is most of tokenizing
def normalize_word(word: str) -> str:
    """The comparison form of one word: case-folded, without accents, possessive or apostrophes."""
    folded = word.translate(_APOSTROPHES).casefold()
    if folded.isascii():
        plain = folded
    else:
        decomposed = unicodedata.normalize("NFKD", unmix(folded))
        # Most words (Cyrillic ones without й, ё, ї) carry no mark: asking that in C first is twice as fast as
        # rebuilding every word a character at a time (a fresh process normalises each of its words once).
        marked = any(map(unicodedata.combining, decomposed))
        plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)) if marked else decomposed
    plain = _POSSESSIVE_RE.sub("", plain)
    return plain.replace("'", "")


def words(text: str) -> list[str]:
    """The words of ``text`` in comparison form (what matching needs, computed for every article)."""
    return list(map(normalize_word, _FAST_WORD_RE.findall(text)))


def distinct_words(text: str) -> set[str]:
    """The distinct words of ``text`` as written (what indexing a text needs): the words of each distinct
    whitespace-separated chunk, remembered per chunk, since chunks repeat within and across texts (a word never
    spans whitespace, so this is the set of ``split(text)[1::2]``, found in about half the time)."""
    return set(chain.from_iterable(map(_chunk_words, set(text.split()))))


@lru_cache(maxsize=1 << 16)
def _chunk_words(chunk: str) -> tuple[str, ...]:
    return tuple(_FAST_WORD_RE.findall(chunk))


def split(text: str) -> list[str]:
    """``text`` cut at word boundaries: what lies between words at even indexes, the words as written at odd ones,
    so ``"".join`` gives ``text`` back and each word's offset is the sum of the lengths before it."""
    return _SPLIT_RE.split(text)


def bounds(parts: list[str]) -> list[int]:
    """For :func:`split` parts: where word k starts (index 2k) and ends (index 2k + 1) in the text."""
    return list(accumulate(map(len, parts)))


def spans(text: str) -> list[tuple[int, int]]:
    """Where each word of ``text`` stands (only needed to explain a match, so computed only then)."""
    return list(map(re.Match.span, _FAST_WORD_RE.finditer(text)))

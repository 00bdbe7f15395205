"""Word tokens for matching: the one place that decides what a "word" is and when two words are equal.

Both the article text and the query terms go through :func:`normalize_word`, so the rules stay symmetric: case is
folded the Unicode way (Cyrillic included, ``ß`` = ``ss``), accents are dropped (``é`` = ``e``; in Cyrillic this
also folds ``ё`` into ``е`` and ``ї`` into ``і``, which is what an analyst typing on a Latin keyboard layout expects),
curly apostrophes count as straight ones and a possessive ``'s`` belongs to the word it follows.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# A word is a run of letters/digits, possibly joined by apostrophes ("Lavrov's", "м'ясо", "O'Brien").
# Hyphens split words, so "Russia-backed" holds the whole word "Russia".
WORD_RE = re.compile(r"[^\W_]+(?:['’ʼ‘][^\W_]+)*")
_APOSTROPHES = str.maketrans({"’": "'", "ʼ": "'", "‘": "'"})
_POSSESSIVE_RE = re.compile(r"'s$")


def normalize_word(word: str) -> str:
    """The comparison form of one word: case-folded, without accents, possessive or apostrophes."""
    folded = word.translate(_APOSTROPHES).casefold()
    if folded.isascii():
        plain = folded
    else:
        decomposed = unicodedata.normalize("NFKD", folded)
        plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    plain = _POSSESSIVE_RE.sub("", plain)
    return plain.replace("'", "")


@dataclass(frozen=True, slots=True)
class Token:
    """One word of a field: its comparison form and where it stands in the original text."""

    norm: str
    start: int  # character offsets in the field's original text
    end: int


def tokenize(text: str) -> list[Token]:
    return [Token(normalize_word(m.group()), m.start(), m.end()) for m in WORD_RE.finditer(text)]

"""An article tokenized once for matching: per field, its words, where each word stands, and a sorted vocabulary
for prefix search. Every rule is evaluated against this one structure."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from monitor.model import Article, BlockKind
from monitor.analysis.text import bounds, normalize_word, split

if TYPE_CHECKING:
    from monitor.rules.evaluate import Hit

_SPACE_RE = re.compile(r"\s")

# Blocks that are page furniture or metadata rather than what the article says.
_NOT_BODY = frozenset(
    {BlockKind.CHROME, BlockKind.CATEGORY, BlockKind.HEADLINE, BlockKind.BYLINE, BlockKind.DATE, BlockKind.TEASER,
     BlockKind.SHORT_LINK}
)


@dataclass(slots=True)
class FieldIndex:
    text: str
    words: list[str]  # comparison forms, in order
    distinct: set[str]  # the same words, each once
    _parts: list[str] = field(default_factory=list)  # text.split(text): the words as written and what lies between
    # Built on first use: most articles wake few rules, and many rules are answered from ``distinct`` alone.
    _positions: dict[str, list[int]] | None = None
    _vocabulary: list[str] | None = None
    _bounds: list[int] | None = None
    _flat: str | None = None

    @classmethod
    def build(cls, text: str) -> FieldIndex:
        parts = split(text)
        found = list(map(normalize_word, parts[1::2]))
        return cls(text, found, set(found), parts)

    @property
    def positions(self) -> dict[str, list[int]]:
        """Where each distinct word occurs (token positions, ascending)."""
        if self._positions is None:
            positions: dict[str, list[int]] = {}
            get = positions.get
            for i, word in enumerate(self.words):
                seen = get(word)
                if seen is None:
                    positions[word] = [i]
                else:
                    seen.append(i)
            self._positions = positions
        return self._positions

    @property
    def vocabulary(self) -> list[str]:
        """The distinct words, sorted, for prefix search."""
        if self._vocabulary is None:
            self._vocabulary = sorted(self.distinct)
        return self._vocabulary

    @property
    def bounds(self) -> list[int]:
        """Character offsets in ``text``: word k starts at ``bounds[2 * k]`` and ends at ``bounds[2 * k + 1]``."""
        if self._bounds is None:
            self._bounds = bounds(self._parts)
        return self._bounds

    @property
    def spans(self) -> list[tuple[int, int]]:
        """Where each word stands in ``text`` (start, end), for explaining a match."""
        edges = self.bounds
        return list(zip(edges[0:-1:2], edges[1::2], strict=True))

    @property
    def flat(self) -> str:
        """``text`` with every white-space character a plain space (same length, so offsets hold), for snippets."""
        if self._flat is None:
            self._flat = _SPACE_RE.sub(" ", self.text)
        return self._flat

    def lookup(self, norm: str, prefix: bool) -> list[int]:
        """Token positions of a word, or of every word starting with ``norm`` when ``prefix``."""
        if not prefix:
            return self.positions[norm] if norm in self.distinct else []
        vocab = self.vocabulary
        i = bisect.bisect_left(vocab, norm)
        if i == len(vocab) or not vocab[i].startswith(norm):
            return []
        found: list[int] = []
        positions = self.positions
        while i < len(vocab) and vocab[i].startswith(norm):
            found.extend(positions[vocab[i]])
            i += 1
        return found

    def has_prefix(self, norm: str) -> bool:
        """Whether some word of this field starts with ``norm``."""
        vocab = self.vocabulary
        i = bisect.bisect_left(vocab, norm)
        return i < len(vocab) and vocab[i].startswith(norm)

    def matches(self, position: int, norm: str, prefix: bool) -> bool:
        word = self.words[position]
        return word.startswith(norm) if prefix else word == norm


@dataclass(slots=True)
class Document:
    """The matchable text of one article, plus what scopes are decided on."""

    fields: dict[str, FieldIndex]
    site: str | None = None
    language: str | None = None
    section: str | None = None
    vocabulary: set[str] = field(default_factory=set)
    # Word lookups already answered for this article: (field or None, word, is prefix) -> found.
    cache: dict[tuple[str | None, str, bool], bool] = field(default_factory=dict)
    # Hits of a query phrase already collected for this article (many rules share their terms), by phrase key;
    # the lists are shared, so nobody may change one.
    hits: dict[tuple[object, ...], list[Hit]] = field(default_factory=dict)

    @classmethod
    def from_fields(cls, *, title: str = "", teaser: str = "", body: str = "", site: str | None = None,
                    language: str | None = None, section: str | None = None) -> Document:
        fields = {"title": FieldIndex.build(title), "teaser": FieldIndex.build(teaser), "body": FieldIndex.build(body)}
        vocabulary: set[str] = set()
        for index in fields.values():
            vocabulary |= index.distinct
        return cls(fields, site, language, section, vocabulary)

    @classmethod
    def from_article(cls, article: Article) -> Document:
        # Captions and image lines count as body: the DW seed names "Sergei Lawrow" only in its lead image line.
        body = "\n\n".join(b.text for b in article.blocks if b.kind not in _NOT_BODY)
        return cls.from_fields(title=article.headline, teaser=article.teaser or "", body=body, site=article.site,
                               language=article.language, section=article.section)

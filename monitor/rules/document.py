"""An article tokenized once for matching: per field, its words, where each word stands, and a sorted vocabulary
for prefix search. Every rule is evaluated against this one structure."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from monitor.model import Article, BlockKind
from monitor.rules.text import spans, words

# Blocks that are page furniture or metadata rather than what the article says.
_NOT_BODY = frozenset(
    {BlockKind.CHROME, BlockKind.CATEGORY, BlockKind.HEADLINE, BlockKind.BYLINE, BlockKind.DATE, BlockKind.TEASER,
     BlockKind.SHORT_LINK}
)


@dataclass(slots=True)
class FieldIndex:
    text: str
    words: list[str]  # comparison forms, in order
    positions: dict[str, list[int]]
    vocabulary: list[str]  # sorted distinct words
    _spans: list[tuple[int, int]] | None = None

    @classmethod
    def build(cls, text: str) -> FieldIndex:
        found = words(text)
        positions: dict[str, list[int]] = {}
        for i, word in enumerate(found):
            positions.setdefault(word, []).append(i)
        return cls(text, found, positions, sorted(positions))

    @property
    def spans(self) -> list[tuple[int, int]]:
        """Where each word stands in ``text`` (start, end), for explaining a match."""
        if self._spans is None:
            self._spans = spans(self.text)
        return self._spans

    def lookup(self, norm: str, prefix: bool) -> list[int]:
        """Token positions of a word, or of every word starting with ``norm`` when ``prefix``."""
        if not prefix:
            return self.positions.get(norm, [])
        vocab = self.vocabulary
        i = bisect.bisect_left(vocab, norm)
        found: list[int] = []
        while i < len(vocab) and vocab[i].startswith(norm):
            found.extend(self.positions[vocab[i]])
            i += 1
        return found

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

    @classmethod
    def from_fields(cls, *, title: str = "", teaser: str = "", body: str = "", site: str | None = None,
                    language: str | None = None, section: str | None = None) -> Document:
        fields = {"title": FieldIndex.build(title), "teaser": FieldIndex.build(teaser), "body": FieldIndex.build(body)}
        vocabulary: set[str] = set()
        for index in fields.values():
            vocabulary.update(index.positions)
        return cls(fields, site, language, section, vocabulary)

    @classmethod
    def from_article(cls, article: Article) -> Document:
        # Captions and image lines count as body: the DW seed names "Sergei Lawrow" only in its lead image line.
        body = "\n\n".join(b.text for b in article.blocks if b.kind not in _NOT_BODY)
        return cls.from_fields(title=article.headline, teaser=article.teaser or "", body=body, site=article.site,
                               language=article.language, section=article.section)

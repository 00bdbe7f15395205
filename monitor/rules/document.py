"""An article tokenized once for matching: per field, its words, where each word stands, and a sorted vocabulary
for prefix search. Every rule is evaluated against this one structure."""

from __future__ import annotations

import bisect
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from monitor.analysis import morphology
from monitor.analysis.names import name_key
from monitor.analysis.terms import Keys, QueryWord, language_of
from monitor.analysis.text import bounds, normalize_word, split
from monitor.model import Article, BlockKind

if TYPE_CHECKING:
    from monitor.rules.evaluate import Hit

_SPACE_RE = re.compile(r"\s")
# How far down an archive text its headline may stand: the chrome FORMAT.md keeps above it is a few short lines (a
# DW legacy skip-link list of six items and a blank line is the longest). A line further down that reads like the
# headline is a later block repeating it (a media player's title), not where the article begins.
_CHROME_LINES = 12

# Blocks that are page furniture or metadata rather than what the article says.
_NOT_BODY = frozenset(
    {BlockKind.CHROME, BlockKind.CATEGORY, BlockKind.HEADLINE, BlockKind.BYLINE, BlockKind.DATE, BlockKind.TEASER,
     BlockKind.SHORT_LINK}
)


class StemTable:
    """The Snowball stems of a document's words in its language, computed when a plain word first asks: the set
    (is any word of this stem here?) in one call into Snowball, and which words have each stem only when a hit is
    needed."""

    __slots__ = ("_distinct", "_groups", "language", "words")

    def __init__(self, language: str | None, words: set[str]) -> None:
        self.language = language or ""
        self.words = words
        self._distinct: set[str] | None = None
        self._groups: dict[str, list[str]] | None = None

    @property
    def distinct(self) -> set[str]:
        if self._distinct is None:
            self._distinct = set(morphology.stems(list(self.words), self.language))
        return self._distinct

    @property
    def groups(self) -> dict[str, list[str]]:
        if self._groups is None:
            words = list(self.words)
            groups: defaultdict[str, list[str]] = defaultdict(list)
            for word, stem in zip(words, morphology.stems(words, self.language), strict=True):
                groups[stem].append(word)
            self._groups = groups
        return self._groups


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
    language: str | None = None  # bare code ("ru"): what plain words are inflected by
    stems: StemTable | None = None  # shared by the fields of one document
    _names: dict[str, set[str]] | None = None
    _name_keys: set[str] | None = None

    @classmethod
    def build(cls, text: str, language: str | None = None, stems: StemTable | None = None) -> FieldIndex:
        parts = split(text)
        found = list(map(normalize_word, parts[1::2]))
        return cls(text, found, set(found), parts, language=language, stems=stems)

    def _stem_groups(self) -> dict[str, list[str]]:
        if self.stems is None:  # a field on its own: its words are the document's
            self.stems = StemTable(self.language, self.distinct)
        return self.stems.groups

    @property
    def name_keys(self) -> set[str]:
        """The name keys of this field's words written with a capital (whether a ~name is here)."""
        if self._name_keys is None:
            self._name_keys = set(map(name_key, [w for w in set(self._parts[1::2]) if w[0].isupper()]))
        return self._name_keys

    @property
    def names(self) -> dict[str, set[str]]:
        """The comparison forms of this field's words by name key, of the words written with a capital (built when
        a ~name asks; from each distinct written word once)."""
        if self._names is None:
            table: defaultdict[str, set[str]] = defaultdict(set)
            for surface in set(self._parts[1::2]):
                if surface[0].isupper():
                    table[name_key(surface)].add(normalize_word(surface))
            self._names = table
        return self._names

    def has(self, keys: Keys) -> bool:
        """Whether some word of this field has one of ``keys``."""
        if keys.kind == "form":
            return not keys.values.isdisjoint(self.distinct)
        if keys.kind == "prefix":
            return any(self.has_prefix(v) for v in keys.values)
        if keys.kind == "stem":
            distinct = self.distinct
            groups = self._stem_groups()
            return any(form in distinct for value in keys.values for form in groups.get(value, ()))
        return not keys.values.isdisjoint(self.name_keys)

    def find(self, word: QueryWord) -> list[int]:
        """Token positions of the words ``word`` accepts, ascending."""
        if word.prefix:
            return self.lookup(word.norm, True)
        keys = word.keys(self.language)
        # Which written forms are here is known from ``distinct``: positions are built only for a field that has one.
        if keys.kind == "stem":
            groups, distinct = self._stem_groups(), self.distinct
            forms = [form for value in keys.values for form in groups.get(value, ()) if form in distinct]
        elif keys.kind == "form":
            forms = [form for form in keys.values if form in self.distinct]
        else:
            names = self.names
            candidates = {form for value in keys.values if value in names for form in names[value]}
            # A comparison form may also stand for a written word that is not this name (lower case, another
            # spelling that folds the same): each place is checked.
            found = [p for form in candidates for p in self.positions[form] if self.accepts(p, word)]
            found.sort()
            return found
        if not forms:
            return []
        positions = self.positions
        if len(forms) == 1:
            return positions[forms[0]]
        found = [p for form in forms for p in positions[form]]
        found.sort()
        return found

    def accepts(self, position: int, word: QueryWord) -> bool:
        if word.prefix:
            return self.words[position].startswith(word.norm)
        return word.accepts(self.language, self.words[position], self._parts[2 * position + 1])

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


@dataclass(slots=True)
class Document:
    """The matchable text of one article, plus what scopes are decided on."""

    fields: dict[str, FieldIndex]
    site: str | None = None
    language: str | None = None
    section: str | None = None
    vocabulary: set[str] = field(default_factory=set)
    # Word lookups already answered for this article: (field or None, word, is prefix, kind) -> found.
    cache: dict[tuple[str | None, str, bool, str], bool] = field(default_factory=dict)
    # Hits of a query phrase already collected for this article (many rules share their terms), by phrase key;
    # the lists are shared, so nobody may change one.
    hits: dict[tuple[object, ...], list[Hit]] = field(default_factory=dict)
    bare: str | None = None  # the bare language code ("ru" for "ru-RU"): what words are inflected by
    _stems: StemTable | None = None
    _names: set[str] | None = None

    def __post_init__(self) -> None:
        self.bare = language_of(self.language)

    @property
    def stems(self) -> set[str]:
        """The Snowball stems of every field's words (for choosing which rules to try)."""
        table = self.fields["title"].stems
        if table is None:  # pragma: no cover - from_fields always shares one
            table = self.fields["title"].stems = StemTable(self.bare, self.vocabulary)
        return table.distinct

    @property
    def names(self) -> set[str]:
        """The name keys of every field's words."""
        if self._names is None:
            self._names = set().union(*(index.name_keys for index in self.fields.values()))
        return self._names

    def has(self, keys: Keys) -> bool:
        """Whether some word of any field has one of ``keys`` (form, stem or name; not prefix)."""
        if keys.kind == "form":
            return not keys.values.isdisjoint(self.vocabulary)
        return not keys.values.isdisjoint(self.stems if keys.kind == "stem" else self.names)

    @classmethod
    def from_fields(cls, *, title: str = "", teaser: str = "", body: str = "", site: str | None = None,
                    language: str | None = None, section: str | None = None) -> Document:
        bare = language_of(language)
        vocabulary: set[str] = set()
        stems = StemTable(bare, vocabulary)  # filled below: the document's words are known once all fields are
        fields = {"title": FieldIndex.build(title, bare, stems), "teaser": FieldIndex.build(teaser, bare, stems),
                  "body": FieldIndex.build(body, bare, stems)}
        for index in fields.values():
            vocabulary |= index.distinct
        return cls(fields, site, language, section, vocabulary)

    @classmethod
    def from_archive_text(cls, text: str, headline: str, *, site: str | None = None, language: str | None = None,
                          section: str | None = None) -> Document:
        """An archive text as the body and its headline as the title: the body from the headline line on, as the
        search index has it (the page chrome above is the site's, not the article's: alerts never see it either,
        and a snippet must not show it)."""
        return cls.from_fields(title=headline, body=text[article_start(text, headline):], site=site,
                               language=language, section=section)

    @classmethod
    def from_article(cls, article: Article) -> Document:
        # Captions and image lines count as body: the DW seed names "Sergei Lawrow" only in its lead image line.
        body = "\n\n".join(b.text for b in article.blocks if b.kind not in _NOT_BODY)
        return cls.from_fields(title=article.headline, teaser=article.teaser or "", body=body, site=article.site,
                               language=article.language, section=article.section)


def article_start(text: str, headline: str) -> int:
    """Where the article proper begins in an archive text: the start of its headline line, or 0 when no line near
    the top is the headline.

    render.py writes an article's blocks in order, each on lines of its own, and every parser puts the headline
    block right after the page chrome FORMAT.md keeps (Pangea's accessibility heading, breaking-news label and
    category line; DW's skip-link list). The article's ``headline`` is that block's text with white space collapsed,
    but for DW's current template, which takes it from the page's JSON-LD: where that words it otherwise, 0.
    """
    wanted = " ".join(headline.split())
    if not wanted:
        return 0
    start = 0
    for _ in range(_CHROME_LINES + 1):
        end = text.find("\n", start)
        line = text[start:] if end < 0 else text[start:end]
        if line == wanted or " ".join(line.split()) == wanted:
            return start
        if end < 0:
            break
        start = end + 1
    return 0

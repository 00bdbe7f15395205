"""Plain data passed between the stages: no I/O, no database, no HTML trees."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class BlockKind(StrEnum):
    """What a block of archive text is. The order of blocks in an article is the order of the archive text."""

    # Page furniture the archive format keeps (see FORMAT.md): accessibility heading, skip links, breaking label.
    CHROME = "chrome"
    CATEGORY = "category"
    HEADLINE = "headline"
    BYLINE = "byline"
    DATE = "date"
    TEASER = "teaser"
    SHORT_LINK = "short_link"
    LEAD_IMAGE = "lead_image"
    # Body blocks.
    PARAGRAPH = "paragraph"
    SUBHEADING = "subheading"
    FIGURE = "figure"
    MEDIA = "media"
    LIST = "list"
    QUOTE = "quote"


BODY_KINDS = frozenset(
    {BlockKind.PARAGRAPH, BlockKind.SUBHEADING, BlockKind.FIGURE, BlockKind.MEDIA, BlockKind.LIST, BlockKind.QUOTE}
)


@dataclass(frozen=True, slots=True)
class Block:
    """One block of archive text.

    ``text`` is already in archive form (single spaces, one paragraph per line; a figure or media player may span
    several lines). ``before``/``after`` are the newlines the block asks for around it (1 or 2); where two blocks
    meet, the larger of the two wins, as margins collapse in the format.
    """

    kind: BlockKind
    text: str
    before: int = 2
    after: int = 2


@dataclass(frozen=True, slots=True)
class Image:
    url: str | None = None
    caption: str | None = None
    credit: str | None = None
    alt: str | None = None


@dataclass(slots=True)
class Article:
    """An article as a site parser understood it. Times are aware UTC."""

    url: str  # canonical URL
    site: str  # normalised host of the site, e.g. "rferl.org", "svoboda.org", "dw.com"
    family: str  # site family whose parser read it: "pangea" or "dw"
    template: str  # parser generation, e.g. "pangea.article", "dw.current", "dw.legacy"
    article_id: str  # Pangea numeric id; DW "a-<id>"
    language: str | None
    headline: str
    published: datetime | None = None
    modified: datetime | None = None
    authors: list[str] = field(default_factory=list)
    section: str | None = None
    tags: list[str] = field(default_factory=list)
    teaser: str | None = None
    lead_image: Image | None = None
    short_link: str | None = None
    blocks: list[Block] = field(default_factory=list)

    @property
    def key(self) -> str:
        """The one identity of an article across URLs: site plus article id."""
        return f"{self.site}:{self.article_id}"

    @property
    def body(self) -> list[Block]:
        return [b for b in self.blocks if b.kind in BODY_KINDS]

    @property
    def body_text(self) -> str:
        return "\n\n".join(b.text for b in self.body)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["key"] = self.key
        for name in ("published", "modified"):
            value = getattr(self, name)
            data[name] = value.isoformat() if value else None
        data["blocks"] = [
            {"kind": b.kind.value, "text": b.text, "before": b.before, "after": b.after} for b in self.blocks
        ]
        return data


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """A candidate article found by discovery (feed item, sitemap URL, section-page link)."""

    url: str
    source_url: str  # the feed, sitemap or section page it came from
    title: str | None = None
    published: datetime | None = None
    modified: datetime | None = None
    guid: str | None = None
    categories: tuple[str, ...] = ()
    # As the document declares it: news:language of a Google News sitemap entry, an RSS item's or channel's
    # language (e.g. "ru", "uk", "fa-AF"); None when it says nothing (a plain sitemap, a section page).
    language: str | None = None


@dataclass(frozen=True, slots=True)
class MatchedTerm:
    """One place a rule's query term matched: ``text`` is ``field[start:end]`` of the article as it was matched."""

    term: str  # the query term as the rule wrote it ("Ukrain*", "Sergei Lavrov")
    field: str  # "title", "teaser" or "body"
    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class Match:
    """An explained match of one alert rule on one article: what matched, where, and a snippet to show."""

    rule: str
    article_key: str
    url: str
    headline: str
    site: str
    published: datetime | None
    terms: tuple[MatchedTerm, ...]
    snippet: str  # plain text; ``highlights`` are (start, end) spans in it to emphasise
    highlights: tuple[tuple[int, int], ...] = ()

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["published"] = self.published.isoformat() if self.published else None
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Match:
        published = datetime.fromisoformat(data["published"]) if data.get("published") else None
        return cls(
            rule=data["rule"], article_key=data["article_key"], url=data["url"], headline=data["headline"],
            site=data["site"], published=published,
            terms=tuple(MatchedTerm(**t) for t in data.get("terms", ())),
            snippet=data.get("snippet", ""), highlights=tuple((int(a), int(b)) for a, b in data.get("highlights", ())),
        )


@dataclass(frozen=True, slots=True)
class StoredArticle:
    """An article as the store has recorded it (what its reads return). Here rather than in the store, so that the
    search (``monitor rules test``) builds it without importing the store's ORM."""

    pk: int
    key: str
    site: str
    article_id: str
    canonical_url: str
    url_hash: str
    folder: str
    headline: str
    language: str | None
    published: datetime | None
    first_seen: datetime
    last_seen: datetime
    revision_count: int
    story_key: str | None

    @property
    def when(self) -> datetime:
        """The article's date: when it was published, else when it was first seen (undated pages exist)."""
        return self.published or self.first_seen

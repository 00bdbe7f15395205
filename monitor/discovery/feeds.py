"""RSS 2.0 (Pangea ``/api/<zone>``, DW ``rss.dw.com/xml/...``) and RSS 1.0/RDF (DW ``rss.dw.com/rdf/...``) feeds:
bytes the client fetched in, feed entries out. No I/O.

A feed that answers but is broken is a :class:`SourceError`, never "no news": an empty body, a body that is not a
feed (an HTML error page served with 200), malformed XML, XML with entity declarations (an expansion bomb is refused
before any parser expands it), or a feed without items.
"""

from __future__ import annotations

import time
import xml.sax
from datetime import UTC, datetime
from typing import Any

import defusedxml.sax
import feedparser
from defusedxml import DefusedXmlException

from monitor.errors import SourceError, ZombieFeedError
from monitor.model import FeedEntry

_FEED_ROOTS = frozenset({"rss", "RDF", "feed"})


def check_feed_xml(data: bytes, url: str) -> str:
    """Refuse what must not reach feedparser; return the root element's local name."""
    head = data.lstrip()[:512].lower()
    if not head:
        raise SourceError("feed answered with an empty body", url=url)
    if head.startswith((b"<!doctype html", b"<html")):
        raise SourceError("not a feed: the body is an HTML page", url=url)
    # SAX without namespace processing: a well-formedness and entity check only; an undeclared prefix (trimmed
    # copies of real feeds have them) is feedparser's business, and feedparser copes.
    root = _RootName()
    try:
        defusedxml.sax.parseString(data, root, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise SourceError(f"refused: the feed declares XML entities ({type(exc).__name__})", url=url) from None
    except xml.sax.SAXParseException as exc:
        raise SourceError(
            f"malformed XML: {exc.getMessage()} at line {exc.getLineNumber()}, column {exc.getColumnNumber()}",
            url=url,
        ) from None
    name = root.name.rpartition(":")[2]
    if name not in _FEED_ROOTS:
        raise SourceError(f"not a feed: the document is <{name}>", url=url)
    return name


def parse_feed(data: bytes, url: str) -> list[FeedEntry]:
    """The items of a feed as :class:`FeedEntry` (links as the feed gives them; canonicalising is the caller's)."""
    check_feed_xml(data, url)
    parsed = feedparser.parse(data, sanitize_html=False, resolve_relative_uris=False)
    items: list[Any] = list(parsed.entries)
    if not items:
        if parsed.get("bozo"):
            raise SourceError(f"unreadable feed: {parsed.get('bozo_exception')}", url=url)
        raise ZombieFeedError("feed has no items (a zombie feed, not a quiet day)", url=url)
    channel_language = (parsed.feed.get("language") or "").strip() or None
    entries: list[FeedEntry] = []
    for item in items:
        link = (item.get("link") or "").strip()
        guid = (item.get("id") or "").strip() or None
        if not link and guid and guid.startswith(("http://", "https://")):
            link = guid
        if not link:
            continue
        # Plain dict lookups: feedparser's own .get maps a missing updated_parsed to published_parsed (and warns).
        updated = _when(dict.get(item, "updated_parsed"))
        published = _when(dict.get(item, "published_parsed")) or updated
        entries.append(
            FeedEntry(
                url=link,
                source_url=url,
                title=(item.get("title") or "").strip() or None,
                published=published,
                modified=updated,
                guid=guid,
                categories=tuple(t["term"].strip() for t in item.get("tags") or () if t.get("term")),
                language=(dict.get(item, "language") or "").strip() or channel_language,
            )
        )
    if not entries:
        raise SourceError(f"none of the feed's {len(items)} items has a link", url=url)
    return entries


class _RootName(xml.sax.handler.ContentHandler):
    def __init__(self) -> None:
        super().__init__()
        self.name = ""

    def startElement(self, name: str, attrs: Any) -> None:
        if not self.name:
            self.name = name


def _when(value: time.struct_time | None) -> datetime | None:
    """feedparser's parsed dates are UTC struct_times (offsets already applied)."""
    if value is None:
        return None
    return datetime(*value[:6], tzinfo=UTC)

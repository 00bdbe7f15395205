"""Small readers shared by the site parsers: the HTML tree, JSON-LD, meta tags, times."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from html import unescape
from typing import Any

import lxml.html
from lxml import etree
from lxml.html import HtmlElement

from monitor.errors import IncompletePageError

_SPACE = re.compile(r"\s+")


def load_document(html: str, url: str) -> HtmlElement:
    """Parse a page into an lxml tree; an empty or unparseable page is an error, never an empty article."""
    if not html or not html.strip():
        raise IncompletePageError("empty page", url=url)
    try:
        doc = lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError) as exc:
        raise IncompletePageError(f"unparseable HTML: {exc}", url=url) from None
    if doc.find("body") is None:
        raise IncompletePageError("page has no <body> (truncated?)", url=url)
    return doc


_LINK_TAG = re.compile(r"<link\b[^>]*>", re.IGNORECASE)
_REL_CANONICAL = re.compile(r"""\brel\s*=\s*["']?canonical\b""", re.IGNORECASE)
_HREF = re.compile(r"""\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)


def declared_url(html: str) -> str | None:
    """The URL a page declares for itself (``<link rel=canonical>``), read without parsing the page: for saved
    pages whose address is unknown."""
    end = html.find("</head>")
    head = html[:end] if end >= 0 else html[:200_000]
    for tag in _LINK_TAG.findall(head):
        if _REL_CANONICAL.search(tag):
            found = _HREF.search(tag)
            value = next((g for g in found.groups() if g), "") if found else ""
            if value.strip().startswith(("http://", "https://")):
                return unescape(value.strip())
    return None


def clean(text: str | None) -> str:
    """Collapse all white space (for metadata fields, not for archive text)."""
    return _SPACE.sub(" ", text or "").strip()


def text_of(el: HtmlElement | None) -> str:
    return clean(el.text_content()) if el is not None else ""


# The matching meta tags, in document order, picked out by libxml2: looping over every meta tag in Python made a proxy
# object for each, and pages have dozens (a DW page has over eighty), asked for several keys.
_META_NAMED = etree.XPath(".//head/meta[@name=$key or @property=$key or @itemprop=$key]")


def meta(doc: HtmlElement, key: str) -> str | None:
    """Content of ``<meta name=key>`` or ``<meta property=key>``, white space collapsed; None when absent/empty."""
    found = _META_NAMED(doc, key=key)
    for el in found if isinstance(found, list) else []:  # a node-set: always a list of elements
        if isinstance(el, etree._Element):
            value = clean(el.get("content"))
            if value:
                return value
    return None


def json_ld(doc: HtmlElement) -> Iterator[dict[str, Any]]:
    """Every JSON-LD object of the page, ``@graph`` members included; malformed blocks are passed over."""
    for script in doc.iterfind(".//script[@type='application/ld+json']"):
        try:
            data = json.loads(script.text or "")
        except ValueError:
            continue
        stack = data if isinstance(data, list) else [data]
        for item in stack:
            if not isinstance(item, dict):
                continue
            yield item
            graph = item.get("@graph")
            if isinstance(graph, list):
                yield from (g for g in graph if isinstance(g, dict))


def parse_time(value: str | None) -> datetime | None:
    """An ISO-8601-ish timestamp as aware UTC. Accepts ``Z``, offsets, a space for ``T`` and fractions;
    a naive time is taken as UTC (Pangea writes "2024-04-28 07:00:00Z", DW "2024-01-30T14:13:12.269Z")."""
    if not value:
        return None
    text = value.strip().replace(" ", "T", 1)
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def first(doc: HtmlElement, xpath: str) -> HtmlElement | None:
    found = doc.xpath(xpath)
    return found[0] if found else None


def has_class(cls: str) -> str:
    """XPath predicate: the element's class list contains ``cls``."""
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {cls} ')"

"""Section pages as a fallback: the links of a page (a section front, a home page), in page order. No I/O.

Which of them are articles is the site family's call (URL patterns, :func:`monitor.urls.article_key`); this module
only reads the page.
"""

from __future__ import annotations

from urllib.parse import urljoin

import lxml.html
from lxml import etree

from monitor.decoding import decode_html
from monitor.errors import ParseError, SourceError


def page_links(data: bytes, url: str, *, charset: str | None = None) -> list[tuple[str, str | None]]:
    """``(absolute URL, link text)`` for every http(s) link of the page, first occurrence only."""
    try:
        text = decode_html(data, charset, where=url)
    except ParseError as exc:
        raise SourceError(f"unreadable section page: {exc}", url=url) from None
    try:
        doc = lxml.html.document_fromstring(text)
    except (etree.ParserError, ValueError) as exc:
        raise SourceError(f"unreadable section page: {exc}", url=url) from None
    base = url
    for element in doc.iter("base"):
        if element.get("href"):
            base = urljoin(url, str(element.get("href")).strip())
            break
    seen: set[str] = set()
    links: list[tuple[str, str | None]] = []
    for anchor in doc.iter("a"):
        href = (anchor.get("href") or "").strip()
        if not href or href.startswith(("#", "javascript:", "mailto:", "tel:")):
            continue
        absolute = urljoin(base, href)
        if not absolute.startswith(("http://", "https://")) or absolute in seen:
            continue
        seen.add(absolute)
        label = " ".join(str(anchor.xpath("string()")).split()) or None
        links.append((absolute, label))
    return links

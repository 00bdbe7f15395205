"""The toolbox every site family reads pages with: the HTML tree, XPath and class tests, meta tags, JSON-LD, times.

A helper two families need lives here, once; what only one family needs stays in its module."""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable, Iterator
from functools import cache
from html import unescape
from typing import Any

import lxml.html
from lxml import etree
from lxml.html import HtmlElement

from monitor.errors import IncompletePageError
from monitor.model import Block

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
    """Content of ``<meta name=key>`` or ``<meta property=key>``, white space collapsed; None when absent/empty.
    Some saved copies of pages hold the value in ``value=``, not ``content=``."""
    found = _META_NAMED(doc, key=key)
    for el in found if isinstance(found, list) else []:  # a node-set: always a list of elements
        if isinstance(el, etree._Element):
            value = clean(el.get("content") or el.get("value"))
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


@cache
def _compiled(xpath: str) -> etree.XPath:
    return etree.XPath(xpath)


def select(node: HtmlElement, xpath: str) -> list[HtmlElement]:
    """The elements an XPath selects from ``node`` (compiled once per expression)."""
    found = _compiled(xpath)(node)
    return [el for el in found if isinstance(el, HtmlElement)] if isinstance(found, list) else []


def first(node: HtmlElement, xpath: str) -> HtmlElement | None:
    """The first element an XPath selects from ``node``, None when it selects none."""
    for found in select(node, xpath):
        return found
    return None


def has_class(cls: str) -> str:
    """XPath predicate: the element's class list contains ``cls``."""
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {cls} ')"


def class_tokens(el: HtmlElement) -> list[str]:
    """The element's class list, token by token (HTML separates them by white space)."""
    return (el.get("class") or "").split()


def has_class_token(el: HtmlElement, token: str) -> bool:
    """True when the element's class list holds ``token``."""
    return token in class_tokens(el)


def present(blocks: Iterable[Block | None]) -> list[Block]:
    """The blocks that are there (block readers return None for an empty region)."""
    return [b for b in blocks if b is not None]


def truncated(html: str, *, tail: int, closers: tuple[str, ...] = ("</html>",)) -> bool:
    """True when none of ``closers`` stands in the last ``tail`` characters: the page was cut off in transfer."""
    end = html[-tail:].lower()
    return not any(closer in end for closer in closers)


def canonical_link(doc: HtmlElement) -> str | None:
    """The page's ``<link rel=canonical>`` address as written."""
    head = doc.find("head")
    if head is None:
        return None
    for el in head.iter("link"):
        if "canonical" in (el.get("rel") or "").lower().split() and el.get("href"):
            return str(el.get("href")).strip()
    return None


def www_for_bare_domain(url: str) -> str:
    """The URL on ``www.<domain>`` when its host is a bare registrable domain (``dw.com``, ``rferl.org``): the sites
    that say so serve their pages there. For a URL after the general rules (``https://host[:port]/...``, no user
    part): string work only, as it runs for every URL a source lists."""
    scheme, sep, rest = url.partition("://")
    host = rest.split("/", 1)[0].split(":", 1)[0]
    return f"{scheme}://www.{rest}" if sep and host.count(".") == 1 else url


# --- JSON-LD -------------------------------------------------------------------------------------------------


def ld_object(doc: HtmlElement, types: Collection[str]) -> dict[str, Any]:
    """The page's first JSON-LD object of one of ``types`` (the article), {} when it has none."""
    for item in json_ld(doc):
        kind = item.get("@type")
        kinds = kind if isinstance(kind, list) else [kind]
        if any(k in types for k in kinds):
            return item
    return {}


def ld_authors(ld: dict[str, Any]) -> list[str]:
    """The names of a JSON-LD object's ``author`` (one or a list; objects with a name, or plain strings)."""
    value = ld.get("author")
    names: list[str] = []
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            names.append(clean(item["name"]))
        elif isinstance(item, str):
            names.append(clean(item))
    return [n for n in names if n]

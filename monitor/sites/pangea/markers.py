"""The markers of a Pangea page: its style sheets, its analytics object (``utag_data``), its page-type body
classes."""

from __future__ import annotations

import contextlib
import html as htmllib
import json
import re

from lxml.html import HtmlElement

from monitor.sites._common import class_tokens

# --- page markers ------------------------------------------------------------------------------------------

#: Body classes of Pangea pages that are not articles: home, section, author, search, error pages.
NOT_ARTICLE_CLASSES = frozenset(
    {"pg-home", "pg-section", "pg-404", "pg-error", "pg-search", "pg-author", "pg-archive", "pg-static"}
)
_PANGEA_CSS = re.compile(r"/Content/responsive/(?:RFE|VOA|OCB)/", re.IGNORECASE)
_UTAG = re.compile(r"\butag_data\s*=\s*\{(?P<body>.*?)\}\s*;", re.DOTALL)
_UTAG_FIELD = re.compile(r'(?P<key>\w+)\s*:\s*"(?P<value>(?:[^"\\]|\\.)*)"')


def body_classes(doc: HtmlElement) -> frozenset[str]:
    body = doc.find("body")
    return frozenset(class_tokens(body)) if body is not None else frozenset()


def has_pangea_markers(doc: HtmlElement) -> bool:
    """The page was rendered by Pangea: its style sheet path, its analytics object, or its page-type classes."""
    for link in doc.iterfind(".//head/link"):
        if _PANGEA_CSS.search(link.get("href") or ""):
            return True
    if any(c.startswith("pg-") for c in body_classes(doc)):
        return True
    return utag_data(doc) != {}


def utag_data(doc: HtmlElement) -> dict[str, str]:
    """Pangea's analytics object (``var utag_data={entity:"RFE",pub_year:"2024",...}``) as plain strings."""
    for script in doc.iter("script"):
        source = script.text or ""
        if "utag_data" not in source:
            continue
        found = _UTAG.search(source)
        if not found:
            continue
        fields: dict[str, str] = {}
        for item in _UTAG_FIELD.finditer(found.group("body")):
            value = item.group("value")
            # Without a backslash (the pattern admits no bare quote) or a control character, the JSON string is
            # the value itself: decoding is only needed, and only asked, for escapes.
            if "\\" in value or not value.isprintable():
                with contextlib.suppress(ValueError):  # not valid JSON: the value as written
                    value = json.loads(f'"{value}"')
            fields[item.group("key")] = htmllib.unescape(value)
        return fields
    return {}

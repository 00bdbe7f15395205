"""What both DW templates share: the reference producer's rules for what a region leaves out, block readers, the
skip-link list, dates as DW shows them, and the generation base class."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TypedDict
from urllib.parse import urljoin, urlsplit, urlunsplit

from lxml import etree
from lxml.html import HtmlElement

from monitor.model import Block, BlockKind
from monitor.render import block_from
from monitor.sites._common import class_tokens, clean, has_class_token
from monitor.sites.base import Generation
from monitor.sites.dw.editions import BASE_URL, FAMILY, SITE, language_of

DAY_DOT = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
DAY_SLASH = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
#: The JSON-LD types that describe the article itself.
ARTICLE_TYPES = frozenset({"NewsArticle", "Article", "ReportageNewsArticle", "OpinionNewsArticle"})

# What the reference producer leaves out inside the regions we render (its main-content rules, restated for DW).
_SILENT_TAGS = frozenset({"time", "video", "audio", "nav", "aside"})
_DROPPED_CLASSES = frozenset({"advertisement", "rich-text-ad", "gpt-slot", "feedback", "hidden", "invisible"})
_LINK_BOX_RATIO = 0.6  # a div whose text is mostly link text is a teaser/kicker box, not prose ...
_LINK_BOX_MAX = 1500  # ... unless it is long
_LINK_LIST_RATIO = 0.2  # a list whose text is partly link text is navigation
HAS_TRACKING_NAME = etree.XPath("boolean(//body//*[@data-tracking-name])")


def find_class(root: HtmlElement, tag: str, name: str) -> HtmlElement | None:
    """First descendant ``tag`` (``*`` for any) with class token ``name``; a plain iteration beats XPath here."""
    for el in root.iter(tag if tag != "*" else None):
        if isinstance(el.tag, str) and has_class_token(el, name):
            return el
    return None


def find_tracking(root: HtmlElement, name: str) -> HtmlElement | None:
    for el in root.iter():
        if isinstance(el.tag, str) and el.get("data-tracking-name") == name:
            return el
    return None


def link_ratio(el: HtmlElement, max_length: int = 0) -> float:
    """Share of the element's text that is link text; 0 when the text is longer than ``max_length`` (if set)."""
    text = clean(el.text_content())
    if not text or (max_length and len(text) > max_length):
        return 0.0
    links = sum(len(clean(a.text_content())) for a in el.iter("a"))
    return links / len(text)


def _hidden_by_style(el: HtmlElement) -> bool:
    style = (el.get("style") or "").replace(" ", "").lower()
    return "display:none" in style or "visibility:hidden" in style


def dropped(region: HtmlElement) -> list[HtmlElement]:
    """Descendants of a region that the archive text leaves out (the reference producer does not print them)."""
    out: list[HtmlElement] = []
    stack = list(region)
    while stack:
        el = stack.pop()
        tag = el.tag
        if not isinstance(tag, str):
            continue
        tokens = set(class_tokens(el))
        if (
            tag in _SILENT_TAGS
            or el.get("aria-hidden") == "true"
            or el.get("aria-expanded") == "false"
            or el.get("hidden") is not None
            or tokens & _DROPPED_CLASSES
            or _hidden_by_style(el)
            or (tag == "div" and link_ratio(el, _LINK_BOX_MAX) > _LINK_BOX_RATIO)
            or (tag == "ul" and link_ratio(el) > _LINK_LIST_RATIO)
        ):
            out.append(el)
            continue
        stack.extend(el)
    return out


def unless_link_box(el: HtmlElement | None) -> HtmlElement | None:
    """The element, unless its text is mostly link text (a linked byline or kicker: the reference leaves it out)."""
    return el if el is not None and link_ratio(el) <= _LINK_BOX_RATIO else None


def block(kind: BlockKind, el: HtmlElement | None, *, skip: Iterable[HtmlElement] = ()) -> Block | None:
    if el is None:
        return None
    return block_from(kind, el, skip=[*dropped(el), *skip])


def strip_query(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme or "https", parts.netloc, parts.path, "", ""))


def day(value: str, language: str | None) -> datetime | None:
    """A date as DW shows it ("28.04.2023", "06/14/2026") at midnight UTC; None when ambiguous or malformed."""
    value = value.strip()
    match = DAY_DOT.match(value)
    if match:
        day, month, year = (int(g) for g in match.groups())
    else:
        match = DAY_SLASH.match(value)
        if not match:
            return None
        first_part, second, year = (int(g) for g in match.groups())
        if first_part > 12:
            day, month = first_part, second
        elif second > 12 or (language or "").startswith("en"):
            month, day = first_part, second  # the English edition writes month first
        else:
            day, month = first_part, second
    try:
        return datetime(year, month, day, tzinfo=UTC)
    except ValueError:
        return None


def absolute(url: str | None) -> str | None:
    if not url:
        return None
    return urljoin(BASE_URL, url)


def largest_source(img: HtmlElement) -> str | None:
    """The widest candidate of an ``img``'s srcset (DW's lazy images leave ``src`` empty), else ``src``."""
    best: tuple[int, str] | None = None
    for candidate in (img.get("srcset") or img.get("srcSet") or "").split(","):
        bits = candidate.split()
        if not bits:
            continue
        width = int(bits[1][:-1]) if len(bits) > 1 and bits[1].endswith("w") and bits[1][:-1].isdigit() else 0
        if best is None or width > best[0]:
            best = (width, bits[0])
    if best is not None:
        return best[1]
    return absolute(img.get("src") or img.get("data-src"))


class ArticleIdentity(TypedDict):
    """The fields of an Article that say which article of which site it is, as both templates fill them."""

    url: str
    site: str
    family: str
    template: str
    article_id: str
    language: str | None


class DWPage(Generation):
    """What the two DW templates share: the article's identity and the skip-link list before the article."""

    def identity(self, doc: HtmlElement, url: str, canonical: str, article_id: str) -> ArticleIdentity:
        """Which article this is: its canonical URL without query, its id, and the language its URL's edition names
        (else the page's ``lang``)."""
        return ArticleIdentity(url=strip_query(canonical), site=SITE, family=FAMILY, template=self.name,
                               article_id=article_id,
                               language=language_of(canonical) or language_of(url) or doc.get("lang"))

    @staticmethod
    def skip_links(doc: HtmlElement, article: HtmlElement) -> Block | None:
        """The page's skip-link list: the first list of in-page anchors, outside the article (whose own table of
        contents may look the same)."""
        for lst in doc.body.iter("ol", "ul"):
            if _is_skip_list(lst) and article not in set(lst.iterancestors()):
                return block_from(BlockKind.CHROME, lst)
        return None


def _is_skip_list(lst: HtmlElement) -> bool:
    items = [li for li in lst if li.tag == "li"]
    return bool(items) and all(any((a.get("href") or "").startswith("#") for a in li.iter("a")) for li in items)


def body_kind(el: HtmlElement) -> BlockKind:
    tag = el.tag
    if tag == "p":
        return BlockKind.PARAGRAPH
    if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
        return BlockKind.SUBHEADING
    if tag == "figure":
        return BlockKind.FIGURE
    if tag in ("ul", "ol"):
        return BlockKind.LIST
    if tag == "blockquote":
        return BlockKind.MEDIA if has_class_token(el, "embed") else BlockKind.QUOTE
    if tag in ("video", "audio", "iframe") or has_class_token(el, "embed") or has_class_token(el, "vjs-wrapper"):
        return BlockKind.MEDIA
    return BlockKind.PARAGRAPH

"""The reference producer's main-content rules, restated for lxml trees.

FORMAT.md's reference producer is Resiliparse 0.15.1's ``extract_plain_text(main_content=True)`` (its default
``comments=True``). Whether it prints an element is decided by ``_is_main_content_node`` in its
``resiliparse/extract/html2text.pyx``: tag names, ARIA and other attributes, class/id patterns, and "link
clusters" (an element whose link text outweighs its text). A rejected element is skipped with everything inside.

The site parsers choose regions themselves; this module is for the few places where the archive must follow that
heuristic exactly, because the reference's output depends on it and no page structure says it (DW's skippable
sections after the body, whose skip-link line the reference keeps or drops by these rules).

Lengths are those of the reference: UTF-8 bytes of the element's text with ASCII white space runs collapsed to one
space, link text counted over every ``<a>`` inside. Depth counts from ``<body>`` (0).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from lxml.html import HtmlElement

_FLAGS = re.IGNORECASE | re.ASCII


def _pattern(source: str) -> re.Pattern[str]:
    # RE2's ``$`` (no multi-line mode) is the very end of the text; Python's would also match before a final "\n".
    return re.compile(source.replace("$", r"\Z"), _FLAGS)


_ARTICLE = _pattern(
    r"(?:^|[\s_-])(?:article|entry|post|story|single[_-]?post|main[_-]content)(?:content|body|text|page)?(?:$|[\s_-])"
)
_NAV = _pattern(
    r"(?:^|\s)(?:(?:l|m|wp|main|site|page|sub|article|global|sticky|main)[_-]*)?(?:nav(?:igation)?|menu(?:[_-]item)?"
    r"|drop[_-]?down|bread[_-]?crumbs?)|(?:links?[_-]?(?:bar|box|list|container|section|wrapp(?:er))?)(?:$|[\s_-])"
)
_RECOMMENDED = _pattern(
    r"(?:^|[\s_-])(?:trends|trending|recommended|featured|popular|editors?[_-]picks|related|read-next"
    r"|(?:related|more|other)[_-]?(?:links|articles|posts|guides|stories))(?:$|[\s_-])"
)
_LANDMARK_ID = _pattern(r"^(?:(?:l|wp|global|page|site|full|sticky)[_-]*)?(?:(?:head|foot)(?:er)?|right)$")
_HEADER = _pattern(r"(?:^|\s)(?:l|m|wp|global|page|site|full|sticky)[_-]*header(?:[_-]?wrap(?:per)?|bar)?(?:$|\s)")
_FOOTER = _pattern(
    r"(?:^|[\s_-])(?:global|page|site|copyright)?(?:footer|copyright|cookie|consent|legal|fcontainer)(?:$|[\s_-])"
)
_POST_META = _pattern(
    r"(?:^|[\s_-])(?:(?:post|entry|article(?:page)?|content|story|section)[_-]*(?:text[_-]*)?(?:footer|teaser"
    r"|meta(?:[_-]?data)?|subline|sidebar|author(?:name)?|published|timestamp|date|posted[_-]?on|info|labels?|tags?"
    r"|keywords|category)|by[_-]?line|date[_-]?line|author-date|submitted(?:-by)?)|meta[_-]?data(?:$|[\s_-])"
)
_SIDEBAR = _pattern(
    r"(?:^|\s)(?:(?:l|wp|right|left|global|sticky)[_-]*)?(?:(?:side|sticky)[_-]?(?:bars?|box)|one-third)(?:$|[\s_-])"
)
_SEARCH = _pattern(r"(?:^|[\s_-])search(?:[_-]?(?:bar|facility|box))?(?:$|\s)")
_SKIP_LINK = _pattern(
    r"(?:^|\s)(?:link[_-]?)?(?:skip(?:[_-]?(?:to|link))?|scroll[_-]?(?:up|down)|next|prev(?:ious)?|permalink"
    r"|pagination)(?:$|\s|[_-]?(?:post|article))"
)
_DISPLAY = _pattern(
    r"(?:^|\s)(?:is[_-])?(?:display-none|hidden|invisible|collapsed|h-0|nocontent|expandable)(?:-xs|-sm|-lg|-2?xl)?"
    r"(?:$|\s)"
)
_DISPLAY_CSS = _pattern(r"(?:^|;\s*)(?:display\s?:\s?none|visibility\s?:\s?hidden)(?:$|\s?;)")
_MODAL = _pattern(r"(?:^|\s)(?:wp-|p-|-l)?(?:modal|popup|lightbox)(?:[_-]*(?:window|pane|box))?(?:$|[\s_-])")
_GALLERY = _pattern(r"(?:^|[\s_-])(?:gallery|carousel)(?:$|[\s_-])")
_SIGNIN = _pattern(
    r"(?:^|[\s_-])(?:(?:log[_-]?in|sign[_-]?(?:in|up)|account)|user[_-](?:info|profile|settings|actions))(?:$|[\s_-])"
)
_ADS = _pattern(
    r"(?:^|\s)(?:(?:google|wide)[_-]?ads?|ad(?:vert|vertise(?:ment|link)?|$|_[a-f0-9]+)|sponsor(?:ed)?|promoted|paid"
    r"|(?:wide)?banner|donate)(?:$|[\s_-])"
)
_SOCIAL = _pattern(
    r"(?:^|\s|__|--|mobile-|desktop-|l-|m-|c-)(?:social(?:media|search)?|share(?:daddy)?|syndication|newsletter"
    r"|sharing|follow|email|likes?|(?:give[_-]?)?feedback|(?:brand[_-])?engagement|facebook|twitter|subscribe|wa|jp"
    r"|aptf-follow)(?:[_-]?(?:post|links?|section|icons?|btn|buttons?|target))?(?:$|[\s_-])"
)
_LOGO = _pattern(r"(?:brand(?:ing)?[_-]*)?logo(?:$|\s)")
_PRINT = _pattern(r"(?:^|\s)print[_-]")

#: Resiliparse's block-level elements (``BLOCK_ELEMENTS`` in its ``parse/html.h``).
BLOCK_TAGS = frozenset(
    {
        "address", "article", "aside", "blockquote", "br", "center", "details", "dd", "dt", "div", "dl", "fieldset",
        "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hgroup", "hr", "li",
        "main", "nav", "ol", "p", "pre", "section", "table", "tr", "ul",
    }
)  # fmt: skip
_ROLES = frozenset(
    {
        "alert", "banner", "checkbox", "comment", "complementary", "contentinfo", "dialog", "img", "menu", "menubar",
        "menuitem", "navigation", "presentation", "radio", "search", "searchbox", "separator", "tab", "toolbar",
        "tooltip",
    }
)  # fmt: skip
_ASCII_SPACE = re.compile(r"[ \t\n\v\f\r]+")


def _text_size(el: HtmlElement, limit: int = 0) -> int:
    """UTF-8 bytes of the element's text with ASCII white space runs collapsed to one space; counting stops once
    past ``limit`` (0: no limit), so a page-sized ancestor costs no more than a short box."""
    size = 0
    after_space = False
    for piece in el.itertext():
        collapsed = _ASCII_SPACE.sub(" ", piece)
        if after_space and collapsed.startswith(" "):
            collapsed = collapsed[1:]
        if not collapsed:
            continue
        size += len(collapsed.encode())
        after_space = collapsed.endswith(" ")
        if limit and size > limit:
            break
    return size


def is_link_cluster(el: HtmlElement, max_link_ratio: float, max_length: int = 0) -> bool:
    """More than ``max_link_ratio`` of the element's text is link text; never for a text over ``max_length`` bytes
    (0: no limit)."""
    text = _text_size(el, max_length)
    if max_length and text > max_length:
        return False
    links = sum(_text_size(a) for a in el.iter("a"))
    return links > 0 and links / text > max_link_ratio


def _found(value: str, pattern: re.Pattern[str]) -> bool:
    return bool(value) and pattern.search(value) is not None


def _footer_kept(el: HtmlElement) -> bool:
    """A <footer> is kept unless it ends, at every level, a direct child of <body> (the page's own footer)."""
    node = el
    parent = node.getparent()
    while parent is not None and parent.tag != "body":
        if node.getnext() is not None:  # an element or comment follows (the tail text is not a sibling here)
            return True
        node, parent = parent, parent.getparent()
    return False


def keeps(el: HtmlElement, depth: int) -> bool:
    """Whether the reference prints this element (and so may print what is inside it), at ``depth`` below <body>."""
    tag = el.tag.lower() if isinstance(el.tag, str) else ""
    if tag in ("body", "main", "h1"):
        return True
    if tag == "footer":
        if depth < 3 or is_link_cluster(el, 0.2):
            return False
        return _footer_kept(el)
    if tag == "ul":
        if depth < 4 or is_link_cluster(el, 0.2):
            return False
    elif tag == "article":
        if depth > 2 and is_link_cluster(el, 0.2, 500):
            return False
    elif tag in ("nav", "aside", "audio", "video", "time"):
        return False

    if el.get("hidden") is not None:
        return False
    rel = (el.get("rel") or "").strip()
    if rel in ("author", "icon", "search", "prev", "next", "tag"):
        return False
    if (el.get("itemprop") or "").strip() in ("datePublished", "author", "url"):
        return False
    if (el.get("aria-hidden") or "").strip() == "true" or (el.get("aria-expanded") or "").strip() == "false":
        return False

    cls = el.get("class") or ""
    id_ = el.get("id") or ""
    if not cls and not id_:
        if tag == "div":
            return depth <= 5 or not is_link_cluster(el, 0.6, 800)
        return True
    both = f"{cls} {id_}" if cls else id_
    if _found(cls, _DISPLAY) or _found(el.get("style") or "", _DISPLAY_CSS):
        return False
    if tag in ("a", "div", "li") and _found(both, _SKIP_LINK):
        return False
    if depth > 2 and (_found(cls, _SIGNIN) or _found(cls, _POST_META) or _found(cls, _SOCIAL)):
        return False
    if _found(both, _LOGO):
        return False
    if _found(both, _ADS) or any(el.get(a) is not None for a in ("data-ad", "data-advertisement", "data-text-ad")):
        return False

    if tag not in BLOCK_TAGS and tag != "td":
        return True
    role = (el.get("role") or "").strip()
    if rel == "main":
        return True
    if role in _ROLES:
        return False
    if _found(both, _ARTICLE):
        return True
    if _found(id_, _LANDMARK_ID):
        return False
    # Comment sections are kept: the reference runs with comments=True.
    for pattern in (_HEADER, _FOOTER, _NAV, _RECOMMENDED, _SEARCH, _SIDEBAR, _MODAL, _GALLERY, _PRINT):
        if _found(both, pattern):
            return False
    return not (depth > 2 and tag == "div" and is_link_cluster(el, 0.6, 1500))


def depth_of(el: HtmlElement) -> int:
    """Levels below <body> (``<body>`` itself: 0)."""
    depth = 0
    for ancestor in el.iterancestors():
        if ancestor.tag == "body":
            return depth
        depth += 1
    return depth


def reaches_text(el: HtmlElement, memo: dict[HtmlElement, bool] | None = None) -> bool:
    """The element and every ancestor up to <body> pass :func:`keeps`: the reference prints the element.
    ``memo`` keeps the verdicts on shared ancestors between calls on one page."""
    memo = {} if memo is None else memo
    chain = [el, *(a for a in el.iterancestors() if a.tag not in ("body", "html"))]
    for depth, node in enumerate(reversed(chain), start=1):
        verdict = memo.get(node)
        if verdict is None:
            verdict = memo[node] = keeps(node, depth)
        if not verdict:
            return False
    return True


def left_out(region: HtmlElement) -> Iterator[HtmlElement]:
    """The outermost descendants of a printed region that the reference leaves out (each with all it holds)."""
    base = depth_of(region)
    stack = [(child, base + 1) for child in region]
    while stack:
        el, depth = stack.pop()
        if not isinstance(el.tag, str):
            continue
        if not keeps(el, depth):
            yield el
            continue
        stack.extend((child, depth + 1) for child in el)

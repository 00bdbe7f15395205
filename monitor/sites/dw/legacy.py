"""DW's legacy template (the jQuery era, until 2022/23): see :class:`DWLegacy`."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import ClassVar

from lxml.html import HtmlElement

from monitor.errors import IncompletePageError, NotAnArticleError
from monitor.model import Article, Block, BlockKind, Image
from monitor.render import block_from
from monitor.sites._common import canonical_link, clean, has_class_token, meta, present, text_of
from monitor.sites.dw._page import DAY_DOT, DWPage, absolute, block, body_kind, day, dropped, find_class
from monitor.sites.dw.editions import SHORT_LINK, page_article_id

CREDIT_IN_TITLE = re.compile(r"^(?P<caption>.*?)\s*\((?P<credit>[^()]*)\)\s*$", re.S)
CREDIT_LINE = re.compile(r"^\s*(?:Auteur|Autor|Autorin|Author|Autorka|Autori)\s*:\s*(?P<name>.+?)\s*$", re.I)


class DWLegacy(DWPage):
    """The jQuery-era template: ``div#bodyContent > div.col3`` with ``h1``, ``p.intro`` and ``div.longText``."""

    name: ClassVar[str] = "dw.legacy"

    BODY_CONTENT = "bodyContent"  # id
    COLUMN = "col3"
    KICKER = "artikel"  # h4.artikel
    INTRO = "intro"
    PICTURE = "picBox"
    BODY = "longText"
    META_LIST = "smallList"
    GALLERY = "gallery"

    @classmethod
    def matches(cls, doc: HtmlElement) -> bool:
        return cls._column(doc) is not None

    @classmethod
    def _column(cls, doc: HtmlElement) -> HtmlElement | None:
        # A tag-filtered walk is several times faster than lxml's get_element_by_id (an XPath over every node).
        content = next((div for div in doc.iter("div") if div.get("id") == cls.BODY_CONTENT), None)
        if content is None:
            return None
        return next((c for c in content if isinstance(c.tag, str) and has_class_token(c, cls.COLUMN)), None)

    def parse(self, doc: HtmlElement, url: str) -> Article:
        article_id = page_article_id(doc, url)
        column = self._column(doc)
        assert column is not None  # matches() said so
        headline_el = next(column.iter("h1"), None)
        body_el = find_class(column, "div", self.BODY)
        if headline_el is None:
            raise NotAnArticleError("DW page has no headline in div#bodyContent (section or home page)", url=url)
        if body_el is None:
            raise IncompletePageError("DW article lacks its body (div.longText)", url=url)
        intro = find_class(column, "p", self.INTRO)
        kicker = find_class(column, "h4", self.KICKER)
        lead = self._lead_picture(column, body_el)
        facts = self._facts(column)
        canonical = canonical_link(doc) or url
        identity = self.identity(doc, url, canonical, article_id)
        language = identity["language"]

        author_line = facts.get("author")
        body_blocks = list(self._body(body_el))
        authors = (
            [a.strip() for a in re.split(r",|\s+(?:und|and|et|i|y)\s+", author_line) if a.strip()]
            if author_line
            else self._credit_authors(body_el)
        )
        date_text = facts.get("date")
        blocks = present(
            [
                self.skip_links(doc, column),
                block(BlockKind.HEADLINE, headline_el),
                Block(BlockKind.BYLINE, author_line, 1, 1) if author_line else None,
                Block(BlockKind.DATE, date_text, 1, 1) if date_text else None,
                block(BlockKind.TEASER, intro),
                Block(BlockKind.SHORT_LINK, facts["short_link"], 1, 1) if facts.get("short_link") else None,
                self._caption_block(BlockKind.LEAD_IMAGE, lead),
                *body_blocks,
            ]
        )
        if not any(b.kind in (BlockKind.PARAGRAPH, BlockKind.SUBHEADING, BlockKind.TEASER) for b in blocks):
            raise IncompletePageError("DW article has neither intro nor body text", url=url)
        return Article(
            **identity,
            headline=text_of(headline_el),
            published=day(date_text, language) if date_text else _tracking_day(doc, "firstPublicationDate"),
            modified=_tracking_day(doc, "articleChangeDateShort"),
            authors=authors,
            section=text_of(kicker) or None,
            tags=[t.strip() for t in (meta(doc, "keywords") or "").split(",") if t.strip()],
            teaser=text_of(intro) or meta(doc, "description"),
            lead_image=self._image(lead),
            short_link=facts.get("short_link"),
            blocks=blocks,
        )

    def _lead_picture(self, column: HtmlElement, body_el: HtmlElement) -> HtmlElement | None:
        for el in column.iter("div"):
            if el is body_el:
                return None
            if has_class_token(el, self.PICTURE):
                return el
        return None

    @staticmethod
    def _facts(column: HtmlElement) -> dict[str, str]:
        """Date, author and permalink from ``ul.smallList``; the labels are localized, so values are recognised by
        their form (a date, a p.dw.com URL) and the author by standing right after the date with no links."""
        facts: dict[str, str] = {}
        lst = find_class(column, "ul", DWLegacy.META_LIST)
        if lst is None:
            return facts
        previous_was_date = False
        for li in lst.iter("li"):
            value = _after_label(li)
            if DAY_DOT.match(value) and "date" not in facts:
                facts["date"] = value
                previous_was_date = True
                continue
            if SHORT_LINK.fullmatch(value):
                facts["short_link"] = value
            elif previous_was_date and value and next(li.iter("a"), None) is None:
                facts["author"] = value
            previous_was_date = False
        return facts

    def _body(self, body_el: HtmlElement) -> Iterator[Block]:
        for child in body_el:
            tag = child.tag
            if not isinstance(tag, str):
                continue
            if tag == "div":
                if has_class_token(child, self.PICTURE):
                    block = self._caption_block(BlockKind.FIGURE, child)
                    if block is not None:
                        yield block
                elif has_class_token(child, self.BODY):
                    yield from self._body(child)  # a nested longText holds galleries and sometimes prose
                continue  # galleries, video teasers, third-party embeds: not text
            if tag == "p" and (_is_cross_link(child) or _is_promo(child)):
                continue
            kind = BlockKind.SUBHEADING if tag == "p" and _is_whole_strong(child) else body_kind(child)
            block = block_from(kind, child, skip=dropped(child))
            if block is not None:
                yield block

    @staticmethod
    def _caption_block(kind: BlockKind, picture: HtmlElement | None) -> Block | None:
        """A legacy picture shows its caption paragraph (the alt text duplicates it or carries the credit)."""
        if picture is None:
            return None
        caption = next((p for p in picture.iter("p")), None)
        if caption is None:
            return None
        block = block_from(kind, caption)
        return Block(kind, block.text, 1, 1) if block is not None else None

    @staticmethod
    def _image(picture: HtmlElement | None) -> Image | None:
        if picture is None:
            return None
        img = next(picture.iter("img"), None)
        caption_el = next(picture.iter("p"), None)
        caption = text_of(caption_el) or None
        credit = alt = url = None
        if img is not None:
            alt = clean(img.get("alt")) or None
            url = absolute(img.get("src"))
            match = CREDIT_IN_TITLE.match(clean(img.get("title") or img.get("alt")))
            if match:
                credit = clean(match.group("credit")) or None
        if not (url or caption or alt):
            return None
        return Image(url=url, caption=caption, credit=credit, alt=alt)

    @staticmethod
    def _credit_authors(body_el: HtmlElement) -> list[str]:
        """Old audio items name the author in a credit paragraph ("Auteur : Kossivi Tiassou")."""
        for p in body_el.iter("p"):
            match = CREDIT_LINE.match(text_of(p))
            if match:
                return [match.group("name")]
        return []


def _after_label(li: HtmlElement) -> str:
    """The value of a ``<li><strong>Label</strong> value</li>`` entry, white space collapsed."""
    label = next(li.iter("strong"), None)
    if label is None:
        return clean(li.text_content())
    parts = [label.tail or ""]
    for sibling in label.itersiblings():
        parts.append(sibling.text_content() if isinstance(sibling.tag, str) else "")
        parts.append(sibling.tail or "")
    return clean("".join(parts)).lstrip(":").strip()


def _is_cross_link(p: HtmlElement) -> bool:
    """``<p><em>Read more</em>: <a ...>...</a></p>``: an in-text pointer to another article, not prose."""
    children = [c for c in p if isinstance(c.tag, str)]
    if len(children) != 2 or children[0].tag not in ("em", "strong", "b", "i") or children[1].tag != "a":
        return False
    between = (p.text or "") + (children[0].tail or "") + (children[1].tail or "")
    return not between.strip(" \t\n\xa0:-–—")


def _is_promo(p: HtmlElement) -> bool:
    """A paragraph that is one link to DW's newsletter sign-up (appended to 2020 articles)."""
    children = [c for c in p if isinstance(c.tag, str)]
    if len(children) != 1 or children[0].tag != "a":
        return False
    outside = (p.text or "") + (children[0].tail or "")
    return not outside.strip() and "newsletter" in (children[0].get("href") or "").lower()


def _is_whole_strong(p: HtmlElement) -> bool:
    children = [c for c in p if isinstance(c.tag, str)]
    if len(children) != 1 or children[0].tag not in ("strong", "b"):
        return False
    return not ((p.text or "") + (children[0].tail or "")).strip(" \t\n\xa0")


_TRACKING_VALUE = r'{key}\s*:\s*"(\d{{8}})"'


def _tracking_day(doc: HtmlElement, key: str) -> datetime | None:
    """A day from the legacy tracking object (``firstPublicationDate: "20230428"``)."""
    pattern = re.compile(_TRACKING_VALUE.format(key=re.escape(key)))
    for script in doc.iter("script"):
        text = script.text or ""
        if "dwInitialTrackingInfo" not in text:
            continue
        match = pattern.search(text)
        if match:
            value = match.group(1)
            try:
                return datetime(int(value[:4]), int(value[4:6]), int(value[6:]), tzinfo=UTC)
            except ValueError:
                return None
    return None

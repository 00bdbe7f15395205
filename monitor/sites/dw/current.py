"""DW's current template (2022+, React with server-side rendering): see :class:`DWCurrent`."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any, ClassVar

from lxml.html import HtmlElement

from monitor.errors import IncompletePageError, NotAnArticleError
from monitor.isotime import parse_iso_time
from monitor.model import Article, Block, BlockKind, Image
from monitor.render import block_from
from monitor.sites._common import canonical_link, clean, has_class_token, ld_authors, ld_object, meta, present, text_of
from monitor.sites._reference import left_out, reaches_text
from monitor.sites.dw._page import (
    ARTICLE_TYPES,
    HAS_TRACKING_NAME,
    DWPage,
    block,
    body_kind,
    day,
    dropped,
    find_class,
    find_tracking,
    largest_source,
    unless_link_box,
)
from monitor.sites.dw.apollo import apollo_authors, apollo_script, apollo_state, apollo_topics, deref
from monitor.sites.dw.editions import SHORT_LINK, page_article_id

CREDIT_LABEL = re.compile(r"^[^\s:]{1,20}:\s*")  # "Bild: ", "Image: ", "Foto: "


class DWCurrent(DWPage):
    """The React template: ``article > div.content-area`` with header, share bar, lead figure and ``div.rich-text``."""

    name: ClassVar[str] = "dw.current"

    ARTICLE = "article"
    CONTENT_AREA = "content-area"
    KICKER = "content-detail-kicker"  # data-tracking-name
    AUTHOR_DETAILS = "author-details"
    TIME_AREA = "time-area"
    TEASER = "teaser-text"
    SHARING = "sharing-icons-inline"  # data-tracking-name
    COPY_BUTTON = "copy-button-wrapper"
    BODY = "rich-text"
    COPYRIGHT = "copyright"
    SKIP_SECTION = "quick-item"  # the skip link that opens a section after the article
    TEASER_ITEM = "Teaser"  # data-tracking-name of one teaser in a related-content list

    @classmethod
    def matches(cls, doc: HtmlElement) -> bool:
        if apollo_script(doc) is not None:
            return True
        return bool(HAS_TRACKING_NAME(doc))

    def parse(self, doc: HtmlElement, url: str) -> Article:
        article_id = page_article_id(doc, url)
        state = apollo_state(doc)
        numeric = article_id[2:]
        apollo = state.get(f"Article:{numeric}") if state else None
        ld = ld_object(doc, ARTICLE_TYPES)
        if state and not isinstance(apollo, dict) and not ld:
            raise NotAnArticleError("DW page carries no article of this id (section, topic or home page)", url=url)
        apollo = apollo if isinstance(apollo, dict) else {}

        article_el = next(doc.body.iter("article"), None)
        if article_el is None:
            raise NotAnArticleError("DW page has no <article> element (section, topic or home page)", url=url)
        area = find_class(article_el, "div", self.CONTENT_AREA)
        if area is None:
            area = article_el
        header = next(area.iter("header"), None)
        headline_el = next((header if header is not None else area).iter("h1"), None)
        body_el = find_class(area, "div", self.BODY)
        if headline_el is None or body_el is None:
            raise IncompletePageError("DW article lacks its headline or body (div.rich-text)", url=url)

        kicker = find_tracking(header, self.KICKER) if header is not None else None
        byline = find_class(header, "div", self.AUTHOR_DETAILS) if header is not None else None
        time_area = find_class(header, "*", self.TIME_AREA) if header is not None else None
        teaser_el = find_class(header, "p", self.TEASER) if header is not None else None
        sharing = find_tracking(area, self.SHARING)
        copy_button = find_class(sharing, "div", self.COPY_BUTTON) if sharing is not None else None
        lead_figure = self._lead_figure(area, body_el)

        blocks = present(
            [
                self.skip_links(doc, article_el),
                block(BlockKind.CATEGORY, unless_link_box(kicker)),
                block(BlockKind.HEADLINE, headline_el),
                block(BlockKind.BYLINE, unless_link_box(byline)),
                block(BlockKind.DATE, time_area),
                block(BlockKind.TEASER, teaser_el),
                block(BlockKind.SHORT_LINK, copy_button),
                block(BlockKind.LEAD_IMAGE, lead_figure),
                *self._body(body_el),
                *self._skippable_sections(article_el),
            ]
        )
        if not any(b.kind in (BlockKind.PARAGRAPH, BlockKind.SUBHEADING) for b in blocks):
            raise IncompletePageError("DW article body is empty", url=url)

        ld_url = None
        main_entity = ld.get("mainEntityOfPage")
        if isinstance(main_entity, dict):
            ld_url = main_entity.get("@id")
        canonical = canonical_link(doc) or meta(doc, "og:url") or apollo.get("canonicalUrl") or ld_url or url
        identity = self.identity(doc, url, canonical, article_id)
        language = identity["language"]

        published = (
            parse_iso_time(ld.get("datePublished"))
            or _time_attr(area)
            or parse_iso_time(apollo.get("firstPublicationDate"))
            or parse_iso_time(meta(doc, "date"))
            or _visible_day(time_area, language)
        )
        modified = (
            parse_iso_time(ld.get("dateModified"))
            or parse_iso_time(apollo.get("lastModifiedDate"))
            or parse_iso_time(apollo.get("lastPublicationDate"))
        )
        return Article(
            **identity,
            headline=clean(ld.get("headline")) or text_of(headline_el) or clean(apollo.get("title")),
            published=published,
            modified=modified,
            authors=ld_authors(ld) or apollo_authors(state, apollo) or _dom_authors(byline),
            section=_section(kicker, apollo),
            tags=apollo_topics(state, apollo),
            teaser=text_of(teaser_el) or clean(apollo.get("teaser")) or meta(doc, "description"),
            lead_image=self._lead_image(doc, lead_figure, state, apollo),
            short_link=_short_link(copy_button) or apollo.get("permaLinkUrl"),
            blocks=blocks,
        )

    @staticmethod
    def _lead_figure(area: HtmlElement, body_el: HtmlElement) -> HtmlElement | None:
        """The figure that stands between the share bar and the body, as a child of the content area."""
        for child in area:
            if child is body_el or body_el in set(child.iterdescendants()):
                return None
            if child.tag == "figure":
                return child
        return None

    @staticmethod
    def _skippable_sections(article_el: HtmlElement) -> Iterator[Block | None]:
        """What the reference prints of the skippable sections after the article ("More on ...", "Related topics").

        Each such section opens with a skip link (``a.quick-item`` to ``#post-<id>``: "Skip next section More on
        this topic"). Whether the reference prints that line, and the section's heading, depends only on its
        main-content rules (:mod:`monitor.sites._reference`): a ``related-*`` id, or a zone around the sections
        whose text is short and mostly links, drops everything; otherwise the skip line stands after the body,
        and the heading too where the teaser list is longer than the link-cluster limit. The teasers themselves
        never enter the archive, even where the reference would let a long one through."""
        memo: dict[HtmlElement, bool] = {}
        for section in _following(article_el, "section"):
            first = next((child for child in section if isinstance(child.tag, str)), None)
            if first is None or first.tag != "a" or not has_class_token(first, DWCurrent.SKIP_SECTION):
                continue
            if not reaches_text(section, memo):
                continue
            skip = [*left_out(section), *_teasers(section)]
            yield block_from(BlockKind.CHROME, section, skip=skip)

    def _body(self, body_el: HtmlElement) -> Iterator[Block | None]:
        left = set(dropped(body_el))
        for child in body_el:
            tag = child.tag
            if not isinstance(tag, str) or child in left:
                continue
            kind = body_kind(child)
            yield block_from(kind, child, skip=[*dropped(child)])

    @staticmethod
    def _lead_image(
        doc: HtmlElement, figure: HtmlElement | None, state: dict[str, Any] | None, apollo: dict[str, Any]
    ) -> Image | None:
        url = meta(doc, "og:image")
        caption = credit = alt = None
        if figure is not None:
            img = next(figure.iter("img"), None)
            if img is not None:
                alt = clean(img.get("alt")) or None
                url = url or largest_source(img)
            cap = next(figure.iter("figcaption"), None)
            if cap is not None:
                small = find_class(cap, "small", DWCurrent.COPYRIGHT)
                credit_text = text_of(small) if small is not None else ""
                credit = CREDIT_LABEL.sub("", credit_text) or None
                full = text_of(cap)
                caption = (
                    clean(full[: len(full) - len(credit_text)] if credit_text and full.endswith(credit_text) else full)
                    or None
                )
        link = deref(state, apollo.get("mainContentImageLink"))
        if link:
            image = deref(state, link.get("target")) or {}
            caption = caption or clean(link.get("description")) or None
            alt = alt or clean(link.get("additionalInformation")) or None
            credit = credit or clean(image.get("licenserSupplement")) or None
            static = image.get("staticUrl")
            if not url and isinstance(static, str):
                url = static.replace("${formatId}", "6")
        if not (url or caption or credit or alt):
            return None
        return Image(url=url, caption=caption, credit=credit, alt=alt)


def _following(el: HtmlElement, tag: str) -> Iterator[HtmlElement]:
    """Elements ``tag`` after ``el`` in document order, outside it."""
    for node in (el, *el.iterancestors()):
        for sibling in node.itersiblings():
            if isinstance(sibling.tag, str):
                yield from sibling.iter(tag)


def _teasers(section: HtmlElement) -> list[HtmlElement]:
    return [
        el for el in section.iter() if isinstance(el.tag, str) and el.get("data-tracking-name") == DWCurrent.TEASER_ITEM
    ]


def _dom_authors(byline: HtmlElement | None) -> list[str]:
    if byline is None:
        return []
    names = [text_of(el) for el in byline.iter() if has_class_token(el, "author-link") or has_class_token(el, "author")]
    return [n for n in names if n]


def _section(kicker: HtmlElement | None, apollo: dict[str, Any]) -> str | None:
    focus = apollo.get("thematicFocusCategory")
    if isinstance(focus, dict) and clean(focus.get("name")):
        return clean(focus.get("name"))
    if kicker is not None:
        first = next((el for el in kicker if isinstance(el.tag, str)), None)
        return text_of(first) or None
    return None


def _short_link(el: HtmlElement | None) -> str | None:
    if el is None:
        return None
    match = SHORT_LINK.search(el.text_content())
    return match.group(0) if match else None


def _time_attr(root: HtmlElement) -> datetime | None:
    for el in root.iter("time"):
        found = parse_iso_time(el.get("datetime"))
        if found:
            return found
    return None


def _visible_day(time_area: HtmlElement | None, language: str | None) -> datetime | None:
    if time_area is None:
        return None
    for el in time_area.iter("time"):
        found = day(text_of(el), language)
        if found:
            return found
    return None

"""What every Pangea page template shares (:class:`PangeaPage`): the chrome lines, the body reader, the metadata."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import ClassVar
from urllib.parse import urljoin

from lxml.html import HtmlElement

from monitor.errors import IncompletePageError, NotAnArticleError
from monitor.isotime import parse_iso_time
from monitor.model import Article, Block, BlockKind, Image
from monitor.render import block_from
from monitor.sites._common import (
    clean,
    first,
    has_class,
    has_class_token,
    ld_authors,
    ld_object,
    meta,
    present,
    select,
    text_of,
)
from monitor.sites.base import Generation
from monitor.sites.pangea.hosts import FAMILY, PANGEA_HOSTS, article_id_of, canonical_rules, host_of
from monitor.sites.pangea.markers import body_classes, utag_data
from monitor.urls import canonical_url_with

# --- reading helpers ---------------------------------------------------------------------------------------


_SPACE_RUN = re.compile(r"[ \t\n\r\f\v]+")


def _link_heavy(box: HtmlElement, limit: float = 0.6) -> bool:
    """True when link text makes up more than ``limit`` of the box's text, counted in UTF-8 bytes with white
    space runs collapsed: the corpus's producer leaves such chrome boxes out (see the package docstring)."""
    text = _SPACE_RUN.sub(" ", box.text_content()).encode()
    if not text:
        return False
    links = "".join(_SPACE_RUN.sub(" ", a.text_content()) for a in box.iter("a")).encode()
    return len(links) / len(text) > limit


def _hidden(el: HtmlElement) -> bool:
    return (any(has_class_token(node, "hidden") for node in el.iterancestors()) or has_class_token(el, "hidden")
            or el.get("hidden") is not None)


# --- the generations ---------------------------------------------------------------------------------------


class PangeaPage(Generation):
    """What every Pangea page template shares: the chrome lines, the metadata sources, the body reader."""

    #: Body classes that must all be present for this generation (checked by :meth:`matches`).
    BODY_CLASSES: ClassVar[frozenset[str]] = frozenset()
    ANY_BODY_CLASS: ClassVar[frozenset[str]] = frozenset()

    # Chrome, in page order. Queries start from ids (``id()`` is an index look-up) and stop at the first match:
    # a whole-page ``//div[class]`` scan costs more than parsing the rest of the page.
    ACCESSIBILITY = f"/html/body/section/div[{has_class('sr-only')}]/h2"
    ACCESSIBILITY_ANYWHERE = f"/html/body/descendant::section[1]/div[{has_class('sr-only')}]/h2"
    BREAKING_BAR = f"/html/body/descendant::div[{has_class('c-hlights--breaking')}][1]"
    BREAKING_LABEL = f"descendant::span[{has_class('c-hlights__label')}][1]"
    CATEGORY = (
        f"id('content')/descendant::div[{has_class('col-category')}][1]/descendant::div[{has_class('category')}][1]"
    )
    # Article parts.
    HEADLINE = f"id('content')/descendant::div[{has_class('col-title')}][1]/descendant::h1[1]"
    LEAD = f"id('content')/descendant::div[{has_class('col-multimedia')}][1]"
    BODY = f"id('article-content')/div[{has_class('wsw')}]"
    COMMENTS_HEAD = f"id('comments')/descendant::h3[{has_class('section-head')}][1]"
    DETAILS = f"id('content')/descendant::div[{has_class('publishing-details')}][1]"
    PUBLISHED_TIME = f"{DETAILS}//time[@datetime]"
    BYLINE_LINKS = f"{DETAILS}//a[{has_class('links__item-link')}]"
    # Inside a region: what the archive leaves out.
    REGION_SKIP = (
        "descendant::*[self::audio or self::video"  # players' fallback content ("Download Adobe Flash Player")
        f" or (self::span and {has_class('dateline')})"  # the wire dateline goes to the database, not the text
        f" or {has_class('also-read')}"  # "see also" teaser boxes inside the body
        f" or {has_class('banner')} or {has_class('banner__a')}]"  # subscription banners
    )
    PLAYER = f".//div[{has_class('c-mmp')}]"
    #: The parts of a Pangea media player that the archive shows: title (poster alt), "please wait" spinner,
    #: the "no media source" message and the time read-out.
    PLAYER_SHOWN = (
        f"./*[{has_class('c-mmp__poster')}] | ./*[{has_class('c-spinner')}]"
        f" | .//div[{has_class('c-mmp__fallback-msg')}]"
        f" | ./div[{has_class('c-mmp__overlay--disabled')} and not({has_class('c-mmp__overlay--sharing')})"
        f" and not({has_class('c-mmp__overlay--settings')}) and not({has_class('c-mmp__overlay--title')})]"
        f" | .//div[{has_class('c-mmp__cpanel-progress-controls')}]"
    )

    @classmethod
    def matches(cls, doc: HtmlElement) -> bool:
        classes = body_classes(doc)
        return classes >= cls.BODY_CLASSES and (not cls.ANY_BODY_CLASS or bool(cls.ANY_BODY_CLASS & classes))

    # -- the article ----------------------------------------------------------------------------------------

    def parse(self, doc: HtmlElement, url: str) -> Article:
        headline_el = self.headline_element(doc)
        if headline_el is None:
            raise IncompletePageError(f"{self.name} page without a headline (truncated?)", url=url)
        headline = text_of(headline_el)
        if not headline:
            raise IncompletePageError(f"{self.name} page with an empty headline", url=url)
        blocks = self.chrome_blocks(doc)
        blocks += present([block_from(BlockKind.HEADLINE, headline_el)])
        blocks += self.content_blocks(doc, url)
        return self.metadata(doc, url, headline, blocks)

    def headline_element(self, doc: HtmlElement) -> HtmlElement | None:
        return first(doc, self.HEADLINE)

    def content_blocks(self, doc: HtmlElement, url: str) -> list[Block]:
        """Everything after the headline: lead media, body, trailing chrome."""
        raise NotImplementedError

    def chrome_blocks(self, doc: HtmlElement) -> list[Block]:
        blocks: list[Block] = []
        heading = first(doc, self.ACCESSIBILITY)
        if heading is None:
            heading = first(doc, self.ACCESSIBILITY_ANYWHERE)
        if heading is not None:
            blocks += present([block_from(BlockKind.CHROME, heading)])
        bar = first(doc, self.BREAKING_BAR)
        if bar is not None and not _hidden(bar) and not _link_heavy(bar):
            label = first(bar, self.BREAKING_LABEL)
            if label is not None:
                blocks += present([block_from(BlockKind.CHROME, label)])
        category = first(doc, self.CATEGORY)
        if category is not None and not _link_heavy(category):
            blocks += present([block_from(BlockKind.CATEGORY, category)])
        return blocks

    def comments_head(self, doc: HtmlElement) -> list[Block]:
        """The comment section's heading ("Форум"), which the archive keeps after the body where a page has one."""
        head = first(doc, self.COMMENTS_HEAD)
        return present([block_from(BlockKind.CHROME, head)]) if head is not None else []

    # -- regions --------------------------------------------------------------------------------------------

    def region_skip(self, region: HtmlElement) -> set[HtmlElement]:
        """Elements inside a region that contribute nothing: see REGION_SKIP and PLAYER_SHOWN."""
        skip = set(select(region, self.REGION_SKIP))
        players = select(region, self.PLAYER)
        if region.tag == "div" and has_class_token(region, "c-mmp"):
            players.append(region)
        for player in players:
            skip |= self.player_skip(player)
        return skip

    def player_skip(self, player: HtmlElement) -> set[HtmlElement]:
        shown = set(select(player, self.PLAYER_SHOWN))
        on_path: set[HtmlElement] = set()
        for part in shown:
            for ancestor in part.iterancestors():
                if ancestor is player:
                    break
                on_path.add(ancestor)
        skip: set[HtmlElement] = set()

        def walk(el: HtmlElement) -> None:
            for child in el:
                if not isinstance(child.tag, str) or child in shown:
                    continue
                if child in on_path:
                    walk(child)
                else:
                    skip.add(child)

        walk(player)
        return skip

    def lead_blocks(self, doc: HtmlElement) -> list[Block]:
        """The lead media above the body (cover image or video), where the page has one."""
        lead = first(doc, self.LEAD)
        return self.region_blocks(lead, BlockKind.LEAD_IMAGE) if lead is not None else []

    def region_blocks(self, region: HtmlElement, kind: BlockKind) -> list[Block]:
        """A region as one block (lead media, intro)."""
        kind = BlockKind.MEDIA if (has_class_token(region, "c-mmp") or select(region, self.PLAYER)) else kind
        return present([block_from(kind, region, skip=self.region_skip(region))])

    def body_blocks(self, body: HtmlElement) -> list[Block]:
        """The body's children as blocks in page order; loose inline content between them forms its own block."""
        skip = self.region_skip(body)
        if _loose_text(body):  # old articles: bare text and <br> in the body; one block keeps every word
            return present([block_from(BlockKind.PARAGRAPH, body, skip=skip)])
        blocks: list[Block] = []
        inline: list[HtmlElement] = []

        def flush() -> None:
            if inline:
                blocks.extend(present([block_from(BlockKind.PARAGRAPH, list(inline), skip=skip)]))
                inline.clear()

        for child in body:
            if not isinstance(child.tag, str) or child in skip:
                continue
            kind = _body_kind(child, self.PLAYER)
            if kind is None:
                inline.append(child)
                continue
            flush()
            blocks.extend(present([block_from(kind, child, skip=skip)]))
        flush()
        return blocks

    # -- metadata -------------------------------------------------------------------------------------------

    def metadata(self, doc: HtmlElement, url: str, headline: str, blocks: list[Block]) -> Article:
        ld = _news_object(doc)
        utag = utag_data(doc)
        canonical = _canonical_url(doc, url, ld)
        article_id = article_id_of(canonical) or article_id_of(url) or utag.get("article_uid") or ""
        if not article_id.isdigit():
            raise NotAnArticleError("no Pangea article id in the URL or the page", url=url)
        site_name = meta(doc, "og:site_name")
        return Article(
            url=canonical,
            site=host_of(canonical),
            family=FAMILY,
            template=self.name,
            article_id=article_id,
            language=_language(doc, ld),
            headline=headline,
            published=self.published(doc, ld, utag),
            modified=parse_iso_time(_ld_str(ld, "dateModified")),
            authors=self.authors(doc, ld, site_name),
            section=_ld_str(ld, "articleSection") or text_of(first(doc, self.CATEGORY)) or utag.get("section"),
            tags=_tags(doc, ld),
            teaser=meta(doc, "description") or meta(doc, "og:description") or _ld_str(ld, "description"),
            lead_image=self.lead_image(doc, url, ld),
            blocks=blocks,
        )

    def published(self, doc: HtmlElement, ld: dict[str, object], utag: dict[str, str]) -> datetime | None:
        """JSON-LD first, then the page's ``time[datetime]``, then the analytics object's publication hour."""
        for value in (_ld_str(ld, "datePublished"), _ld_str(ld, "uploadDate")):
            parsed = parse_iso_time(value)
            if parsed:
                return parsed
        time_el = first(doc, self.PUBLISHED_TIME)
        parsed = parse_iso_time(time_el.get("datetime")) if time_el is not None else None
        if parsed:
            return parsed
        return _utag_time(utag)

    def authors(self, doc: HtmlElement, ld: dict[str, object], site_name: str | None) -> list[str]:
        """The byline as the page shows it; else JSON-LD authors that are people, not the outlet itself."""
        names = [text_of(a) for a in select(doc, self.BYLINE_LINKS)]
        if not names:
            names = [n for n in ld_authors(ld) if n != site_name]
        return list(dict.fromkeys(n for n in names if n))

    def lead_image(self, doc: HtmlElement, url: str, ld: dict[str, object]) -> Image | None:
        cover = first(doc, f"{self.LEAD}//div[{has_class('cover-media')}]")
        img = first(cover, ".//img") if cover is not None else None
        caption_el = first(cover, f".//figcaption//span[{has_class('caption')}]") if cover is not None else None
        src = None
        if img is not None:
            src = img.get("src") or img.get("data-src")
        image_url = meta(doc, "og:image") or _ld_image(ld) or (urljoin(url, src) if src else None)
        caption = text_of(caption_el) or None
        alt = clean(img.get("alt")) or None if img is not None else None
        if not (image_url or caption or alt):
            return None
        return Image(url=image_url, caption=caption, alt=alt)


_BODY_KINDS = {
    "p": BlockKind.PARAGRAPH,
    "h1": BlockKind.SUBHEADING, "h2": BlockKind.SUBHEADING, "h3": BlockKind.SUBHEADING,
    "h4": BlockKind.SUBHEADING, "h5": BlockKind.SUBHEADING, "h6": BlockKind.SUBHEADING,
    "ul": BlockKind.LIST, "ol": BlockKind.LIST,
    "blockquote": BlockKind.QUOTE,
    "figure": BlockKind.FIGURE,
    "table": BlockKind.PARAGRAPH, "pre": BlockKind.PARAGRAPH,
}  # fmt: skip


def _loose_text(body: HtmlElement) -> bool:
    """Text that stands directly in the body, outside any child element."""
    return bool((body.text or "").strip()) or any((child.tail or "").strip() for child in body)


def _body_kind(el: HtmlElement, player_xpath: str) -> BlockKind | None:
    """The block kind of a body child; None for inline content that joins its neighbours."""
    tag = el.tag.lower()
    if tag in _BODY_KINDS:
        return _BODY_KINDS[tag]
    if tag in ("div", "section", "aside", "center", "dl"):
        if select(el, player_xpath) or el.find(".//iframe") is not None or has_class_token(el, "externalMedia"):
            return BlockKind.MEDIA
        if el.find(".//figure") is not None or el.find(".//img") is not None:
            return BlockKind.FIGURE
        return BlockKind.PARAGRAPH
    return None


# --- metadata readers --------------------------------------------------------------------------------------

_NEWS_TYPES = ("NewsArticle", "Article", "VideoObject", "AudioObject", "ClaimReview", "ReportageNewsArticle")


def _news_object(doc: HtmlElement) -> dict[str, object]:
    return ld_object(doc, _NEWS_TYPES)


def _ld_str(ld: dict[str, object], key: str) -> str | None:
    value = ld.get(key)
    return clean(value) or None if isinstance(value, str) else None


def _ld_image(ld: dict[str, object]) -> str | None:
    value = ld.get("image") or ld.get("thumbnailUrl")
    if isinstance(value, list) and value:
        value = value[0]
    if isinstance(value, dict):
        value = value.get("url")
    return value if isinstance(value, str) and value else None


def _tags(doc: HtmlElement, ld: dict[str, object]) -> list[str]:
    raw = _ld_str(ld, "keywords") or meta(doc, "keywords") or ""
    return list(dict.fromkeys(t for t in (clean(part) for part in raw.split(",")) if t))


def _language(doc: HtmlElement, ld: dict[str, object]) -> str | None:
    lang = clean(doc.get("lang"))
    return lang.lower() if lang else (_ld_str(ld, "inLanguage") or None)


def _canonical_url(doc: HtmlElement, url: str, ld: dict[str, object]) -> str:
    """The page's own URL for itself, when it names the same article on a Pangea site; else the URL we fetched.

    Cross-posted pages point ``rel=canonical`` at the sister site's copy (a Dari gallery at voaindonesia.com):
    that is another article with another id, so the page's ``og:url`` wins then. Without a usable one, the fetched
    URL less its tracking parameters."""
    wanted = article_id_of(url)
    candidates: list[str | None] = [el.get("href") for el in select(doc, ".//head/link[@rel='canonical']")]
    candidates += [meta(doc, "og:url"), _ld_str(ld, "url")]
    for candidate in candidates:
        if not candidate:
            continue
        absolute = urljoin(url, candidate.strip())
        if not _owned(absolute, also=host_of(url)):
            continue
        found = article_id_of(absolute)
        if found and (wanted is None or found == wanted):
            return absolute
    return canonical_url_with(url, canonical_rules)


def _owned(url: str, also: str) -> bool:
    """On the site we fetched from or on a built-in Pangea site (never a third-party host)."""
    host = host_of(url)
    return host == also or any(host == h or host.endswith("." + h) for h in PANGEA_HOSTS)


def _utag_time(utag: dict[str, str]) -> datetime | None:
    try:
        return datetime(
            int(utag["pub_year"]),
            int(utag["pub_month"]),
            int(utag["pub_day"]),
            int(utag.get("pub_hour") or 0),
            int(utag.get("pub_minute") or 0),
            tzinfo=UTC,
        )
    except (KeyError, ValueError):
        return None

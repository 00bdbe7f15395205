"""The Pangea page templates, one class each: article, media (video/audio), photo gallery, programme page."""

from __future__ import annotations

from lxml.html import HtmlElement

from monitor.errors import IncompletePageError
from monitor.model import Block, BlockKind
from monitor.render import block_from
from monitor.sites._common import (
    first,
    has_class,
    present,
)
from monitor.sites.pangea.page import PangeaPage


class PangeaArticle(PangeaPage):
    """Text article (``pg-article``): cover image or video, ``#article-content > .wsw`` body, comments head."""

    name = "pangea.article"
    BODY_CLASSES = frozenset({"pg-article"})

    def content_blocks(self, doc: HtmlElement, url: str) -> list[Block]:
        blocks = self.lead_blocks(doc)
        body = first(doc, self.BODY)
        if body is None:
            raise IncompletePageError("article page without its body (#article-content .wsw)", url=url)
        blocks += self.body_blocks(body)
        return blocks + self.comments_head(doc)


class PangeaMedia(PangeaPage):
    """Video or audio page (``pg-media pg-video``/``pg-audio``): the player, its intro, the description."""

    name = "pangea.media"
    BODY_CLASSES = frozenset({"pg-media"})
    ANY_BODY_CLASS = frozenset({"pg-video", "pg-audio"})
    INTRO = f"{PangeaPage.LEAD}/descendant::div[{has_class('intro')}][1]"

    def content_blocks(self, doc: HtmlElement, url: str) -> list[Block]:
        player = first(doc, f"{self.LEAD}{self.PLAYER[1:]}")
        if player is None:
            raise IncompletePageError("media page without its player", url=url)
        blocks = self.region_blocks(player, BlockKind.MEDIA)
        intro = first(doc, self.INTRO)
        if intro is not None:
            blocks += self.region_blocks(intro, BlockKind.PARAGRAPH)
        body = first(doc, self.BODY)
        if body is not None:  # a short clip may have nothing beyond its intro
            blocks += self.body_blocks(body)
        return blocks + self.comments_head(doc)


class PangeaGallery(PangeaPage):
    """Photo gallery (``pg-media pg-photoblog``/``pg-gallery``): headline, intro and the "more" link.

    The archive format leaves the photos and their captions out (the corpus has none of them)."""

    name = "pangea.gallery"
    BODY_CLASSES = frozenset({"pg-media"})
    ANY_BODY_CLASS = frozenset({"pg-photoblog", "pg-gallery"})
    MORE_LINK = f"id('content')/descendant::p[{has_class('btn--load-more')}][1]"

    def content_blocks(self, doc: HtmlElement, url: str) -> list[Block]:
        body = first(doc, self.BODY)
        if body is None:
            raise IncompletePageError("gallery page without its intro (#article-content .wsw)", url=url)
        blocks = self.body_blocks(body)
        more = first(doc, self.MORE_LINK)
        if more is not None:
            blocks += present([block_from(BlockKind.CHROME, more)])
        return blocks + self.comments_head(doc)


class PangeaProgram(PangeaPage):
    """Legacy (2020) radio/TV programme page (``pg-media pg-prog``): programme headline, live player, intro.

    Built from its own regions: the programme header's tabs, the schedule and the episode teasers stay out."""

    name = "pangea.program"
    BODY_CLASSES = frozenset({"pg-prog"})
    HEADLINE = (
        f"id('content')/descendant::div[{has_class('col-title')}][1]//h1//span[{has_class('title')}]"
        f" | id('content')/descendant::h1[{has_class('title--program')}][1]"
    )
    INTRO = f"id('content')/descendant::div[{has_class('body-container')}][1]//div[{has_class('intro')}]"

    def content_blocks(self, doc: HtmlElement, url: str) -> list[Block]:
        blocks: list[Block] = []
        player = first(doc, f"{self.LEAD}{self.PLAYER[1:]}")
        if player is not None:
            blocks += self.region_blocks(player, BlockKind.MEDIA)
        intro = first(doc, self.INTRO)
        if intro is not None:
            blocks += self.region_blocks(intro, BlockKind.PARAGRAPH)
        return blocks

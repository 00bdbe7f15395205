"""The Pangea fact-check template (:class:`PangeaFactCheck`)."""

from __future__ import annotations

from datetime import datetime

from lxml.html import HtmlElement

from monitor.errors import IncompletePageError
from monitor.isotime import parse_iso_time
from monitor.model import Block, BlockKind
from monitor.render import block_from
from monitor.sites._common import (
    first,
    has_class,
    has_class_token,
    present,
    select,
)
from monitor.sites.pangea.page import PangeaPage

# --- fact-checks ---------------------------------------------------------------------------------------------


class PangeaFactCheck(PangeaPage):
    """Fact-check (``pg-fc``: polygraph.info, factograph.info, the services' fact-check desks): an article whose
    body is preceded by the claim under review and the verdict, both archived as body text.

    ``div.fc__body`` holds the statement (who made the claim: avatar alt and name; the claim quote in its own
    ``.wsw``) and the verdict (rating and one-line summary), in page order (a page reviewing several claims repeats
    the pair). The statement's source link is a citation, not text of the page's own: it stays out, as it does in
    the reference producer's output. The article body is the usual ``#article-content > .wsw`` (not the claim's
    ``.wsw``)."""

    name = "pangea.factcheck"
    BODY_CLASSES = frozenset({"pg-fc"})
    FACT_CHECK = f"id('content')/descendant::div[{has_class('fc__body')}][1]"
    STATEMENT_SOURCE = f"descendant::div[{has_class('statement-source')}]"

    def content_blocks(self, doc: HtmlElement, url: str) -> list[Block]:
        blocks = self.lead_blocks(doc)
        fact_check = first(doc, self.FACT_CHECK)
        parts = [el for el in fact_check if isinstance(el.tag, str)] if fact_check is not None else []
        if not any(has_class_token(el, "statement") for el in parts):
            raise IncompletePageError("fact-check page without its claim (div.fc__body > div.statement)", url=url)
        for part in parts:
            if has_class_token(part, "statement"):
                skip = self.region_skip(part) | set(select(part, self.STATEMENT_SOURCE))
                blocks += present([block_from(BlockKind.QUOTE, part, skip=skip)])
            else:  # the verdict, and whatever else the desk puts beside the claim
                blocks += self.region_blocks(part, BlockKind.PARAGRAPH)
        body = first(doc, self.BODY)
        if body is None:
            raise IncompletePageError("fact-check page without its body (#article-content .wsw)", url=url)
        blocks += self.body_blocks(body)
        return blocks + self.comments_head(doc)

    def published(self, doc: HtmlElement, ld: dict[str, object], utag: dict[str, str]) -> datetime | None:
        """The page's ``time[datetime]`` first: a ClaimReview's ``datePublished`` is often the bare day."""
        time_el = first(doc, self.PUBLISHED_TIME)
        parsed = parse_iso_time(time_el.get("datetime")) if time_el is not None else None
        return parsed or super().published(doc, ld, utag)

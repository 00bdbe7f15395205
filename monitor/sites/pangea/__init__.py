"""Pangea CMS: RFE/RL and its language services, VOA and its services, Current Time, Radio Farda, Polygraph ...

Every site on Pangea serves the same templates (class names, page layout, ``utag_data``), so one family covers them
all: a site is recognised by its host (built-in list plus ``[sources] pangea_hosts`` from the configuration), a page
by its markers (``/Content/responsive/RFE|VOA/...`` style sheets, ``utag_data``, ``pg-*`` body classes), and the
page type by the body class, one generation class per template (fundus style: selectors are class constants).

What the archive text holds and in which order is FORMAT.md's "Pangea sites" paragraph. Two chrome lines appear
"where the page shows one": the archive corpus was written by a producer that leaves out a chrome box whose link
text outweighs the rest of its text (more than 60 % of its UTF-8 bytes, see :mod:`.page`). That is why an
English "Breaking News"/"USA" stands in the archive while "ВАЖЛИВО" with its "Назад Вперед" buttons, or a
Cyrillic/Arabic category link, does not; the same rule keeps our text byte-identical to the corpus.

The package keeps one module per part, fundus style: :mod:`.hosts` (hosts, URLs and the RFE/RL services),
:mod:`.markers` (what makes a page a Pangea page), :mod:`.page` (what every template shares), :mod:`.templates` and
:mod:`.factcheck` (one class per template). This module is the family.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from lxml.html import HtmlElement

from monitor.errors import IncompletePageError, NotAnArticleError, UnknownSiteError, UnknownTemplateError
from monitor.model import Article
from monitor.sites._common import truncated
from monitor.sites.base import SiteFamily
from monitor.sites.pangea.factcheck import PangeaFactCheck
from monitor.sites.pangea.hosts import (
    FAMILY,
    PANGEA_HOSTS,
    RFERL_SERVICES,
    PangeaService,
    article_id_of,
    canonical_rules,
    host_of,
    normalize_host,
    rferl_service,
)
from monitor.sites.pangea.markers import NOT_ARTICLE_CLASSES, body_classes, has_pangea_markers, utag_data
from monitor.sites.pangea.page import PangeaPage
from monitor.sites.pangea.templates import PangeaArticle, PangeaGallery, PangeaMedia, PangeaProgram

if TYPE_CHECKING:
    from monitor.settings import SourceSettings


# --- the family --------------------------------------------------------------------------------------------


class PangeaFamily(SiteFamily):
    """Every site on the Pangea CMS, one parser per page template."""

    name = FAMILY
    generations = (PangeaArticle, PangeaMedia, PangeaGallery, PangeaProgram, PangeaFactCheck)
    accepts_extra_hosts = True

    def __init__(self, extra_hosts: Iterable[str] = ()) -> None:
        self.hosts = PANGEA_HOSTS | {normalize_host(h) for h in extra_hosts if h.strip()}

    def owns_host(self, host: str) -> bool:
        labels = normalize_host(host).split(".")
        # The host, or a domain it is under: each of its dot-suffixes asked once (there are ~100 known domains).
        return bool(labels[0]) and any(".".join(labels[i:]) in self.hosts for i in range(len(labels)))

    def article_id(self, url: str) -> str | None:
        return article_id_of(url) if self.owns(url) else None

    def site_of(self, url: str) -> str:
        if not self.owns(url):
            raise UnknownSiteError("not a Pangea site", url=url)
        return host_of(url)

    def canonical_url(self, url: str) -> str:
        return canonical_rules(url)

    def backfill_sitemaps(self, source: SourceSettings) -> list[str]:
        """The site's sitemap index: every chunk, monthly ones included."""
        return [f"https://{source.site}/sitemap.xml"]

    def parse(self, html: str, url: str) -> Article:
        if not self.owns(url):
            raise UnknownSiteError("not a Pangea site", url=url)
        return super().parse(html, url)

    def check(self, html: str, doc: HtmlElement, url: str) -> None:
        if truncated(html, tail=4096):
            raise IncompletePageError("page ends before </html> (truncated)", url=url)
        not_article = sorted(body_classes(doc) & NOT_ARTICLE_CLASSES)
        if not_article:
            raise NotAnArticleError(f"Pangea {not_article[0][3:]} page, not an article", url=url)
        if not has_pangea_markers(doc):
            raise UnknownTemplateError("page carries no Pangea CMS markers", url=url)

    def unknown_template(self, doc: HtmlElement) -> str:
        page_types = " ".join(sorted(c for c in body_classes(doc) if c.startswith("pg-"))) or "none"
        return f"no Pangea parser for this page type (body classes: {page_types})"


__all__ = [
    "PANGEA_HOSTS",
    "RFERL_SERVICES",
    "PangeaArticle",
    "PangeaFactCheck",
    "PangeaFamily",
    "PangeaGallery",
    "PangeaMedia",
    "PangeaPage",
    "PangeaProgram",
    "PangeaService",
    "has_pangea_markers",
    "normalize_host",
    "rferl_service",
    "utag_data",
]

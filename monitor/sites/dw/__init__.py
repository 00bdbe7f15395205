"""Deutsche Welle (dw.com, every language edition): URL rules and one parser per page template.

Two generations, told apart by markers in the page (see ../shared/fixtures/STRUCTURE.md, section 1):

- :class:`DWCurrent` (2022+, React with server-side rendering): ``window.__APOLLO_STATE__`` (the GraphQL cache),
  ld+json ``NewsArticle``, ``data-tracking-name`` attributes. Its CSS class names are hashed per deployment, so
  only the semantic class tokens (``rich-text``, ``teaser-text``, ``author-details`` ...) are ever selected.
- :class:`DWLegacy` (until 2022/23): ``div#bodyContent > div.col3`` with ``h1``, ``p.intro``, ``div.longText`` and
  the metadata list ``ul.smallList``.

The archive text of the current template is what the reference producer (FORMAT.md) makes of the page: skip links,
headline, byline, date, teaser, short link, lead image, body, then the skip-link lines ("Skip next section ...") of
the sections after the article that the reference's own rules keep (:mod:`monitor.sites._reference`), never their
teasers. The regions are chosen here; inside them the few things the reference leaves out (the machine-readable
``<time>``, ad slots, link-heavy boxes, hidden elements) are skipped by the rules of :func:`._page.dropped`.

The package keeps one module per part, fundus style: :mod:`.editions` (hosts, URLs, language editions),
:mod:`.current` and :mod:`.legacy` (one class per template), :mod:`.apollo` (the current template's embedded state) and
``_page`` (what both templates share). This module is the family.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar
from urllib.parse import urlsplit

from lxml.html import HtmlElement

from monitor.errors import ConfigError, IncompletePageError
from monitor.sites._common import truncated, www_for_bare_domain
from monitor.sites.base import Generation, SiteFamily
from monitor.sites.dw.current import DWCurrent
from monitor.sites.dw.editions import (
    EDITIONS,
    FAMILY,
    HOSTS,
    SHORT_LINK_HOST,
    SHORT_LINK_PATH,
    SITE,
    DWEdition,
    article_id_of,
    edition,
    edition_of,
    language_of,
    page_article_id,
)
from monitor.sites.dw.legacy import DWLegacy

if TYPE_CHECKING:
    from monitor.settings import SourceSettings


class DWFamily(SiteFamily):
    """Deutsche Welle, every language edition, on www/m/amp.dw.com."""

    name: ClassVar[str] = FAMILY
    #: Asked in this order; the legacy marker (an element id) is the cheaper test.
    generations: ClassVar[tuple[type[Generation], ...]] = (DWLegacy, DWCurrent)
    #: ``?maca=`` marks which feed a link came from.
    tracking_params: ClassVar[frozenset[str]] = frozenset({"maca"})

    def owns_host(self, host: str) -> bool:
        return host in HOSTS

    def article_id(self, url: str) -> str | None:
        return article_id_of(url)

    def site_of(self, url: str) -> str:
        return SITE

    def language_of(self, url: str) -> str | None:
        return language_of(url)

    def canonical_url(self, url: str) -> str:
        """dw.com is served as www.dw.com."""
        return www_for_bare_domain(url)

    def is_short_link(self, url: str) -> bool:
        """``p.dw.com/p/<code>``: a redirect to the article (printed on every page as its permalink)."""
        parts = urlsplit(url.strip())
        return (parts.hostname or "").lower() == SHORT_LINK_HOST and bool(SHORT_LINK_PATH.match(parts.path))

    def backfill_sitemaps(self, source: SourceSettings) -> list[str]:
        """The article sitemap of the source's edition, told by its sitemaps, sections or feeds."""
        for url in (*source.sitemaps, *source.sections, *source.feeds):
            found = edition_of(url)
            if found is not None:
                return [f"https://{source.site}/{found.prefix}/article-sitemap.xml"]
        raise ConfigError(f"source {source.name!r}: cannot tell its DW language from its sitemap or feed URLs; "
                          "set backfill_sitemaps")

    def check(self, html: str, doc: HtmlElement, url: str) -> None:
        page_article_id(doc, url)

    def check_complete(self, html: str, url: str) -> None:
        if truncated(html, tail=16384, closers=("</html>", "</body>")):
            raise IncompletePageError("page ends before </body></html> (truncated)", url=url)

    def unknown_template(self, doc: HtmlElement) -> str:
        return "DW page matches neither the current nor the legacy template"


__all__ = ["EDITIONS", "HOSTS", "DWCurrent", "DWEdition", "DWFamily", "DWLegacy", "edition", "edition_of"]

"""What every site family and every template generation provides.

A *family* (one CMS: its hosts, URL rules and page templates) owns everything the monitor knows about its sites:
which hosts are its own, an article's id and site, the canonical form of its URLs, its short links, the language a
URL names, where a backfill starts, and which of its *generations* (page templates) reads a page. A generation is
recognised by markers in the page and read by selectors kept as constants on its class (fundus style). Parsers are
pure: ``(document, url) -> Article``; they never fetch.

Adding a family: one module (or package) under ``monitor/sites/`` with a :class:`SiteFamily` subclass, its fixture
pages, and one line in :data:`monitor.sites.FAMILIES`. No other module names a family (tests/test_site_families.py).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import urlsplit

from monitor.errors import ConfigError, UnknownTemplateError
from monitor.sites._common import load_document

if TYPE_CHECKING:
    from lxml.html import HtmlElement

    from monitor.model import Article
    from monitor.settings import SourceSettings


class Generation(ABC):
    """One template generation of a site family."""

    #: Registered name, e.g. "pangea.article" or "dw.legacy"; fixture pages declare which one they exercise.
    name: ClassVar[str]

    @classmethod
    @abstractmethod
    def matches(cls, doc: HtmlElement) -> bool:
        """True when the page's markers say it was rendered by this template."""

    @abstractmethod
    def parse(self, doc: HtmlElement, url: str) -> Article:
        """Read the article; raise a ParseError subclass (never return half an article)."""


class SiteFamily(ABC):
    """A family of sites that share one CMS, hence one set of URL rules and parsers."""

    name: ClassVar[str]
    #: The family's page templates, asked in this order by :meth:`parse` (the first whose markers match reads).
    generations: ClassVar[tuple[type[Generation], ...]]
    #: True for a family that takes hosts from the configuration (``[sources] pangea_hosts``) beside its own: it is
    #: built as ``cls(extra_hosts)``, any other family as ``cls()``.
    accepts_extra_hosts: ClassVar[bool] = False
    #: Query parameters of the family's URLs that only track a click (beside the general ones in monitor.urls).
    tracking_params: ClassVar[frozenset[str]] = frozenset()

    # --- hosts and URLs ----------------------------------------------------------------------------------------

    def owns(self, url: str) -> bool:
        """True when the URL's host belongs to this family."""
        return self.owns_host((urlsplit(url.strip()).hostname or "").lower())

    @abstractmethod
    def owns_host(self, host: str) -> bool:
        """True when ``host`` (lower case, without port) belongs to this family."""

    @abstractmethod
    def article_id(self, url: str) -> str | None:
        """The article id an article URL carries (Pangea numeric id, DW "a-<id>"), None for other URLs."""

    @abstractmethod
    def site_of(self, url: str) -> str:
        """The normalised site name of a URL of this family ("rferl.org", "dw.com"): half of the article key."""

    def canonical_url(self, url: str) -> str:
        """The family's own rules on a URL it owns, after :func:`monitor.urls.canonical_url` applied the general
        ones (https, host case, ``m.``/``amp.`` hosts, tracking parameters, ``/amp`` paths, percent-encoding)."""
        return url

    def is_short_link(self, url: str) -> bool:
        """True for one of the family's short links (resolved over HTTP, not by string rules)."""
        return False

    def language_of(self, url: str) -> str | None:
        """The language an article URL names, for families whose URLs carry one; None otherwise."""
        return None

    def backfill_sitemaps(self, source: SourceSettings) -> list[str]:
        """The sitemaps a backfill of ``source`` walks when its configuration names none; ConfigError when the family
        cannot tell (no default, or the source's URLs do not say which edition it is)."""
        raise no_backfill_default(source)

    # --- pages -------------------------------------------------------------------------------------------------

    def parse(self, html: str, url: str) -> Article:
        """Parse a page of this family; raises a ParseError subclass on anything that is not a known article."""
        doc = load_document(html, url)
        self.check(html, doc, url)
        generation = next((g for g in self.generations if g.matches(doc)), None)
        if generation is None:
            raise UnknownTemplateError(self.unknown_template(doc), url=url)
        self.check_complete(html, url)
        return generation().parse(doc, url)

    def check(self, html: str, doc: HtmlElement, url: str) -> None:
        """Refuse a page before any template is asked (not the family's, not an article); raise a ParseError."""
        return None

    def check_complete(self, html: str, url: str) -> None:
        """Refuse a truncated page once its template is known; raise IncompletePageError."""
        return None

    def unknown_template(self, doc: HtmlElement) -> str:
        """What to say when no generation's markers match the page."""
        return f"{self.name} page matches none of its templates"



def no_backfill_default(source: SourceSettings) -> ConfigError:
    """The error for a source whose backfill sitemaps neither the configuration nor its family names."""
    return ConfigError(f"source {source.name!r}: no default backfill sitemap for {source.site}; set backfill_sitemaps")

"""What every site family and every template generation provides.

A *family* (Pangea, DW) knows its hosts and URL patterns; a *generation* is one page template of that family,
recognised by markers in the page and read by selectors kept as constants on its class (fundus style).
Parsers are pure: ``(document, url) -> Article``; they never fetch.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from lxml.html import HtmlElement

    from monitor.model import Article


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
    generations: ClassVar[tuple[type[Generation], ...]]

    @abstractmethod
    def owns(self, url: str) -> bool:
        """True when the URL's host belongs to this family."""

    @abstractmethod
    def article_id(self, url: str) -> str | None:
        """The article id an article URL carries (Pangea numeric id, DW "a-<id>"), None for other URLs."""

    @abstractmethod
    def site_of(self, url: str) -> str:
        """The normalised site name of a URL of this family ("rferl.org", "dw.com"): half of the article key."""

    @abstractmethod
    def parse(self, html: str, url: str) -> Article:
        """Parse a page of this family; raises a ParseError subclass on anything that is not a known article."""

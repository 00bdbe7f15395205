"""Deutsche Welle's hosts, URL rules and language editions: what the family, both templates and the backfill use.

Every page is ``https://www.dw.com/<edition>/<slug>/a-<id>``; a short link ``https://p.dw.com/p/<code>`` redirects to
one. The editions table says which path prefix, language and feeds each language edition has."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from typing import Literal
from urllib.parse import unquote, urlsplit

from lxml.html import HtmlElement

from monitor.errors import NotAnArticleError
from monitor.sites._common import canonical_link

#: The family's name: what Article.family says of every DW article.
FAMILY = "dw"
HOSTS = frozenset({"www.dw.com", "dw.com", "m.dw.com", "amp.dw.com"})
SITE = "dw.com"
BASE_URL = "https://www.dw.com/"

#: ``/<lang>/<slug>/a-<id>``; the slug may be missing or percent-encoded, the language code may carry a region.
ARTICLE_PATH = re.compile(r"^/(?P<lang>[a-z]{2,3}(?:-[a-z0-9]{2,4})?)/(?:[^/]+/)*a-(?P<id>\d+)/?$", re.IGNORECASE)
SHORT_LINK = re.compile(r"https?://p\.dw\.com/p/[A-Za-z0-9]+")
SHORT_LINK_HOST = "p.dw.com"
SHORT_LINK_PATH = re.compile(r"^/p/[A-Za-z0-9]+/?$")


# Language editions (data)


@dataclass(frozen=True, slots=True)
class DWEdition:
    """One language edition of dw.com: its URL path prefix and its feeds on rss.dw.com (``editions.toml`` says what
    the fields hold)."""

    prefix: str  # the first path segment of its pages: /<prefix>/<slug>/a-<id>
    name: str
    language: str  # ISO 639-1, what a source's ``languages`` names
    feeds: tuple[str, ...] = ()

    @property
    def home(self) -> str:
        return f"{BASE_URL}{self.prefix}/"

    @property
    def feed_urls(self) -> tuple[str, ...]:
        return tuple(f"https://rss.dw.com/xml/{feed}" for feed in self.feeds)

    def sitemap(self, kind: Literal["news", "article"]) -> str:
        """The edition's "news" sitemap (Google News: the last two days, with language and headline) or its
        "article" sitemap (every article of the edition: what ``monitor backfill`` walks)."""
        return f"{BASE_URL}{self.prefix}/{kind}-sitemap.xml"


def _editions() -> tuple[DWEdition, ...]:
    table = tomllib.loads(resources.files(__package__).joinpath("editions.toml").read_text("utf-8"))["editions"]
    return tuple(DWEdition(prefix, row["name"], row["language"], tuple(row.get("feeds", ())))
                 for prefix, row in table.items())


#: Every language edition of dw.com, by path prefix (the data is ``editions.toml`` beside this module).
EDITIONS = _editions()


def edition(prefix: str) -> DWEdition | None:
    """The edition whose pages start with ``/<prefix>/`` (case-insensitive), None for any other prefix."""
    wanted = prefix.strip("/").lower()
    return next((e for e in EDITIONS if e.prefix == wanted), None)


def edition_of(url: str) -> DWEdition | None:
    """The edition a dw.com page or sitemap belongs to, or the edition whose feed ``url`` is on rss.dw.com."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host == "rss.dw.com":
        name = parts.path.rstrip("/").rsplit("/", 1)[-1]
        return next((e for e in EDITIONS if name in e.feeds), None)
    if host not in HOSTS:
        return None
    return edition(unquote(parts.path).strip("/").split("/", 1)[0])


def article_id_of(url: str) -> str | None:
    """The article id a dw.com article URL carries ("a-<id>"), None for any other URL."""
    parts = urlsplit(url)
    if (parts.hostname or "").lower() not in HOSTS:
        return None
    match = ARTICLE_PATH.match(unquote(parts.path))
    return f"a-{match.group('id')}" if match else None


def language_of(url: str) -> str | None:
    """The language code an article URL's path starts with (its edition prefix: "en", "pt-br")."""
    match = ARTICLE_PATH.match(unquote(urlsplit(url).path))
    if match:
        return match.group("lang").lower()
    first = urlsplit(url).path.strip("/").split("/", 1)[0]
    return first.lower() or None


def page_article_id(doc: HtmlElement, url: str) -> str:
    """The page's own article id (its canonical link wins over the URL it was fetched from, which may redirect)."""
    canonical = canonical_link(doc)
    article_id = (article_id_of(canonical) if canonical else None) or article_id_of(url)
    if article_id is None:
        raise NotAnArticleError("not a DW article (no /a-<id> in the URL or canonical link)", url=url)
    return article_id

"""Pangea's hosts and URLs, and the RFE/RL services (data): which sites run on Pangea and where their sitemaps are."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from monitor.sites._common import www_for_bare_domain

#: The family's name: what Article.family says of every Pangea article.
FAMILY = "pangea"

# --- hosts and URLs ----------------------------------------------------------------------------------------

#: What ``hosts.toml`` beside this module says: the domains known to run on Pangea and the RFE/RL services.
_DATA = tomllib.loads(resources.files(__package__).joinpath("hosts.toml").read_text("utf-8"))
#: A host matches itself and its subdomains; :data:`PANGEA_HOSTS` adds the host of every RFE/RL service.
_PANGEA_DOMAINS = frozenset(_DATA["domains"])

_HOST_PREFIXES = ("www.", "m.", "amp.")
#: ``/a/<slug>/<id>.html``, ``/a/<id>.html``; AMP copies and further gallery pages (``/<id>/p1.html``) too.
_ARTICLE_PATH = re.compile(r"^(?:/amp)?/a/(?:[^/]+/)?(?P<id>\d+)(?:/p\d+)?\.html$")
#: An AMP copy of an article, ``/amp/<slug>/<id>.html``: its page is ``/a/<slug>/<id>.html``.
AMP_PATH = re.compile(r"^/amp/(?P<rest>.+/\d+\.html)$")


def normalize_host(host: str) -> str:
    """Lower-case host without ``www.``/``m.``/``amp.``: the site half of an article key."""
    host = host.strip().lower().rstrip(".")
    for prefix in _HOST_PREFIXES:
        if host.startswith(prefix) and host.count(".") >= 2:
            return host[len(prefix) :]
    return host


def host_of(url: str) -> str:
    return normalize_host(urlsplit(url.strip()).hostname or "")


def article_id_of(url: str) -> str | None:
    found = _ARTICLE_PATH.match(urlsplit(url.strip()).path)
    return found.group("id") if found else None


# --- RFE/RL services (data) --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PangeaService:
    """One RFE/RL service on Pangea: where it lives and what its sitemaps are called.

    ``sitemap`` is the service's number in its chunk names (``sitemap_<n>_news.xml.gz``); ``languages`` are the
    ``news:language`` codes its Google News sitemap writes (the code it would write where that chunk was empty)."""

    host: str  # as the service serves itself, ``www.`` included
    name: str
    languages: tuple[str, ...]
    sitemap: int

    @property
    def index_sitemap(self) -> str:
        """Every chunk, monthly ones included: for backfills, not for polling."""
        return f"https://{self.host}/sitemap.xml"

    def chunk_sitemap(self, kind: Literal["news", "latest", "sections"]) -> str:
        """One chunk the index lists: "news", the Google News chunk (the last two days, with language and headline);
        "latest", the rolling chunk of the latest articles, with lastmod; "sections", section and programme pages
        (no articles)."""
        return f"https://{self.host}/sitemap_{self.sitemap}_{kind}.xml.gz"


#: Every RFE/RL service on Pangea, with the sitemap numbers their indexes named on 2025-05-25 (``hosts.toml``).
RFERL_SERVICES = tuple(PangeaService(host, row["name"], tuple(row["languages"]), row["sitemap"])
                       for host, row in _DATA["services"].items())

#: Every host known to run on Pangea (a host matches itself and its subdomains).
PANGEA_HOSTS = _PANGEA_DOMAINS | frozenset(normalize_host(service.host) for service in RFERL_SERVICES)


def rferl_service(host: str) -> PangeaService | None:
    """The RFE/RL service at ``host`` (``www.`` optional), None for any other host."""
    wanted = normalize_host(host)
    return next((s for s in RFERL_SERVICES if normalize_host(s.host) == wanted), None)


def canonical_rules(url: str) -> str:
    """Pangea's own URL rules: an AMP copy's URL is the article's; a bare domain is served as ``www.``."""
    if "/amp/" in url:
        parts = urlsplit(url)
        amp = AMP_PATH.match(parts.path)
        if amp:
            url = urlunsplit(parts._replace(path="/a/" + amp.group("rest")))
    return www_for_bare_domain(url)

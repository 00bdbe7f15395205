"""Canonical URLs, article keys and archive file-name hashes.

One article reaches us under many URLs: with ``?maca=`` or ``utm_*`` tracking, on ``m.``/``amp.`` hosts, as an AMP
path, over http, with a fragment, percent-encoded or not, or as a DW short link (``p.dw.com/p/<code>``).
:func:`canonical_url` maps the first kinds to one URL without any I/O; :func:`resolve_short_link` asks the HTTP
client where a short link leads. The identity of an article across all of them is :func:`article_key`
(``site:article_id`` from the site registry); the archive file name uses :func:`file_hash` of the canonical URL.
"""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from monitor.errors import UnknownSiteError

if TYPE_CHECKING:
    from monitor.http import HttpClient
    from monitor.sites import SiteRegistry

#: Query parameters that only track where a click came from. ``maca`` is DW's feed marker.
TRACKING_PARAMS = frozenset(
    {"maca", "fbclid", "gclid", "dclid", "msclkid", "yclid", "igshid", "mc_cid", "mc_eid", "ocid", "nocache",
     "amp", "_ga", "ref_src"}
)
TRACKING_PREFIXES = ("utm_", "at_", "pk_")

_MOBILE_PREFIXES = ("m.", "amp.", "mobile.")
_SHORT_LINK_HOSTS = frozenset({"p.dw.com"})
_SHORT_LINK_PATH = re.compile(r"^/p/[A-Za-z0-9]+/?$")
_PANGEA_AMP = re.compile(r"^/amp/(?P<rest>.+/\d+\.html)$")
# Characters left as they are in a path and a query value; everything else is percent-encoded (UTF-8).
_PATH_SAFE = "/:@!$&'()*+,;=-._~"
_QUERY_SAFE = "/:@!$'()*,;-._~"  # not & = + : they would change what a decoded value means


def canonical_url(url: str) -> str:
    """The one URL of a page: https, lower-case host without ``m.``/``amp.``, no AMP path, no tracking
    parameters, no fragment, percent-encoding normalised. Pure string work: short links stay as they are."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https", ""):
        return url.strip()
    host = (parts.hostname or "").lower().rstrip(".")
    for prefix in _MOBILE_PREFIXES:
        if host.startswith(prefix) and host.count(".") >= 2:
            host = host[len(prefix):]
            break
    if host.count(".") == 1 and host not in _SHORT_LINK_HOSTS:
        host = "www." + host  # dw.com and rferl.org are served as www.
    port = parts.port
    netloc = host if port in (None, 80, 443) else f"{host}:{port}"

    path = quote(unquote(parts.path or "/"), safe=_PATH_SAFE)
    amp = _PANGEA_AMP.match(path)
    if amp:
        path = "/a/" + amp.group("rest")
    elif path.endswith("/amp"):
        path = path[: -len("/amp")] or "/"
    elif path.startswith("/amp/"):
        path = path[len("/amp"):]

    query = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if key.lower() not in TRACKING_PARAMS and not key.lower().startswith(TRACKING_PREFIXES)
    ]
    return urlunsplit(("https", netloc, path, urlencode(query, quote_via=quote, safe=_QUERY_SAFE), ""))


def is_short_link(url: str) -> bool:
    parts = urlsplit(url.strip())
    return (parts.hostname or "").lower() in _SHORT_LINK_HOSTS and bool(_SHORT_LINK_PATH.match(parts.path))


def resolve_short_link(client: HttpClient, url: str) -> str:
    """The canonical URL a DW short link leads to (the client follows the redirect, within dw.com). Other URLs
    come back canonicalised, without I/O."""
    if not is_short_link(url):
        return canonical_url(url)
    return canonical_url(client.resolve(url))


def article_key(url: str, registry: SiteRegistry) -> str | None:
    """``site:article_id`` of an article URL, or None when the URL is not an article (or no family knows it)."""
    try:
        family = registry.family_for(url)
    except UnknownSiteError:
        return None
    article_id = family.article_id(url)
    if article_id is None:
        return None
    return f"{family.site_of(url)}:{article_id}"


def file_hash(canonical: str) -> str:
    """The 16 hex digits of an archive file name: the start of SHA-256 of the canonical URL (FORMAT.md)."""
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


__all__ = [
    "TRACKING_PARAMS",
    "article_key",
    "canonical_url",
    "file_hash",
    "is_short_link",
    "resolve_short_link",
]

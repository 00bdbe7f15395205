"""Canonical URLs, article keys and archive file-name hashes.

One article reaches us under many URLs: with ``?maca=`` or ``utm_*`` tracking, on ``m.``/``amp.`` hosts, as an AMP
path, over http, with a fragment, percent-encoded or not, or as a short link. :func:`canonical_url` maps the first
kinds to one URL without any I/O: the general rules here, then the rules of the site family that owns the URL
(:meth:`monitor.sites.SiteFamily.canonical_url`); :func:`resolve_short_link` asks the HTTP client where a short link
(a family's, :meth:`~monitor.sites.SiteFamily.is_short_link`) leads. The identity of an article across all of them is
:func:`article_key` (``site:article_id`` from the site registry); the archive file name uses :func:`file_hash` of the
canonical URL. Without a registry, the rules of the built-in families apply (no configured hosts).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from monitor.errors import UnknownSiteError
from monitor.sites import builtin_registry

if TYPE_CHECKING:
    from monitor.http import HttpClient
    from monitor.sites import SiteRegistry

#: Query parameters that only track where a click came from (a family may add its own:
#: :attr:`monitor.sites.SiteFamily.tracking_params`).
TRACKING_PARAMS = frozenset(
    {"fbclid", "gclid", "dclid", "msclkid", "yclid", "igshid", "mc_cid", "mc_eid", "ocid", "nocache", "amp", "_ga",
     "ref_src"}
)
TRACKING_PREFIXES = ("utm_", "at_", "pk_")

_MOBILE_PREFIXES = ("m.", "amp.", "mobile.")
# Characters left as they are in a path and a query value; everything else is percent-encoded (UTF-8).
_PATH_SAFE = "/:@!$&'()*+,;=-._~"
_QUERY_SAFE = "/:@!$'()*,;-._~"  # not & = + : they would change what a decoded value means


def canonical_url(url: str, registry: SiteRegistry | None = None) -> str:
    """The one URL of a page: https, lower-case host without ``m.``/``amp.``, no AMP path, no tracking
    parameters, no fragment, percent-encoding normalised, then the rules of the family that owns it (in
    ``registry``, else among the built-in families). Pure string work: short links stay as they are."""
    owner = _registry(registry).owner_of_host

    def rules_of(host: str) -> _FamilyRules | None:
        family = owner(host)
        return _FamilyRules(family.canonical_url, family.tracking_params) if family is not None else None

    return _canonical(url, rules_of)


def canonical_url_with(url: str, rules: Callable[[str], str], tracking: frozenset[str] = frozenset()) -> str:
    """:func:`canonical_url` under one family's ``rules`` (its :meth:`~monitor.sites.SiteFamily.canonical_url`) and
    ``tracking`` parameters, whoever owns the host: for a page that family is parsing on a host only the
    configuration names."""
    return _canonical(url, lambda _host: _FamilyRules(rules, tracking))


class _FamilyRules(NamedTuple):
    """A family's part of the canonical form."""

    rewrite: Callable[[str], str]  # its SiteFamily.canonical_url
    tracking: frozenset[str]  # its SiteFamily.tracking_params


def _canonical(url: str, rules_of: Callable[[str], _FamilyRules | None]) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https", ""):
        return url.strip()
    host = (parts.hostname or "").lower().rstrip(".")
    for prefix in _MOBILE_PREFIXES:
        if host.startswith(prefix) and host.count(".") >= 2:
            host = host[len(prefix):]
            break
    port = parts.port
    netloc = host if port in (None, 80, 443) else f"{host}:{port}"
    family = rules_of(host)
    tracking = TRACKING_PARAMS | family.tracking if family is not None else TRACKING_PARAMS
    query = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if key.lower() not in tracking and not key.lower().startswith(TRACKING_PREFIXES)
    ]
    path = quote(unquote(parts.path or "/"), safe=_PATH_SAFE)
    result = urlunsplit(("https", netloc, path, urlencode(query, quote_via=quote, safe=_QUERY_SAFE), ""))
    if family is not None:
        result = family.rewrite(result)  # before the general AMP rule: a family may read its own AMP paths
    return _without_amp_path(result)


def _without_amp_path(url: str) -> str:
    if "/amp" not in url:
        return url
    parts = urlsplit(url)
    path = parts.path
    if path.endswith("/amp"):
        path = path[: -len("/amp")] or "/"
    elif path.startswith("/amp/"):
        path = path[len("/amp"):]
    else:
        return url
    return urlunsplit(parts._replace(path=path))


def is_short_link(url: str, registry: SiteRegistry | None = None) -> bool:
    """True for a site family's short link (DW: ``p.dw.com/p/<code>``)."""
    return _registry(registry).is_short_link(url.strip())


def resolve_short_link(client: HttpClient, url: str, registry: SiteRegistry | None = None) -> str:
    """The canonical URL a short link leads to (the client follows the redirect, within the site). Other URLs
    come back canonicalised, without I/O."""
    if not is_short_link(url, registry):
        return canonical_url(url, registry)
    return canonical_url(client.resolve(url), registry)


def _registry(registry: SiteRegistry | None) -> SiteRegistry:
    return registry if registry is not None else builtin_registry()


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
    "canonical_url_with",
    "file_hash",
    "is_short_link",
    "resolve_short_link",
]

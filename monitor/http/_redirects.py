"""Which redirects the client follows: HTTP(S) only, and only to the source's own hosts.

"Own hosts" default to the requested host's registrable domain, taken from the public suffix list (the copy the
``publicsuffixlist`` package ships; nothing is fetched at run time), so ``p.dw.com`` may send us to ``www.dw.com``
while ``news.bbc.co.uk`` may not send us to ``other.co.uk``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection
from functools import cache
from typing import TYPE_CHECKING

import httpx

from monitor.errors import RedirectError

if TYPE_CHECKING:
    from publicsuffixlist import PublicSuffixList

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


@cache
def _suffixes() -> PublicSuffixList:
    # Loaded on the first redirect check, not at import: parsing the list takes a noticeable part of a second.
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()


def registrable(host: str) -> str:
    """The site a host belongs to (``p.dw.com`` -> ``dw.com``, ``news.bbc.co.uk`` -> ``bbc.co.uk``). An IP address,
    a bare public suffix or a single-label host (``localhost``) is its own site."""
    host = host.lower().rstrip(".")
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return _suffixes().privatesuffix(host) or host
    return host


def next_hop(current: httpx.URL, location: str, *, requested: str, status: int, allowed: Collection[str] | None,
             domain: str) -> httpx.URL:
    """Where a redirect from ``current`` to ``location`` leads, or RedirectError when we must not go there.
    ``allowed`` are the caller's own hosts; without them, hosts under ``domain`` (the requested URL's site)."""
    target = current.join(location.strip())
    if target.scheme not in ("http", "https"):
        raise RedirectError(f"redirect to a non-HTTP URL {target}", url=requested, status=status)
    ok = target.host in allowed if allowed is not None else registrable(target.host) == domain
    if not ok:
        raise RedirectError(f"redirect to another site {target}", url=requested, status=status)
    return target

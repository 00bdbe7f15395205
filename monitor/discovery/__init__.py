"""Discovery: feeds, sitemaps and section pages turned into candidate article URLs.

The readers (:func:`parse_feed`, :func:`iter_sitemap`, :func:`page_links`) take bytes and do no I/O;
:func:`discover_source` runs one pass over a configured source through the HTTP client.
"""

from __future__ import annotations

from monitor.discovery.feeds import check_feed_xml, parse_feed
from monitor.discovery.sections import page_links
from monitor.discovery.sitemaps import SitemapEntry, iter_sitemap
from monitor.discovery.source import DiscoveryResult, discover_source

__all__ = [
    "DiscoveryResult",
    "SitemapEntry",
    "check_feed_xml",
    "discover_source",
    "iter_sitemap",
    "page_links",
    "parse_feed",
]

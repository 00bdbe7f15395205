"""One discovery pass over one configured source: fetch its feeds, sitemaps and section pages through the HTTP client,
read them (feeds, sitemaps, sections modules) and return the candidate articles, one per article key.

A broken part of a source (a feed that 404s, a zombie feed, a sitemap chunk that is gone) becomes a
:class:`SourceError` in :attr:`DiscoveryResult.errors`; the other parts still count. ETag/Last-Modified of the
documents read are remembered only when the caller calls :meth:`DiscoveryResult.commit` (after it has stored the
candidates), so a crash in between re-reads them rather than losing them behind a 304.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from monitor.discovery.feeds import parse_feed
from monitor.discovery.sections import page_links
from monitor.discovery.sitemaps import MAX_UNPACKED, iter_sitemap
from monitor.errors import FetchError, SourceError
from monitor.http import Fetched, HttpClient
from monitor.model import FeedEntry
from monitor.settings import SourceSettings
from monitor.sites import SiteRegistry, default_registry
from monitor.urls import article_key, canonical_url, is_short_link, resolve_short_link

log = logging.getLogger("monitor.discovery")

#: Index -> chunk is one level; a second level is tolerated, deeper is a loop or a mistake.
MAX_SITEMAP_DEPTH = 2


@dataclass
class DiscoveryResult:
    source: str
    entries: list[FeedEntry] = field(default_factory=list)  # canonical article URLs, one per article key
    keys: list[str] = field(default_factory=list)  # the article key of each entry, same order
    errors: list[SourceError] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)  # documents that answered 304
    skipped: int = 0  # links that are not articles of a known site
    _read: list[Fetched] = field(default_factory=list, repr=False)
    _unhandled: set[str] = field(default_factory=set, repr=False)  # documents with an entry that came to nothing

    def commit(self, client: HttpClient) -> None:
        """Remember the validators of every document read, so the next pass can ask "changed since?"; not those of
        a document one of whose entries could not be followed (a short link unresolved): a 304 would hide it."""
        for fetched in self._read:
            if fetched.url not in self._unhandled:
                client.remember(fetched)
        self._read.clear()


def discover_source(
    client: HttpClient,
    source: SourceSettings,
    *,
    registry: SiteRegistry | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    now: datetime | None = None,
) -> DiscoveryResult:
    """Candidate articles of ``source`` changed in ``[since, until]``; without ``since``, in the source's lookback
    window before ``now`` (the caller's clock: monitor.clock), which is then required."""
    registry = registry or default_registry()
    if since is None:
        if now is None:
            raise ValueError("discover_source: give `since`, or `now` for the source's lookback window")
        since = now - timedelta(seconds=source.lookback)
    result = DiscoveryResult(source=source.name)
    found: list[FeedEntry] = []
    for feed in source.feeds:
        found += _read_feed(client, feed, result)
    for sitemap in source.sitemaps:
        found += _read_sitemap(client, sitemap, result, since=since, until=until, depth=0)
    for section in source.sections:
        found += _read_section(client, registry, section, result)
    _keep_articles(client, registry, _in_range(found, since, until), result)
    return result


def _read_feed(client: HttpClient, url: str, result: DiscoveryResult) -> list[FeedEntry]:
    fetched = _fetch(client, url, "feed", result, expect="xml", conditional=True)
    if fetched is None:
        return []
    try:
        entries = parse_feed(fetched.content, url)
    except SourceError as exc:
        result.errors.append(exc)
        return []
    result._read.append(fetched)
    return entries


def _read_sitemap(
    client: HttpClient,
    url: str,
    result: DiscoveryResult,
    *,
    since: datetime | None,
    until: datetime | None,
    depth: int,
) -> list[FeedEntry]:
    fetched = _fetch(client, url, "sitemap" if depth == 0 else "sitemap chunk", result, expect="xml",
                     conditional=True, max_bytes=max(MAX_UNPACKED, client.settings.max_bytes))
    if fetched is None:
        return []
    entries: list[FeedEntry] = []
    children: list[str] = []
    try:
        for item in iter_sitemap(fetched.content, url, since=since, until=until):
            if item.is_sitemap:
                children.append(item.loc)
            else:
                entries.append(FeedEntry(url=item.loc, source_url=url, title=item.title, published=item.published,
                                         modified=item.lastmod, language=item.language))
    except SourceError as exc:
        result.errors.append(exc)
        return []
    if children:
        # An index is never remembered: its chunks (``_latest``, ``_news``) change without the index changing.
        if depth >= MAX_SITEMAP_DEPTH:
            result.errors.append(SourceError(f"sitemap indexes nested deeper than {MAX_SITEMAP_DEPTH}", url=url))
            return entries
        for child in children:
            entries += _read_sitemap(client, child, result, since=since, until=until, depth=depth + 1)
    else:
        result._read.append(fetched)
    return entries


def _read_section(client: HttpClient, registry: SiteRegistry, url: str, result: DiscoveryResult) -> list[FeedEntry]:
    fetched = _fetch(client, url, "section page", result, expect="html", conditional=False)
    if fetched is None:
        return []
    try:
        links = page_links(fetched.content, fetched.final_url, charset=fetched.charset)
    except SourceError as exc:
        result.errors.append(exc)
        return []
    page_host = canonical_url(fetched.final_url, registry).split("/")[2]
    return [
        FeedEntry(url=link, source_url=url, title=label)
        for link, label in links
        if canonical_url(link, registry).split("/")[2] == page_host or is_short_link(link, registry)
    ]


def _fetch(
    client: HttpClient,
    url: str,
    what: str,
    result: DiscoveryResult,
    *,
    expect: str,
    conditional: bool,
    max_bytes: int | None = None,
) -> Fetched | None:
    try:
        fetched = client.fetch(url, expect="xml" if expect == "xml" else "html", conditional=conditional,
                               max_bytes=max_bytes)
    except FetchError as exc:
        result.errors.append(SourceError(f"{what} unavailable: {_reason(exc)}", url=url))
        return None
    if fetched.not_modified:
        result.unchanged.append(url)
        return None
    return fetched


def _reason(exc: FetchError) -> str:
    text = str(exc)
    suffix = f" ({exc.url})"
    return text[: -len(suffix)] if exc.url and text.endswith(suffix) else text


def _in_range(entries: Iterable[FeedEntry], since: datetime | None, until: datetime | None) -> Iterable[FeedEntry]:
    for entry in entries:
        when = entry.published or entry.modified
        if when is not None and ((since and when < since) or (until and when > until)):
            continue
        yield entry


def _keep_articles(
    client: HttpClient, registry: SiteRegistry, entries: Iterable[FeedEntry], result: DiscoveryResult
) -> None:
    seen: dict[str, int] = {}  # article key -> index in result.entries
    for entry in entries:
        try:
            url = resolve_short_link(client, entry.url, registry)
        except FetchError as exc:
            result.errors.append(SourceError(f"short link unresolved: {_reason(exc)}", url=entry.url))
            result._unhandled.add(entry.source_url)
            continue
        key = article_key(url, registry)
        if key is None:
            result.skipped += 1
            continue
        if key in seen:
            # The same article from another feed or sitemap: one entry, carrying the newest date any of them gave
            # (a sitemap may re-date an edit the feed listed first still shows with its old date) and any
            # language one of them knew.
            index = seen[key]
            result.entries[index] = _merged(result.entries[index], entry)
            continue
        seen[key] = len(result.entries)
        result.entries.append(replace(entry, url=url, language=entry.language or registry.language_of(url)))
        result.keys.append(key)
    log.info("source %s: %d candidates, %d errors, %d unchanged, %d non-article links skipped",
             result.source, len(result.entries), len(result.errors), len(result.unchanged), result.skipped)


def _merged(kept: FeedEntry, other: FeedEntry) -> FeedEntry:
    """``kept`` with the newest date of the two (as its ``modified``: what says "changed since")."""
    dates = [d for d in (kept.modified, kept.published, other.modified, other.published) if d is not None]
    newest = max(dates) if dates else None
    ours = kept.modified or kept.published
    if newest is not None and (ours is None or newest > ours):
        kept = replace(kept, modified=newest)
    if kept.language is None and other.language is not None:
        kept = replace(kept, language=other.language)
    return kept

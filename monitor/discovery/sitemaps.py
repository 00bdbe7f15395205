"""Sitemaps: indexes, chunks (``.xml`` or ``.xml.gz``) and Google News sitemaps, read as a stream.

:func:`iter_sitemap` never holds more than one ``<url>`` element: gzip is decompressed as lxml pulls, elements are
dropped once read, so memory stays flat however large the file (a Pangea chunk unpacks to several MB). The parser
resolves no entities, loads no DTD and refuses a document that declares one (entity-expansion bombs), and stops at
``max_unpacked`` bytes (a gzip bomb). No I/O beyond the bytes or file object it is given.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import IO, cast

from lxml import etree

from monitor.errors import SourceError
from monitor.isotime import parse_iso_time

#: The sitemaps protocol's own limit on an unpacked file.
MAX_UNPACKED = 50 * 1024 * 1024
_TAGS = ("{*}urlset", "{*}sitemapindex", "{*}url", "{*}sitemap")


@dataclass(frozen=True, slots=True)
class SitemapEntry:
    """One ``<url>`` of a urlset, or one ``<sitemap>`` of an index (``is_sitemap``)."""

    loc: str
    lastmod: datetime | None = None
    is_sitemap: bool = False
    title: str | None = None  # news:title
    published: datetime | None = None  # news:publication_date
    language: str | None = None  # news:language

    @property
    def when(self) -> datetime | None:
        return self.published or self.lastmod


def iter_sitemap(
    data: bytes | IO[bytes],
    url: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    max_unpacked: int = MAX_UNPACKED,
) -> Iterator[SitemapEntry]:
    """Yield the entries of a sitemap or sitemap index, in document order.

    ``since``/``until`` (aware) keep URLs whose date (news publication date, else lastmod) lies in the range and
    child sitemaps changed since ``since``; entries without a date are always kept. Raises :class:`SourceError`
    for an empty, malformed, non-sitemap or over-large document, naming the URL and the line.
    """
    stream = _open(data, url, max_unpacked)
    context = etree.iterparse(
        stream,
        events=("start", "end"),
        tag=_TAGS,  # events only for these: the children of <url> are read from the element itself
        resolve_entities=False,
        huge_tree=False,
        no_network=True,
        load_dtd=False,
        remove_comments=True,
        remove_pis=True,
    )
    root: etree._Element | None = None
    try:
        for event, elem in context:
            if root is None:
                root = elem.getparent() if elem.getparent() is not None else elem
                _check_root(root, url)
            if event != "end" or elem is root:
                continue
            entry = _entry(elem, _local(elem.tag) == "sitemap")
            elem.clear()
            while elem.getprevious() is not None:  # drop what was read, keep memory flat
                del root[0]
            if entry is not None and _in_range(entry, since, until):
                yield entry
    except etree.XMLSyntaxError as exc:
        if root is None and "empty" in str(exc).lower():
            raise SourceError("sitemap answered with an empty body", url=url) from None
        if _over_limit(exc):
            # libxml2's own words suggest lifting the limit (XML_PARSE_HUGE): that is the one thing not to do.
            raise SourceError(
                f"refused: the sitemap holds a text or name longer than {_mb(LIBXML_TEXT_LIMIT)} at line "
                f"{exc.lineno} (a decompression bomb, or not a sitemap); sitemaps are read with that limit",
                url=url) from None
        raise SourceError(f"malformed sitemap XML: {exc}", url=url) from None
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise SourceError(f"broken gzip stream: {exc}", url=url) from None
    if root is None:
        whole = getattr(context, "root", None)  # a document without a single sitemap element
        if whole is None:
            raise SourceError("sitemap answered with an empty body", url=url)
        _check_root(whole, url)


def _open(data: bytes | IO[bytes], url: str, max_unpacked: int) -> IO[bytes]:
    raw: IO[bytes] = io.BytesIO(data) if isinstance(data, bytes | bytearray) else data
    if isinstance(data, bytes | bytearray) and not data.strip():
        raise SourceError("sitemap answered with an empty body", url=url)
    head = raw.read(2)
    raw.seek(0)
    if head == b"\x1f\x8b":
        raw = cast(IO[bytes], gzip.GzipFile(fileobj=raw, mode="rb"))
    return cast(IO[bytes], _Limited(raw, max_unpacked, url))


class _Limited(io.RawIOBase):
    """A reader that fails once more than ``limit`` bytes have passed through it."""

    def __init__(self, inner: IO[bytes], limit: int, url: str) -> None:
        self._inner = inner
        self._left = limit
        self._limit = limit
        self._url = url

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        chunk = self._inner.read(size if size >= 0 else self._left + 1)
        self._left -= len(chunk)
        if self._left < 0:
            raise SourceError(f"refused: the sitemap unpacks to more than {_mb(self._limit)} (the sitemaps "
                              "protocol's limit; a decompression bomb, or not a sitemap)", url=self._url)
        return chunk


#: libxml2's limit on one text node or name without XML_PARSE_HUGE (which the reader never sets).
LIBXML_TEXT_LIMIT = 10_000_000


def _over_limit(exc: etree.XMLSyntaxError) -> bool:
    text = str(exc)
    return "XML_PARSE_HUGE" in text or "Resource limit exceeded" in text or "huge" in text.lower()


def _mb(size: int) -> str:
    if size % (1024 * 1024) == 0:
        return f"{size // (1024 * 1024)} MiB"
    return f"{size // 1_000_000} MB" if size % 1_000_000 == 0 else f"{size} bytes"


def _check_root(elem: etree._Element, url: str) -> None:
    name = _local(elem.tag)
    if elem.getroottree().docinfo.internalDTD is not None:
        raise SourceError("refused: the sitemap declares a DTD (possible entity-expansion bomb)", url=url)
    if name not in ("urlset", "sitemapindex"):
        raise SourceError(f"not a sitemap: the document is <{name}>", url=url)


def _entry(elem: etree._Element, is_sitemap: bool) -> SitemapEntry | None:
    loc = lastmod = title = published = language = None
    for child in elem.iterdescendants():
        tag = child.tag
        if not isinstance(tag, str):
            continue
        name = tag[tag.rfind("}") + 1:]
        if name == "loc":
            loc = loc or (child.text or "").strip()
        elif name == "lastmod":
            lastmod = (child.text or "").strip()
        elif name == "title":
            title = (child.text or "").strip()
        elif name == "publication_date":
            published = (child.text or "").strip()
        elif name == "language":
            language = (child.text or "").strip()
    if not loc:
        return None
    return SitemapEntry(loc, parse_iso_time(lastmod), is_sitemap, title or None, parse_iso_time(published),
                        language or None)


def _in_range(entry: SitemapEntry, since: datetime | None, until: datetime | None) -> bool:
    when = entry.lastmod if entry.is_sitemap else entry.when
    if when is None:
        return True
    if since is not None and when < since:
        return False
    return entry.is_sitemap or until is None or when <= until


def _local(tag: object) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


"""What the client asks for and accepts: Accept headers, content-type checks, the streamed size cap."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Literal

from monitor.errors import ContentTypeError, ResponseTooLargeError, TransientFetchError

Expect = Literal["html", "xml", "any"]

ACCEPT: dict[str, str] = {
    "html": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1",
    "xml": "application/rss+xml,application/rdf+xml,application/atom+xml,application/xml;q=0.9,text/xml;q=0.9,"
    "*/*;q=0.5",
    "any": "*/*",
}
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_BINARY_MAJOR = frozenset({"image", "audio", "video", "font"})
_BINARY_TYPES = frozenset({"application/pdf", "application/zip", "application/json", "application/javascript"})


def media_type(content_type: str | None) -> str | None:
    if not content_type:
        return None
    return content_type.split(";", 1)[0].strip().lower() or None


def param(content_type: str | None, name: str) -> str | None:
    if not content_type:
        return None
    for part in content_type.split(";")[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == name:
            return value.strip().strip("\"'") or None
    return None


def check_type(content_type: str | None, expect: Expect, where: str) -> None:
    media = media_type(content_type)
    if media is None or expect == "any":
        return
    if expect == "html" and media not in _HTML_TYPES:
        raise ContentTypeError(f"expected an HTML page, got {media}", url=where)
    if expect == "xml" and (media.split("/", 1)[0] in _BINARY_MAJOR or media in _BINARY_TYPES):
        raise ContentTypeError(f"expected a feed or sitemap, got {media}", url=where)


def capped(chunks: Iterator[bytes], cap: int, deadline: float, where: str) -> Iterator[bytes]:
    """The body's chunks, refused as a whole once they pass ``cap`` bytes or the real-time ``deadline``."""
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > cap:
            raise ResponseTooLargeError(f"body exceeds the {cap}-byte cap", url=where)
        if time.monotonic() > deadline:
            raise TransientFetchError("total timeout while reading the body")
        yield chunk

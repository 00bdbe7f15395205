"""Bytes to text for HTML pages: BOM, then the HTTP header's charset, then the page's own declaration."""

from __future__ import annotations

import codecs

from bs4.dammit import EncodingDetector, UnicodeDammit

from monitor.errors import ParseError


def _codec(name: str | bytes | None) -> str | None:
    if not name:
        return None
    if isinstance(name, bytes):
        name = name.decode("ascii", "replace")
    try:
        return codecs.lookup(name.strip().strip("\"'")).name
    except LookupError:
        return None


def decode_html(data: bytes, declared: str | None = None, *, where: str | None = None) -> str:
    """Decode a page: BOM first, then ``declared`` (the Content-Type charset), then a ``<meta>`` declaration
    in the page, then UTF-8; only when all of those fail is the encoding guessed."""
    if not data.strip():
        raise ParseError("empty page", url=where)
    _, bom_encoding = EncodingDetector.strip_byte_order_mark(data)
    declared_in_page = EncodingDetector.find_declared_encoding(data, is_html=True)
    for candidate in (bom_encoding, declared, declared_in_page, "utf-8"):
        codec = _codec(candidate)
        if codec is None:
            continue
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        return text.removeprefix("\ufeff")
    guessed = UnicodeDammit(data, is_html=True).unicode_markup
    if guessed is None:
        raise ParseError("cannot decode page: no declared or detectable character encoding", url=where)
    return guessed

"""Bytes to text for HTML pages: BOM, then the HTTP header's charset, then the page's own declaration.

A page whose bytes are not valid in any encoding it declares (a windows-1251 page served and labelled as UTF-8) is
decoded by detection instead of being forced through a wrong single-byte codec: mojibake would be archived for good
and no rule in the page's script could ever match it. That decision is logged, one line per page."""

from __future__ import annotations

import codecs
import logging
import re

from monitor.errors import ParseError

log = logging.getLogger("monitor.decoding")

# What Beautiful Soup's EncodingDetector reads (bs4.dammit, 4.12-4.15): the byte-order marks, an XML declaration in
# the first 1024 bytes, else a <meta> charset in the first 2048 bytes or 5% of the page. Restated here because
# importing bs4 costs a command ~0.16 s (soupsieve compiles its CSS grammar), the larger part of `monitor parse`'s
# start-up; tests/test_decoding.py checks both agree on every fixture page and on crafted declarations.
_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\x00\x00\xfe\xff", "utf-32be"), (b"\xff\xfe\x00\x00", "utf-32le"))
_XML_DECLARATION = re.compile(rb"^\s*<\?.*encoding=['\"](.*?)['\"].*\?>", re.IGNORECASE)
_META_CHARSET = re.compile(rb"<\s*meta[^>]+charset\s*=\s*[\"']?([^>]*?)[ /;'\">]", re.IGNORECASE)


def bom_encoding(data: bytes) -> str | None:
    """The encoding a byte-order mark at the start of ``data`` names (UTF-16 only where the next two bytes are not
    zero: those are UTF-32's marks)."""
    if len(data) >= 4 and data[2:4] != b"\x00\x00":
        if data[:2] == b"\xfe\xff":
            return "utf-16be"
        if data[:2] == b"\xff\xfe":
            return "utf-16le"
    return next((name for mark, name in _BOMS if data.startswith(mark)), None)


def declared_encoding(data: bytes) -> str | None:
    """The encoding the page declares: an XML declaration at its start, else a ``<meta>`` charset near it."""
    found = _XML_DECLARATION.search(data, endpos=1024) or _META_CHARSET.search(
        data, endpos=max(2048, int(len(data) * 0.05)))
    name = found.group(1).decode("ascii", "replace") if found else ""
    return name.lower() or None


def _codec(name: str | bytes | None) -> str | None:
    if not name:
        return None
    if isinstance(name, bytes):
        name = name.decode("ascii", "replace")
    try:
        return codecs.lookup(name.strip().strip("\"'")).name
    except LookupError:
        return None


def _detect(data: bytes) -> tuple[str, str] | None:
    # Imported here: only a mislabelled page pays for the detector's import.
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        return None
    return str(best), best.encoding


def decode_html(data: bytes, declared: str | None = None, *, where: str | None = None) -> str:
    """Decode a page: BOM first, then ``declared`` (the Content-Type charset), then a ``<meta>`` declaration
    in the page, then UTF-8. When the bytes are valid in none of those, the encoding is detected from the bytes
    (charset-normalizer). Whenever a declaration was overruled, one line logs the page's URL, what it declared and
    what was chosen."""
    if not data.strip():
        raise ParseError("empty page", url=where)
    declared_in_page = declared_encoding(data)
    declarations = [("bom", bom_encoding(data)), ("header", declared), ("meta", declared_in_page)]
    overruled = False
    for origin, candidate in [*declarations, ("default", "utf-8")]:
        codec = _codec(candidate)
        if codec is None:
            continue
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            overruled = overruled or origin != "default"
            continue
        if overruled:
            _log_choice(where, declarations, f"{codec} ({origin})")
        return text.removeprefix("\ufeff")
    detected = _detect(data)
    if detected is None:
        # Nothing decodes it cleanly: keep the page, readable where it is valid, rather than lose it.
        fallback = _codec(declared) or _codec(declared_in_page) or "utf-8"
        _log_choice(where, declarations, f"{fallback} with replacements (nothing detected)")
        return data.decode(fallback, errors="replace").removeprefix("\ufeff")
    text, chosen = detected
    _log_choice(where, declarations, f"{chosen} (detected)")
    return text.removeprefix("\ufeff")


def _log_choice(where: str | None, declarations: list[tuple[str, str | None]], chosen: str) -> None:
    said = ", ".join(f"{origin} {name}" for origin, name in declarations if name) or "nothing"
    log.warning("%s: bytes not valid as declared (%s); decoded as %s", where or "page", said, chosen)

"""Bytes to text for HTML pages: BOM, then the HTTP header's charset, then the page's own declaration.

A page whose bytes are not valid in any encoding it declares (a windows-1251 page served and labelled as UTF-8) is
decoded by detection instead of being forced through a wrong single-byte codec: mojibake would be archived for good
and no rule in the page's script could ever match it. That decision is logged, one line per page."""

from __future__ import annotations

import codecs
import logging

from bs4.dammit import EncodingDetector

from monitor.errors import ParseError

log = logging.getLogger("monitor.decoding")


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
    _, bom_encoding = EncodingDetector.strip_byte_order_mark(data)
    declared_in_page = EncodingDetector.find_declared_encoding(data, is_html=True)
    declarations = [("bom", bom_encoding), ("header", declared), ("meta", declared_in_page)]
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

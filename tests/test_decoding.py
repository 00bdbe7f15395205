"""Bytes to text: a byte-order mark wins over every declaration, then the header, then the page's own <meta>."""

from __future__ import annotations

import pytest

from monitor.decoding import decode_html
from monitor.errors import ParseError

PAGE = '<html><head><meta charset="windows-1251"></head><body><p>Лавров и Украина</p></body></html>'


def test_a_byte_order_mark_wins_over_the_meta_declaration() -> None:
    # What the archive keeps as raw HTML: the decoded page as UTF-8 with a BOM, whatever its <meta> says; a reparse
    # must read it back as it was, not as windows-1251.
    data = b"\xef\xbb\xbf" + PAGE.encode("utf-8")
    assert decode_html(data, "windows-1251") == PAGE


def test_utf16_with_its_mark() -> None:
    assert decode_html(PAGE.encode("utf-16")) == PAGE


def test_the_meta_declaration_without_a_mark_or_header() -> None:
    assert decode_html(PAGE.encode("windows-1251")) == PAGE


def test_the_header_wins_over_the_meta_declaration() -> None:
    page = PAGE.replace("windows-1251", "koi8-r")
    assert decode_html(page.encode("windows-1251"), "windows-1251") == page


def test_an_empty_page_is_an_error() -> None:
    with pytest.raises(ParseError, match="empty page"):
        decode_html(b"  \n", where="https://www.rferl.org/a/1.html")

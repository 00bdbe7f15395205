"""Bytes to text: a byte-order mark wins over every declaration, then the header, then the page's own <meta>."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.decoding import bom_encoding, declared_encoding, decode_html
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


# A real-looking mislabelled page: windows-1251 bytes, but the server and the page both say UTF-8.
MISLABELLED = (
    '<html><head><meta charset="utf-8"><title>Лавров прибыл в Вену</title></head><body>'
    "<p>У РФ заявили, что министр иностранных дел России Сергей Лавров прибыл в Вену для переговоров.</p>"
    "<p>Встреча с госсекретарём США продлилась около двух часов, сообщили в МИД.</p></body></html>"
)


def test_windows_1251_bytes_labelled_utf8_are_decoded_by_detection(caplog: pytest.LogCaptureFixture) -> None:
    url = "https://www.svoboda.org/a/30279001.html"
    with caplog.at_level(logging.INFO, logger="monitor.decoding"):
        text = decode_html(MISLABELLED.encode("windows-1251"), "utf-8", where=url)
    assert text == MISLABELLED
    assert "Лавров" in text and "Ó ÐÔ" not in text
    lines = [r.getMessage() for r in caplog.records if r.name == "monitor.decoding"]
    assert len(lines) == 1
    assert url in lines[0] and "header utf-8" in lines[0] and "meta utf-8" in lines[0]
    assert "cp1251" in lines[0] or "windows-1251" in lines[0]
    assert "\n" not in lines[0]


def test_a_page_valid_in_its_declared_encoding_is_unchanged_and_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    # Valid UTF-8 stays exactly what its bytes say, even when detection might prefer something else for a short text.
    page = '<html><head><meta charset="utf-8"></head><body><p>Nous étions là, déjà très tôt. Лавров</p></body></html>'
    with caplog.at_level(logging.INFO, logger="monitor.decoding"):
        assert decode_html(page.encode("utf-8"), "utf-8", where="https://www.dw.com/fr/a-1") == page
        assert decode_html(MISLABELLED.encode("utf-8"), None) == MISLABELLED
    assert not [r for r in caplog.records if r.name == "monitor.decoding"]


def test_undecodable_bytes_keep_the_page_and_say_so(caplog: pytest.LogCaptureFixture) -> None:
    data = b'<html><head><meta charset="utf-8"></head><body><p>ok \xff\xfe\x00\x81 ' + bytes(range(256)) * 4 + b"</p>"
    with caplog.at_level(logging.INFO, logger="monitor.decoding"):
        text = decode_html(data, "utf-8", where="https://www.rferl.org/a/2.html")
    assert text.startswith('<html><head><meta charset="utf-8"></head><body><p>ok ')
    assert len([r for r in caplog.records if r.name == "monitor.decoding"]) == 1


def test_a_header_overruled_by_a_valid_meta_declaration_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    # The server says UTF-8, the page (rightly) windows-1251: the page's own declaration decodes it, and the log says
    # the header was overruled.
    with caplog.at_level(logging.INFO, logger="monitor.decoding"):
        assert decode_html(PAGE.encode("windows-1251"), "utf-8", where="https://www.svoboda.org/a/1.html") == PAGE
    [line] = [r.getMessage() for r in caplog.records if r.name == "monitor.decoding"]
    assert "header utf-8" in line and "cp1251 (meta)" in line


# --- the declarations read without Beautiful Soup (start-up time), as Beautiful Soup reads them ------------------

_CRAFTED = [
    b"", b"\xfe\xff", b"\xfe\xff\x00\x00", b"\xfe\xff\x00<", b"\xff\xfe<\x00", b"\xff\xfe\x00\x00<\x00\x00\x00",
    b"\x00\x00\xfe\xff\x00\x00\x00<", b"\xef\xbb\xbf<html>", b"<?xml version='1.0' encoding='windows-1251'?><a/>",
    b"  <?XML version=\"1.0\" ENCODING=\"KOI8-R\" ?>", b'<meta charset="utf-8">', b"<META CHARSET=cp1251 />",
    b'<meta http-equiv="Content-Type" content="text/html; charset=windows-1251">', b"<meta charset=>",
    b"<html>" + b" " * 3000 + b'<meta charset="latin-1">', b"<p>no declaration</p>",
    b'<meta name="x" content="charset=iso-8859-5;">',
]


def _pages() -> list[bytes]:
    root = Path(__file__).parent / "fixtures"
    return [p.read_bytes() for p in sorted(root.rglob("*.html"))] + _CRAFTED


def test_declarations_are_read_as_beautiful_soup_reads_them() -> None:
    from bs4.dammit import EncodingDetector

    pages = _pages()
    assert len(pages) > 30
    for data in pages:
        assert bom_encoding(data) == EncodingDetector.strip_byte_order_mark(data)[1], data[:60]
        assert declared_encoding(data) == EncodingDetector.find_declared_encoding(data, is_html=True), data[:60]


@pytest.mark.slow  # spawns processes
def test_decoding_does_not_import_beautiful_soup() -> None:
    code = ("import sys; from monitor.decoding import decode_html; "
            "decode_html(b'<meta charset=\"utf-8\"><p>x</p>'); print('bs4' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"

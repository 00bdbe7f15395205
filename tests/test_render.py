"""The renderer against the reference producer's rules, on small hand-made HTML (FORMAT.md, 'Blocks')."""

from __future__ import annotations

import lxml.html
import pytest

from monitor.model import Block, BlockKind
from monitor.render import block_from, element_text, join_blocks, normalize_text

CASES = [
    ("<div>a&nbsp;&nbsp;b <span> c </span>d</div><p>x</p><div>y</div>", "a\xa0\xa0b c d\n\nx\n\ny"),
    ("<p>a<br>b<br/><br>c</p>", "a\nb\n\nc"),
    (
        "<ul><li>a<ul><li>b</li><li>c</li></ul></li><li>d</li></ul><ol><li>x</li><li><p>y</p></li></ol>",
        "• a\n    • b\n    • c\n  • d\n  1. x\n\n  2. y",
    ),
    ('<img alt="pic"><span>z</span>', "picz"),
    ("<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>", "ab\nc"),
    ("<p></p><p> </p><div>k</div><h5>h5</h5><h4>h4</h4>z<blockquote>q</blockquote>", "k\nh5\n\nh4\n\nz\nq"),
    (
        "<button>b</button><label>l</label><select><option>o</option></select><input value=x>"
        "<textarea>t</textarea><noscript>n</noscript><script>s()</script><style>p{}</style><iframe>if</iframe>w",
        "w",
    ),
    (
        '<span>a</span>\n\n<span>b</span><time>t</time><figure><img alt="x"><figcaption>cap<small>cred</small>'
        "</figcaption></figure>",
        "a bt\nx\ncapcred",
    ),
    ("<div>  <p>  a  </p>  </div> <div>b</div>", "a\n\nb"),
    ("<div>a<div>b</div>c</div>", "a\nb\nc"),
    ("<pre>a  b\n c</pre>", "a  b\n c"),
    # unclosed void <source> (HTML5): libxml2 nests the <img> inside it, whose alt must still count
    (
        '<figure><picture><source srcset=a><source srcset=b><img alt="pic"></picture><figcaption>cap</figcaption>'
        "</figure>",
        "pic\ncap",
    ),
]


@pytest.mark.parametrize(("html", "expected"), CASES)
def test_region_text_follows_the_format_rules(html: str, expected: str) -> None:
    doc = lxml.html.document_fromstring(f"<html><body>{html}</body></html>")
    assert normalize_text(element_text(doc.body)[0]) == expected


def test_region_text_matches_the_reference_producer() -> None:
    resiliparse = pytest.importorskip("resiliparse.extract.html2text")
    for html, _ in CASES:
        doc = lxml.html.document_fromstring(f"<html><body>{html}</body></html>")
        assert normalize_text(element_text(doc.body)[0]) == resiliparse.extract_plain_text(html).strip()


def test_a_list_block_keeps_its_first_indent_unless_it_opens_the_file() -> None:
    doc = lxml.html.document_fromstring("<html><body><p>x</p><ul><li>a</li><li>b</li></ul></body></html>")
    para = block_from(BlockKind.PARAGRAPH, doc.body[0])
    lst = block_from(BlockKind.LIST, doc.body[1])
    assert para is not None and lst is not None
    assert join_blocks([para, lst]) == "x\n\n  • a\n  • b"
    assert join_blocks([lst, para]) == "• a\n  • b\n\nx"


def test_margins_collapse_to_the_larger_one() -> None:
    blocks = [
        Block(BlockKind.HEADLINE, "H", 2, 2),
        Block(BlockKind.SHORT_LINK, "link", 1, 1),
        Block(BlockKind.LEAD_IMAGE, "alt", 1, 1),
        Block(BlockKind.PARAGRAPH, "p", 2, 2),
    ]
    assert join_blocks(blocks) == "H\n\nlink\nalt\n\np"


def test_file_rules_are_enforced() -> None:
    assert normalize_text("  a \r\nb\xa0\n\n\n\nc\n") == "a\nb\n\nc"

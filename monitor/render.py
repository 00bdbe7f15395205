"""Archive text: HTML regions to blocks, and an article's blocks to the bytes FORMAT.md prescribes.

The format is that of one known extractor (see FORMAT.md). Site parsers choose *which* regions of a page go into
the archive; this module decides *how* a region reads as text, with the same rules for every site:

- ``p`` and ``h1``-``h4`` ask for a blank line around them, every other block element for one newline, and where
  two blocks meet the larger request wins;
- inline content is joined as the HTML has it, ASCII white space runs collapse to one space (no-break and other
  Unicode spaces are kept, as the reference producer keeps them), ``<br>`` breaks the line;
- ``img`` contributes its ``alt``; form controls, scripts, styles, templates, ``noscript`` and frames nothing;
- list items stand on their own lines, indented two spaces per level, with ``• `` or ``N. ``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from lxml import etree

from monitor.model import Article, Block, BlockKind

if TYPE_CHECKING:
    from lxml.html import HtmlElement

PARAGRAPH_TAGS = frozenset({"p", "h1", "h2", "h3", "h4"})
BLOCK_TAGS = frozenset(
    {
        "address", "article", "aside", "blockquote", "body", "caption", "center", "dd", "details", "dialog",
        "dir", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h5", "h6", "header",
        "hgroup", "hr", "html", "legend", "li", "listing", "main", "menu", "nav", "ol", "pre", "section",
        "summary", "table", "tr", "ul",
    }
)  # fmt: skip
SILENT_TAGS = frozenset(
    {
        "button", "canvas", "datalist", "embed", "frame", "frameset", "head", "iframe", "input", "label",
        "link", "map", "meta", "noscript", "object", "option", "optgroup", "param", "script", "select",
        "style", "template", "textarea",
    }
)  # fmt: skip
# ``source`` and ``track`` are void elements with no text of their own, but libxml2 does not know them as void and
# nests the elements that follow an unclosed ``<source>`` inside it; they must stay transparent, not silent.
LIST_TAGS = frozenset({"ul", "ol", "menu", "dir"})

_ASCII_SPACE = re.compile(r"[ \t\n\r\f\v]+")
_BLANK_RUN = re.compile(r"\n{3,}")


def _margin(tag: str) -> int:
    if tag in PARAGRAPH_TAGS:
        return 2
    if tag in BLOCK_TAGS:
        return 1
    return 0


class _TextBuilder:
    """Accumulates text with collapsing block margins, like a browser's line layout reduced to plain text."""

    __slots__ = ("_at_line_start", "_bullet", "_lists", "_pending", "_pre", "_space", "before", "parts")

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.before = 0  # the margin asked for before the first text
        self._pending = 0  # newlines owed before the next text
        self._space = False  # a collapsed space owed before the next text on this line
        self._at_line_start = True
        self._bullet: str | None = None  # list marker owed at the start of the next text
        self._lists: list[list[int]] = []  # per open list: [ordered (0/1), running number]
        self._pre = 0

    @property
    def after(self) -> int:
        return self._pending

    def edge(self, newlines: int) -> None:
        if newlines > self._pending:
            self._pending = newlines
        self._space = False

    def line_break(self) -> None:
        self._pending = min(self._pending + 1, 2)
        self._space = False

    def text(self, raw: str | None) -> None:
        if not raw:
            return
        if self._pre:
            self._emit_pre(raw)
            return
        # Most text nodes have nothing to collapse (printable, so no tab or newline, and no double space): the
        # substitution, the commonest call of parsing a page, is skipped for them.
        collapsed = raw if raw.isprintable() and "  " not in raw else _ASCII_SPACE.sub(" ", raw)
        core = collapsed.strip(" ")
        if not core:
            if not self._at_line_start and not self._pending:
                self._space = True
            return
        if collapsed[0] == " " and not self._at_line_start:
            self._space = True
        self._emit(core)
        self._space = collapsed[-1] == " "

    def _open_line(self) -> None:
        if self._pending:
            if self.parts:
                self.parts.append("\n" * self._pending)
            else:
                self.before = max(self.before, self._pending)
            self._pending = 0
            self._at_line_start = True
            self._space = False
        elif not self.parts:
            self._at_line_start = True

    def _emit(self, core: str) -> None:
        self._open_line()
        if self._at_line_start:
            if self._bullet is not None:
                self.parts.append(self._bullet)
                self._bullet = None
        elif self._space:
            self.parts.append(" ")
        self.parts.append(core)
        self._at_line_start = False
        self._space = False

    def _emit_pre(self, raw: str) -> None:
        lines = raw.split("\n")
        for i, line in enumerate(lines):
            if i:
                self.parts.append("\n")
                self._at_line_start = True
            if line:
                self._emit(line)

    def open_list(self, ordered: bool) -> None:
        self._lists.append([int(ordered), 0])

    def close_list(self) -> None:
        if self._lists:
            self._lists.pop()

    def open_item(self) -> None:
        depth = max(len(self._lists), 1)
        if self._lists:
            state = self._lists[-1]
            state[1] += 1
            marker = f"{state[1]}. " if state[0] else "• "
        else:
            marker = "• "
        self._bullet = "  " * depth + marker

    def enter_pre(self) -> None:
        self._pre += 1

    def leave_pre(self) -> None:
        self._pre -= 1

    def result(self) -> str:
        return "".join(self.parts)


def _walk(el: HtmlElement, out: _TextBuilder, skip: frozenset[HtmlElement] | None) -> None:
    tag = el.tag
    if not isinstance(tag, str):  # comments, processing instructions, entities
        return
    if skip is not None and el in skip:
        return
    tag = tag.lower()
    if tag in SILENT_TAGS:
        return
    if tag == "br":
        out.line_break()
        return
    if tag == "img":
        out.text(el.get("alt"))
        return
    margin = _margin(tag)
    if margin:
        out.edge(margin)
    is_list = tag in LIST_TAGS
    if is_list:
        out.open_list(tag == "ol")
    elif tag == "li":
        out.open_item()
    if tag == "pre":
        out.enter_pre()
    out.text(el.text)
    for child in el:
        _walk(child, out, skip)
        out.text(child.tail)
    if tag == "pre":
        out.leave_pre()
    if is_list:
        out.close_list()
    if margin:
        out.edge(margin)


def element_text(
    elements: HtmlElement | Iterable[HtmlElement],
    *,
    skip: Iterable[HtmlElement] = (),
) -> tuple[str, int, int]:
    """Render elements (in document order, tails excluded) as archive text.

    Returns the text and the margins it asks for before and after itself. ``skip`` names descendants that
    contribute nothing (share bars, players' boilerplate, advertising inside a region).
    """
    out = _TextBuilder()
    skipped = frozenset(skip) or None
    items = [elements] if isinstance(elements, etree._Element) else elements
    for el in items:
        _walk(el, out, skipped)
    return out.result(), out.before, out.after


def block_from(
    kind: BlockKind,
    elements: HtmlElement | Iterable[HtmlElement],
    *,
    skip: Iterable[HtmlElement] = (),
) -> Block | None:
    """A block made from a region of the page, or None when the region renders to no text at all."""
    text, before, after = element_text(elements, skip=skip)
    if not text.strip():
        return None
    # Only line ends are trimmed: a list keeps the indent of its first item (the file-level strip in
    # join_blocks removes it where the list opens the file, as FORMAT.md says).
    text = text.strip("\n").rstrip()
    return Block(kind, text, before or 1, after or 1)


def join_blocks(blocks: Iterable[Block]) -> str:
    """Join blocks with collapsing margins and apply the byte-level rules of FORMAT.md."""
    parts: list[str] = []
    previous: Block | None = None
    for block in blocks:
        if not block.text:
            continue
        if previous is not None:
            parts.append("\n" * max(previous.after, block.before, 1))
        parts.append(block.text)
        previous = block
    return normalize_text("".join(parts))


def normalize_text(text: str) -> str:
    """Enforce the file-level rules: LF only, no blanks at line ends, no blank-line runs, stripped."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = [line.rstrip() for line in text.split("\n")]
    return _BLANK_RUN.sub("\n\n", "\n".join(lines)).strip()


def render_article(article: Article) -> str:
    """The archive text of an article, exactly as FORMAT.md says."""
    return join_blocks(article.blocks)

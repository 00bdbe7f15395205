"""Turning hits into an explanation: the matched terms with field and character offsets, and a snippet around
the densest cluster of hits with those words marked."""

from __future__ import annotations

import re
from collections.abc import Callable

from monitor.model import MatchedTerm
from monitor.rules.document import Document
from monitor.rules.evaluate import FIELD_ORDER, Hit

SNIPPET_WORDS = 40
_SPACE_RE = re.compile(r"\s")


def matched_terms(hits: list[Hit], doc: Document) -> tuple[MatchedTerm, ...]:
    terms: dict[tuple[str, int, int], MatchedTerm] = {}
    for hit in hits:
        index = doc.fields[hit.field]
        start, end = index.spans[hit.first][0], index.spans[hit.last][1]
        terms.setdefault((hit.field, start, end), MatchedTerm(hit.term, hit.field, start, end, index.text[start:end]))
    return tuple(sorted(terms.values(), key=lambda t: (FIELD_ORDER.index(t.field), t.start)))


def snippet(hits: list[Hit], doc: Document, words: int = SNIPPET_WORDS) -> tuple[str, tuple[tuple[int, int], ...]]:
    """A window of about ``words`` words holding the most distinct matched terms, and the spans to highlight in it.

    The body is preferred (the headline is shown anyway); a match only in the title or teaser takes its snippet there.
    """
    if not hits:
        return "", ()
    by_field = {name: [h for h in hits if h.field == name] for name in FIELD_ORDER}
    name = next(n for n in ("body", "teaser", "title") if by_field[n])
    field_hits = sorted(by_field[name], key=lambda h: h.first)
    index = doc.fields[name]
    best_start, best_score = field_hits[0].first, -1
    end = 0
    for i, anchor in enumerate(field_hits):  # windows starting at each hit; ``end`` only moves forward
        end = max(end, i)
        while end < len(field_hits) and field_hits[end].last < anchor.first + words:
            end += 1
        window = field_hits[i:end]
        score = len({h.term for h in window}) * 1000 + len(window)
        if score > best_score:
            best_start, best_score = anchor.first, score
    # Start a few words before the first hit so it reads in context.
    first_tok = max(0, best_start - 8)
    last_tok = min(len(index.words) - 1, first_tok + words - 1)
    lo, hi = index.spans[first_tok][0], index.spans[last_tok][1]
    # Keep whole sentences' punctuation at the end of the window.
    while hi < len(index.text) and index.text[hi] in ".,;:!?»”\")":
        hi += 1
    prefix = "…" if first_tok > 0 else ""
    suffix = "…" if last_tok < len(index.words) - 1 else ""
    # One space per white-space character keeps every offset valid (paragraph breaks become two spaces).
    text = _SPACE_RE.sub(" ", index.text[lo:hi])
    spans: list[tuple[int, int]] = []
    for hit in field_hits:
        if hit.first < first_tok or hit.last > last_tok:
            continue
        start = index.spans[hit.first][0] - lo + len(prefix)
        end = index.spans[hit.last][1] - lo + len(prefix)
        spans.append((start, end))
    return prefix + text + suffix, tuple(sorted(set(spans)))


def mark(text: str, spans: tuple[tuple[int, int], ...], before: str, after: str,
         escape: Callable[[str], str] = lambda s: s) -> str:
    """``text`` with each span wrapped in ``before``/``after``; the text between is passed through ``escape``."""
    out: list[str] = []
    pos = 0
    for start, end in spans:
        if start < pos:
            continue
        out.append(escape(text[pos:start]))
        out.append(before + escape(text[start:end]) + after)
        pos = end
    out.append(escape(text[pos:]))
    return "".join(out)

"""Turning hits into an explanation: the matched terms with field and character offsets, and a snippet around
the densest cluster of hits with those words marked."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter

from monitor.analysis.text import normalize_word
from monitor.model import MatchedTerm
from monitor.rules.document import Document
from monitor.rules.evaluate import FIELD_ORDER, Hit

SNIPPET_WORDS = 40
_FIRST = attrgetter("first")
_RANK = {name: rank for rank, name in enumerate(FIELD_ORDER)}


Spans = tuple[tuple[int, int], ...]


@dataclass(frozen=True, slots=True)
class Explained:
    """What a match shows: the places matched, and a snippet with the spans to highlight in it."""

    terms: tuple[MatchedTerm, ...]
    snippet: str
    highlights: Spans


def explained(hits: list[Hit], doc: Document) -> Explained:
    """The explanation of ``hits`` in ``doc``, as alerts, searches and ``monitor rules test`` show a match."""
    shown, spans = snippet(hits, doc)
    return Explained(matched_terms(hits, doc), shown, spans)


def matched_terms(hits: list[Hit], doc: Document) -> tuple[MatchedTerm, ...]:
    terms: dict[tuple[str, int, int], MatchedTerm] = {}
    fields = doc.fields
    for hit in hits:
        name = hit.field
        index = fields[name]
        edges = index.bounds
        start, end = edges[2 * hit.first], edges[2 * hit.last + 1]
        key = (name, start, end)
        if key not in terms:  # the first hit at a place names it
            terms[key] = MatchedTerm(hit.term, name, start, end, index.text[start:end])
    return tuple(sorted(terms.values(), key=lambda t: (_RANK[t.field], t.start)))


def explain(term: MatchedTerm) -> str:
    """One matched place as an analyst reads it: the form found, and the query word that found it where the two
    differ (``Лаврова ← ~Lavrov``, ``Украине ← Украина``, ``Ukrainian ← Ukrain*``)."""
    written = " ".join(normalize_word(w.lstrip("=~")) for w in term.term.split())
    if " ".join(map(normalize_word, term.text.split())) == written:
        return term.text
    return f"{term.text} ← {term.term}"


def snippet(hits: list[Hit], doc: Document, words: int = SNIPPET_WORDS) -> tuple[str, tuple[tuple[int, int], ...]]:
    """A window of about ``words`` words holding the most distinct matched terms, and the spans to highlight in it.

    The body is preferred (the headline is shown anyway); a match only in the title or teaser takes its snippet there.
    """
    if not hits:
        return "", ()
    present = {h.field for h in hits}
    name = next(n for n in ("body", "teaser", "title") if n in present)
    field_hits = sorted((h for h in hits if h.field == name), key=_FIRST)
    index = doc.fields[name]
    best_start, best_score = field_hits[0].first, -1
    # Windows starting at each hit, slid along: ``counts`` holds the terms of field_hits[i:end] (``end`` only moves
    # forward), so each window's distinct terms are known without collecting them again.
    counts: dict[str, int] = {}
    total = len(field_hits)
    end = 0
    for i, anchor in enumerate(field_hits):
        if i > 0 and end >= i:  # the previous anchor leaves the window
            term = field_hits[i - 1].term
            left = counts[term] - 1
            if left:
                counts[term] = left
            else:
                del counts[term]
        if end < i:
            end = i
        limit = anchor.first + words
        while end < total and field_hits[end].last < limit:
            term = field_hits[end].term
            counts[term] = counts.get(term, 0) + 1
            end += 1
        score = len(counts) * 1000 + (end - i)
        if score > best_score:
            best_start, best_score = anchor.first, score
    # Start a few words before the first hit so it reads in context.
    first_tok = max(0, best_start - 8)
    last_tok = min(len(index.words) - 1, first_tok + words - 1)
    edges = index.bounds
    lo, hi = edges[2 * first_tok], edges[2 * last_tok + 1]
    if first_tok == 0:
        lo = len(index.text) - len(index.text.lstrip())  # from the field's start: a quote opening it is kept
    # Keep whole sentences' punctuation at the end of the window.
    while hi < len(index.text) and index.text[hi] in ".,;:!?»”\")":
        hi += 1
    prefix = "…" if first_tok > 0 else ""
    suffix = "…" if last_tok < len(index.words) - 1 else ""
    # One space per white-space character keeps every offset valid (paragraph breaks become two spaces).
    text = index.flat[lo:hi]
    spans: list[tuple[int, int]] = []
    shift = len(prefix) - lo
    for hit in field_hits:
        if hit.first < first_tok or hit.last > last_tok:
            continue
        spans.append((edges[2 * hit.first] + shift, edges[2 * hit.last + 1] + shift))
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

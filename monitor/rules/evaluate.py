"""Evaluating a parsed query against a :class:`Document`, keeping every hit so a match can be explained."""

from __future__ import annotations

from dataclasses import dataclass

from monitor.rules.document import Document
from monitor.rules.query import And, Near, Node, Not, Or, Phrase

FIELD_ORDER = ("title", "teaser", "body")


@dataclass(frozen=True, slots=True)
class Hit:
    """Words ``first``..``last`` (token positions, inclusive) of ``field`` matched the query term ``term``."""

    field: str
    first: int
    last: int
    term: str


def evaluate(node: Node, doc: Document) -> list[Hit] | None:
    """None when the query does not match; otherwise the hits that made it match (empty for a pure NOT branch)."""
    if isinstance(node, Phrase):
        hits = _phrase_hits(node, doc)
        return hits or None
    if isinstance(node, And):
        found: list[Hit] = []
        for child in node.children:
            hits_or_none = evaluate(child, doc)
            if hits_or_none is None:
                return None
            found.extend(hits_or_none)
        return found
    if isinstance(node, Or):
        matched = False
        found = []
        for child in node.children:
            hits_or_none = evaluate(child, doc)
            if hits_or_none is not None:
                matched = True
                found.extend(hits_or_none)
        return found if matched else None
    if isinstance(node, Not):
        return [] if evaluate(node.child, doc) is None else None
    return _near_hits(node, doc) or None


def matches(node: Node, doc: Document) -> bool:
    """Whether ``node`` matches, without collecting hits: most rules an article wakes up do not match, and
    this answers them from cached word lookups."""
    if isinstance(node, Phrase):
        if len(node.words) > 1:
            return bool(_phrase_hits(node, doc))
        word = node.words[0]
        key = (node.field, word.norm, word.prefix)
        found = doc.cache.get(key)
        if found is None:
            names = (node.field,) if node.field else FIELD_ORDER
            found = any(doc.fields[name].lookup(word.norm, word.prefix) for name in names)
            doc.cache[key] = found
        return found
    if isinstance(node, And):
        return all(matches(child, doc) for child in node.children)
    if isinstance(node, Or):
        return any(matches(child, doc) for child in node.children)
    if isinstance(node, Not):
        return not matches(node.child, doc)
    return bool(_near_hits(node, doc))


def _phrase_hits(node: Phrase, doc: Document) -> list[Hit]:
    first, *rest = node.words
    names = (node.field,) if node.field else FIELD_ORDER
    hits: list[Hit] = []
    raw = node.raw
    for name in names:
        index = doc.fields[name]
        if not rest:  # one word: the common case, no sequence to check
            hits.extend(Hit(name, start, start, raw) for start in index.lookup(first.norm, first.prefix))
            continue
        for start in index.lookup(first.norm, first.prefix):
            end = start + len(rest)
            if end >= len(index.words):
                continue
            if all(index.matches(start + 1 + k, w.norm, w.prefix) for k, w in enumerate(rest)):
                hits.append(Hit(name, start, end, raw))
    return hits


def _near_hits(node: Near, doc: Document) -> list[Hit]:
    left = evaluate(node.left, doc) or []
    right = evaluate(node.right, doc) or []
    kept: set[Hit] = set()
    for a in left:
        for b in right:
            if a.field != b.field:
                continue
            gap = b.first - a.last if b.first > a.last else a.first - b.last
            if 0 < gap <= node.distance:
                kept.add(a)
                kept.add(b)
    return sorted(kept, key=lambda h: (FIELD_ORDER.index(h.field), h.first))

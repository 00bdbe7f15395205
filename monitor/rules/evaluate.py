"""Evaluating a parsed query against a :class:`Document`, keeping every hit so a match can be explained."""

from __future__ import annotations

from collections.abc import Callable
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
        hits = _cached_phrase_hits(node, doc)
        return list(hits) if hits else None  # a copy: the cached list stays as it is whatever the caller does
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
    this answers them from cached word lookups. A matcher compiles its queries once instead."""
    return compile_matches(node)(doc)


def compile_matches(node: Node) -> Callable[[Document], bool]:
    """:func:`matches` for one query, with the tree walked once here instead of on every article: a matcher asks
    the same thousand queries of every article."""
    if isinstance(node, Phrase):
        if len(node.words) > 1:
            # A phrase needs every one of its words somewhere: asking that first (cached) spares most sequence checks.
            parts = tuple(compile_matches(Phrase((w,), w.norm, node.field, node.column)) for w in node.words)

            def sequence(doc: Document) -> bool:
                return all(part(doc) for part in parts) and bool(_cached_phrase_hits(node, doc))

            return sequence
        word = node.words[0]
        key = (node.field, word.norm, word.prefix, word.kind)
        names = (node.field,) if node.field else FIELD_ORDER
        unscoped = node.field is None

        def present(doc: Document) -> bool:
            found = doc.cache.get(key)
            if found is None:
                keys = word.keys(doc.bare)
                if unscoped and keys.kind != "prefix":
                    found = doc.has(keys)
                else:
                    fields = doc.fields
                    found = any(fields[name].has(keys) for name in names)
                doc.cache[key] = found
            return found

        return present
    if isinstance(node, And | Or):
        children = tuple(compile_matches(child) for child in node.children)
        if len(children) == 2:
            first, second = children
            if isinstance(node, And):
                return lambda doc: first(doc) and second(doc)
            return lambda doc: first(doc) or second(doc)
        if isinstance(node, And):
            return lambda doc: all(child(doc) for child in children)
        return lambda doc: any(child(doc) for child in children)
    if isinstance(node, Not):
        inner = compile_matches(node.child)
        return lambda doc: not inner(doc)
    # NEAR pairs hits of both sides: when either side is missing there is nothing to pair, and that is cheap to ask.
    left, right = compile_matches(node.left), compile_matches(node.right)
    return lambda doc: left(doc) and right(doc) and bool(_near_hits(node, doc))


def _cached_phrase_hits(node: Phrase, doc: Document) -> list[Hit]:
    """The hits of a phrase, each phrase collected once per article: rules share their terms. The list returned is
    shared with later callers, so it must not be changed."""
    words = node.words
    # A one-word phrase is keyed by plain strings (cheap to hash); longer ones by the words themselves.
    key: tuple[object, ...] = (
        (node.field, words[0].norm, words[0].prefix, node.raw) if len(words) == 1 else (node.field, node.raw, words)
    )
    hits = doc.hits.get(key)
    if hits is None:
        hits = doc.hits[key] = _phrase_hits(node, doc)
    return hits


def _phrase_hits(node: Phrase, doc: Document) -> list[Hit]:
    first, *rest = node.words
    names = (node.field,) if node.field else FIELD_ORDER
    hits: list[Hit] = []
    raw = node.raw
    for name in names:
        index = doc.fields[name]
        if not rest:  # one word: the common case, no sequence to check
            hits.extend(Hit(name, start, start, raw) for start in index.find(first))
            continue
        for start in index.find(first):
            end = start + len(rest)
            if end >= len(index.words):
                continue
            if all(index.accepts(start + 1 + k, w) for k, w in enumerate(rest)):
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

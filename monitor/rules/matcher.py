"""Matching many rules against one article fast: each article is tokenized once, and only rules that could match
(one of their anchor words occurs in the article) are evaluated."""

from __future__ import annotations

from collections.abc import Iterable

from monitor.model import Article, Match
from monitor.rules.document import Document
from monitor.rules.evaluate import evaluate, matches
from monitor.rules.highlight import matched_terms, snippet
from monitor.rules.query import And, Near, Node, Not, Or, Phrase
from monitor.rules.ruleset import Rule

Anchor = tuple[str, bool]  # (word, is prefix)


def anchors(node: Node) -> frozenset[Anchor] | None:
    """Words of which at least one must occur for ``node`` to match; None when no such set exists (NOT)."""
    if isinstance(node, Phrase):
        first = node.words[0]
        return frozenset({(first.norm, first.prefix)})
    if isinstance(node, And):
        options = [a for a in (anchors(c) for c in node.children) if a is not None]
        return min(options, key=len) if options else None
    if isinstance(node, Or):
        union: set[Anchor] = set()
        for child in node.children:
            child_anchors = anchors(child)
            if child_anchors is None:
                return None
            union |= child_anchors
        return frozenset(union)
    if isinstance(node, Near):
        sides = [a for a in (anchors(node.left), anchors(node.right)) if a is not None]
        return min(sides, key=len) if sides else None
    assert isinstance(node, Not)
    return None


class Matcher:
    """Compiled once from the rules; :meth:`match` is then called for every article."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules = [r for r in rules if r.enabled]
        self._exact: dict[str, list[int]] = {}
        self._prefix: dict[str, list[int]] = {}
        self._always: list[int] = []
        for i, rule in enumerate(self.rules):
            found = anchors(rule.node)
            if found is None:
                self._always.append(i)
                continue
            for word, prefix in found:
                (self._prefix if prefix else self._exact).setdefault(word, []).append(i)
        self._prefix_lengths = sorted({len(p) for p in self._prefix})

    def candidates(self, doc: Document) -> list[int]:
        found: set[int] = set(self._always)
        exact, prefixes, lengths = self._exact, self._prefix, self._prefix_lengths
        for word in doc.vocabulary:
            rules = exact.get(word)
            if rules:
                found.update(rules)
            for length in lengths:
                if length > len(word):
                    break
                rules = prefixes.get(word[:length])
                if rules:
                    found.update(rules)
        return sorted(found)

    def match_document(self, doc: Document, article: Article | None = None) -> list[Match]:
        found: list[Match] = []
        for i in self.candidates(doc):
            rule = self.rules[i]
            if not rule.in_scope(doc.site, doc.language, doc.section):
                continue
            if not matches(rule.node, doc):
                continue
            hits = evaluate(rule.node, doc)
            if hits is None:  # pragma: no cover - matches() and evaluate() agree
                continue
            text, spans = snippet(hits, doc)
            found.append(Match(
                rule=rule.name,
                article_key=article.key if article else "",
                url=article.url if article else "",
                headline=article.headline if article else "",
                site=article.site if article else (doc.site or ""),
                published=article.published if article else None,
                terms=matched_terms(hits, doc),
                snippet=text,
                highlights=spans,
            ))
        return found

    def match(self, article: Article) -> list[Match]:
        return self.match_document(Document.from_article(article), article)

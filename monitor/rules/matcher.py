"""Matching many rules against one article fast: each article is tokenized once, and only rules that could match
(one of their anchor words occurs in the article, in the form, stem or name key the article's language gives it)
are evaluated."""

from __future__ import annotations

from collections.abc import Iterable

from monitor.analysis.terms import QueryWord
from monitor.model import Article, Match
from monitor.rules.document import Document
from monitor.rules.evaluate import Hit, compile_matches, evaluate
from monitor.rules.highlight import Explained, explained
from monitor.rules.query import And, Near, Node, Not, Or, Phrase
from monitor.rules.ruleset import Rule

Anchor = QueryWord  # the first word of a phrase: at least one anchor of a rule must be in an article it matches


def anchors(node: Node) -> frozenset[Anchor] | None:
    """Words of which at least one must occur for ``node`` to match; None when no such set exists (NOT)."""
    if isinstance(node, Phrase):
        return frozenset({node.words[0]})
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


class _Index:
    """The rules' anchors as the keys a text of one language offers: rule indexes by form, stem and name key."""

    def __init__(self, words: dict[Anchor, list[int]], language: str | None) -> None:
        self.tables: dict[str, dict[str, list[int]]] = {"form": {}, "stem": {}, "name": {}}
        for word, rules in words.items():
            keys = word.keys(language)
            table = self.tables[keys.kind]
            for value in keys.values:
                table.setdefault(value, []).extend(rules)


class Matcher:
    """Compiled once from the rules; :meth:`match` is then called for every article."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules = [r for r in rules if r.enabled]
        self._words: dict[Anchor, list[int]] = {}  # every anchor but prefixes
        self._prefix: dict[str, list[int]] = {}
        self._always: list[int] = []
        self._by_language: dict[str | None, _Index] = {}
        # Most rules have no site, language or section scope: they skip asking.
        self._scoped = [bool(r.sites or r.languages or r.sections) for r in self.rules]
        self._matches = [compile_matches(r.node) for r in self.rules]
        for i, rule in enumerate(self.rules):
            found = anchors(rule.node)
            if found is None:
                self._always.append(i)
                continue
            for word in found:
                if word.prefix:
                    self._prefix.setdefault(word.norm, []).append(i)
                else:
                    self._words.setdefault(word, []).append(i)

    def candidates(self, doc: Document) -> list[int]:
        found: set[int] = set(self._always)
        index = self._by_language.get(doc.bare)
        if index is None:
            index = self._by_language[doc.bare] = _Index(self._words, doc.bare)
        # Look up what the article offers in the rules' tables, or the tables' keys in the article: whichever is less.
        for table, offered in ((index.tables["form"], doc.vocabulary), (index.tables["stem"], None),
                               (index.tables["name"], None)):
            if not table:
                continue
            if offered is None:
                offered = doc.stems if table is index.tables["stem"] else doc.names
            if len(table) < len(offered):
                for key, rules in table.items():
                    if key in offered:
                        found.update(rules)
            else:
                for key in offered:
                    woken = table.get(key)
                    if woken:
                        found.update(woken)
        indexes = doc.fields.values()
        for prefix, rules in self._prefix.items():
            if any(field.has_prefix(prefix) for field in indexes):
                found.update(rules)
        return sorted(found)

    def match_document(self, doc: Document, article: Article | None = None) -> list[Match]:
        found: list[Match] = []
        scoped, predicates = self._scoped, self._matches
        # Rules that share their terms often collect the very same hits: each distinct list of hits is explained once.
        # Keyed by the hits' identities (the document holds every hit, so no identity is reused meanwhile); the hits
        # are kept with the explanation all the same, so that stays true whoever made them.
        known_hits: dict[tuple[int, ...], tuple[list[Hit], Explained]] = {}
        for i in self.candidates(doc):
            rule = self.rules[i]
            if scoped[i] and not rule.in_scope(doc.site, doc.language, doc.section):
                continue
            if not predicates[i](doc):
                continue
            hits = evaluate(rule.node, doc)
            if hits is None:  # pragma: no cover - matches() and evaluate() agree
                continue
            key = tuple(map(id, hits))
            known = known_hits.get(key)
            if known is None:
                known = known_hits[key] = (hits, explained(hits, doc))
            shown = known[1]
            found.append(Match(
                rule=rule.name,
                article_key=article.key if article else "",
                url=article.url if article else "",
                headline=article.headline if article else "",
                site=article.site if article else (doc.site or ""),
                published=article.published if article else None,
                terms=shown.terms,
                snippet=shown.snippet,
                highlights=shown.highlights,
            ))
        return found

    def match(self, article: Article) -> list[Match]:
        return self.match_document(Document.from_article(article), article)

"""The matcher's shortcuts (anchor-word prefilter, compiled boolean pre-check, per-article caches of phrase hits and
explanations) never change the answer: on the seed texts, the fixture articles and a few sentences, 1,000 generated
rules match, and are explained, exactly as evaluating every rule in full on a fresh document would."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from benchmarks.rules import generate_rules, load_articles, load_headlines
from monitor.analysis.text import WORD_RE, normalize_word
from monitor.rules import Document, Matcher, evaluate, parse_query, parse_rules
from monitor.rules.evaluate import FIELD_ORDER, Hit, compile_matches
from monitor.rules.highlight import SNIPPET_WORDS, matched_terms, snippet

SEEDS = Path(__file__).parent / "fixtures" / "seeds"
TEXTS = [p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))] + [
    "Лавров заявил о переговорах по Украине и дронах",
    "Scholz und Habeck: Wahlen in Berlin, NATO-Gipfel",
    "Putin, Shoigu and drones over Crimea; Zelenskyy in Kyiv",
    "",
]


@pytest.mark.parametrize("index", range(len(TEXTS)))
def test_matcher_agrees_with_full_evaluation(index: int) -> None:
    rules = parse_rules(generate_rules(1000))
    matcher = Matcher(rules)
    text = TEXTS[index]
    doc = Document.from_fields(title=text.split("\n", 1)[0], body=text)
    expected = [r.name for r in rules if r.enabled and evaluate(r.node, Document.from_fields(
        title=text.split("\n", 1)[0], body=text)) is not None]
    assert [m.rule for m in matcher.match_document(doc)] == expected


@pytest.mark.parametrize(("seed", "analysed"), [(5, False), (11, False), (7, True)])
def test_matches_are_explained_as_a_fresh_evaluation_would(seed: int, analysed: bool) -> None:
    rules = [r for r in parse_rules(generate_rules(1000, seed=seed, analysed=analysed)) if r.enabled]
    matcher = Matcher(rules)
    by_name = {r.name: r for r in rules}
    # With inflection and names, the article's language decides: the headlines add Russian and Ukrainian.
    articles = load_articles() + (load_headlines() if analysed else [])
    total = 0
    for article in articles:
        found = matcher.match(article)
        base = Document.from_article(article)

        def fresh(base: Document = base) -> Document:
            # The same words, without any answer another rule left in the per-article caches.
            return Document(base.fields, base.site, base.language, base.section, base.vocabulary)

        expected_names = []
        for rule in rules:
            hits = evaluate(rule.node, fresh())
            # The compiled pre-check answers as evaluation does, on a document no other rule has warmed up.
            assert compile_matches(rule.node)(fresh()) is (hits is not None), rule.query
            if hits is not None:
                expected_names.append(rule.name)
        assert [m.rule for m in found] == expected_names
        for match in found:
            doc = fresh()
            hits = evaluate(by_name[match.rule].node, doc)
            assert hits is not None
            assert match.terms == matched_terms(hits, doc)
            assert (match.snippet, match.highlights) == snippet(hits, doc) == reference_snippet(hits, doc)
        total += len(found)
    assert total > 100  # the fixture articles do wake many of the rules


Snippet = tuple[str, tuple[tuple[int, int], ...]]


def reference_snippet(hits: list[Hit], doc: Document, words: int = SNIPPET_WORDS) -> Snippet:
    """The snippet as first written: every window's distinct terms counted afresh, offsets from the regex."""
    by_field = {name: [h for h in hits if h.field == name] for name in FIELD_ORDER}
    name = next(n for n in ("body", "teaser", "title") if by_field[n])
    field_hits = sorted(by_field[name], key=lambda h: h.first)
    index = doc.fields[name]
    spans = [m.span() for m in WORD_RE.finditer(index.text)]
    best_start, best_score = field_hits[0].first, -1
    end = 0
    for i, anchor in enumerate(field_hits):
        end = max(end, i)
        while end < len(field_hits) and field_hits[end].last < anchor.first + words:
            end += 1
        window = field_hits[i:end]
        score = len({h.term for h in window}) * 1000 + len(window)
        if score > best_score:
            best_start, best_score = anchor.first, score
    first_tok = max(0, best_start - 8)
    last_tok = min(len(index.words) - 1, first_tok + words - 1)
    lo, hi = spans[first_tok][0], spans[last_tok][1]
    if first_tok == 0:  # from the field's start, a quote opening it kept
        lo = len(index.text) - len(index.text.lstrip())
    while hi < len(index.text) and index.text[hi] in ".,;:!?»”\")":
        hi += 1
    prefix = "…" if first_tok > 0 else ""
    suffix = "…" if last_tok < len(index.words) - 1 else ""
    text = re.sub(r"\s", " ", index.text[lo:hi])
    found = {(spans[h.first][0] - lo + len(prefix), spans[h.last][1] - lo + len(prefix))
             for h in field_hits if first_tok <= h.first and h.last <= last_tok}
    return prefix + text + suffix, tuple(sorted(found))


def test_snippet_window_agrees_with_counting_each_window_afresh() -> None:
    body = " ".join(["Lavrov Ukraine filler words here"] * 3 + ["nothing"] * 60 + ["Kerry Lavrov Syria Ukraine Kyiv"]
                    + ["Lavrov"] * 45 + ["Syria Kerry Kyiv"])
    doc = Document.from_fields(body=body)
    for query in ["Lavrov OR Ukraine OR Kyiv OR Syria OR Kerry", "Lavrov AND (Kyiv OR Syria)", "Kerry NEAR/3 Lavrov"]:
        hits = evaluate(parse_query(query), doc)
        assert hits
        assert snippet(hits, doc) == reference_snippet(hits, doc)
        for width in (1, 2, 5):
            assert snippet(hits, doc, width) == reference_snippet(hits, doc, width)


def test_word_offsets_are_where_the_words_stand() -> None:
    texts = [*TEXTS, "O’Brien's  Lavrov’s—м'ясо_x  'quoted'  trailing'", "\n\nЁлка ǅemal ﬁne ß"]
    for text in texts:
        index = Document.from_fields(body=text).fields["body"]
        assert index.spans == [m.span() for m in WORD_RE.finditer(text)]
        assert index.words == [normalize_word(w) for w in WORD_RE.findall(text)]
        assert index.flat == re.sub(r"\s", " ", text)


def test_evaluation_results_do_not_share_the_cached_hits() -> None:
    node = parse_rules(generate_rules(3))[0].node
    doc = Document.from_fields(body="Lavrov met Tillerson in Vienna; Lavrov spoke of Ukraine. " * 3)
    first = evaluate(node, doc)
    assert first
    first.clear()
    assert evaluate(node, doc)

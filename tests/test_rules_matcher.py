"""The matcher's shortcuts (anchor-word prefilter, boolean pre-check) never change the answer: on the seed texts
and a few sentences, 1,000 generated rules match exactly as evaluating every rule in full would."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.rules import generate_rules
from monitor.rules import Document, Matcher, evaluate, parse_rules

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

"""Rule matching throughput: 1,000 rules over the fixture articles (goal: at least 500 articles/s).

    python -m benchmarks.rules [--rules 1000] [--seconds 3]

The articles are the fixture pages parsed by the site parsers (their expected texts where a parser is not
available). The rules are generated: a mix of plain words, prefixes, phrases, field scopes, NOT and NEAR/n over
people, places and topics in English, German, Russian and Ukrainian, plus the shipped lavrov-ukraine rule, so
some rules match and most do not, as in a real rule file.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

from monitor.model import Article
from monitor.rules import Document, Matcher, parse_rules

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"

PEOPLE = ["Lavrov*", "Lawrow", "Лавров*", "Putin", "Путин*", "Zelensk*", "Зеленськ*", "Scholz", "Habeck", "Kerry",
          "Tillerson", "Blinken", "Shoigu", "Шойгу", "Nadeschdin", "Навальн*", "Navalny", "Merz", "Macron", "Taliban"]
PLACES = ["Ukrain*", "Україн*", "Украин*", "Kyiv", "Київ*", "Moscow", "Москв*", "Berlin", "Syria", "Kabul",
          "Libanon", "Lebanon", "Vienna", "Minsk", "Crimea", "Крим*", "Donbas*", "Afghanistan", "Curaçao", "Brazil"]
TOPICS = ["sanction*", "drone*", "дрон*", "talks", "ceasefire", "election*", "Wahl*", "offensive", "Gegenoffensive",
          "peace", "nuclear", "gas", "oil", "protest*", "arrest*", "court", "Regenwald", "World Cup", "OSCE", "NATO"]


def generate_rules(count: int, seed: int = 5) -> str:
    rng = random.Random(seed)
    shipped = (ROOT / "config" / "rules.toml").read_text(encoding="utf-8")
    out = [shipped]
    shapes = [
        lambda: f"{rng.choice(PEOPLE)} AND {rng.choice(PLACES)}",
        lambda: f"({rng.choice(PEOPLE)} OR {rng.choice(PEOPLE)}) AND ({rng.choice(PLACES)} OR {rng.choice(TOPICS)})",
        lambda: f"{rng.choice(PEOPLE)} NEAR/{rng.randint(5, 30)} {rng.choice(TOPICS)}",
        lambda: f'title:{rng.choice(PLACES)} AND NOT "{rng.choice(TOPICS)}"',
        lambda: f'"{rng.choice(TOPICS).rstrip("*")} {rng.choice(TOPICS).rstrip("*")}" OR {rng.choice(PEOPLE)}',
        lambda: f"{rng.choice(TOPICS)} {rng.choice(PLACES)} NOT {rng.choice(PEOPLE)}",
    ]
    for i in range(count - 2):
        query = rng.choice(shapes)()
        out.append(f"[[rule]]\nname = \"generated-{i}\"\nquery = '{query}'\nchannels = [\"slack\"]\n")
    return "\n".join(out)


def load_articles() -> list[Article]:
    from monitor.sites import default_registry

    registry = default_registry()
    articles: list[Article] = []
    for expect in sorted(FIXTURES.glob("pages/*/*.expect.json")):
        html = expect.with_name(expect.name.replace(".expect.json", ".html"))
        url = json.loads(expect.read_text(encoding="utf-8")).get("url", "")
        try:
            articles.append(registry.parse(html.read_text(encoding="utf-8", errors="replace"), url))
        except Exception:  # a page some parser refuses still makes a useful text to match against
            text_file = expect.with_name(expect.name.replace(".expect.json", ".expected.txt"))
            if text_file.exists():
                articles.append(Article(url=url, site="", family="", template="", article_id=expect.stem,
                                        language=None, headline="", blocks=[]))
                articles[-1].teaser = text_file.read_text(encoding="utf-8")
    for source in sorted(FIXTURES.glob("seeds/*.source.html")):
        url = source.with_name(source.name.replace(".source.html", ".url")).read_text(encoding="utf-8").strip()
        articles.append(registry.parse(source.read_text(encoding="utf-8"), url))
    return articles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()

    articles = load_articles()
    words = sum(len(Document.from_article(a).vocabulary) for a in articles)
    started = time.perf_counter()
    rules = parse_rules(generate_rules(args.rules), "generated")
    matcher = Matcher(rules)
    compiled = time.perf_counter() - started

    done = matched = 0
    started = time.perf_counter()
    while time.perf_counter() - started < args.seconds:
        for article in articles:
            matched += len(matcher.match(article))  # tokenizes the article once, then all rules
            done += 1
    elapsed = time.perf_counter() - started
    print(f"rules: {len(rules)} (parsed and compiled in {compiled * 1000:.0f} ms)")
    print(f"articles: {len(articles)} fixture articles, {words / len(articles):.0f} distinct words each on average")
    print(f"matched: {matched / done:.1f} rules per article on average")
    print(f"throughput: {done / elapsed:,.0f} articles/s (goal: 500)")


if __name__ == "__main__":
    main()

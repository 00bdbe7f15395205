"""Rule matching throughput: 1,000 rules over the fixture articles (goal: at least 500 articles/s), twice in one
run: the rules written with prefixes as before inflection existed (Lavrov*, Ukrain*), and rules that use inflection
instead (dictionary for Russian and Ukrainian, Snowball stems elsewhere), =exact forms and ~names across scripts.

    python -m benchmarks.rules [--rules 1000] [--seconds 3]

The articles are the fixture pages parsed by the site parsers (their expected texts where a parser is not
available) and the headlines of the Russian, Ukrainian and English news sitemaps. The rules are generated: a mix
of words, phrases, field scopes, NOT and NEAR/n over people, places and topics in English, German, Russian and
Ukrainian, plus the shipped rules, so some rules match and most do not, as in a real rule file. CPU time is printed
beside wall time: the figure to compare when the machine is shared.
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
# The same people and places as an analyst writes them with inflection and names, and topics as plain words.
NAMES = ["~Lavrov", "~Putin", "~Zelensky", "~Лукашенко", "~Trump", "~Biden", "Scholz", "Habeck", "Kerry",
         "Tillerson", "Blinken", "~Shoigu", "~Шойгу", "~Навальный", "~Navalny", "Merz", "Macron", "Taliban",
         "=Лавров", "Зеленский"]
PLACES_ANALYSED = ["~Ukraine", "Украина", "Україна", "~Kyiv", "Київ", "~Moscow", "Москва", "Berlin", "Syria",
                   "Kabul", "Libanon", "Lebanon", "Vienna", "~Minsk", "~Crimea", "Крым", "Донбасс", "Afghanistan",
                   "Curaçao", "Brazil"]
TOPICS_ANALYSED = ["sanctions", "drones", "дрон", "talks", "ceasefire", "elections", "Wahl", "offensive",
                   "Gegenoffensive", "peace", "nuclear", "gas", "oil", "protests", "arrest", "court", "Regenwald",
                   "санкции", "санкції", "NATO"]
TOPICS = ["sanction*", "drone*", "дрон*", "talks", "ceasefire", "election*", "Wahl*", "offensive", "Gegenoffensive",
          "peace", "nuclear", "gas", "oil", "protest*", "arrest*", "court", "Regenwald", "World Cup", "OSCE", "NATO"]


def generate_rules(count: int, seed: int = 5, analysed: bool = False) -> str:
    rng = random.Random(seed)
    people, places, topics = (NAMES, PLACES_ANALYSED, TOPICS_ANALYSED) if analysed else (PEOPLE, PLACES, TOPICS)
    shipped = (ROOT / "config" / "rules.toml").read_text(encoding="utf-8")
    out = [shipped]
    shapes = [
        lambda: f"{rng.choice(people)} AND {rng.choice(places)}",
        lambda: f"({rng.choice(people)} OR {rng.choice(people)}) AND ({rng.choice(places)} OR {rng.choice(topics)})",
        lambda: f"{rng.choice(people)} NEAR/{rng.randint(5, 30)} {rng.choice(topics)}",
        lambda: f'title:{rng.choice(places)} AND NOT "{rng.choice(topics)}"',
        lambda: f'"{rng.choice(topics).rstrip("*")} {rng.choice(topics).rstrip("*")}" OR {rng.choice(people)}',
        lambda: f"{rng.choice(topics)} {rng.choice(places)} NOT {rng.choice(people)}",
    ]
    for i in range(count - 2):
        query = rng.choice(shapes)()
        out.append(f"[[rule]]\nname = \"generated-{i}\"\nquery = '{query}'\nchannels = [\"slack\"]\n")
    return "\n".join(out)


def load_headlines() -> list[Article]:
    """The headlines of the news sitemaps, as articles of their language with only a headline."""
    articles: list[Article] = []
    for line in (FIXTURES / "headlines" / "headlines.tsv").read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            number, language, url, title = line.split("\t")
            articles.append(Article(url=url, site="", family="pangea", template="", article_id=number,
                                    language=language, headline=title, blocks=[]))
    return articles


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


def measure(sets: dict[str, list[Article]], analysed: bool, count: int, seconds: float) -> None:
    started = time.perf_counter()
    rules = parse_rules(generate_rules(count, analysed=analysed), "generated")
    matcher = Matcher(rules)
    compiled = time.perf_counter() - started
    kind = ("inflection and ~name rules (~Lavrov, Украина, =Лавров; no prefixes)" if analysed
            else "prefix rules (the set of before: Lavrov*, Ukrain*, words)")
    print(f"{kind}: {len(rules)}, parsed and compiled in {compiled * 1000:.0f} ms")
    for name, articles in sets.items():
        _run(matcher, name, articles, seconds)


def _run(matcher: Matcher, name: str, articles: list[Article], seconds: float) -> None:
    done = matched = 0
    started, cpu = time.perf_counter(), time.process_time()
    while time.perf_counter() - started < seconds:
        for article in articles:
            matched += len(matcher.match(article))  # tokenizes the article once, then all rules
            done += 1
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(f"  {name}: {done / elapsed:,.0f} articles/s wall, {done / cpu:,.0f} articles/s of CPU time "
          f"(goal: 500); {matched / done:.1f} matches per article")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()

    sets = {"fixture articles": load_articles(), "ru/uk/en headlines": load_headlines()}
    for name, articles in sets.items():
        words = sum(len(Document.from_article(a).vocabulary) for a in articles)
        print(f"{name}: {len(articles)}, {words / len(articles):.0f} distinct words each on average")
    for analysed in (False, True):
        measure(sets, analysed, args.rules, args.seconds)


if __name__ == "__main__":
    main()

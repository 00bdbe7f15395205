"""The search benchmark's synthetic archive (:mod:`benchmarks.search`), made by worker processes.

Russian, Ukrainian, German, English and Spanish texts of realistic lengths (a headline of 5-12 words, a body of about
500 words, 80 to 2,500; Zipf-distributed words: the function words and news vocabulary of each language, names in
each script, and a long tail of made-up words), published over one year on five sites. For speed the rows are written
**directly into the tables** (sources, articles, revisions, as the store would leave them; a few thousand rows a
statement and a transaction) and the texts **into the archive layout** (``<site>/<YYYY>/<MM>/<DD>/<name>.txt``) by
worker processes, not through the pipeline; ``PLANTED`` of the articles name Navalny (in his four spellings) near a
word for prison: the rule with a few hundred matches. Each chunk of articles draws from a random generator of its
own (the seed and the chunk's number), so the archive is the same whatever the number of processes.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from pathlib import Path
from typing import Any

import numpy
from sqlalchemy import Table

from monitor.archive import folder_for, text_name
from monitor.store import Store
from monitor.store.tables import ArticleRow, Revision, Source
from monitor.urls import file_hash

PLANTED = 300
CHUNK = 5000  # articles a worker makes at a time, and rows a statement and transaction write

_FUNCTION = {
    "ru": "и в не на что с по о как это из за к от для но же у бы так уже все он она они мы его их был была было "
          "также который которые может после при только более",
    "uk": "і в на що з не до про як це із за від для але ж у б так вже всі він вона вони ми його їх був була було "
          "також який які може після при тільки більш",
    "de": "der die und in den von zu das mit sich des auf für ist im dem nicht ein eine als auch es an werden aus er "
          "hat dass sie nach wird bei einer um am sind noch wie einem über",
    "en": "the of and to in a is that for on with as was at by it from be this have are has an not which but they "
          "his its their were been after more also would about",
    "es": "de la que el en y a los se del las un por con no una su para es al lo como más pero sus le ya o este "
          "sí porque esta entre cuando muy sin sobre",
}
_NEWS = {
    "ru": "Украина Украины Украине Украину Украиной санкции санкций санкциях санкциям Москва Москвы Москве министр "
          "министра заявил заявила президент президента выборы выборов война войны войне Лавров Лаврова Лавровым "
          "Зеленский Зеленского Байден Байдена Киев Киеве США ЕС Россия России правительство глава иностранных дел",
    "uk": "Україна України Україні Україну Україною санкції санкцій санкціях Москва Москви міністр міністра заявив "
          "заявила президент президента вибори виборів війна війни війні Лавров Лаврова Зеленський Зеленського "
          "Байден Байдена Київ Києві США ЄС Росія Росії уряд голова закордонних справ",
    "de": "Ukraine ukrainischen Sanktionen Sanktion Moskau Minister Ministerin sagte Präsident Präsidenten Wahlen "
          "Wahl Krieg Krieges Lawrow Selenskyj Biden Kiew USA EU Russland Russlands Regierung Bundeskanzler Scholz "
          "Außenminister",
    "en": "Ukraine Ukrainian sanctions sanctioned sanction Moscow minister said president elections election war "
          "Lavrov Zelensky Biden Kyiv US EU Russia Russian foreign government officials talks",
    "es": "Ucrania sanciones Moscú ministro dijo presidente elecciones guerra Lavrov Zelenski Biden Kiev EEUU UE "
          "Rusia gobierno exteriores",
}
_PHRASES = {"en": "foreign minister", "ru": "министр иностранных дел", "uk": "міністр закордонних справ",
            "de": "der Außenminister", "es": "ministro de exteriores"}
_PLANTED = {
    "ru": "Алексей Навальный находится в тюрьме строгого режима.",
    "uk": "Олексій Навальний перебуває у тюрмі суворого режиму.",
    "de": "Alexej Nawalny sitzt im Gefängnis in Sibirien.",
    "en": "Alexei Navalny remains in prison in the Arctic.",
    "es": "Alexéi Navalni sigue en prisión en el Ártico.",
}
_LETTERS = {"ru": ("бвгдзклмнпрстфхцчшщ", "аеиоуыяю"), "uk": ("бвгдзклмнпрстфхцчшщ", "аеиоуіяюєї"),
            "de": ("bdfghklmnprstwz", "aeiouäöü"), "en": ("bcdfghklmnprstvw", "aeiouy"),
            "es": ("bcdfglmnprstv", "aeiou")}
#: (language, share of articles, sites publishing in it)
_LANGUAGES = [("ru", 0.35, ("svoboda.org", "dw.com")), ("uk", 0.15, ("radiosvoboda.org", "dw.com")),
              ("de", 0.2, ("dw.com",)), ("en", 0.25, ("rferl.org", "dw.com")), ("es", 0.05, ("dw.com",))]
_SECTIONS = ("politics", "world", "economy", None)


class Language:
    """One language's vocabulary with Zipf weights: function words, news words, a long tail of made-up words."""

    def __init__(self, code: str, rng: random.Random, tail: int = 20_000) -> None:
        consonants, vowels = _LETTERS[code]
        made: set[str] = set()
        while len(made) < tail:
            made.add("".join(rng.choice(consonants) + rng.choice(vowels) for _ in range(rng.randint(2, 5))))
        function, news = _FUNCTION[code].split(), _NEWS[code].split()
        self.words = function + news + sorted(made)
        weights = numpy.array([8.0 / (r + 1) for r in range(len(function))]
                              + [0.4 / (r + 1) ** 0.5 for r in range(len(news))]
                              + [3.0 / (r + 10) for r in range(tail)])
        self._cdf = numpy.cumsum(weights / weights.sum())
        self._array = numpy.array(self.words, dtype=object)
        self._capitals = numpy.array([w[:1].upper() + w[1:] for w in self.words], dtype=object)
        self._phrase = f" {_PHRASES[code]}."
        self.code = code

    def text(self, rng: numpy.random.Generator, count: int) -> str:
        """``count`` words in sentences of 8-20 words (a twentieth of them ending with the language's phrase).

        numpy draws the words and the sentence lengths and joins each word with what follows it (Python loops of
        random calls would take most of the build)."""
        picks = numpy.minimum(numpy.searchsorted(self._cdf, rng.random(count)), len(self.words) - 1)
        starts = numpy.cumsum(rng.integers(8, 21, size=count // 8 + 1)) - 1
        starts = numpy.concatenate(([0], starts[starts < count - 1] + 1))
        words = self._array[picks]
        words[starts] = self._capitals[picks[starts]]
        ends = numpy.append(starts[1:] - 1, count - 1)
        words[ends] += numpy.where(rng.random(len(ends)) < 0.05, self._phrase, ".")
        return " ".join(words.tolist())


def _body_lengths(rng: numpy.random.Generator, count: int) -> list[int]:
    return numpy.clip(rng.lognormal(6.1, 0.45, count).astype(int), 80, 2500).tolist()  # type: ignore[no-any-return]


# --- making the articles (in worker processes) ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Plan:
    """What every chunk of the archive is made from."""

    root: Path
    count: int
    seed: int
    planted: frozenset[int]
    source_ids: dict[str, int]
    year_start: datetime


_languages: dict[str, Language] = {}
_plan: Plan | None = None


def _start_worker(plan: Plan) -> None:
    global _plan
    rng = random.Random(plan.seed)  # the same vocabularies in every process
    _languages.update({code: Language(code, rng) for code, _, _ in _LANGUAGES})
    _plan = plan


def make_chunk(chunk: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Articles ``chunk * CHUNK`` onwards: their texts written into the archive layout, their rows returned."""
    plan = _plan
    assert plan is not None, "_start_worker first"
    rng = numpy.random.default_rng([plan.seed, chunk])
    first, last = chunk * CHUNK, min((chunk + 1) * CHUNK, plan.count)
    size = last - first
    shares = numpy.array(list(accumulate(share for _, share, _ in _LANGUAGES)))
    language_picks = numpy.minimum(numpy.searchsorted(shares, rng.random(size)), len(_LANGUAGES) - 1).tolist()
    site_picks, section_picks = rng.random(size).tolist(), rng.integers(0, len(_SECTIONS), size).tolist()
    seconds = rng.integers(0, 365 * 86400, size).tolist()
    headline_lengths, body_lengths = rng.integers(5, 13, size).tolist(), _body_lengths(rng, size)
    made_folders: set[str] = set()
    articles: list[dict[str, Any]] = []
    revisions: list[dict[str, Any]] = []
    for i, n in enumerate(range(first, last)):
        code, _, names = _LANGUAGES[language_picks[i]]
        language = _languages[code]
        site = names[int(site_picks[i] * len(names))]
        published = plan.year_start + timedelta(seconds=seconds[i])
        headline = language.text(rng, headline_lengths[i]).rstrip(".")
        body = language.text(rng, body_lengths[i])
        if n in plan.planted:
            cut = int(rng.integers(0, len(body) // 2))
            cut = body.find(". ", cut) + 2 if body.find(". ", cut) >= 0 else len(body)
            body = body[:cut] + _PLANTED[code] + " " + body[cut:]
        url = f"https://www.{site}/{code}/a/{n}.html"
        url_hash = file_hash(url)
        folder = folder_for(site, published)
        path = f"{folder}/{text_name(0, url_hash)}"
        if folder not in made_folders:
            (plan.root / folder).mkdir(parents=True, exist_ok=True)
            made_folders.add(folder)
        data = body.encode("utf-8")
        with open(plan.root / path, "wb") as file:
            file.write(data)
        pk = n + 1
        family = "dw" if site == "dw.com" else "pangea"
        articles.append({
            "id": pk, "key": f"{site}:{n}", "source_id": plan.source_ids[site], "site": site, "article_id": str(n),
            "family": family, "template": "bench", "canonical_url": url, "url_hash": url_hash, "language": code,
            "headline": headline, "published": published, "authors": "[]", "section": _SECTIONS[section_picks[i]],
            "folder": folder, "first_seen": published, "last_seen": published, "revision_count": 1})
        revisions.append({
            "article_pk": pk, "number": 0, "content_hash": hashlib.sha256(data).hexdigest(), "size": len(data),
            "text_path": path, "template": "bench", "origin": "ingest", "fetched_at": published,
            "stored_at": published, "alerts_done_at": published})
    return articles, revisions


def _chunks(plan: Plan, jobs: int) -> Iterator[tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
    chunks = range((plan.count + CHUNK - 1) // CHUNK)
    jobs = max(1, min(jobs, len(chunks)))
    if jobs == 1:
        _start_worker(plan)
        yield from map(make_chunk, chunks)
        return
    with multiprocessing.get_context("fork").Pool(jobs, _start_worker, (plan,)) as pool:
        yield from pool.imap(make_chunk, chunks)


def build(store: Store, root: Path, count: int, seed: int = 1, *, jobs: int = 1,
          progress: Callable[[str], None] | None = None) -> float:
    """``count`` articles into the tables and the archive layout, texts made by ``jobs`` processes; returns the
    seconds it took."""
    started = time.perf_counter()
    sources_t: Table = Source.__table__  # type: ignore[attr-defined]
    articles_t: Table = ArticleRow.__table__  # type: ignore[attr-defined]
    revisions_t: Table = Revision.__table__  # type: ignore[attr-defined]
    now = datetime.now(UTC)
    sites = sorted({site for _, _, names in _LANGUAGES for site in names})
    with store.engine.begin() as connection:
        source_ids = {site: connection.execute(sources_t.insert().values(
            site=site, family="dw" if site == "dw.com" else "pangea", created_at=now).returning(sources_t.c.id)
        ).scalar_one() for site in sites}
    planted = frozenset(random.Random(seed).sample(range(count), min(PLANTED, count)))
    plan = Plan(root, count, seed, planted, source_ids, now - timedelta(days=365))
    done = 0
    for articles, revisions in _chunks(plan, jobs):
        with store.engine.begin() as connection:
            connection.execute(articles_t.insert(), articles)
            connection.execute(revisions_t.insert(), revisions)
        done += len(articles)
        if progress:
            progress(f"built {done:,} of {count:,} articles")
    if store.engine.dialect.name == "postgresql":  # ids were given: the sequence must follow
        with store.engine.begin() as connection:
            connection.exec_driver_sql("SELECT setval(pg_get_serial_sequence('articles', 'id'), "
                                       "(SELECT max(id) FROM articles))")
    return time.perf_counter() - started

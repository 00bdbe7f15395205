"""Synthetic article pages for the store's end-to-end tests and benchmark: a real fixture page with its id, headline
and body words changed, so each is a distinct article (own key, own text, not a near-duplicate of the others)."""

from __future__ import annotations

import random
import re
from pathlib import Path

BASE = Path(__file__).parent / "fixtures/pages/pangea/voa_en_2024-04-28_child-care-crisis_7585813.html"
BASE_ID = "7585813"
SLUG = "america-s-child-care-crisis-is-holding-back-moms-without-college-degrees-"
HOST = "www.voanews.com"
_HEADLINE = "child care crisis is holding back moms"
# Frequent words of the body: replacing them per article changes almost every 3-word shingle.
_COMMON = ("the", "a", "to", "of", "and", "in", "for", "that", "is", "with", "care", "child", "her", "she", "said",
           "on", "was", "it", "are", "be", "as", "more", "they", "their", "job", "work", "cost")
_POOL = ("amber", "basalt", "cobalt", "delta", "ember", "fjord", "garnet", "harbor", "indigo", "jasper", "kelp",
         "lumen", "marble", "nectar", "onyx", "prairie", "quartz", "russet", "sierra", "tundra", "umber", "violet",
         "willow", "xenon", "yarrow", "zephyr", "acorn", "birch", "cedar", "dune", "elm", "fern", "grove", "heath")
_TEXT = re.compile(r">([^<]+)<")


def base_html() -> str:
    return BASE.read_text(encoding="utf-8")


def article_id(n: int) -> str:
    return str(9_000_000 + n)


def article_path(n: int) -> str:
    return f"/a/{SLUG}/{article_id(n)}.html"


def article_url(n: int) -> str:
    return f"https://{HOST}{article_path(n)}"


def synth_page(n: int, *, edit: int = 0, html: str | None = None) -> str:
    """Article ``n`` (``edit`` > 0: the same article with a changed text)."""
    rng = random.Random(n * 1000 + edit)
    mapping = {word: rng.choice(_POOL) + rng.choice(_POOL) for word in _COMMON}
    word = re.compile(r"\b(" + "|".join(_COMMON) + r")\b")

    def text(match: re.Match[str]) -> str:
        return ">" + word.sub(lambda m: mapping[m.group(1)], match.group(1)) + "<"

    page = (html or base_html()).replace(BASE_ID, article_id(n))
    page = page.replace(_HEADLINE, f"story {n} edit {edit} {rng.choice(_POOL)}")
    return _TEXT.sub(text, page)


def write_site(root: Path, count: int) -> list[str]:
    """A LocalSite snapshot with ``count`` articles; returns their URLs."""
    html = base_html()
    folder = root / HOST / "a" / SLUG
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        (folder / f"{article_id(n)}.html").write_text(synth_page(n, html=html), encoding="utf-8")
    return [article_url(n) for n in range(count)]


def cli_env(tmp_path: Path, count: int) -> dict[str, str]:
    """``count`` synthetic articles under ``tmp_path/snapshot`` and the environment of a ``monitor`` command that
    archives into ``tmp_path/archive`` with an empty config and no pacing (add the local site's host map)."""
    write_site(tmp_path / "snapshot", count)
    config = tmp_path / "monitor.toml"
    config.write_text("", encoding="utf-8")
    return {"MONITOR_CONFIG": str(config), "MONITOR_STORAGE__ARCHIVE_ROOT": str(tmp_path / "archive"),
            "MONITOR_HTTP__MIN_DELAY": "0"}

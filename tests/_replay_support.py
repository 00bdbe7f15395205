"""A local replay of both site families for the several-daemons tests and ``benchmarks.scaling``: Pangea services on
hosts of their own and two DW languages (one host, www.dw.com, feeds on rss.dw.com), each with an RSS feed that grows
as new articles "appear". Every article's headline is one the shipped Lavrov/Ukraine rule alerts on, and every body is
its own words, so each article is a story of its own (one alert per channel)."""

from __future__ import annotations

import email.utils
import random
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from monitor.demo.synthesis import SynthesisedPage, render_page
from monitor.settings import SourceSettings

FIXTURES = Path(__file__).parent / "fixtures"
PANGEA_HOSTS = ["www.rferl.org", "www.svoboda.org", "www.radiosvoboda.org", "www.currenttime.tv"]
DW_LANGUAGES = ["en", "de"]
_WORDS = ("amber", "basalt", "cobalt", "delta", "ember", "fjord", "garnet", "harbor", "indigo", "jasper", "kelp",
          "lumen", "marble", "nectar", "onyx", "prairie", "quartz", "russet", "sierra", "tundra", "umber", "violet",
          "willow", "xenon", "yarrow", "zephyr", "acorn", "birch", "cedar", "dune", "elm", "fern", "grove", "heath",
          "iris", "juniper", "kestrel", "lagoon", "meadow", "nimbus", "orchid", "pebble", "quill", "raven", "sorrel")


@dataclass(frozen=True)
class Feed:
    source: str
    host: str  # where the feed is served
    path: str
    template: str  # "pangea" or "dw"
    article_host: str
    language: str

    @property
    def url(self) -> str:
        return f"https://{self.host}{self.path}"


def feeds() -> list[Feed]:
    made = [Feed(host.split(".")[1], host, "/api/zlavrov", "pangea", host, "en") for host in PANGEA_HOSTS]
    made += [Feed(f"dw-{lang}", "rss.dw.com", f"/xml/rss-{lang}-all", "dw", "www.dw.com", lang)
             for lang in DW_LANGUAGES]
    return made


def sources(interval: float, jitter: float = 0.0) -> list[SourceSettings]:
    return [SourceSettings(name=f.source, site=f.article_host, feeds=[f.url], interval=interval, jitter=jitter,
                           quiet_hours=48.0, revisit_hours=0.0) for f in feeds()]


def article_url(feed: Feed, n: int) -> str:
    if feed.template == "pangea":
        return f"https://{feed.article_host}/a/lavrov-story-{n}/{9_100_000 + n}.html"
    return f"https://{feed.article_host}/{feed.language}/lavrov-story-{n}/a-{78_000_000 + n}"


def _path(url: str) -> str:
    return "/" + url.split("/", 3)[3]


@dataclass
class Replay:
    """The snapshot directory a LocalSite serves; :meth:`add` publishes articles (round robin over the feeds)."""

    root: Path
    items: dict[str, list[tuple[str, str, datetime]]] = field(default_factory=dict)
    urls: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        for feed in feeds():
            (self.root / feed.host).mkdir(parents=True, exist_ok=True)
            (self.root / feed.article_host).mkdir(parents=True, exist_ok=True)
            self._write_feed(feed)

    @property
    def hosts(self) -> list[str]:
        return sorted({f.host for f in feeds()} | {f.article_host for f in feeds()})

    def add(self, *numbers: int) -> list[str]:
        """Publish articles ``numbers``: the page first, then the feed that lists it."""
        all_feeds = feeds()
        added = []
        with self._lock:
            touched: dict[str, Feed] = {}
            for n in numbers:
                feed = all_feeds[n % len(all_feeds)]
                url = article_url(feed, n)
                rng = random.Random(n)
                headline = f"Lavrov on Ukraine: story {n} {rng.choice(_WORDS)}"
                paragraphs = tuple(" ".join(rng.choice(_WORDS) for _ in range(40)) + "." for _ in range(4))
                page = SynthesisedPage(url=url, template=feed.template, language=feed.language,
                                       published=datetime.now(UTC), headline=headline,
                                       paragraphs=(f"Lavrov spoke of Ukraine in story {n}.", *paragraphs),
                                       teaser=f"Lavrov and Ukraine, story {n}")
                target = self.root / feed.article_host / _path(url).lstrip("/")
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(render_page(page, FIXTURES))
                self.items.setdefault(feed.source, []).insert(0, (url, headline, datetime.now(UTC)))
                touched[feed.source] = feed
                self.urls.append(url)
                added.append(url)
            for feed in touched.values():
                self._write_feed(feed)
        return added

    def _write_feed(self, feed: Feed) -> None:
        items = self.items.get(feed.source, [])
        body = "".join(
            f"<item><title>{headline}</title><link>{url}</link><guid>{url}</guid>"
            f"<pubDate>{email.utils.format_datetime(when)}</pubDate></item>" for url, headline, when in items)
        xml = (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>{feed.source}</title>'
               f"<link>https://{feed.article_host}/</link><description>replay</description>{body}</channel></rss>")
        path = self.root / feed.host / feed.path.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(xml, encoding="utf-8")
        tmp.replace(path)  # a poll never reads half a feed


__all__ = ["Feed", "Replay", "article_url", "feeds", "sources"]

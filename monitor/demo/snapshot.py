"""The demo's offline copy of the watched sites: the repository's fixture pages at their real URL paths, with feeds,
sitemaps and robots.txt generated for the configured sources, laid out for :class:`monitor.demo.site.LocalSite`.

Pages come from ``tests/fixtures`` of the source checkout, or from their copy in an installed package (the seeds,
with their ``.url``, and the fixture pages whose ``.expect.json`` names a URL), and for watched services the
fixtures hold no real page of, from ``tests/fixtures/demo/pages.toml``: real page templates with another article
poured in (:mod:`monitor.demo.synthesis`).
A source serves the pages on its site in its ``languages`` (all of them when it names none). Feeds and sitemaps are
written at the sources' own URLs and dated "now", so the sources' lookback window keeps their entries; they list
the pages under their URLs as found (tracking parameters included), the pages themselves lie at the canonical
path the pipeline fetches. ``README.md`` at the snapshot's root says which page is real and which synthesised.
"""

from __future__ import annotations

import email.utils
import gzip
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit
from xml.sax.saxutils import escape

import monitor
from monitor.decoding import decode_html
from monitor.demo.synthesis import PAGES_FILE, load_pages, render_page
from monitor.errors import ConfigError
from monitor.settings import SourceSettings
from monitor.sites import SiteRegistry, default_registry
from monitor.urls import canonical_url

ROBOTS = "User-agent: *\nDisallow: /search\n"


@dataclass(frozen=True, slots=True)
class SnapshotPage:
    url: str  # as the feeds list it
    canonical: str  # where the snapshot serves it
    headline: str
    language: str
    origin: str  # the fixture file it was copied from, or how it was synthesised


@dataclass
class Snapshot:
    root: Path
    pages: dict[str, list[SnapshotPage]] = field(default_factory=dict)  # per source name
    hosts: list[str] = field(default_factory=list)  # every host the sources name: map all of them


def fixtures_dir() -> Path:
    """Where the demo's pages are: ``tests/fixtures`` of the source checkout this package runs from, else the copy an
    installed package carries in ``monitor/demo/data`` (setup.py's build step; same layout). ConfigError when
    neither is there."""
    package = Path(monitor.__file__).resolve().parent
    candidates = (package.parent / "tests" / "fixtures", package / "demo" / "data")
    for fixtures in candidates:
        if (fixtures / "seeds").is_dir():
            return fixtures
    raise ConfigError(f"the demo's pages are missing (neither {candidates[0]} nor {candidates[1]}): reinstall "
                      "monitor from its source (pip install '.[demo]') or run `make demo` in a checkout")


def fixture_pages(fixtures: Path) -> list[tuple[str, Path]]:
    """(URL, HTML file) of every fixture page that says where it came from: the seeds first."""
    found = [(path.with_name(path.name.removesuffix(".source.html") + ".url").read_text(encoding="utf-8").strip(),
              path) for path in sorted((fixtures / "seeds").glob("*.source.html"))]
    for expect in sorted((fixtures / "pages").glob("*/*.expect.json")):
        url = json.loads(expect.read_text(encoding="utf-8")).get("url") or ""
        page = expect.with_name(expect.name.removesuffix(".expect.json") + ".html")
        if url and page.is_file():
            found.append((url, page))
    return found


@dataclass(frozen=True, slots=True)
class _Available:
    url: str
    raw: bytes
    origin: str


def _available(fixtures: Path) -> list[_Available]:
    """Every page the snapshot could serve: the real fixture pages, then the synthesised ones."""
    found = [_Available(url, path.read_bytes(), str(path.relative_to(fixtures.parent)))
             for url, path in fixture_pages(fixtures)]
    for page in load_pages(fixtures):
        origin = f"synthesised from {page.template} template {PAGES_FILE}" + (f": {page.note}" if page.note else "")
        found.append(_Available(page.url, render_page(page, fixtures), origin))
    return found


def _speaks(source: SourceSettings, language: str) -> bool:
    """The page's language (``uk-UA``, ``ru``) is one the source keeps (``uk``); any when it names none."""
    wanted = {code.lower().split("-")[0] for code in source.languages}
    return not wanted or language.lower().split("-")[0] in wanted


def build_snapshot(root: Path, sources: list[SourceSettings], *, now: datetime, fixtures: Path | None = None,
                   registry: SiteRegistry | None = None) -> Snapshot:
    """Write the snapshot for ``sources`` under ``root`` (which must not exist yet or be empty)."""
    fixtures = fixtures or fixtures_dir()
    registry = registry or default_registry()
    snapshot = Snapshot(root=root)
    hosts: set[str] = set()
    available = _available(fixtures)
    for source in sources:
        hosts.add(source.site)
        pages = snapshot.pages.setdefault(source.name, [])
        for item in available:
            canonical = canonical_url(item.url)
            if _host(canonical) != source.site:
                continue
            article = registry.parse(decode_html(item.raw, None, where=item.origin), canonical)
            if not _speaks(source, article.language or "en"):
                continue
            pages.append(SnapshotPage(url=item.url, canonical=canonical, headline=article.headline,
                                      language=article.language or "en", origin=item.origin))
            _write(root, canonical, item.raw)  # two sources of one site write the same bytes: harmless
        # Newest first, a minute apart, the way feeds list them.
        dated = [(page, now - timedelta(minutes=i + 1)) for i, page in enumerate(pages)]
        for feed in source.feeds:
            hosts.add(_host(feed))
            _write(root, feed, _rss(feed, source, dated, now).encode("utf-8"))
        for sitemap in source.sitemaps:
            hosts.add(_host(sitemap))
            body = _sitemap(sitemap, dated).encode("utf-8")
            _write(root, sitemap, gzip.compress(body, mtime=0) if sitemap.endswith(".gz") else body)
        for section in source.sections:
            hosts.add(_host(section))
            _write(root, section, _section(source, dated).encode("utf-8"))
    for host in sorted(hosts):
        _write(root, f"https://{host}/robots.txt", ROBOTS.encode())
    snapshot.hosts = sorted(hosts)
    (root / "README.md").write_text(_readme(snapshot, sources), encoding="utf-8")
    return snapshot


def _readme(snapshot: Snapshot, sources: list[SourceSettings]) -> str:
    lines = ["# The demo's snapshot", "",
             "What `monitor demo` serves in place of the real sites: one folder per host, files at their URL paths.",
             "Feeds, sitemaps and robots.txt are generated for the configured sources and dated when the demo ran.",
             "Article pages are real pages from tests/fixtures where one exists; for the other watched services they",
             "are synthesised from a real page template of the site family (tests/fixtures/demo/pages.toml): the",
             "markup is the site's, the headline, date and text are the demo's. Each page says which below.", ""]
    for source in sources:
        lines.append(f"## {source.name} ({source.site}; languages: {', '.join(source.languages) or 'any'})")
        lines.append("")
        for page in snapshot.pages.get(source.name, []):
            lines.append(f"- {page.canonical} [{page.language}] {page.headline}")
            lines.append(f"  ({page.origin})")
        if not snapshot.pages.get(source.name):
            lines.append("- no page (its feeds and sitemaps are empty)")
        lines.append("")
    return "\n".join(lines)


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def _write(root: Path, url: str, body: bytes) -> None:
    parts = urlsplit(url)
    relative = unquote(parts.path).lstrip("/")
    target = root / _host(url) / (relative if relative and not relative.endswith("/") else relative + "index.html")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(body)


def _rss(url: str, source: SourceSettings, pages: list[tuple[SnapshotPage, datetime]], now: datetime) -> str:
    items = "".join(
        f"<item><title>{escape(page.headline)}</title><link>{escape(page.url)}</link>"
        f"<guid>{escape(page.canonical)}</guid><pubDate>{email.utils.format_datetime(when)}</pubDate></item>\n"
        for page, when in pages
    )
    languages = {page.language for page, _ in pages}
    # A real feed declares its edition's language once, for the channel; a mixed one could not.
    language = f"<language>{escape(languages.pop())}</language>" if len(languages) == 1 else ""
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
            f"<title>{escape(source.name)} (monitor demo snapshot)</title><link>https://{escape(source.site)}/</link>"
            f"<description>{escape(url)}</description>{language}"
            f"<lastBuildDate>{email.utils.format_datetime(now)}</lastBuildDate>\n{items}</channel></rss>\n")


def _sitemap(url: str, pages: list[tuple[SnapshotPage, datetime]]) -> str:
    """A Google News sitemap for a URL naming "news", a plain one with lastmod otherwise."""
    news = "news" in url.rsplit("/", 1)[-1]
    entries = []
    for page, when in pages:
        stamp = when.isoformat(timespec="seconds")
        if news:
            entries.append(f"<url><loc>{escape(page.canonical)}</loc><news:news><news:publication>"
                           "<news:name>monitor demo</news:name>"
                           f"<news:language>{escape(page.language)}</news:language></news:publication>"
                           f"<news:publication_date>{stamp}</news:publication_date>"
                           f"<news:title>{escape(page.headline)}</news:title></news:news></url>")
        else:
            entries.append(f"<url><loc>{escape(page.canonical)}</loc><lastmod>{stamp}</lastmod></url>")
    namespaces = ' xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"' if news else ""
    return ('<?xml version="1.0" encoding="utf-8"?>\n'
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"{namespaces}>\n'
            + "\n".join(entries) + "\n</urlset>\n")


def _attribute(value: str) -> str:
    """Text for inside a double-quoted attribute."""
    return escape(value, {'"': "&quot;"})


def _section(source: SourceSettings, pages: list[tuple[SnapshotPage, datetime]]) -> str:
    links = "".join(f'<li><a href="{_attribute(page.canonical)}">{escape(page.headline)}</a></li>' for page, _ in pages)
    return (f"<!DOCTYPE html><html><head><title>{escape(source.name)}</title></head>"
            f"<body><ul>{links}</ul></body></html>\n")


__all__ = ["Snapshot", "SnapshotPage", "build_snapshot", "fixture_pages", "fixtures_dir"]

"""A site family owns everything about its sites: no other module names one, and the URL rules, short links, the
language of a URL and the backfill's sitemaps all come from the family through the registry."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import ClassVar
from urllib.parse import urlsplit

import pytest
from lxml.html import HtmlElement

from monitor.errors import ConfigError, UnknownTemplateError
from monitor.model import Article
from monitor.settings import SourceSettings
from monitor.sites import FAMILIES, SiteRegistry, default_registry, family_classes
from monitor.sites.base import Generation, SiteFamily
from monitor.sites.dw import HOSTS as DW_HOSTS
from monitor.sites.dw import DWCurrent, DWFamily
from monitor.sites.pangea import PANGEA_HOSTS
from monitor.urls import article_key, canonical_url, is_short_link

MONITOR = Path(__file__).resolve().parent.parent / "monitor"

#: Where naming a family outside monitor/sites/ is allowed, and why.
ALLOWED_PATHS = {
    # The offline demo plays the families' real sites: its snapshot and synthesised pages are those sites' pages.
    "demo",
}
ALLOWED_NAMES = {
    # The configuration key ``[sources] pangea_hosts`` (operators' files name it): read by settings, handed on to
    # default_registry() as the configured extra hosts by the commands that build a registry.
    "pangea_hosts",
}


def _family_words() -> re.Pattern[str]:
    names = [cls.name for cls in family_classes()]
    return re.compile(r"(?<![a-z])(" + "|".join(map(re.escape, names)) + r")(?![a-z])", re.IGNORECASE)


def _hosts() -> set[str]:
    return {h.removeprefix("www.") for h in (*PANGEA_HOSTS, *DW_HOSTS, "p.dw.com", "rss.dw.com")}


def _code_names(tree: ast.AST) -> list[tuple[int, str]]:
    """Identifiers and string constants of a module. Prose may give a family as an example: docstrings and strings
    with white space in them (help texts, messages) are left out; keys, names, hosts and URLs have none."""
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) not in docstrings and not any(c.isspace() for c in node.value):
                found.append((node.lineno, node.value))
        elif isinstance(node, ast.Name):
            found.append((node.lineno, node.id))
        elif isinstance(node, ast.Attribute):
            found.append((node.lineno, node.attr))
        elif isinstance(node, ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef):
            found.append((node.lineno, node.name))
        elif isinstance(node, ast.arg | ast.keyword) and node.arg:
            found.append((node.lineno, node.arg))
        elif isinstance(node, ast.alias):
            found.append((node.lineno, node.asname or node.name))
    return found


def test_no_module_outside_the_sites_names_a_family() -> None:
    words, hosts = _family_words(), _hosts()
    offences: list[str] = []
    for path in sorted(MONITOR.rglob("*.py")):
        relative = path.relative_to(MONITOR)
        if relative.parts[0] in ("sites", *ALLOWED_PATHS):
            continue
        for line, name in _code_names(ast.parse(path.read_text(encoding="utf-8"))):
            if name in ALLOWED_NAMES:
                continue
            if words.search(name) or any(host in name.lower() for host in hosts):
                offences.append(f"monitor/{relative}:{line}: {name!r}")
    assert offences == []


def test_the_guard_sees_a_family_named_in_code() -> None:
    """The check above must be able to fail: it finds names in code, not in docstrings."""
    code = '"""Pangea and DW in prose are fine."""\nif family == "dw":\n    url = "https://www.rferl.org/x"\n'
    names = [name for _, name in _code_names(ast.parse(code))]
    assert any(_family_words().search(n) for n in names)
    assert any("rferl.org" in n for n in names)
    assert not any("prose" in n for n in names)
    assert _code_names(ast.parse('help = "News from RFE/RL (Pangea)"')) == [(1, "help")]


def test_every_family_is_registered_by_one_line() -> None:
    assert [cls.name for cls in family_classes()] == ["pangea", "dw"]
    assert len(FAMILIES) == len(set(FAMILIES))


def test_a_broken_family_module_fails_loudly_instead_of_dropping_out() -> None:
    with pytest.raises(ImportError):
        family_classes(("monitor.sites.no_such_family:NoFamily",))
    with pytest.raises(TypeError, match="not a SiteFamily"):
        family_classes(("monitor.sites.base:Generation",))


# --- a new family plugs in through the protocol alone ---------------------------------------------------------


class _ExamplePage(Generation):
    name: ClassVar[str] = "example.page"

    @classmethod
    def matches(cls, doc: HtmlElement) -> bool:
        return doc.find(".//article") is not None

    def parse(self, doc: HtmlElement, url: str) -> Article:
        return Article(url=url, site="example.net", family="example", template=self.name,
                       article_id=url.rsplit("/", 1)[-1], language=None, headline=doc.findtext(".//h1") or "")


class ExampleFamily(SiteFamily):
    name: ClassVar[str] = "example"
    generations: ClassVar[tuple[type[Generation], ...]] = (_ExamplePage,)
    tracking_params: ClassVar[frozenset[str]] = frozenset({"src"})

    def owns_host(self, host: str) -> bool:
        return host.endswith("example.net")

    def article_id(self, url: str) -> str | None:
        tail = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
        return tail if tail.isdigit() else None

    def site_of(self, url: str) -> str:
        return "example.net"

    def canonical_url(self, url: str) -> str:
        return url.replace("/story/", "/news/")

    def is_short_link(self, url: str) -> bool:
        return url.startswith("https://ex.example.org/")

    def language_of(self, url: str) -> str | None:
        return url.split("/")[3]

    def backfill_sitemaps(self, source: SourceSettings) -> list[str]:
        return [f"https://{source.site}/all.xml"]


def test_a_new_family_brings_its_own_url_rules() -> None:
    registry = SiteRegistry([*default_registry().families, ExampleFamily()])
    url = "http://m.example.net/fr/story/42?src=feed&page=2#top"
    assert canonical_url(url, registry) == "https://example.net/fr/news/42?page=2"
    assert article_key(canonical_url(url, registry), registry) == "example.net:42"
    assert is_short_link("https://ex.example.org/abc", registry)
    assert not is_short_link("https://ex.example.org/abc")  # the built-in families do not know it
    assert registry.language_of("https://example.net/fr/news/42") == "fr"
    assert registry.backfill_sitemaps(SourceSettings(name="ex", site="www.example.net")) == [
        "https://www.example.net/all.xml"]
    article = registry.parse("<html><body><article><h1>Hi</h1></article></body></html>", "https://example.net/x/7")
    assert (article.template, article.article_id, article.headline) == ("example.page", "7", "Hi")


def test_a_family_dispatches_over_its_own_generations(fixtures_dir: Path) -> None:
    """DW asks the templates its ``generations`` lists, no second list: without the legacy one, a legacy page has
    no template."""

    class CurrentOnly(DWFamily):
        generations: ClassVar[tuple[type[Generation], ...]] = (DWCurrent,)

    legacy = fixtures_dir / "pages" / "dw" / "dw_en_oldgen_2020-01-19_berlin-colonial-past_a-52060881.html"
    html = legacy.read_text(encoding="utf-8")
    url = json.loads(legacy.with_suffix(".expect.json").read_text(encoding="utf-8"))["url"]
    assert DWFamily().parse(html, url).template == "dw.legacy"
    with pytest.raises(UnknownTemplateError):
        CurrentOnly().parse(html, url)


def test_dw_backfill_sitemap_comes_from_the_edition_table() -> None:
    """A feed's edition is looked up by its name (Ukrainian is rss-ukr-all on the /uk/ edition), not guessed."""
    registry = default_registry()
    ukr = SourceSettings(name="dw-uk", site="www.dw.com", feeds=["https://rss.dw.com/xml/rss-ukr-all"])
    assert registry.backfill_sitemaps(ukr) == ["https://www.dw.com/uk/article-sitemap.xml"]
    unknown = SourceSettings(name="dw-x", site="www.dw.com", feeds=["https://rss.dw.com/xml/rss-xx-all"])
    with pytest.raises(ConfigError, match="cannot tell its DW language"):
        registry.backfill_sitemaps(unknown)


def test_configured_pangea_hosts_get_the_family_url_rules() -> None:
    registry = default_registry(["new-pangea-service.org"])
    assert canonical_url("https://new-pangea-service.org/amp/x/12.html", registry) == \
        "https://www.new-pangea-service.org/a/x/12.html"
    assert canonical_url("https://www.dw.com/en/x/a-1?maca=en-rss&page=2", registry) == \
        "https://www.dw.com/en/x/a-1?page=2"


def test_class_tokens_are_read_by_the_shared_helpers_only() -> None:
    """Families ask ``has_class_token``/``class_tokens`` (sites/_common.py) instead of splitting ``class`` inline,
    so "has this class" means one thing in every parser."""
    sites = Path(__file__).resolve().parent.parent / "monitor" / "sites"
    inline = re.compile(r"""get\(\s*["']class["']\s*\)\s*or\s*["']{2}\s*\)\s*\.split\(""")
    hits = [f"{module.relative_to(sites)}: {line.strip()}" for module in sorted(sites.rglob("*.py"))
            if module.name != "_common.py"
            for line in module.read_text(encoding="utf-8").splitlines() if inline.search(line)]
    assert hits == []

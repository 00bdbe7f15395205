"""The demo's snapshot against the shipped configuration: every source in config/monitor.toml has pages in its
languages, `monitor discover NAME` finds exactly them through the local server, and the pages synthesised from real
templates (tests/fixtures/demo/pages.toml) read as the articles they claim to be, the Russian Lavrov/Ukraine one
included."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from monitor.cli import app
from monitor.decoding import decode_html
from monitor.demo.snapshot import Snapshot, build_snapshot, fixtures_dir
from monitor.demo.synthesis import load_pages, render_page
from monitor.discovery import discover_source
from monitor.errors import ConfigError
from monitor.http import HttpClient
from monitor.render import render_article
from monitor.settings import DEFAULT_CONFIG, HttpSettings, load_settings
from monitor.sites import default_registry
from monitor.urls import article_key, canonical_url
from tests._localsite import LocalSite

SETTINGS = load_settings(DEFAULT_CONFIG)
NOW = datetime.now(UTC)
LAVROV = "https://www.svoboda.org/a/lavrov-zayavil-o-budushchem-ukrainy/33423700.html"


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Snapshot:
    return build_snapshot(tmp_path_factory.mktemp("demo") / "snapshot", list(SETTINGS.sources), now=NOW)


@pytest.fixture(scope="module")
def site(snapshot: Snapshot) -> Iterator[LocalSite]:
    with LocalSite(snapshot.root) as running:
        yield running


def test_the_shipped_config_watches_the_russian_and_ukrainian_services_each_with_its_languages() -> None:
    sites = {s.site: s for s in SETTINGS.sources}
    for host, language in [
        ("www.svoboda.org", "ru"), ("www.radiosvoboda.org", "uk"), ("www.currenttime.tv", "ru"),
        ("ru.krymr.com", "ru"), ("ua.krymr.com", "uk"), ("www.sibreal.org", "ru"), ("www.idelreal.org", "ru"),
        ("www.severreal.org", "ru"), ("www.kavkazr.com", "ru"), ("rus.azattyk.org", "ru"), ("rus.azattyq.org", "ru"),
        ("rus.ozodi.org", "ru"), ("rus.ozodlik.org", "ru"), ("rus.azathabar.com", "ru"), ("rus.azatutyun.am", "ru"),
        ("www.svaboda.org", "be"), ("www.rferl.org", "en"),
    ]:
        assert sites[host].languages == [language], host
        assert sites[host].feeds or sites[host].sitemaps, host
    dw = {s.languages[0] for s in SETTINGS.sources if s.site == "www.dw.com"}
    assert {"en", "ru", "uk", "de"} <= dw
    assert all(s.languages for s in SETTINGS.sources)


def test_every_shipped_source_has_pages_in_its_languages(snapshot: Snapshot) -> None:
    for source in SETTINGS.sources:
        pages = snapshot.pages[source.name]
        assert pages, f"{source.name}: the snapshot serves no page"
        assert {page.language.split("-")[0] for page in pages} <= set(source.languages), source.name


@pytest.fixture
def discover_env(site: LocalSite, snapshot: Snapshot, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in [n for n in os.environ if n.startswith("MONITOR_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("MONITOR_HTTP__HOST_MAP", json.dumps(site.host_map(snapshot.hosts)))
    monkeypatch.setenv("MONITOR_HTTP__MIN_DELAY", "0")
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers  # the command configures logging for its process: give pytest's back
    root.setLevel(level)


@pytest.mark.parametrize("name", [s.name for s in SETTINGS.sources])
def test_monitor_discover_finds_every_page_of_every_shipped_source(name: str, snapshot: Snapshot,
                                                                   discover_env: None) -> None:
    result = CliRunner().invoke(app, ["discover", name, "--keys"])
    assert result.exit_code == 0, result.output + result.stderr
    assert result.stderr == ""
    found = {line.split("\t")[0] for line in result.stdout.splitlines()}
    registry = default_registry()
    assert found == {article_key(page.canonical, registry) for page in snapshot.pages[name]}


def test_feeds_and_news_sitemaps_give_every_entry_a_language_the_source_keeps(site: LocalSite,
                                                                           snapshot: Snapshot) -> None:
    registry = default_registry()
    with HttpClient(HttpSettings(host_map=site.host_map(snapshot.hosts), min_delay=0.0, retries=0)) as client:
        for source in SETTINGS.sources:
            for document in [*source.feeds, *source.sitemaps]:  # one at a time: deduplication hides none
                alone = source.model_copy(update={"feeds": [f for f in source.feeds if f == document],
                                                  "sitemaps": [m for m in source.sitemaps if m == document]})
                result = discover_source(client, alone, registry=registry, now=NOW)
                assert result.errors == [] and result.entries, document
                languages = {entry.language for entry in result.entries}
                if document in source.feeds or "news" in document.rsplit("/", 1)[1]:
                    assert languages <= set(source.languages), (document, languages)
                else:  # a plain sitemap says nothing; only a URL that names its edition (DW's /en/) tells
                    assert languages <= {None, *source.languages}, (document, languages)
                    assert (None in languages) == (source.site != "www.dw.com"), (document, languages)


def test_the_snapshot_readme_says_which_pages_are_synthesised(snapshot: Snapshot) -> None:
    readme = (snapshot.root / "README.md").read_text(encoding="utf-8")
    for source in SETTINGS.sources:
        assert f"## {source.name} " in readme
        for page in snapshot.pages[source.name]:
            assert page.canonical in readme
    synthesised = [p for pages in snapshot.pages.values() for p in pages if p.origin.startswith("synthesised")]
    real = [p for pages in snapshot.pages.values() for p in pages if not p.origin.startswith("synthesised")]
    assert len(synthesised) >= 17 and real
    assert readme.count("(synthesised from ") == len({p.canonical for p in synthesised})


def test_the_synthesised_pages_read_as_their_articles_with_nothing_of_the_template_left() -> None:
    fixtures = fixtures_dir()
    registry = default_registry()
    pages = load_pages(fixtures)
    assert len({p.url for p in pages}) == len(pages)
    for page in pages:
        raw = render_page(page, fixtures)
        article = registry.parse(decode_html(raw, None, where=page.url), canonical_url(page.url))
        assert article.key == article_key(canonical_url(page.url), registry)
        assert (article.headline, article.language) == (page.headline, page.language)
        assert article.published is not None and article.published.date() == page.published.date()
        assert article.body_text == "\n\n".join(page.paragraphs)
        assert (article.section, article.authors, article.lead_image, article.short_link) == (None, [], None, None)
        text = render_article(article)
        # The template's own article (drone attack on Volna; Kerry and Lavrov in Sochi) is gone, markup and all.
        for word in ("Волна", "Краснодар", "дронів", "rosia", "Kerry", "Sochi", "1FOuM", "33629716", "18447006"):
            assert word not in text and word.encode() not in raw, (page.url, word)


def test_the_russian_article_about_lavrov_and_ukraine_uses_inflected_forms(snapshot: Snapshot) -> None:
    served = [p for p in snapshot.pages["svoboda"] if p.url == LAVROV]
    assert served and served[0].language == "ru"
    raw = (snapshot.root / "www.svoboda.org" / "a" / "lavrov-zayavil-o-budushchem-ukrainy" / "33423700.html")
    article = default_registry().parse(decode_html(raw.read_bytes(), None, where=str(raw)), LAVROV)
    text = f"{article.headline}\n{article.body_text}"
    for form in ("Лавров заявил", "Украины", "в Киеве", "Лаврова", "Киева"):
        assert form in text
    assert "Украина" not in text  # only inflected forms: a rule must understand Russian to find it


def test_an_incomplete_synthesised_page_is_a_config_error_naming_file_and_page(tmp_path: Path) -> None:
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "pages.toml").write_text(
        '[[page]]\nurl = "https://www.svoboda.org/a/1.html"\ntemplate = "pangea"\nlanguage = "ru"\n'
        'published = 2025-05-25T10:00:00Z\nheadline = "x"\nparagraphs = ["y"]\n\n'
        '[[page]]\nurl = "https://www.svoboda.org/a/2.html"\ntemplate = "pangea"\nlanguage = "ru"\n',
        encoding="utf-8")
    with pytest.raises(ConfigError, match=r"pages\.toml: page 2: missing published, headline, paragraphs$"):
        load_pages(tmp_path)

"""Article pages for the demo where the fixtures hold no real page of a watched service: a real page template of the
site family with another article's text poured in (``tests/fixtures/demo/pages.toml`` lists them).

What is kept of the template is its markup: the page chrome, the classes and regions the family's parser reads. What
is replaced is everything that names the template's own article: the language, title, headline, date, teaser and
body. What would still name it is dropped: canonical and social links, JSON-LD, the analytics object, the lead image
and its caption, the category, the byline, the short link. The parser then takes the article's address from the URL
it was fetched from, as it does for any page without a canonical link.
"""

from __future__ import annotations

import html
import re
import tomllib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from lxml import html as lxml_html
from lxml.html import HtmlElement

from monitor.errors import ConfigError

#: Template pages per family, relative to tests/fixtures: a real current-template article of each.
TEMPLATES = {
    "pangea": "pages/pangea/radiosvoboda_uk_2025-12-22_news-rosia-ataka-droniv_33629716.html",
    "dw": "seeds/002_f083d0cb5867924c.source.html",
}
#: Where each template's own article lives: its address and id also appear in share links, comment threads and
#: analytics calls, which are rewritten to name the synthesised article.
TEMPLATE_URLS = {
    "pangea": "https://www.radiosvoboda.org/a/news-rosia-ataka-droniv/33629716.html",
    "dw": "https://www.dw.com/en/no-breakthrough-in-kerry-putin-discussions-over-ukraine-conflict/a-18447006",
}
PAGES_FILE = "demo/pages.toml"
_ARTICLE_ID = re.compile(r"(?:/a-|/)(\d+)(?:\.html)?$")


@dataclass(frozen=True, slots=True)
class SynthesisedPage:
    url: str
    template: str  # a key of TEMPLATES
    language: str
    published: datetime
    headline: str
    paragraphs: tuple[str, ...]
    teaser: str = ""
    note: str = ""  # where the headline and URL come from, for the snapshot's README


def load_pages(fixtures: Path) -> list[SynthesisedPage]:
    """The pages listed in ``tests/fixtures/demo/pages.toml`` (ConfigError naming the file and the page when one is
    incomplete)."""
    path = fixtures / PAGES_FILE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    pages = []
    for n, item in enumerate(data.get("page", []), 1):
        where = f"{path}: page {n}"
        missing = [k for k in ("url", "template", "language", "published", "headline", "paragraphs") if k not in item]
        if missing:
            raise ConfigError(f"{where}: missing {', '.join(missing)}")
        if item["template"] not in TEMPLATES:
            raise ConfigError(f"{where}: template must be one of {', '.join(TEMPLATES)}, not {item['template']!r}")
        published = item["published"]
        if not isinstance(published, datetime) or published.tzinfo is None:
            raise ConfigError(f"{where}: published must be a TOML date-time with an offset (2025-05-25T10:00:00Z)")
        pages.append(SynthesisedPage(
            url=item["url"], template=item["template"], language=item["language"], published=published,
            headline=item["headline"], paragraphs=tuple(item["paragraphs"]), teaser=item.get("teaser", ""),
            note=item.get("note", ""),
        ))
    return pages


def render_page(page: SynthesisedPage, fixtures: Path) -> bytes:
    """The page as the site would serve it: the family's template with this article in it."""
    doc = lxml_html.fromstring((fixtures / TEMPLATES[page.template]).read_bytes())
    replaced = _own_words(doc)
    if page.template == "pangea":
        _fill_pangea(doc, page)
    else:
        _fill_dw(doc, page)
    text: str = lxml_html.tostring(doc, encoding="unicode")
    # What still names the template's article (share and comment links, analytics) names this one instead.
    old_url, new_url = TEMPLATE_URLS[page.template], page.url
    for old, new in [(old_url, new_url), (quote(old_url, safe=""), quote(new_url, safe="")),
                     (quote(old_url, safe="").lower(), quote(new_url, safe="").lower()),
                     (_article_id(old_url), _article_id(new_url))]:
        text = text.replace(old, new)
    for old, new in zip(replaced, (page.headline, page.teaser or page.paragraphs[0]), strict=True):
        if old:
            text = text.replace(html.escape(old, quote=True), html.escape(new, quote=True))
    return ("<!DOCTYPE html>\n" + text).encode("utf-8")


def _own_words(doc: HtmlElement) -> tuple[str, str]:
    """The template article's headline and description as its head states them."""
    found = {"title": "", "description": ""}
    for meta in doc.iterfind(".//head/meta"):
        key = meta.get("property") or meta.get("name") or ""
        if key in ("og:title", "og:description"):
            found[key[3:]] = meta.get("content") or ""
    return found["title"], found["description"]


def _article_id(url: str) -> str:
    found = _ARTICLE_ID.search(url)
    if found is None:
        raise ConfigError(f"{url}: no article id at the end of the URL")
    return found.group(1)


def _fill_common(doc: HtmlElement, page: SynthesisedPage) -> None:
    doc.set("lang", page.language)
    head = doc.find("head")
    if head is None:
        return
    for el in list(head):
        name = el.get("name") or el.get("property") or ""
        if (el.tag == "link" and (el.get("rel") or "") in ("canonical", "amphtml", "alternate")) or \
                (el.tag == "meta" and (name.startswith(("og:", "twitter:", "article:")) or
                                       name in ("description", "keywords", "apple-itunes-app"))):
            head.remove(el)
    for title in head.iter("title"):
        title.text = page.headline
    for script in doc.iter("script"):
        if (script.get("type") or "") == "application/ld+json" or "utag_data" in (script.text or "") \
                or "analyticsData" in (script.text or "") \
                or "__APOLLO_STATE__" in (script.text or ""):
            script.text = ""


def _paragraphs(container: HtmlElement, paragraphs: tuple[str, ...]) -> None:
    for child in list(container):
        container.remove(child)
    container.text = None
    for text in paragraphs:
        p = lxml_html.Element("p")
        p.text = text
        container.append(p)


def _by_class(doc: HtmlElement, name: str) -> list[HtmlElement]:
    return [el for el in doc.iter() if isinstance(el.tag, str) and name in (el.get("class") or "").split()]


def _drop(elements: list[HtmlElement]) -> None:
    for el in elements:
        parent = el.getparent()
        if parent is not None:
            parent.remove(el)


def _fill_pangea(doc: HtmlElement, page: SynthesisedPage) -> None:
    _fill_common(doc, page)
    for col in _by_class(doc, "col-title"):
        for h1 in col.iter("h1"):
            h1.text = page.headline
            for child in list(h1):
                h1.remove(child)
    for details in _by_class(doc, "publishing-details"):
        for time in details.iter("time"):
            time.set("datetime", page.published.isoformat().replace("+00:00", "Z"))
            time.text = page.published.strftime("%d.%m.%Y %H:%M")
        _drop(_by_class(details, "links"))  # the byline
    for col in _by_class(doc, "col-multimedia"):  # the lead image and its caption
        for child in list(col):
            col.remove(child)
    _drop(_by_class(doc, "col-category"))
    for share in _by_class(doc, "content-sharing__list"):  # share links carry the template's headline, encoded
        for child in list(share):
            share.remove(child)
    _drop(list(doc.iter("noscript")))  # tracking pixels, with the headline in their query
    body = doc.get_element_by_id("article-content")
    for wsw in _by_class(body, "wsw"):
        _paragraphs(wsw, page.paragraphs)


def _fill_dw(doc: HtmlElement, page: SynthesisedPage) -> None:
    _fill_common(doc, page)
    article = doc.find(".//article")
    if article is None:
        raise ConfigError(f"{TEMPLATES['dw']}: the DW template has no <article>")
    for h1 in article.iter("h1"):
        h1.text = page.headline
    day = page.published.strftime("%m/%d/%Y" if page.language == "en" else "%d.%m.%Y")
    for area in _by_class(article, "time-area"):
        for el in area.iter():
            if el.tag == "time" or (el.tag == "span" and (el.text or "").strip()):
                el.text = day
    for teaser in _by_class(article, "teaser-text"):
        teaser.text = page.teaser or page.paragraphs[0]
    _drop(list(article.iter("figure")))  # the lead image
    for section in article.iter("section"):  # the share buttons name the template's short link: emptied, the
        for child in list(section):          # section itself stays (its data-tracking-name marks the template)
            section.remove(child)
    for rich in _by_class(article, "rich-text"):
        _paragraphs(rich, page.paragraphs)


__all__ = ["PAGES_FILE", "TEMPLATES", "SynthesisedPage", "load_pages", "render_page"]

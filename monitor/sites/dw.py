"""Deutsche Welle (dw.com, every language edition): URL rules and one parser per page template.

Two generations, told apart by markers in the page (see ../shared/fixtures/STRUCTURE.md, section 1):

- :class:`DWCurrent` (2022+, React with server-side rendering): ``window.__APOLLO_STATE__`` (the GraphQL cache),
  ld+json ``NewsArticle``, ``data-tracking-name`` attributes. Its CSS class names are hashed per deployment, so
  only the semantic class tokens (``rich-text``, ``teaser-text``, ``author-details`` ...) are ever selected.
- :class:`DWLegacy` (until 2022/23): ``div#bodyContent > div.col3`` with ``h1``, ``p.intro``, ``div.longText`` and
  the metadata list ``ul.smallList``.

The archive text of the current template is what the reference producer (FORMAT.md) makes of the page: skip links,
headline, byline, date, teaser, short link, lead image, body, then the skip-link lines ("Skip next section ...") of
the sections after the article that the reference's own rules keep (:mod:`monitor.sites._reference`), never their
teasers. The regions are chosen here; inside them the few things the reference leaves out (the machine-readable
``<time>``, ad slots, link-heavy boxes, hidden elements) are skipped by the rules of :func:`_dropped`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

from lxml import etree
from lxml.html import HtmlElement

from monitor.errors import ConfigError, IncompletePageError, NotAnArticleError
from monitor.isotime import parse_iso_time as parse_time
from monitor.model import Article, Block, BlockKind, Image
from monitor.render import block_from
from monitor.sites._common import (
    canonical_link,
    clean,
    has_class_token,
    ld_authors,
    ld_object,
    meta,
    present,
    text_of,
    truncated,
    www_for_bare_domain,
)
from monitor.sites._reference import left_out, reaches_text
from monitor.sites.base import Generation, SiteFamily

if TYPE_CHECKING:
    from monitor.settings import SourceSettings

HOSTS = frozenset({"www.dw.com", "dw.com", "m.dw.com", "amp.dw.com"})
SITE = "dw.com"
BASE_URL = "https://www.dw.com/"

#: ``/<lang>/<slug>/a-<id>``; the slug may be missing or percent-encoded, the language code may carry a region.
ARTICLE_PATH = re.compile(r"^/(?P<lang>[a-z]{2,3}(?:-[a-z0-9]{2,4})?)/(?:[^/]+/)*a-(?P<id>\d+)/?$", re.IGNORECASE)
SHORT_LINK = re.compile(r"https?://p\.dw\.com/p/[A-Za-z0-9]+")
SHORT_LINK_HOST = "p.dw.com"
SHORT_LINK_PATH = re.compile(r"^/p/[A-Za-z0-9]+/?$")
DAY_DOT = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
DAY_SLASH = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
CREDIT_IN_TITLE = re.compile(r"^(?P<caption>.*?)\s*\((?P<credit>[^()]*)\)\s*$", re.S)
CREDIT_LABEL = re.compile(r"^[^\s:]{1,20}:\s*")  # "Bild: ", "Image: ", "Foto: "
CREDIT_LINE = re.compile(r"^\s*(?:Auteur|Autor|Autorin|Author|Autorka|Autori)\s*:\s*(?P<name>.+?)\s*$", re.I)
APOLLO_PREFIX = "window.__APOLLO_STATE__"
#: The JSON-LD types that describe the article itself.
ARTICLE_TYPES = frozenset({"NewsArticle", "Article", "ReportageNewsArticle", "OpinionNewsArticle"})


# Language editions (data)


@dataclass(frozen=True, slots=True)
class DWEdition:
    """One language edition of dw.com: its URL path prefix and its feeds on rss.dw.com.

    ``feeds`` are feed names, served as RSS 2.0 at ``https://rss.dw.com/xml/<name>`` and as RSS 1.0/RDF at
    ``https://rss.dw.com/rdf/<name>``. The names are not derived from the prefix (Ukrainian is ``rss-ukr-all``,
    Spanish ``rss-sp-all``); only names seen in use are listed, and an edition without one is polled through its
    news sitemap."""

    prefix: str  # the first path segment of its pages: /<prefix>/<slug>/a-<id>
    name: str
    language: str  # ISO 639-1, what a source's ``languages`` names
    feeds: tuple[str, ...] = ()

    @property
    def home(self) -> str:
        return f"{BASE_URL}{self.prefix}/"

    @property
    def feed_urls(self) -> tuple[str, ...]:
        return tuple(f"https://rss.dw.com/xml/{feed}" for feed in self.feeds)

    @property
    def news_sitemap(self) -> str:
        """The Google News sitemap: the last two days, with language and headline."""
        return f"{BASE_URL}{self.prefix}/news-sitemap.xml"

    @property
    def article_sitemap(self) -> str:
        """Every article of the edition (what ``monitor backfill`` walks)."""
        return f"{BASE_URL}{self.prefix}/article-sitemap.xml"


#: Every language edition of dw.com, by path prefix. Feed names from the repository's fixtures (rss-ru-news,
#: rss-bos-all, the maca= tracking tags of the fixture pages) and from feed lists in public projects (2025/26).
EDITIONS: tuple[DWEdition, ...] = (
    DWEdition("en", "English", "en", ("rss-en-all", "rss-en-top")),
    DWEdition("de", "Deutsch", "de", ("rss-de-all",)),
    DWEdition("ru", "Русский", "ru", ("rss-ru-all", "rss-ru-news")),
    DWEdition("uk", "Українська", "uk", ("rss-ukr-all",)),
    DWEdition("pl", "Polski", "pl", ("rss-pol-all",)),
    DWEdition("ro", "Română", "ro", ("rss-rom-all",)),
    DWEdition("bg", "Български", "bg"),
    DWEdition("el", "Ελληνικά", "el", ("rss-gre-all",)),
    DWEdition("bs", "Bosanski", "bs", ("rss-bos-all",)),
    DWEdition("sr", "Српски", "sr"),
    DWEdition("mk", "Македонски", "mk"),
    DWEdition("sq", "Shqip", "sq"),
    DWEdition("tr", "Türkçe", "tr", ("rss-tur-all",)),
    DWEdition("es", "Español", "es", ("rss-sp-all",)),
    DWEdition("fr", "Français", "fr", ("rss-fr-all",)),
    DWEdition("pt-br", "Português do Brasil", "pt", ("rss-br-all",)),
    DWEdition("pt-002", "Português para África", "pt"),
    DWEdition("ar", "العربية", "ar", ("rss-ar-all",)),
    DWEdition("fa-ir", "فارسی", "fa", ("rss-per-all",)),
    DWEdition("fa-af", "دری", "fa"),
    DWEdition("ps", "پښتو", "ps"),
    DWEdition("ur", "اردو", "ur"),
    DWEdition("hi", "हिन्दी", "hi", ("rss-hin-all",)),
    DWEdition("bn", "বাংলা", "bn", ("rss-ben-all",)),
    DWEdition("id", "Indonesia", "id"),
    DWEdition("zh", "中文", "zh", ("rss-chi-all",)),
    DWEdition("sw", "Kiswahili", "sw"),
    DWEdition("ha", "Hausa", "ha"),
    DWEdition("am", "አማርኛ", "am"),
)  # fmt: skip


def edition(prefix: str) -> DWEdition | None:
    """The edition whose pages start with ``/<prefix>/`` (case-insensitive), None for any other prefix."""
    wanted = prefix.strip("/").lower()
    return next((e for e in EDITIONS if e.prefix == wanted), None)


def edition_of(url: str) -> DWEdition | None:
    """The edition a dw.com page or sitemap belongs to, or the edition whose feed ``url`` is on rss.dw.com."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host == "rss.dw.com":
        name = parts.path.rstrip("/").rsplit("/", 1)[-1]
        return next((e for e in EDITIONS if name in e.feeds), None)
    if host not in HOSTS:
        return None
    return edition(unquote(parts.path).strip("/").split("/", 1)[0])

# What the reference producer leaves out inside the regions we render (its main-content rules, restated for DW).
_SILENT_TAGS = frozenset({"time", "video", "audio", "nav", "aside"})
_DROPPED_CLASSES = frozenset({"advertisement", "rich-text-ad", "gpt-slot", "feedback", "hidden", "invisible"})
_LINK_BOX_RATIO = 0.6  # a div whose text is mostly link text is a teaser/kicker box, not prose ...
_LINK_BOX_MAX = 1500  # ... unless it is long
_LINK_LIST_RATIO = 0.2  # a list whose text is partly link text is navigation
_HAS_TRACKING_NAME = etree.XPath("boolean(//body//*[@data-tracking-name])")


def _classes(el: HtmlElement) -> list[str]:
    return (el.get("class") or "").split()


def _find_class(root: HtmlElement, tag: str, name: str) -> HtmlElement | None:
    """First descendant ``tag`` (``*`` for any) with class token ``name``; a plain iteration beats XPath here."""
    for el in root.iter(tag if tag != "*" else None):
        if isinstance(el.tag, str) and name in (el.get("class") or "").split():
            return el
    return None


def _find_tracking(root: HtmlElement, name: str) -> HtmlElement | None:
    for el in root.iter():
        if isinstance(el.tag, str) and el.get("data-tracking-name") == name:
            return el
    return None


def _link_ratio(el: HtmlElement, max_length: int = 0) -> float:
    """Share of the element's text that is link text; 0 when the text is longer than ``max_length`` (if set)."""
    text = clean(el.text_content())
    if not text or (max_length and len(text) > max_length):
        return 0.0
    links = sum(len(clean(a.text_content())) for a in el.iter("a"))
    return links / len(text)


def _hidden_by_style(el: HtmlElement) -> bool:
    style = (el.get("style") or "").replace(" ", "").lower()
    return "display:none" in style or "visibility:hidden" in style


def _dropped(region: HtmlElement) -> list[HtmlElement]:
    """Descendants of a region that the archive text leaves out (the reference producer does not print them)."""
    out: list[HtmlElement] = []
    stack = list(region)
    while stack:
        el = stack.pop()
        tag = el.tag
        if not isinstance(tag, str):
            continue
        classes = set(_classes(el))
        if (
            tag in _SILENT_TAGS
            or el.get("aria-hidden") == "true"
            or el.get("aria-expanded") == "false"
            or el.get("hidden") is not None
            or classes & _DROPPED_CLASSES
            or _hidden_by_style(el)
            or (tag == "div" and _link_ratio(el, _LINK_BOX_MAX) > _LINK_BOX_RATIO)
            or (tag == "ul" and _link_ratio(el) > _LINK_LIST_RATIO)
        ):
            out.append(el)
            continue
        stack.extend(el)
    return out


def _unless_link_box(el: HtmlElement | None) -> HtmlElement | None:
    """The element, unless its text is mostly link text (a linked byline or kicker: the reference leaves it out)."""
    return el if el is not None and _link_ratio(el) <= _LINK_BOX_RATIO else None


def _block(kind: BlockKind, el: HtmlElement | None, *, skip: Iterable[HtmlElement] = ()) -> Block | None:
    if el is None:
        return None
    return block_from(kind, el, skip=[*_dropped(el), *skip])


def _strip_query(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme or "https", parts.netloc, parts.path, "", ""))


def _day(value: str, language: str | None) -> datetime | None:
    """A date as DW shows it ("28.04.2023", "06/14/2026") at midnight UTC; None when ambiguous or malformed."""
    value = value.strip()
    match = DAY_DOT.match(value)
    if match:
        day, month, year = (int(g) for g in match.groups())
    else:
        match = DAY_SLASH.match(value)
        if not match:
            return None
        first_part, second, year = (int(g) for g in match.groups())
        if first_part > 12:
            day, month = first_part, second
        elif second > 12 or (language or "").startswith("en"):
            month, day = first_part, second  # the English edition writes month first
        else:
            day, month = first_part, second
    try:
        return datetime(year, month, day, tzinfo=UTC)
    except ValueError:
        return None


def _absolute(url: str | None) -> str | None:
    if not url:
        return None
    return urljoin(BASE_URL, url)


def _largest_source(img: HtmlElement) -> str | None:
    """The widest candidate of an ``img``'s srcset (DW's lazy images leave ``src`` empty), else ``src``."""
    best: tuple[int, str] | None = None
    for candidate in (img.get("srcset") or img.get("srcSet") or "").split(","):
        bits = candidate.split()
        if not bits:
            continue
        width = int(bits[1][:-1]) if len(bits) > 1 and bits[1].endswith("w") and bits[1][:-1].isdigit() else 0
        if best is None or width > best[0]:
            best = (width, bits[0])
    if best is not None:
        return best[1]
    return _absolute(img.get("src") or img.get("data-src"))


class _DWGeneration(Generation):
    """Shared plumbing of the two DW templates."""

    def parse(self, doc: HtmlElement, url: str) -> Article:
        family = DWFamily()
        return self.read(doc, url, _page_article_id(family, doc, url), family)

    def read(self, doc: HtmlElement, url: str, article_id: str, family: DWFamily) -> Article:
        raise NotImplementedError

    @staticmethod
    def skip_links(doc: HtmlElement, article: HtmlElement) -> Block | None:
        """The page's skip-link list: the first list of in-page anchors, outside the article (whose own table of
        contents may look the same)."""
        for lst in doc.body.iter("ol", "ul"):
            if _is_skip_list(lst) and article not in set(lst.iterancestors()):
                return block_from(BlockKind.CHROME, lst)
        return None


def _is_skip_list(lst: HtmlElement) -> bool:
    items = [li for li in lst if li.tag == "li"]
    return bool(items) and all(any((a.get("href") or "").startswith("#") for a in li.iter("a")) for li in items)


# --------------------------------------------------------------------------------------------------------------
# Current template (2022+)


class DWCurrent(_DWGeneration):
    """The React template: ``article > div.content-area`` with header, share bar, lead figure and ``div.rich-text``."""

    name: ClassVar[str] = "dw.current"

    ARTICLE = "article"
    CONTENT_AREA = "content-area"
    KICKER = "content-detail-kicker"  # data-tracking-name
    AUTHOR_DETAILS = "author-details"
    TIME_AREA = "time-area"
    TEASER = "teaser-text"
    SHARING = "sharing-icons-inline"  # data-tracking-name
    COPY_BUTTON = "copy-button-wrapper"
    BODY = "rich-text"
    COPYRIGHT = "copyright"
    SKIP_SECTION = "quick-item"  # the skip link that opens a section after the article
    TEASER_ITEM = "Teaser"  # data-tracking-name of one teaser in a related-content list

    @classmethod
    def matches(cls, doc: HtmlElement) -> bool:
        if _apollo_script(doc) is not None:
            return True
        return bool(_HAS_TRACKING_NAME(doc))

    def read(self, doc: HtmlElement, url: str, article_id: str, family: DWFamily) -> Article:
        state = _apollo_state(doc)
        numeric = article_id[2:]
        apollo = state.get(f"Article:{numeric}") if state else None
        ld = ld_object(doc, ARTICLE_TYPES)
        if state and not isinstance(apollo, dict) and not ld:
            raise NotAnArticleError("DW page carries no article of this id (section, topic or home page)", url=url)
        apollo = apollo if isinstance(apollo, dict) else {}

        article_el = next(doc.body.iter("article"), None)
        if article_el is None:
            raise NotAnArticleError("DW page has no <article> element (section, topic or home page)", url=url)
        area = _find_class(article_el, "div", self.CONTENT_AREA)
        if area is None:
            area = article_el
        header = next(area.iter("header"), None)
        headline_el = next((header if header is not None else area).iter("h1"), None)
        body_el = _find_class(area, "div", self.BODY)
        if headline_el is None or body_el is None:
            raise IncompletePageError("DW article lacks its headline or body (div.rich-text)", url=url)

        kicker = _find_tracking(header, self.KICKER) if header is not None else None
        byline = _find_class(header, "div", self.AUTHOR_DETAILS) if header is not None else None
        time_area = _find_class(header, "*", self.TIME_AREA) if header is not None else None
        teaser_el = _find_class(header, "p", self.TEASER) if header is not None else None
        sharing = _find_tracking(area, self.SHARING)
        copy_button = _find_class(sharing, "div", self.COPY_BUTTON) if sharing is not None else None
        lead_figure = self._lead_figure(area, body_el)

        blocks = present(
            [
                self.skip_links(doc, article_el),
                _block(BlockKind.CATEGORY, _unless_link_box(kicker)),
                _block(BlockKind.HEADLINE, headline_el),
                _block(BlockKind.BYLINE, _unless_link_box(byline)),
                _block(BlockKind.DATE, time_area),
                _block(BlockKind.TEASER, teaser_el),
                _block(BlockKind.SHORT_LINK, copy_button),
                _block(BlockKind.LEAD_IMAGE, lead_figure),
                *self._body(body_el),
                *self._skippable_sections(article_el),
            ]
        )
        if not any(b.kind in (BlockKind.PARAGRAPH, BlockKind.SUBHEADING) for b in blocks):
            raise IncompletePageError("DW article body is empty", url=url)

        ld_url = None
        main_entity = ld.get("mainEntityOfPage")
        if isinstance(main_entity, dict):
            ld_url = main_entity.get("@id")
        canonical = canonical_link(doc) or meta(doc, "og:url") or apollo.get("canonicalUrl") or ld_url or url
        language = family.language_of(canonical) or family.language_of(url) or doc.get("lang")

        published = (
            parse_time(ld.get("datePublished"))
            or _time_attr(area)
            or parse_time(apollo.get("firstPublicationDate"))
            or parse_time(meta(doc, "date"))
            or _visible_day(time_area, language)
        )
        modified = (
            parse_time(ld.get("dateModified"))
            or parse_time(apollo.get("lastModifiedDate"))
            or parse_time(apollo.get("lastPublicationDate"))
        )
        return Article(
            url=_strip_query(canonical),
            site=SITE,
            family=family.name,
            template=self.name,
            article_id=article_id,
            language=language,
            headline=clean(ld.get("headline")) or text_of(headline_el) or clean(apollo.get("title")),
            published=published,
            modified=modified,
            authors=ld_authors(ld) or _apollo_authors(state, apollo) or _dom_authors(byline),
            section=_section(kicker, apollo),
            tags=_apollo_topics(state, apollo),
            teaser=text_of(teaser_el) or clean(apollo.get("teaser")) or meta(doc, "description"),
            lead_image=self._lead_image(doc, lead_figure, state, apollo),
            short_link=_short_link(copy_button) or apollo.get("permaLinkUrl"),
            blocks=blocks,
        )

    @staticmethod
    def _lead_figure(area: HtmlElement, body_el: HtmlElement) -> HtmlElement | None:
        """The figure that stands between the share bar and the body, as a child of the content area."""
        for child in area:
            if child is body_el or body_el in set(child.iterdescendants()):
                return None
            if child.tag == "figure":
                return child
        return None

    @staticmethod
    def _skippable_sections(article_el: HtmlElement) -> Iterator[Block | None]:
        """What the reference prints of the skippable sections after the article ("More on ...", "Related topics").

        Each such section opens with a skip link (``a.quick-item`` to ``#post-<id>``: "Skip next section More on
        this topic"). Whether the reference prints that line, and the section's heading, depends only on its
        main-content rules (:mod:`monitor.sites._reference`): a ``related-*`` id, or a zone around the sections
        whose text is short and mostly links, drops everything; otherwise the skip line stands after the body,
        and the heading too where the teaser list is longer than the link-cluster limit. The teasers themselves
        never enter the archive, even where the reference would let a long one through."""
        memo: dict[HtmlElement, bool] = {}
        for section in _following(article_el, "section"):
            first = next((child for child in section if isinstance(child.tag, str)), None)
            if first is None or first.tag != "a" or not has_class_token(first, DWCurrent.SKIP_SECTION):
                continue
            if not reaches_text(section, memo):
                continue
            skip = [*left_out(section), *_teasers(section)]
            yield block_from(BlockKind.CHROME, section, skip=skip)

    def _body(self, body_el: HtmlElement) -> Iterator[Block | None]:
        dropped = set(_dropped(body_el))
        for child in body_el:
            tag = child.tag
            if not isinstance(tag, str) or child in dropped:
                continue
            kind = _body_kind(child)
            yield block_from(kind, child, skip=[*_dropped(child)])

    @staticmethod
    def _lead_image(
        doc: HtmlElement, figure: HtmlElement | None, state: dict[str, Any] | None, apollo: dict[str, Any]
    ) -> Image | None:
        url = meta(doc, "og:image")
        caption = credit = alt = None
        if figure is not None:
            img = next(figure.iter("img"), None)
            if img is not None:
                alt = clean(img.get("alt")) or None
                url = url or _largest_source(img)
            cap = next(figure.iter("figcaption"), None)
            if cap is not None:
                small = _find_class(cap, "small", DWCurrent.COPYRIGHT)
                credit_text = text_of(small) if small is not None else ""
                credit = CREDIT_LABEL.sub("", credit_text) or None
                full = text_of(cap)
                caption = (
                    clean(full[: len(full) - len(credit_text)] if credit_text and full.endswith(credit_text) else full)
                    or None
                )
        link = _deref(state, apollo.get("mainContentImageLink"))
        if link:
            image = _deref(state, link.get("target")) or {}
            caption = caption or clean(link.get("description")) or None
            alt = alt or clean(link.get("additionalInformation")) or None
            credit = credit or clean(image.get("licenserSupplement")) or None
            static = image.get("staticUrl")
            if not url and isinstance(static, str):
                url = static.replace("${formatId}", "6")
        if not (url or caption or credit or alt):
            return None
        return Image(url=url, caption=caption, credit=credit, alt=alt)


def _following(el: HtmlElement, tag: str) -> Iterator[HtmlElement]:
    """Elements ``tag`` after ``el`` in document order, outside it."""
    for node in (el, *el.iterancestors()):
        for sibling in node.itersiblings():
            if isinstance(sibling.tag, str):
                yield from sibling.iter(tag)


def _teasers(section: HtmlElement) -> list[HtmlElement]:
    return [
        el for el in section.iter() if isinstance(el.tag, str) and el.get("data-tracking-name") == DWCurrent.TEASER_ITEM
    ]


def _body_kind(el: HtmlElement) -> BlockKind:
    tag = el.tag
    if tag == "p":
        return BlockKind.PARAGRAPH
    if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
        return BlockKind.SUBHEADING
    if tag == "figure":
        return BlockKind.FIGURE
    if tag in ("ul", "ol"):
        return BlockKind.LIST
    if tag == "blockquote":
        return BlockKind.MEDIA if has_class_token(el, "embed") else BlockKind.QUOTE
    if tag in ("video", "audio", "iframe") or has_class_token(el, "embed") or has_class_token(el, "vjs-wrapper"):
        return BlockKind.MEDIA
    return BlockKind.PARAGRAPH


def _apollo_script(doc: HtmlElement) -> str | None:
    for script in doc.iter("script"):
        text: str | None = script.text
        if text and APOLLO_PREFIX in text[:200]:
            return text
    return None


def _apollo_state(doc: HtmlElement) -> dict[str, Any] | None:
    """DW's embedded GraphQL cache, parsed once; None when the page has none or it is malformed."""
    text = _apollo_script(doc)
    if text is None:
        return None
    start = text.find("{", text.find(APOLLO_PREFIX))
    if start < 0:
        return None
    try:
        state, _ = json.JSONDecoder().raw_decode(text, start)
    except ValueError:
        return None
    return state if isinstance(state, dict) else None


def _deref(state: dict[str, Any] | None, value: Any) -> dict[str, Any] | None:
    if isinstance(value, dict) and "__ref" in value:
        found = state.get(value["__ref"]) if state else None
        return found if isinstance(found, dict) else None
    return value if isinstance(value, dict) else None


def _apollo_authors(state: dict[str, Any] | None, apollo: dict[str, Any]) -> list[str]:
    names: list[str] = []
    for key, value in apollo.items():
        if not key.startswith("persons") or not isinstance(value, list):
            continue
        for ref in value:
            person = _deref(state, ref)
            name = clean(person.get("fullName")) if person else ""
            if name and name not in names:
                names.append(name)
    return names


def _apollo_topics(state: dict[str, Any] | None, apollo: dict[str, Any]) -> list[str]:
    topics: list[str] = []
    for ref in apollo.get("relatedAutoTopics") or []:
        topic = _deref(state, ref)
        name = clean(topic.get("name")) if topic else ""
        if name and name not in topics:
            topics.append(name)
    return topics


def _dom_authors(byline: HtmlElement | None) -> list[str]:
    if byline is None:
        return []
    names = [text_of(el) for el in byline.iter() if has_class_token(el, "author-link") or has_class_token(el, "author")]
    return [n for n in names if n]


def _section(kicker: HtmlElement | None, apollo: dict[str, Any]) -> str | None:
    focus = apollo.get("thematicFocusCategory")
    if isinstance(focus, dict) and clean(focus.get("name")):
        return clean(focus.get("name"))
    if kicker is not None:
        first = next((el for el in kicker if isinstance(el.tag, str)), None)
        return text_of(first) or None
    return None


def _short_link(el: HtmlElement | None) -> str | None:
    if el is None:
        return None
    match = SHORT_LINK.search(el.text_content())
    return match.group(0) if match else None


def _time_attr(root: HtmlElement) -> datetime | None:
    for el in root.iter("time"):
        found = parse_time(el.get("datetime"))
        if found:
            return found
    return None


def _visible_day(time_area: HtmlElement | None, language: str | None) -> datetime | None:
    if time_area is None:
        return None
    for el in time_area.iter("time"):
        found = _day(text_of(el), language)
        if found:
            return found
    return None


# --------------------------------------------------------------------------------------------------------------
# Legacy template (until 2022/23)


class DWLegacy(_DWGeneration):
    """The jQuery-era template: ``div#bodyContent > div.col3`` with ``h1``, ``p.intro`` and ``div.longText``."""

    name: ClassVar[str] = "dw.legacy"

    BODY_CONTENT = "bodyContent"  # id
    COLUMN = "col3"
    KICKER = "artikel"  # h4.artikel
    INTRO = "intro"
    PICTURE = "picBox"
    BODY = "longText"
    META_LIST = "smallList"
    GALLERY = "gallery"

    @classmethod
    def matches(cls, doc: HtmlElement) -> bool:
        return cls._column(doc) is not None

    @classmethod
    def _column(cls, doc: HtmlElement) -> HtmlElement | None:
        # A tag-filtered walk is several times faster than lxml's get_element_by_id (an XPath over every node).
        content = next((div for div in doc.iter("div") if div.get("id") == cls.BODY_CONTENT), None)
        if content is None:
            return None
        return next((c for c in content if isinstance(c.tag, str) and has_class_token(c, cls.COLUMN)), None)

    def read(self, doc: HtmlElement, url: str, article_id: str, family: DWFamily) -> Article:
        column = self._column(doc)
        assert column is not None  # matches() said so
        headline_el = next(column.iter("h1"), None)
        body_el = _find_class(column, "div", self.BODY)
        if headline_el is None:
            raise NotAnArticleError("DW page has no headline in div#bodyContent (section or home page)", url=url)
        if body_el is None:
            raise IncompletePageError("DW article lacks its body (div.longText)", url=url)
        intro = _find_class(column, "p", self.INTRO)
        kicker = _find_class(column, "h4", self.KICKER)
        lead = self._lead_picture(column, body_el)
        facts = self._facts(column)
        canonical = canonical_link(doc) or url
        language = family.language_of(canonical) or family.language_of(url) or doc.get("lang")

        author_line = facts.get("author")
        body_blocks = list(self._body(body_el))
        authors = (
            [a.strip() for a in re.split(r",|\s+(?:und|and|et|i|y)\s+", author_line) if a.strip()]
            if author_line
            else self._credit_authors(body_el)
        )
        date_text = facts.get("date")
        blocks = present(
            [
                self.skip_links(doc, column),
                _block(BlockKind.HEADLINE, headline_el),
                Block(BlockKind.BYLINE, author_line, 1, 1) if author_line else None,
                Block(BlockKind.DATE, date_text, 1, 1) if date_text else None,
                _block(BlockKind.TEASER, intro),
                Block(BlockKind.SHORT_LINK, facts["short_link"], 1, 1) if facts.get("short_link") else None,
                self._caption_block(BlockKind.LEAD_IMAGE, lead),
                *body_blocks,
            ]
        )
        if not any(b.kind in (BlockKind.PARAGRAPH, BlockKind.SUBHEADING, BlockKind.TEASER) for b in blocks):
            raise IncompletePageError("DW article has neither intro nor body text", url=url)
        return Article(
            url=_strip_query(canonical),
            site=SITE,
            family=family.name,
            template=self.name,
            article_id=article_id,
            language=language,
            headline=text_of(headline_el),
            published=_day(date_text, language) if date_text else _tracking_day(doc, "firstPublicationDate"),
            modified=_tracking_day(doc, "articleChangeDateShort"),
            authors=authors,
            section=text_of(kicker) or None,
            tags=[t.strip() for t in (meta(doc, "keywords") or "").split(",") if t.strip()],
            teaser=text_of(intro) or meta(doc, "description"),
            lead_image=self._image(lead),
            short_link=facts.get("short_link"),
            blocks=blocks,
        )

    def _lead_picture(self, column: HtmlElement, body_el: HtmlElement) -> HtmlElement | None:
        for el in column.iter("div"):
            if el is body_el:
                return None
            if has_class_token(el, self.PICTURE):
                return el
        return None

    @staticmethod
    def _facts(column: HtmlElement) -> dict[str, str]:
        """Date, author and permalink from ``ul.smallList``; the labels are localized, so values are recognised by
        their form (a date, a p.dw.com URL) and the author by standing right after the date with no links."""
        facts: dict[str, str] = {}
        lst = _find_class(column, "ul", DWLegacy.META_LIST)
        if lst is None:
            return facts
        previous_was_date = False
        for li in lst.iter("li"):
            value = _after_label(li)
            if DAY_DOT.match(value) and "date" not in facts:
                facts["date"] = value
                previous_was_date = True
                continue
            if SHORT_LINK.fullmatch(value):
                facts["short_link"] = value
            elif previous_was_date and value and next(li.iter("a"), None) is None:
                facts["author"] = value
            previous_was_date = False
        return facts

    def _body(self, body_el: HtmlElement) -> Iterator[Block]:
        for child in body_el:
            tag = child.tag
            if not isinstance(tag, str):
                continue
            if tag == "div":
                if has_class_token(child, self.PICTURE):
                    block = self._caption_block(BlockKind.FIGURE, child)
                    if block is not None:
                        yield block
                elif has_class_token(child, self.BODY):
                    yield from self._body(child)  # a nested longText holds galleries and sometimes prose
                continue  # galleries, video teasers, third-party embeds: not text
            if tag == "p" and (_is_cross_link(child) or _is_promo(child)):
                continue
            kind = BlockKind.SUBHEADING if tag == "p" and _is_whole_strong(child) else _body_kind(child)
            block = block_from(kind, child, skip=_dropped(child))
            if block is not None:
                yield block

    @staticmethod
    def _caption_block(kind: BlockKind, picture: HtmlElement | None) -> Block | None:
        """A legacy picture shows its caption paragraph (the alt text duplicates it or carries the credit)."""
        if picture is None:
            return None
        caption = next((p for p in picture.iter("p")), None)
        if caption is None:
            return None
        block = block_from(kind, caption)
        return Block(kind, block.text, 1, 1) if block is not None else None

    @staticmethod
    def _image(picture: HtmlElement | None) -> Image | None:
        if picture is None:
            return None
        img = next(picture.iter("img"), None)
        caption_el = next(picture.iter("p"), None)
        caption = text_of(caption_el) or None
        credit = alt = url = None
        if img is not None:
            alt = clean(img.get("alt")) or None
            url = _absolute(img.get("src"))
            match = CREDIT_IN_TITLE.match(clean(img.get("title") or img.get("alt")))
            if match:
                credit = clean(match.group("credit")) or None
        if not (url or caption or alt):
            return None
        return Image(url=url, caption=caption, credit=credit, alt=alt)

    @staticmethod
    def _credit_authors(body_el: HtmlElement) -> list[str]:
        """Old audio items name the author in a credit paragraph ("Auteur : Kossivi Tiassou")."""
        for p in body_el.iter("p"):
            match = CREDIT_LINE.match(text_of(p))
            if match:
                return [match.group("name")]
        return []


def _after_label(li: HtmlElement) -> str:
    """The value of a ``<li><strong>Label</strong> value</li>`` entry, white space collapsed."""
    label = next(li.iter("strong"), None)
    if label is None:
        return clean(li.text_content())
    parts = [label.tail or ""]
    for sibling in label.itersiblings():
        parts.append(sibling.text_content() if isinstance(sibling.tag, str) else "")
        parts.append(sibling.tail or "")
    return clean("".join(parts)).lstrip(":").strip()


def _is_cross_link(p: HtmlElement) -> bool:
    """``<p><em>Read more</em>: <a ...>...</a></p>``: an in-text pointer to another article, not prose."""
    children = [c for c in p if isinstance(c.tag, str)]
    if len(children) != 2 or children[0].tag not in ("em", "strong", "b", "i") or children[1].tag != "a":
        return False
    between = (p.text or "") + (children[0].tail or "") + (children[1].tail or "")
    return not between.strip(" \t\n\xa0:-–—")


def _is_promo(p: HtmlElement) -> bool:
    """A paragraph that is one link to DW's newsletter sign-up (appended to 2020 articles)."""
    children = [c for c in p if isinstance(c.tag, str)]
    if len(children) != 1 or children[0].tag != "a":
        return False
    outside = (p.text or "") + (children[0].tail or "")
    return not outside.strip() and "newsletter" in (children[0].get("href") or "").lower()


def _is_whole_strong(p: HtmlElement) -> bool:
    children = [c for c in p if isinstance(c.tag, str)]
    if len(children) != 1 or children[0].tag not in ("strong", "b"):
        return False
    return not ((p.text or "") + (children[0].tail or "")).strip(" \t\n\xa0")


_TRACKING_VALUE = r'{key}\s*:\s*"(\d{{8}})"'


def _tracking_day(doc: HtmlElement, key: str) -> datetime | None:
    """A day from the legacy tracking object (``firstPublicationDate: "20230428"``)."""
    pattern = re.compile(_TRACKING_VALUE.format(key=re.escape(key)))
    for script in doc.iter("script"):
        text = script.text or ""
        if "dwInitialTrackingInfo" not in text:
            continue
        match = pattern.search(text)
        if match:
            value = match.group(1)
            try:
                return datetime(int(value[:4]), int(value[4:6]), int(value[6:]), tzinfo=UTC)
            except ValueError:
                return None
    return None


# --------------------------------------------------------------------------------------------------------------
# The family


def _page_article_id(family: DWFamily, doc: HtmlElement, url: str) -> str:
    """The page's own article id (its canonical link wins over the URL it was fetched from, which may redirect)."""
    canonical = canonical_link(doc)
    article_id = (family.article_id(canonical) if canonical else None) or family.article_id(url)
    if article_id is None:
        raise NotAnArticleError("not a DW article (no /a-<id> in the URL or canonical link)", url=url)
    return article_id


class DWFamily(SiteFamily):
    """Deutsche Welle, every language edition, on www/m/amp.dw.com."""

    name: ClassVar[str] = "dw"
    #: Asked in this order; the legacy marker (an element id) is the cheaper test.
    generations: ClassVar[tuple[type[Generation], ...]] = (DWLegacy, DWCurrent)
    #: ``?maca=`` marks which feed a link came from.
    tracking_params: ClassVar[frozenset[str]] = frozenset({"maca"})

    def owns(self, url: str) -> bool:
        return (urlsplit(url).hostname or "").lower() in HOSTS

    def article_id(self, url: str) -> str | None:
        parts = urlsplit(url)
        if (parts.hostname or "").lower() not in HOSTS:
            return None
        match = ARTICLE_PATH.match(unquote(parts.path))
        return f"a-{match.group('id')}" if match else None

    def site_of(self, url: str) -> str:
        return SITE

    def language_of(self, url: str) -> str | None:
        match = ARTICLE_PATH.match(unquote(urlsplit(url).path))
        if match:
            return match.group("lang").lower()
        first = urlsplit(url).path.strip("/").split("/", 1)[0]
        return first.lower() or None

    def canonical_url(self, url: str) -> str:
        """dw.com is served as www.dw.com."""
        return www_for_bare_domain(url)

    def is_short_link(self, url: str) -> bool:
        """``p.dw.com/p/<code>``: a redirect to the article (printed on every page as its permalink)."""
        parts = urlsplit(url.strip())
        return (parts.hostname or "").lower() == SHORT_LINK_HOST and bool(SHORT_LINK_PATH.match(parts.path))

    def backfill_sitemaps(self, source: SourceSettings) -> list[str]:
        """The article sitemap of the source's edition, told by its sitemaps, sections or feeds."""
        for url in (*source.sitemaps, *source.sections, *source.feeds):
            found = edition_of(url)
            if found is not None:
                return [f"https://{source.site}/{found.prefix}/article-sitemap.xml"]
        raise ConfigError(f"source {source.name!r}: cannot tell its DW language from its sitemap or feed URLs; "
                          "set backfill_sitemaps")

    def check(self, html: str, doc: HtmlElement, url: str) -> None:
        _page_article_id(self, doc, url)

    def check_complete(self, html: str, url: str) -> None:
        if truncated(html, tail=16384, closers=("</html>", "</body>")):
            raise IncompletePageError("page ends before </body></html> (truncated)", url=url)

    def unknown_template(self, doc: HtmlElement) -> str:
        return "DW page matches neither the current nor the legacy template"


__all__ = ["EDITIONS", "DWCurrent", "DWEdition", "DWFamily", "DWLegacy", "edition", "edition_of"]

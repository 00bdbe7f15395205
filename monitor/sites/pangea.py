"""Pangea CMS: RFE/RL and its language services, VOA and its services, Current Time, Radio Farda, Polygraph ...

Every site on Pangea serves the same templates (class names, page layout, ``utag_data``), so one family covers them
all: a site is recognised by its host (built-in list plus ``[sources] pangea_hosts`` from the configuration), a page
by its markers (``/Content/responsive/RFE|VOA/...`` style sheets, ``utag_data``, ``pg-*`` body classes), and the
page type by the body class, one generation class per template (fundus style: selectors are class constants).

What the archive text holds and in which order is FORMAT.md's "Pangea sites" paragraph. Two chrome lines appear
"where the page shows one": the archive corpus was written by a producer that leaves out a chrome box whose link
text outweighs the rest of its text (more than 60 % of its UTF-8 bytes, see :func:`_link_heavy`). That is why an
English "Breaking News"/"USA" stands in the archive while "ВАЖЛИВО" with its "Назад Вперед" buttons, or a
Cyrillic/Arabic category link, does not; the same rule keeps our text byte-identical to the corpus.
"""

from __future__ import annotations

import contextlib
import html as htmllib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import urljoin, urlsplit, urlunsplit

from lxml.html import HtmlElement

from monitor.errors import IncompletePageError, NotAnArticleError, UnknownSiteError, UnknownTemplateError
from monitor.isotime import parse_iso_time
from monitor.model import Article, Block, BlockKind, Image
from monitor.render import block_from
from monitor.sites._common import (
    clean,
    first,
    has_class,
    has_class_token,
    ld_authors,
    ld_object,
    meta,
    present,
    select,
    text_of,
    truncated,
    www_for_bare_domain,
)
from monitor.sites.base import Generation, SiteFamily

if TYPE_CHECKING:
    from monitor.settings import SourceSettings

# --- hosts and URLs ----------------------------------------------------------------------------------------

#: Domains known to run on Pangea: a host matches itself and its subdomains (``rus.azattyq.org``,
#: ``gandhara.rferl.org``, ``learningenglish.voanews.com``). :data:`PANGEA_HOSTS` adds the host of every RFE/RL
#: service (:data:`RFERL_SERVICES`); configuration may add more.
_PANGEA_DOMAINS = frozenset(
    {
        # RFE/RL and its language services
        "rferl.org", "svoboda.org", "radiosvoboda.org", "svaboda.org", "azattyq.org", "azattyk.org",
        "azatutyun.am", "azadliq.org", "azathabar.com", "ozodi.org", "ozodlik.org", "radiofarda.com",
        "radiotavisupleba.ge", "slobodnaevropa.org", "slobodnaevropa.mk", "svobodnaevropa.bg", "europalibera.org",
        "evropaelire.org", "radiomarsho.com", "idelreal.org", "kavkazr.com", "krymr.com", "sibreal.org",
        "severreal.org", "currenttime.tv", "mashaalradio.com", "azadiradio.com", "polygraph.info",
        "factograph.info",
        # VOA and its language services
        "voanews.com", "darivoa.com", "pashtovoa.com", "voaindonesia.com", "voachinese.com", "voacantonese.com",
        "voatibetan.com", "voakorea.com", "voatiengviet.com", "voathai.com", "voakhmer.com", "voaafrique.com",
        "voaportugues.com", "voaswahili.com", "voahausa.com", "voasomali.com", "voaafaanoromoo.com",
        "voazimbabwe.com", "voandebele.com", "voashona.com", "voabambara.com", "voanoticias.com", "voabangla.com",
        "voaurdu.com", "voadeewanews.com", "amerikaninsesi.org", "amerikayidzayn.com", "amerikaovozi.com",
        "golos-ameriki.ru", "holosameryky.com", "glasamerike.net", "zeriamerikes.com", "radiyoyacuvoa.com",
        "martinoticias.com",
    }
)  # fmt: skip

_HOST_PREFIXES = ("www.", "m.", "amp.")
#: ``/a/<slug>/<id>.html``, ``/a/<id>.html``; AMP copies and further gallery pages (``/<id>/p1.html``) too.
_ARTICLE_PATH = re.compile(r"^(?:/amp)?/a/(?:[^/]+/)?(?P<id>\d+)(?:/p\d+)?\.html$")
#: An AMP copy of an article, ``/amp/<slug>/<id>.html``: its page is ``/a/<slug>/<id>.html``.
_AMP_PATH = re.compile(r"^/amp/(?P<rest>.+/\d+\.html)$")


def normalize_host(host: str) -> str:
    """Lower-case host without ``www.``/``m.``/``amp.``: the site half of an article key."""
    host = host.strip().lower().rstrip(".")
    for prefix in _HOST_PREFIXES:
        if host.startswith(prefix) and host.count(".") >= 2:
            return host[len(prefix) :]
    return host


def _host_of(url: str) -> str:
    return normalize_host(urlsplit(url.strip()).hostname or "")


def _article_id_of(url: str) -> str | None:
    found = _ARTICLE_PATH.match(urlsplit(url.strip()).path)
    return found.group("id") if found else None


# --- RFE/RL services (data) --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PangeaService:
    """One RFE/RL service on Pangea: where it lives and what its sitemaps are called.

    ``sitemap`` is the service's number in its chunk names (``sitemap_<n>_news.xml.gz``); ``languages`` are the
    ``news:language`` codes its Google News sitemap writes (the code it would write where that chunk was empty)."""

    host: str  # as the service serves itself, ``www.`` included
    name: str
    languages: tuple[str, ...]
    sitemap: int

    @property
    def index_sitemap(self) -> str:
        """Every chunk, monthly ones included: for backfills, not for polling."""
        return f"https://{self.host}/sitemap.xml"

    @property
    def news_sitemap(self) -> str:
        """The Google News chunk: the last two days, with language and headline."""
        return f"https://{self.host}/sitemap_{self.sitemap}_news.xml.gz"

    @property
    def latest_sitemap(self) -> str:
        """The rolling chunk of the latest articles, with lastmod."""
        return f"https://{self.host}/sitemap_{self.sitemap}_latest.xml.gz"

    @property
    def sections_sitemap(self) -> str:
        """Section and programme pages (no articles)."""
        return f"https://{self.host}/sitemap_{self.sitemap}_sections.xml.gz"


#: Every RFE/RL service on Pangea, as listed by ArchiveTeam's rferl-items (``rferlsites.txt``) on 2025-05-25, with
#: the sitemap numbers their indexes named then (tests/fixtures/sitemaps/pangea-services holds those sitemaps).
#: pressroom.rferl.org is on that list but runs WordPress, not Pangea: left out.
RFERL_SERVICES: tuple[PangeaService, ...] = (
    PangeaService("www.rferl.org", "RFE/RL", ("en",), 8),
    PangeaService("www.svoboda.org", "Radio Svoboda", ("ru",), 2),
    PangeaService("www.radiosvoboda.org", "Radio Svoboda (Ukraine)", ("uk",), 9),
    PangeaService("www.svaboda.org", "Radio Svaboda (Belarus)", ("be",), 11),
    PangeaService("www.currenttime.tv", "Current Time", ("ru",), 54),
    PangeaService("ru.krymr.com", "Krym.Realii", ("ru",), 47),
    PangeaService("ua.krymr.com", "Krym.Realii (Ukrainian)", ("uk",), 48),
    PangeaService("ktat.krymr.com", "Qırım.Aqiqat", ("tat",), 49),
    PangeaService("www.sibreal.org", "Sibir.Realii", ("ru",), 84),
    PangeaService("www.idelreal.org", "Idel.Realii", ("ru",), 65),
    PangeaService("www.severreal.org", "Sever.Realii", ("ru",), 89),
    PangeaService("www.kavkazr.com", "Kavkaz.Realii", ("ru",), 74),
    PangeaService("www.ekhokavkaza.com", "Ekho Kavkaza", ("ru",), 31),
    PangeaService("www.radiomarsho.com", "Radio Marsho", ("ce",), 32),
    PangeaService("www.azatliq.org", "Azatliq Radiosi", ("tt",), 12),
    PangeaService("www.azadliq.org", "Radio Azadliq", ("az",), 1),
    PangeaService("www.azattyq.org", "Radio Azattyq", ("kk",), 5),
    PangeaService("rus.azattyq.org", "Radio Azattyq (Russian)", ("ru",), 6),
    PangeaService("www.azattyk.org", "Radio Azattyk", ("ky",), 7),
    PangeaService("rus.azattyk.org", "Radio Azattyk (Russian)", ("ru",), 37),
    PangeaService("www.ozodi.org", "Radio Ozodi", ("tg",), 10),
    PangeaService("rus.ozodi.org", "Radio Ozodi (Russian)", ("ru",), 42),
    PangeaService("www.ozodlik.org", "Radio Ozodlik", ("uz",), 13),
    PangeaService("rus.ozodlik.org", "Radio Ozodlik (Russian)", ("ru",), 55),
    PangeaService("www.azathabar.com", "Radio Azatlyk", ("tk",), 14),
    PangeaService("rus.azathabar.com", "Radio Azatlyk (Russian)", ("ru",), 81),
    PangeaService("www.azatutyun.am", "Radio Azatutyun", ("hy",), 16),
    PangeaService("rus.azatutyun.am", "Radio Azatutyun (Russian)", ("ru",), 17),
    PangeaService("www.radiotavisupleba.ge", "Radio Tavisupleba", ("ka",), 20),
    PangeaService("www.radiofarda.com", "Radio Farda", ("fa",), 3),
    PangeaService("en.radiofarda.com", "Radio Farda (English)", ("en",), 82),
    PangeaService("da.azadiradio.com", "Radio Azadi (Dari)", ("fa-AF",), 22),
    PangeaService("pa.azadiradio.com", "Radio Azadi (Pashto)", ("ps",), 23),
    PangeaService("www.mashaalradio.com", "Radio Mashaal", ("ps",), 33),
    PangeaService("www.evropaelire.org", "Radio Evropa e Lirë", ("sq",), 4),
    PangeaService("www.slobodnaevropa.org", "Radio Slobodna Evropa", ("sh",), 18),
    PangeaService("www.slobodnaevropa.mk", "Radio Slobodna Evropa (North Macedonia)", ("mk",), 24),
    PangeaService("www.svobodnaevropa.bg", "Svobodna Evropa (Bulgaria)", ("bg",), 86),
    PangeaService("www.szabadeuropa.hu", "Szabad Európa (Hungary)", ("hu",), 90),
    PangeaService("romania.europalibera.org", "Europa Liberă România", ("ro",), 85),
    PangeaService("moldova.europalibera.org", "Europa Liberă Moldova", ("ro",), 15),
    PangeaService("www.votvot.tv", "Vot Tak", ("ru",), 92),
    PangeaService("showcase.pangea-cms.com", "Pangea CMS showcase", ("en",), 44),
)  # fmt: skip

#: Every host known to run on Pangea (a host matches itself and its subdomains).
PANGEA_HOSTS = _PANGEA_DOMAINS | frozenset(normalize_host(service.host) for service in RFERL_SERVICES)


def rferl_service(host: str) -> PangeaService | None:
    """The RFE/RL service at ``host`` (``www.`` optional), None for any other host."""
    wanted = normalize_host(host)
    return next((s for s in RFERL_SERVICES if normalize_host(s.host) == wanted), None)


# --- page markers ------------------------------------------------------------------------------------------

#: Body classes of Pangea pages that are not articles: home, section, author, search, error pages.
NOT_ARTICLE_CLASSES = frozenset(
    {"pg-home", "pg-section", "pg-404", "pg-error", "pg-search", "pg-author", "pg-archive", "pg-static"}
)
_PANGEA_CSS = re.compile(r"/Content/responsive/(?:RFE|VOA|OCB)/", re.IGNORECASE)
_UTAG = re.compile(r"\butag_data\s*=\s*\{(?P<body>.*?)\}\s*;", re.DOTALL)
_UTAG_FIELD = re.compile(r'(?P<key>\w+)\s*:\s*"(?P<value>(?:[^"\\]|\\.)*)"')


def body_classes(doc: HtmlElement) -> frozenset[str]:
    body = doc.find("body")
    return frozenset((body.get("class") or "").split()) if body is not None else frozenset()


def has_pangea_markers(doc: HtmlElement) -> bool:
    """The page was rendered by Pangea: its style sheet path, its analytics object, or its page-type classes."""
    for link in doc.iterfind(".//head/link"):
        if _PANGEA_CSS.search(link.get("href") or ""):
            return True
    if any(c.startswith("pg-") for c in body_classes(doc)):
        return True
    return utag_data(doc) != {}


def utag_data(doc: HtmlElement) -> dict[str, str]:
    """Pangea's analytics object (``var utag_data={entity:"RFE",pub_year:"2024",...}``) as plain strings."""
    for script in doc.iter("script"):
        source = script.text or ""
        if "utag_data" not in source:
            continue
        found = _UTAG.search(source)
        if not found:
            continue
        fields: dict[str, str] = {}
        for item in _UTAG_FIELD.finditer(found.group("body")):
            value = item.group("value")
            # Without a backslash (the pattern admits no bare quote) or a control character, the JSON string is
            # the value itself: decoding is only needed, and only asked, for escapes.
            if "\\" in value or not value.isprintable():
                with contextlib.suppress(ValueError):  # not valid JSON: the value as written
                    value = json.loads(f'"{value}"')
            fields[item.group("key")] = htmllib.unescape(value)
        return fields
    return {}


# --- reading helpers ---------------------------------------------------------------------------------------


_SPACE_RUN = re.compile(r"[ \t\n\r\f\v]+")


def _link_heavy(box: HtmlElement, limit: float = 0.6) -> bool:
    """True when link text makes up more than ``limit`` of the box's text, counted in UTF-8 bytes with white
    space runs collapsed: the corpus's producer leaves such chrome boxes out (see the module docstring)."""
    text = _SPACE_RUN.sub(" ", box.text_content()).encode()
    if not text:
        return False
    links = "".join(_SPACE_RUN.sub(" ", a.text_content()) for a in box.iter("a")).encode()
    return len(links) / len(text) > limit


def _hidden(el: HtmlElement) -> bool:
    for node in el.iterancestors():
        if "hidden" in (node.get("class") or "").split():
            return True
    return "hidden" in (el.get("class") or "").split() or el.get("hidden") is not None


# --- the generations ---------------------------------------------------------------------------------------


class PangeaPage(Generation):
    """What every Pangea page template shares: the chrome lines, the metadata sources, the body reader."""

    #: Body classes that must all be present for this generation (checked by :meth:`matches`).
    BODY_CLASSES: ClassVar[frozenset[str]] = frozenset()
    ANY_BODY_CLASS: ClassVar[frozenset[str]] = frozenset()

    # Chrome, in page order. Queries start from ids (``id()`` is an index look-up) and stop at the first match:
    # a whole-page ``//div[class]`` scan costs more than parsing the rest of the page.
    ACCESSIBILITY = f"/html/body/section/div[{has_class('sr-only')}]/h2"
    ACCESSIBILITY_ANYWHERE = f"/html/body/descendant::section[1]/div[{has_class('sr-only')}]/h2"
    BREAKING_BAR = f"/html/body/descendant::div[{has_class('c-hlights--breaking')}][1]"
    BREAKING_LABEL = f"descendant::span[{has_class('c-hlights__label')}][1]"
    CATEGORY = (
        f"id('content')/descendant::div[{has_class('col-category')}][1]/descendant::div[{has_class('category')}][1]"
    )
    # Article parts.
    HEADLINE = f"id('content')/descendant::div[{has_class('col-title')}][1]/descendant::h1[1]"
    LEAD = f"id('content')/descendant::div[{has_class('col-multimedia')}][1]"
    BODY = f"id('article-content')/div[{has_class('wsw')}]"
    COMMENTS_HEAD = f"id('comments')/descendant::h3[{has_class('section-head')}][1]"
    DETAILS = f"id('content')/descendant::div[{has_class('publishing-details')}][1]"
    PUBLISHED_TIME = f"{DETAILS}//time[@datetime]"
    BYLINE_LINKS = f"{DETAILS}//a[{has_class('links__item-link')}]"
    # Inside a region: what the archive leaves out.
    REGION_SKIP = (
        "descendant::*[self::audio or self::video"  # players' fallback content ("Download Adobe Flash Player")
        f" or (self::span and {has_class('dateline')})"  # the wire dateline goes to the database, not the text
        f" or {has_class('also-read')}"  # "see also" teaser boxes inside the body
        f" or {has_class('banner')} or {has_class('banner__a')}]"  # subscription banners
    )
    PLAYER = f".//div[{has_class('c-mmp')}]"
    #: The parts of a Pangea media player that the archive shows: title (poster alt), "please wait" spinner,
    #: the "no media source" message and the time read-out.
    PLAYER_SHOWN = (
        f"./*[{has_class('c-mmp__poster')}] | ./*[{has_class('c-spinner')}]"
        f" | .//div[{has_class('c-mmp__fallback-msg')}]"
        f" | ./div[{has_class('c-mmp__overlay--disabled')} and not({has_class('c-mmp__overlay--sharing')})"
        f" and not({has_class('c-mmp__overlay--settings')}) and not({has_class('c-mmp__overlay--title')})]"
        f" | .//div[{has_class('c-mmp__cpanel-progress-controls')}]"
    )

    @classmethod
    def matches(cls, doc: HtmlElement) -> bool:
        classes = body_classes(doc)
        return classes >= cls.BODY_CLASSES and (not cls.ANY_BODY_CLASS or bool(cls.ANY_BODY_CLASS & classes))

    # -- the article ----------------------------------------------------------------------------------------

    def parse(self, doc: HtmlElement, url: str) -> Article:
        headline_el = self.headline_element(doc)
        if headline_el is None:
            raise IncompletePageError(f"{self.name} page without a headline (truncated?)", url=url)
        headline = text_of(headline_el)
        if not headline:
            raise IncompletePageError(f"{self.name} page with an empty headline", url=url)
        blocks = self.chrome_blocks(doc)
        blocks += present([block_from(BlockKind.HEADLINE, headline_el)])
        blocks += self.content_blocks(doc, url)
        return self.metadata(doc, url, headline, blocks)

    def headline_element(self, doc: HtmlElement) -> HtmlElement | None:
        return first(doc, self.HEADLINE)

    def content_blocks(self, doc: HtmlElement, url: str) -> list[Block]:
        """Everything after the headline: lead media, body, trailing chrome."""
        raise NotImplementedError

    def chrome_blocks(self, doc: HtmlElement) -> list[Block]:
        blocks: list[Block] = []
        heading = first(doc, self.ACCESSIBILITY)
        if heading is None:
            heading = first(doc, self.ACCESSIBILITY_ANYWHERE)
        if heading is not None:
            blocks += present([block_from(BlockKind.CHROME, heading)])
        bar = first(doc, self.BREAKING_BAR)
        if bar is not None and not _hidden(bar) and not _link_heavy(bar):
            label = first(bar, self.BREAKING_LABEL)
            if label is not None:
                blocks += present([block_from(BlockKind.CHROME, label)])
        category = first(doc, self.CATEGORY)
        if category is not None and not _link_heavy(category):
            blocks += present([block_from(BlockKind.CATEGORY, category)])
        return blocks

    def comments_head(self, doc: HtmlElement) -> list[Block]:
        """The comment section's heading ("Форум"), which the archive keeps after the body where a page has one."""
        head = first(doc, self.COMMENTS_HEAD)
        return present([block_from(BlockKind.CHROME, head)]) if head is not None else []

    # -- regions --------------------------------------------------------------------------------------------

    def region_skip(self, region: HtmlElement) -> set[HtmlElement]:
        """Elements inside a region that contribute nothing: see REGION_SKIP and PLAYER_SHOWN."""
        skip = set(select(region, self.REGION_SKIP))
        players = select(region, self.PLAYER)
        if region.tag == "div" and has_class_token(region, "c-mmp"):
            players.append(region)
        for player in players:
            skip |= self.player_skip(player)
        return skip

    def player_skip(self, player: HtmlElement) -> set[HtmlElement]:
        shown = set(select(player, self.PLAYER_SHOWN))
        on_path: set[HtmlElement] = set()
        for part in shown:
            for ancestor in part.iterancestors():
                if ancestor is player:
                    break
                on_path.add(ancestor)
        skip: set[HtmlElement] = set()

        def walk(el: HtmlElement) -> None:
            for child in el:
                if not isinstance(child.tag, str) or child in shown:
                    continue
                if child in on_path:
                    walk(child)
                else:
                    skip.add(child)

        walk(player)
        return skip

    def region_blocks(self, region: HtmlElement, kind: BlockKind) -> list[Block]:
        """A region as one block (lead media, intro)."""
        kind = BlockKind.MEDIA if (has_class_token(region, "c-mmp") or select(region, self.PLAYER)) else kind
        return present([block_from(kind, region, skip=self.region_skip(region))])

    def body_blocks(self, body: HtmlElement) -> list[Block]:
        """The body's children as blocks in page order; loose inline content between them forms its own block."""
        skip = self.region_skip(body)
        if _loose_text(body):  # old articles: bare text and <br> in the body; one block keeps every word
            return present([block_from(BlockKind.PARAGRAPH, body, skip=skip)])
        blocks: list[Block] = []
        inline: list[HtmlElement] = []

        def flush() -> None:
            if inline:
                blocks.extend(present([block_from(BlockKind.PARAGRAPH, list(inline), skip=skip)]))
                inline.clear()

        for child in body:
            if not isinstance(child.tag, str) or child in skip:
                continue
            kind = _body_kind(child, self.PLAYER)
            if kind is None:
                inline.append(child)
                continue
            flush()
            blocks.extend(present([block_from(kind, child, skip=skip)]))
        flush()
        return blocks

    # -- metadata -------------------------------------------------------------------------------------------

    def metadata(self, doc: HtmlElement, url: str, headline: str, blocks: list[Block]) -> Article:
        ld = _news_object(doc)
        utag = utag_data(doc)
        canonical = _canonical_url(doc, url, ld)
        article_id = _article_id_of(canonical) or _article_id_of(url) or utag.get("article_uid") or ""
        if not article_id.isdigit():
            raise NotAnArticleError("no Pangea article id in the URL or the page", url=url)
        site_name = meta(doc, "og:site_name")
        return Article(
            url=canonical,
            site=_host_of(canonical),
            family=PangeaFamily.name,
            template=self.name,
            article_id=article_id,
            language=_language(doc, ld),
            headline=headline,
            published=self.published(doc, ld, utag),
            modified=parse_iso_time(_ld_str(ld, "dateModified")),
            authors=self.authors(doc, ld, site_name),
            section=_ld_str(ld, "articleSection") or text_of(first(doc, self.CATEGORY)) or utag.get("section"),
            tags=_tags(doc, ld),
            teaser=meta(doc, "description") or meta(doc, "og:description") or _ld_str(ld, "description"),
            lead_image=self.lead_image(doc, url, ld),
            blocks=blocks,
        )

    def published(self, doc: HtmlElement, ld: dict[str, object], utag: dict[str, str]) -> datetime | None:
        """JSON-LD first, then the page's ``time[datetime]``, then the analytics object's publication hour."""
        for value in (_ld_str(ld, "datePublished"), _ld_str(ld, "uploadDate")):
            parsed = parse_iso_time(value)
            if parsed:
                return parsed
        time_el = first(doc, self.PUBLISHED_TIME)
        parsed = parse_iso_time(time_el.get("datetime")) if time_el is not None else None
        if parsed:
            return parsed
        return _utag_time(utag)

    def authors(self, doc: HtmlElement, ld: dict[str, object], site_name: str | None) -> list[str]:
        """The byline as the page shows it; else JSON-LD authors that are people, not the outlet itself."""
        names = [text_of(a) for a in select(doc, self.BYLINE_LINKS)]
        if not names:
            names = [n for n in ld_authors(ld) if n != site_name]
        return list(dict.fromkeys(n for n in names if n))

    def lead_image(self, doc: HtmlElement, url: str, ld: dict[str, object]) -> Image | None:
        cover = first(doc, f"{self.LEAD}//div[{has_class('cover-media')}]")
        img = first(cover, ".//img") if cover is not None else None
        caption_el = first(cover, f".//figcaption//span[{has_class('caption')}]") if cover is not None else None
        src = None
        if img is not None:
            src = img.get("src") or img.get("data-src")
        image_url = meta(doc, "og:image") or _ld_image(ld) or (urljoin(url, src) if src else None)
        caption = text_of(caption_el) or None
        alt = clean(img.get("alt")) or None if img is not None else None
        if not (image_url or caption or alt):
            return None
        return Image(url=image_url, caption=caption, alt=alt)


_BODY_KINDS = {
    "p": BlockKind.PARAGRAPH,
    "h1": BlockKind.SUBHEADING, "h2": BlockKind.SUBHEADING, "h3": BlockKind.SUBHEADING,
    "h4": BlockKind.SUBHEADING, "h5": BlockKind.SUBHEADING, "h6": BlockKind.SUBHEADING,
    "ul": BlockKind.LIST, "ol": BlockKind.LIST,
    "blockquote": BlockKind.QUOTE,
    "figure": BlockKind.FIGURE,
    "table": BlockKind.PARAGRAPH, "pre": BlockKind.PARAGRAPH,
}  # fmt: skip


def _loose_text(body: HtmlElement) -> bool:
    """Text that stands directly in the body, outside any child element."""
    return bool((body.text or "").strip()) or any((child.tail or "").strip() for child in body)


def _body_kind(el: HtmlElement, player_xpath: str) -> BlockKind | None:
    """The block kind of a body child; None for inline content that joins its neighbours."""
    tag = el.tag.lower()
    if tag in _BODY_KINDS:
        return _BODY_KINDS[tag]
    if tag in ("div", "section", "aside", "center", "dl"):
        if select(el, player_xpath) or el.find(".//iframe") is not None or has_class_token(el, "externalMedia"):
            return BlockKind.MEDIA
        if el.find(".//figure") is not None or el.find(".//img") is not None:
            return BlockKind.FIGURE
        return BlockKind.PARAGRAPH
    return None


class PangeaArticle(PangeaPage):
    """Text article (``pg-article``): cover image or video, ``#article-content > .wsw`` body, comments head."""

    name = "pangea.article"
    BODY_CLASSES = frozenset({"pg-article"})

    def content_blocks(self, doc: HtmlElement, url: str) -> list[Block]:
        blocks: list[Block] = []
        lead = first(doc, self.LEAD)
        if lead is not None:
            blocks += self.region_blocks(lead, BlockKind.LEAD_IMAGE)
        body = first(doc, self.BODY)
        if body is None:
            raise IncompletePageError("article page without its body (#article-content .wsw)", url=url)
        blocks += self.body_blocks(body)
        return blocks + self.comments_head(doc)


class PangeaMedia(PangeaPage):
    """Video or audio page (``pg-media pg-video``/``pg-audio``): the player, its intro, the description."""

    name = "pangea.media"
    BODY_CLASSES = frozenset({"pg-media"})
    ANY_BODY_CLASS = frozenset({"pg-video", "pg-audio"})
    INTRO = f"{PangeaPage.LEAD}/descendant::div[{has_class('intro')}][1]"

    def content_blocks(self, doc: HtmlElement, url: str) -> list[Block]:
        player = first(doc, f"{self.LEAD}{self.PLAYER[1:]}")
        if player is None:
            raise IncompletePageError("media page without its player", url=url)
        blocks = self.region_blocks(player, BlockKind.MEDIA)
        intro = first(doc, self.INTRO)
        if intro is not None:
            blocks += self.region_blocks(intro, BlockKind.PARAGRAPH)
        body = first(doc, self.BODY)
        if body is not None:  # a short clip may have nothing beyond its intro
            blocks += self.body_blocks(body)
        return blocks + self.comments_head(doc)


class PangeaGallery(PangeaPage):
    """Photo gallery (``pg-media pg-photoblog``/``pg-gallery``): headline, intro and the "more" link.

    The archive format leaves the photos and their captions out (the corpus has none of them)."""

    name = "pangea.gallery"
    BODY_CLASSES = frozenset({"pg-media"})
    ANY_BODY_CLASS = frozenset({"pg-photoblog", "pg-gallery"})
    MORE_LINK = f"id('content')/descendant::p[{has_class('btn--load-more')}][1]"

    def content_blocks(self, doc: HtmlElement, url: str) -> list[Block]:
        body = first(doc, self.BODY)
        if body is None:
            raise IncompletePageError("gallery page without its intro (#article-content .wsw)", url=url)
        blocks = self.body_blocks(body)
        more = first(doc, self.MORE_LINK)
        if more is not None:
            blocks += present([block_from(BlockKind.CHROME, more)])
        return blocks + self.comments_head(doc)


class PangeaProgram(PangeaPage):
    """Legacy (2020) radio/TV programme page (``pg-media pg-prog``): programme headline, live player, intro.

    Built from its own regions: the programme header's tabs, the schedule and the episode teasers stay out."""

    name = "pangea.program"
    BODY_CLASSES = frozenset({"pg-prog"})
    HEADLINE = (
        f"id('content')/descendant::div[{has_class('col-title')}][1]//h1//span[{has_class('title')}]"
        f" | id('content')/descendant::h1[{has_class('title--program')}][1]"
    )
    INTRO = f"id('content')/descendant::div[{has_class('body-container')}][1]//div[{has_class('intro')}]"

    def content_blocks(self, doc: HtmlElement, url: str) -> list[Block]:
        blocks: list[Block] = []
        player = first(doc, f"{self.LEAD}{self.PLAYER[1:]}")
        if player is not None:
            blocks += self.region_blocks(player, BlockKind.MEDIA)
        intro = first(doc, self.INTRO)
        if intro is not None:
            blocks += self.region_blocks(intro, BlockKind.PARAGRAPH)
        return blocks


# --- fact-checks ---------------------------------------------------------------------------------------------


class PangeaFactCheck(PangeaPage):
    """Fact-check (``pg-fc``: polygraph.info, factograph.info, the services' fact-check desks): an article whose
    body is preceded by the claim under review and the verdict, both archived as body text.

    ``div.fc__body`` holds the statement (who made the claim: avatar alt and name; the claim quote in its own
    ``.wsw``) and the verdict (rating and one-line summary), in page order (a page reviewing several claims repeats
    the pair). The statement's source link is a citation, not text of the page's own: it stays out, as it does in
    the reference producer's output. The article body is the usual ``#article-content > .wsw`` (not the claim's
    ``.wsw``)."""

    name = "pangea.factcheck"
    BODY_CLASSES = frozenset({"pg-fc"})
    FACT_CHECK = f"id('content')/descendant::div[{has_class('fc__body')}][1]"
    STATEMENT_SOURCE = f"descendant::div[{has_class('statement-source')}]"

    def content_blocks(self, doc: HtmlElement, url: str) -> list[Block]:
        blocks: list[Block] = []
        lead = first(doc, self.LEAD)
        if lead is not None:
            blocks += self.region_blocks(lead, BlockKind.LEAD_IMAGE)
        fact_check = first(doc, self.FACT_CHECK)
        parts = [el for el in fact_check if isinstance(el.tag, str)] if fact_check is not None else []
        if not any(has_class_token(el, "statement") for el in parts):
            raise IncompletePageError("fact-check page without its claim (div.fc__body > div.statement)", url=url)
        for part in parts:
            if has_class_token(part, "statement"):
                skip = self.region_skip(part) | set(select(part, self.STATEMENT_SOURCE))
                blocks += present([block_from(BlockKind.QUOTE, part, skip=skip)])
            else:  # the verdict, and whatever else the desk puts beside the claim
                blocks += self.region_blocks(part, BlockKind.PARAGRAPH)
        body = first(doc, self.BODY)
        if body is None:
            raise IncompletePageError("fact-check page without its body (#article-content .wsw)", url=url)
        blocks += self.body_blocks(body)
        return blocks + self.comments_head(doc)

    def published(self, doc: HtmlElement, ld: dict[str, object], utag: dict[str, str]) -> datetime | None:
        """The page's ``time[datetime]`` first: a ClaimReview's ``datePublished`` is often the bare day."""
        time_el = first(doc, self.PUBLISHED_TIME)
        parsed = parse_iso_time(time_el.get("datetime")) if time_el is not None else None
        return parsed or super().published(doc, ld, utag)


# --- metadata readers --------------------------------------------------------------------------------------

_NEWS_TYPES = ("NewsArticle", "Article", "VideoObject", "AudioObject", "ClaimReview", "ReportageNewsArticle")


def _news_object(doc: HtmlElement) -> dict[str, object]:
    return ld_object(doc, _NEWS_TYPES)


def _ld_str(ld: dict[str, object], key: str) -> str | None:
    value = ld.get(key)
    return clean(value) or None if isinstance(value, str) else None


def _ld_image(ld: dict[str, object]) -> str | None:
    value = ld.get("image") or ld.get("thumbnailUrl")
    if isinstance(value, list) and value:
        value = value[0]
    if isinstance(value, dict):
        value = value.get("url")
    return value if isinstance(value, str) and value else None


def _tags(doc: HtmlElement, ld: dict[str, object]) -> list[str]:
    raw = _ld_str(ld, "keywords") or meta(doc, "keywords") or ""
    return list(dict.fromkeys(t for t in (clean(part) for part in raw.split(",")) if t))


def _language(doc: HtmlElement, ld: dict[str, object]) -> str | None:
    lang = clean(doc.get("lang"))
    return lang.lower() if lang else (_ld_str(ld, "inLanguage") or None)


def _canonical_url(doc: HtmlElement, url: str, ld: dict[str, object]) -> str:
    """The page's own URL for itself, when it names the same article on a Pangea site; else the URL we fetched.

    Cross-posted pages point ``rel=canonical`` at the sister site's copy (a Dari gallery at voaindonesia.com):
    that is another article with another id, so the page's ``og:url`` wins then. Without a usable one, the fetched
    URL less its tracking parameters."""
    wanted = _article_id_of(url)
    candidates: list[str | None] = [el.get("href") for el in select(doc, ".//head/link[@rel='canonical']")]
    candidates += [meta(doc, "og:url"), _ld_str(ld, "url")]
    for candidate in candidates:
        if not candidate:
            continue
        absolute = urljoin(url, candidate.strip())
        if not _owned(absolute, also=_host_of(url)):
            continue
        found = _article_id_of(absolute)
        if found and (wanted is None or found == wanted):
            return absolute
    from monitor.urls import canonical_url_for  # the URL rules ask the site families: not at import time

    return canonical_url_for(url, PangeaFamily())


def _owned(url: str, also: str) -> bool:
    """On the site we fetched from or on a built-in Pangea site (never a third-party host)."""
    host = _host_of(url)
    return host == also or any(host == h or host.endswith("." + h) for h in PANGEA_HOSTS)


def _utag_time(utag: dict[str, str]) -> datetime | None:
    try:
        return datetime(
            int(utag["pub_year"]),
            int(utag["pub_month"]),
            int(utag["pub_day"]),
            int(utag.get("pub_hour") or 0),
            int(utag.get("pub_minute") or 0),
            tzinfo=UTC,
        )
    except (KeyError, ValueError):
        return None


# --- the family --------------------------------------------------------------------------------------------


class PangeaFamily(SiteFamily):
    """Every site on the Pangea CMS, one parser per page template."""

    name = "pangea"
    generations = (PangeaArticle, PangeaMedia, PangeaGallery, PangeaProgram, PangeaFactCheck)
    accepts_extra_hosts = True

    def __init__(self, extra_hosts: Iterable[str] = ()) -> None:
        self.hosts = PANGEA_HOSTS | {normalize_host(h) for h in extra_hosts if h.strip()}

    def owns(self, url: str) -> bool:
        labels = _host_of(url).split(".")
        # The host, or a domain it is under: each of its dot-suffixes asked once (there are ~100 known domains).
        return bool(labels[0]) and any(".".join(labels[i:]) in self.hosts for i in range(len(labels)))

    def article_id(self, url: str) -> str | None:
        return _article_id_of(url) if self.owns(url) else None

    def site_of(self, url: str) -> str:
        if not self.owns(url):
            raise UnknownSiteError("not a Pangea site", url=url)
        return _host_of(url)

    def canonical_url(self, url: str) -> str:
        """An AMP copy's URL is the article's; a bare domain is served as ``www.``."""
        parts = urlsplit(url)
        amp = _AMP_PATH.match(parts.path)
        if amp:
            url = urlunsplit(parts._replace(path="/a/" + amp.group("rest")))
        return www_for_bare_domain(url)

    def backfill_sitemaps(self, source: SourceSettings) -> list[str]:
        """The site's sitemap index: every chunk, monthly ones included."""
        return [f"https://{source.site}/sitemap.xml"]

    def parse(self, html: str, url: str) -> Article:
        if not self.owns(url):
            raise UnknownSiteError("not a Pangea site", url=url)
        return super().parse(html, url)

    def check(self, html: str, doc: HtmlElement, url: str) -> None:
        if truncated(html, tail=4096):
            raise IncompletePageError("page ends before </html> (truncated)", url=url)
        not_article = sorted(body_classes(doc) & NOT_ARTICLE_CLASSES)
        if not_article:
            raise NotAnArticleError(f"Pangea {not_article[0][3:]} page, not an article", url=url)
        if not has_pangea_markers(doc):
            raise UnknownTemplateError("page carries no Pangea CMS markers", url=url)

    def unknown_template(self, doc: HtmlElement) -> str:
        page_types = " ".join(sorted(c for c in body_classes(doc) if c.startswith("pg-"))) or "none"
        return f"no Pangea parser for this page type (body classes: {page_types})"


__all__ = [
    "PANGEA_HOSTS",
    "RFERL_SERVICES",
    "PangeaArticle",
    "PangeaFactCheck",
    "PangeaFamily",
    "PangeaGallery",
    "PangeaMedia",
    "PangeaPage",
    "PangeaProgram",
    "PangeaService",
    "has_pangea_markers",
    "normalize_host",
    "rferl_service",
    "utag_data",
]

"""Pangea's hosts and URLs, and the RFE/RL services (data): which sites run on Pangea and where their sitemaps are."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from monitor.sites._common import www_for_bare_domain

#: The family's name: what Article.family says of every Pangea article.
FAMILY = "pangea"

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
AMP_PATH = re.compile(r"^/amp/(?P<rest>.+/\d+\.html)$")


def normalize_host(host: str) -> str:
    """Lower-case host without ``www.``/``m.``/``amp.``: the site half of an article key."""
    host = host.strip().lower().rstrip(".")
    for prefix in _HOST_PREFIXES:
        if host.startswith(prefix) and host.count(".") >= 2:
            return host[len(prefix) :]
    return host


def host_of(url: str) -> str:
    return normalize_host(urlsplit(url.strip()).hostname or "")


def article_id_of(url: str) -> str | None:
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


def canonical_rules(url: str) -> str:
    """Pangea's own URL rules: an AMP copy's URL is the article's; a bare domain is served as ``www.``."""
    if "/amp/" in url:
        parts = urlsplit(url)
        amp = AMP_PATH.match(parts.path)
        if amp:
            url = urlunsplit(parts._replace(path="/a/" + amp.group("rest")))
    return www_for_bare_domain(url)

"""Every RFE/RL service on Pangea, walked through its real sitemaps (index, latest, sections and Google News chunks
as ArchiveTeam saved them on 2025-05-25, tests/fixtures/sitemaps/pangea-services/<host>/): every host is a Pangea
site without configuration, the service table names the chunks its index lists, and discovery reads every chunk,
keeping each article once with the language and headline the news chunk gives it."""

from __future__ import annotations

import gzip
import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.discovery import discover_source, iter_sitemap
from monitor.errors import SourceError
from monitor.http import HttpClient
from monitor.settings import HttpSettings, SourceSettings
from monitor.sites import default_registry
from monitor.sites.pangea import RFERL_SERVICES, PangeaFamily, rferl_service
from tests._localsite import LocalSite

SERVICES = Path(__file__).parent / "fixtures" / "sitemaps" / "pangea-services"
HOSTS = sorted(p.name for p in SERVICES.iterdir() if p.is_dir())
NOT_PANGEA = {"pressroom.rferl.org"}  # on ArchiveTeam's RFE/RL list, but a WordPress site: its "sitemap" is HTML
SINCE = datetime(2000, 1, 1, tzinfo=UTC)
ARTICLE = re.compile(r"^https://(?:www\.)?(?P<host>[^/]+)/a/(?:[^/]+/)?(?P<id>\d+)\.html$")


def _chunks(host: str) -> dict[str, Path]:
    """The saved chunks of a host by kind ("news", "latest", "sections")."""
    found = {}
    for path in sorted((SERVICES / host).glob("sitemap_*_*.xml.gz")):
        found[path.name.removesuffix(".xml.gz").rsplit("_", 1)[1]] = path
    return found


def _locs(path: Path, tag: str = "loc") -> list[str]:
    return re.findall(rf"<{tag}>([^<]*)</{tag}>", gzip.decompress(path.read_bytes()).decode("utf-8"))


def test_the_fixtures_hold_all_44_hosts_and_the_service_table_names_each_pangea_one() -> None:
    assert len(HOSTS) == 44
    assert sorted(s.host for s in RFERL_SERVICES) == sorted(set(HOSTS) - NOT_PANGEA)
    assert len({s.host for s in RFERL_SERVICES}) == len(RFERL_SERVICES)


@pytest.mark.parametrize("host", HOSTS)
def test_every_host_is_pangea_without_configuration(host: str) -> None:
    registry = default_registry()  # no pangea_hosts: the built-in list alone
    assert isinstance(registry.family_for(f"https://{host}/"), PangeaFamily)
    assert registry.site_of_host(host) == host.removeprefix("www.")


@pytest.mark.parametrize("host", sorted(set(HOSTS) - NOT_PANGEA))
def test_the_index_lists_the_chunks_the_service_table_names(host: str) -> None:
    service = rferl_service(host)
    assert service is not None and rferl_service(host.removeprefix("www.")) is service
    index = list(iter_sitemap((SERVICES / host / "sitemap.xml").read_bytes(), service.index_sitemap))
    listed = {entry.loc for entry in index}
    assert all(entry.is_sitemap for entry in index)
    assert {service.chunk_sitemap(kind) for kind in ("news", "latest", "sections")} <= listed
    # What was saved beside the index is what the index lists (every chunk name carries the service's number).
    assert {f"https://{host}/{path.name}" for path in _chunks(host).values()} <= listed


def test_the_wordpress_pressroom_is_refused_as_a_sitemap() -> None:
    url = "https://pressroom.rferl.org/sitemap.xml"
    with pytest.raises(SourceError, match=re.escape(url)):
        list(iter_sitemap((SERVICES / "pressroom.rferl.org" / "sitemap.xml").read_bytes(), url))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSite]:
    root = tmp_path_factory.mktemp("pangea-services")
    for host in HOSTS:
        (root / host).mkdir()
        (root / host / "robots.txt").write_text("User-agent: *\nDisallow: /search\n")
        for path in (SERVICES / host).iterdir():
            (root / host / path.name).write_bytes(path.read_bytes())
    with LocalSite(root) as running:
        yield running


def test_discovery_reads_every_saved_chunk_of_every_service(site: LocalSite) -> None:
    registry = default_registry()
    headlines = 0
    with HttpClient(HttpSettings(host_map=site.host_map(), min_delay=0.0, retries=0)) as client:
        for service in RFERL_SERVICES:
            chunks = _chunks(service.host)
            order = [kind for kind in ("news", "latest", "sections") if kind in chunks]
            source = SourceSettings(name=service.host, site=service.host,
                                    sitemaps=[f"https://{service.host}/{chunks[kind].name}" for kind in order])
            result = discover_source(client, source, registry=registry, since=SINCE)
            assert result.errors == [], (service.host, result.errors)

            # Every article of the news and latest chunks once; the sections chunk adds none (it lists sections).
            wanted = {}
            for kind in ("news", "latest"):
                for loc in _locs(chunks[kind]) if kind in chunks else []:
                    wanted.setdefault(_key(loc), loc)
            assert sorted(result.keys) == sorted(wanted), service.host
            assert result.skipped >= len(_locs(chunks["sections"])) > 0

            # The news chunk's language and headline travel with the entry it yields.
            if "news" in chunks:
                news = gzip.decompress(chunks["news"].read_bytes()).decode("utf-8")
                told = {_key(loc): (language, html.unescape(title).split()) for loc, language, title in re.findall(
                    r"<loc>([^<]*)</loc>.*?<news:language>([^<]*)<.*?<news:title>([^<]*)<", news)}
                for key, entry in zip(result.keys, result.entries, strict=True):
                    if entry.source_url.endswith("_news.xml.gz"):
                        language, title = told[key]
                        assert entry.language == language and language in service.languages
                        assert entry.title and entry.title.split() == title
                        headlines += 1
                    else:
                        assert entry.language is None
    # About 1,060 real headlines, in the services' own languages and scripts.
    assert headlines > 1000



def _key(loc: str) -> str:
    found = ARTICLE.match(loc)
    assert found, loc
    return f"{found['host']}:{found['id']}"

"""Site families and their parsers, behind one entry point: :func:`parse_article`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from monitor.errors import UnknownSiteError
from monitor.model import Article
from monitor.sites._common import declared_url
from monitor.sites.base import Generation, SiteFamily


class SiteRegistry:
    """The site families the monitor knows, asked in order which one owns a URL."""

    def __init__(self, families: Iterable[SiteFamily]) -> None:
        self.families: tuple[SiteFamily, ...] = tuple(families)

    def family_for(self, url: str) -> SiteFamily:
        for family in self.families:
            if family.owns(url):
                return family
        raise UnknownSiteError("no site family knows this URL's host", url=url)

    def site_of_host(self, host: str) -> str | None:
        """The site half of the keys of a host's articles ("www.rferl.org" -> "rferl.org"): what the store files a
        configured source's articles under. None when no family knows the host."""
        home = f"https://{host}/"
        try:
            return self.family_for(home).site_of(home)
        except UnknownSiteError:
            return None

    def parse(self, html: str, url: str) -> Article:
        if not url.strip():  # a saved page whose address was not recorded: take the one it declares
            url = declared_url(html) or ""
            if not url:
                raise UnknownSiteError("no URL given and the page declares none (no <link rel=canonical>)")
        return self.family_for(url).parse(html, url)

    @property
    def generations(self) -> Sequence[type[Generation]]:
        return [g for family in self.families for g in family.generations]


def default_registry(extra_pangea_hosts: Iterable[str] = ()) -> SiteRegistry:
    """The families the monitor ships with; configuration may add Pangea hosts."""
    families: list[SiteFamily] = []
    try:  # the family modules land one by one; the registry holds whichever exist
        from monitor.sites.pangea import PangeaFamily

        families.append(PangeaFamily(extra_hosts=extra_pangea_hosts))
    except ImportError:  # pragma: no cover - transitional
        pass
    try:
        from monitor.sites.dw import DWFamily

        families.append(DWFamily())
    except ImportError:  # pragma: no cover - transitional
        pass
    return SiteRegistry(families)


def parse_article(html: str, url: str, *, registry: SiteRegistry | None = None) -> Article:
    """Parse a saved article page into an :class:`Article`; raises a ParseError subclass otherwise."""
    return (registry or default_registry()).parse(html, url)


__all__ = ["Generation", "SiteFamily", "SiteRegistry", "default_registry", "parse_article"]

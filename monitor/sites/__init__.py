"""Site families and their parsers, behind one entry point: :func:`parse_article`.

:data:`FAMILIES` registers the families the monitor ships with, one line each. They are imported when a registry is
first built, not when this package is (start-up time); a family module that fails to import fails loudly then.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Sequence
from functools import cache
from typing import TYPE_CHECKING, cast
from urllib.parse import urlsplit

from monitor.errors import UnknownSiteError
from monitor.sites._common import declared_url
from monitor.sites.base import Generation, SiteFamily, no_backfill_default

if TYPE_CHECKING:
    from monitor.model import Article
    from monitor.settings import SourceSettings

_HOSTS_REMEMBERED = 4096

#: The site families the monitor ships with (``module:class``), asked in this order which one owns a URL.
FAMILIES: tuple[str, ...] = (
    "monitor.sites.pangea:PangeaFamily",
    "monitor.sites.dw:DWFamily",
)


def family_classes(names: Sequence[str] = FAMILIES) -> tuple[type[SiteFamily], ...]:
    """The registered family classes, imported. A missing or broken module raises (ImportError), never drops out."""
    return _family_classes(tuple(names))


@cache
def _family_classes(names: tuple[str, ...]) -> tuple[type[SiteFamily], ...]:
    classes: list[type[SiteFamily]] = []
    for name in names:
        module_name, _, class_name = name.partition(":")
        found = getattr(importlib.import_module(module_name), class_name, None)
        if not (isinstance(found, type) and issubclass(found, SiteFamily)):
            raise TypeError(f"registered site family {name!r} is not a SiteFamily subclass")
        classes.append(found)
    return tuple(classes)


class SiteRegistry:
    """The site families the monitor knows, asked in order which one owns a URL."""

    def __init__(self, families: Iterable[SiteFamily]) -> None:
        self.families: tuple[SiteFamily, ...] = tuple(families)
        self._by_host: dict[str, SiteFamily | None] = {}  # owner_of_host's answers: a family's hosts do not change

    def family_for(self, url: str) -> SiteFamily:
        for family in self.families:
            if family.owns(url):
                return family
        raise UnknownSiteError("no site family knows this URL's host", url=url)

    def owner(self, url: str) -> SiteFamily | None:
        """The family that owns ``url``, None when none does."""
        return self.owner_of_host((urlsplit(url.strip()).hostname or "").lower())

    def owner_of_host(self, host: str) -> SiteFamily | None:
        """The family that owns ``host`` (lower case, without port), None when none does."""
        try:
            return self._by_host[host]
        except KeyError:
            pass
        found = next((family for family in self.families if family.owns_host(host)), None)
        if len(self._by_host) >= _HOSTS_REMEMBERED:  # links to other sites bring any number of hosts
            self._by_host.clear()
        self._by_host[host] = found
        return found

    def site_of_host(self, host: str) -> str | None:
        """The site half of the keys of a host's articles ("www.rferl.org" -> "rferl.org"): what the store files a
        configured source's articles under. None when no family knows the host."""
        home = f"https://{host}/"
        family = self.owner(home)
        return family.site_of(home) if family is not None else None

    def is_short_link(self, url: str) -> bool:
        return any(family.is_short_link(url) for family in self.families)

    def language_of(self, url: str) -> str | None:
        """The language an article URL names (DW: ``/en/...``), None when its family's URLs carry none."""
        family = self.owner(url)
        return family.language_of(url) if family is not None else None

    def backfill_sitemaps(self, source: SourceSettings) -> list[str]:
        """The sitemaps a backfill of ``source`` walks: its ``backfill_sitemaps``, else its family's default.
        Raises ConfigError when neither says."""
        if source.backfill_sitemaps:
            return list(source.backfill_sitemaps)
        family = self.owner(f"https://{source.site}/")
        if family is None:
            raise no_backfill_default(source)
        return family.backfill_sitemaps(source)

    def parse(self, html: str, url: str) -> Article:
        if not url.strip():  # a saved page whose address was not recorded: take the one it declares
            url = declared_url(html) or ""
            if not url:
                raise UnknownSiteError("no URL given and the page declares none (no <link rel=canonical>)")
        return self.family_for(url).parse(html, url)

    @property
    def generations(self) -> Sequence[type[Generation]]:
        return [g for family in self.families for g in family.generations]


def default_registry(extra_hosts: Iterable[str] = ()) -> SiteRegistry:
    """The registered families; ``extra_hosts`` (the configuration's ``[sources] pangea_hosts``) go to the family
    that accepts configured hosts."""
    extra = tuple(extra_hosts)
    return SiteRegistry(_with_hosts(cls, extra) if cls.accepts_extra_hosts else cls() for cls in family_classes())


def _with_hosts(cls: type[SiteFamily], hosts: tuple[str, ...]) -> SiteFamily:
    # The base class takes no arguments; a family that accepts_extra_hosts takes them (its documented contract).
    return cast("Callable[[tuple[str, ...]], SiteFamily]", cls)(hosts)


@cache
def builtin_registry() -> SiteRegistry:
    """The registered families without configured hosts: for URL rules asked without a registry at hand."""
    return default_registry()


def parse_article(html: str, url: str, *, registry: SiteRegistry | None = None) -> Article:
    """Parse a saved article page into an :class:`Article`; raises a ParseError subclass otherwise."""
    return (registry or default_registry()).parse(html, url)


__all__ = ["FAMILIES", "Generation", "SiteFamily", "SiteRegistry", "builtin_registry", "default_registry",
           "family_classes", "parse_article"]

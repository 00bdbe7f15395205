"""The one way the web pages, the Atom feeds, the JSON API and ``monitor rules test`` search the archive:
:class:`SearchService`.

The candidates of a query come from a :class:`CandidateSource` (:mod:`monitor.search.candidates`): by default the
search index (:class:`monitor.search.index.IndexCandidates`), which answers a parsed query and the filters with the
articles that may match (a superset), newest first; :class:`StoreScan` is the linear scan of every article the
filters select. Each candidate's latest archive text is then read and evaluated by the rule language
(:mod:`monitor.rules`) for the exact match and the highlights, so the results are the same whichever source gives
the candidates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import TYPE_CHECKING

from monitor.clock import Clock, utc_now
from monitor.errors import ArchiveError
from monitor.model import MatchedTerm, StoredArticle
from monitor.rules.document import Document
from monitor.rules.evaluate import evaluate
from monitor.rules.highlight import explained
from monitor.rules.query import Node, parse_query
from monitor.search.candidates import Candidate, CandidateSource, Database, SearchFilters
from monitor.search.index import IndexCandidates

if TYPE_CHECKING:
    from monitor.archive import Archive
    from monitor.rules.ruleset import Rule


@dataclass(frozen=True, slots=True)
class SearchHit:
    """A matching article, with the snippet to show (plain text; ``highlights`` are spans in it)."""

    candidate: Candidate
    snippet: str = ""
    highlights: tuple[tuple[int, int], ...] = ()
    terms: tuple[MatchedTerm, ...] = ()

    @property
    def article(self) -> StoredArticle:
        return self.candidate.article


@dataclass(frozen=True, slots=True)
class SearchPage:
    query: str
    filters: SearchFilters
    page: int  # 1-based, after bounding
    page_size: int
    hits: list[SearchHit]
    has_next: bool
    requested_page: int  # as asked; larger than ``page`` when it was bounded

    @property
    def bounded(self) -> bool:
        return self.requested_page != self.page


@dataclass(frozen=True, slots=True)
class Backtest:
    """A query over a date range: matches per day (every day of the range, zeros included) and the newest matches."""

    query: str
    filters: SearchFilters
    per_day: dict[date, int]
    hits: list[SearchHit]
    total: int
    scanned: int
    bounded: bool = False  # the range asked for was longer than the longest allowed, and was cut
    notes: list[str] = field(default_factory=list)


class SearchService:
    """Search, backtest and feeds over the archive with the rule language.

    ``candidates`` defaults to the search index; every candidate's latest text is evaluated here, so the index only
    narrows what is read: results, order and highlights are those of a linear scan (:class:`StoreScan`). ``clock``
    says which day is today (the backtest's default range).
    """

    def __init__(self, store: Database, archive: Archive, candidates: CandidateSource | None = None, *,
                 page_size: int = 20, max_page: int = 50, max_days: int = 366, clock: Clock = utc_now) -> None:
        self.store = store
        self.archive = archive
        self.clock = clock
        self.candidates = candidates if candidates is not None else IndexCandidates(store)
        self.page_size = page_size
        self.max_page = max_page
        self.max_days = max_days

    @staticmethod
    def parse(query: str) -> Node | None:
        """The parsed query (None for an empty one: every article); QuerySyntaxError names the column."""
        return parse_query(query) if query.strip() else None

    def search(self, query: str, filters: SearchFilters, page: int = 1) -> SearchPage:
        """One page of matches, newest first. A page past ``max_page`` is answered as ``max_page``."""
        node = self.parse(query)
        requested = max(1, page)
        page = min(requested, self.max_page)
        skip = (page - 1) * self.page_size
        hits: list[SearchHit] = []
        has_next = False
        for n, hit in enumerate(self.matches(node, filters)):
            if n < skip:
                continue
            if len(hits) == self.page_size:
                has_next = True
                break
            hits.append(hit)
        return SearchPage(query, filters, page, self.page_size, hits, has_next and page < self.max_page, requested)

    def matches(self, node: Node | None, filters: SearchFilters, *, rule: Rule | None = None,
                scanned: Callable[[], None] | None = None) -> Iterator[SearchHit]:
        """Every match, newest first; with ``rule``, only articles in the rule's scope (sites, languages,
        sections). ``scanned`` is called for every candidate looked at."""
        for candidate in self.candidates.candidates(node, filters):
            if scanned is not None:
                scanned()
            article = candidate.article
            if rule is not None and not rule.in_scope(article.site, article.language, candidate.section):
                continue
            if node is None:
                yield SearchHit(candidate)
                continue
            text = self.text(candidate)
            if text is None:
                continue
            doc = Document.from_archive_text(text, article.headline, site=article.site, language=article.language,
                                             section=candidate.section)
            found = evaluate(node, doc)
            if found is None:
                continue
            shown = explained(found, doc)
            yield SearchHit(candidate, shown.snippet, shown.highlights, shown.terms)

    def backtest(self, query: str, filters: SearchFilters, *, limit: int = 200, rule: Rule | None = None
                 ) -> Backtest:
        """Matches per day over the filters' range (default: the 30 days up to the clock's today; at most
        ``max_days``)."""
        node = self.parse(query)
        until = filters.until or self.clock().date()
        since = filters.since or until - timedelta(days=29)
        notes: list[str] = []
        if since > until:
            since, until = until, since
            notes.append("the dates were the wrong way round and were swapped")
        bounded = (until - since).days + 1 > self.max_days
        if bounded:
            since = until - timedelta(days=self.max_days - 1)
            notes.append(f"the range was cut to its last {self.max_days} days (from {since:%Y-%m-%d})")
        filters = replace(filters, since=since, until=until)
        per_day = {since + timedelta(days=n): 0 for n in range((until - since).days + 1)}
        hits: list[SearchHit] = []
        count = [0]

        def one() -> None:
            count[0] += 1

        total = 0
        for hit in self.matches(node, filters, rule=rule, scanned=one):
            day = hit.candidate.when.date()
            if day in per_day:
                per_day[day] += 1
            total += 1
            if len(hits) < limit:
                hits.append(hit)
        return Backtest(query, filters, per_day, hits, total, count[0], bounded, notes)

    def text(self, candidate: Candidate) -> str | None:
        """The candidate's latest archive text (None: its file is missing)."""
        if candidate.text_path is None:
            return None
        try:
            return self.archive.read_text(candidate.text_path)
        except ArchiveError:
            return None  # `monitor archive verify` reports missing files; a search skips them

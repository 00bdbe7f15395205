"""The one way the web pages, the Atom feeds, the JSON API and ``monitor rules test`` search the archive:
:class:`SearchService`.

The candidates of a query come from a :class:`CandidateSource`: by default the search index
(:class:`monitor.search.index.IndexCandidates`), which answers a parsed query and the filters with the articles that
may match (a superset), newest first; :class:`StoreScan` is the linear scan of every article the filters select.
Each candidate's latest archive text is then read and evaluated by the rule language (:mod:`monitor.rules`) for the
exact match and the highlights, so the results are the same whichever source gives the candidates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import and_, func, or_
from sqlalchemy import select as sa_select

from monitor.clock import Clock, utc_now
from monitor.errors import ArchiveError
from monitor.model import MatchedTerm, StoredArticle
from monitor.rules.document import Document
from monitor.rules.evaluate import evaluate
from monitor.rules.highlight import matched_terms, snippet
from monitor.rules.query import Node, parse_query
from monitor.search.schema import ARTICLES as _ARTICLES
from monitor.search.schema import REVISIONS as _REVISIONS
from monitor.search.schema import STORIES

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from monitor.archive import Archive
    from monitor.rules.ruleset import Rule
# An article's date: when it was published, else when it was first seen (undated pages exist). (Lower case: ruff
# takes capitals for a constant and would turn comparisons with it round.)
article_date = func.coalesce(_ARTICLES.c.published, _ARTICLES.c.first_seen)
_BATCH = 200


@dataclass(frozen=True, slots=True)
class SearchFilters:
    """What narrows a search besides the query. ``since`` and ``until`` are whole UTC days, both included."""

    site: str | None = None
    language: str | None = None
    section: str | None = None
    since: date | None = None
    until: date | None = None

    @property
    def start(self) -> datetime | None:
        return datetime.combine(self.since, time.min, UTC) if self.since else None

    @property
    def end(self) -> datetime | None:
        """The first instant after the range (``until`` is included)."""
        return datetime.combine(self.until + timedelta(days=1), time.min, UTC) if self.until else None


@dataclass(frozen=True, slots=True)
class Candidate:
    """A stored article a query may match, with what the search needs beyond :class:`StoredArticle`."""

    article: StoredArticle
    section: str | None
    text_path: str | None  # the latest revision's archive text

    @property
    def when(self) -> datetime:
        return self.article.when


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


class Database(Protocol):
    """What the search needs of the store: its engine. A :class:`~monitor.store.Store`, or the engine a read-only
    command opened without the store's ORM (:attr:`monitor.services.Opened.reader`)."""

    @property
    def engine(self) -> Engine: ...


class CandidateSource(Protocol):
    """Supplies the articles a query may match, newest first: the search index
    (:class:`~monitor.search.index.IndexCandidates`), or :class:`StoreScan` (every article the filters select)."""

    def candidates(self, node: Node | None, filters: SearchFilters) -> Iterator[Candidate]: ...


def candidate_select(filters: SearchFilters) -> tuple[Any, list[Any]]:
    """The select of candidate rows (an article, its story key, its latest text's path, its date as ``at``) and the
    conditions the filters put on it: what a linear scan and the index both narrow further."""
    latest = (sa_select(_REVISIONS.c.text_path).where(_REVISIONS.c.article_pk == _ARTICLES.c.id,
                                                      _REVISIONS.c.number == _ARTICLES.c.revision_count - 1)
              .scalar_subquery())
    base = (sa_select(*ARTICLE_COLUMNS, STORIES.c.key.label("story_key"), latest.label("text_path"),
                      article_date.label("at"))
            .select_from(_ARTICLES.outerjoin(STORIES, STORIES.c.id == _ARTICLES.c.story_id)))
    conditions: list[Any] = []
    if filters.site:
        conditions.append(_ARTICLES.c.site == filters.site)
    if filters.language:
        conditions.append(_ARTICLES.c.language == filters.language)
    if filters.section:
        conditions.append(_ARTICLES.c.section == filters.section)
    if filters.start:
        conditions.append(article_date >= filters.start)
    if filters.end:
        conditions.append(article_date < filters.end)
    return base, conditions


class StoreScan:
    """Every article the filters select, newest first, read from the database in batches (keyset paging, so an
    ingest running meanwhile neither repeats nor skips one). It ignores the query: the evaluator decides."""

    def __init__(self, store: Database, batch: int = _BATCH) -> None:
        self._store = store
        self._batch = batch

    def candidates(self, node: Node | None, filters: SearchFilters) -> Iterator[Candidate]:
        base, conditions = candidate_select(filters)
        after: tuple[datetime, int] | None = None
        while True:
            stmt = base.where(*conditions)
            if after is not None:
                at, pk = after
                stmt = stmt.where(or_(article_date < at, and_(article_date == at, _ARTICLES.c.id < pk)))
            stmt = stmt.order_by(article_date.desc(), _ARTICLES.c.id.desc()).limit(self._batch)
            with self._store.engine.connect() as connection:
                rows = connection.execute(stmt).all()
            for row in rows:
                yield candidate_from_row(row._mapping)
            if len(rows) < self._batch:
                return
            last = rows[-1]._mapping
            after = (last["at"], last["id"])


# What a Candidate is made of (the index's queries will select these too).
ARTICLE_COLUMNS = [_ARTICLES.c[name] for name in (
    "id", "key", "site", "article_id", "canonical_url", "url_hash", "folder", "headline", "language", "published",
    "first_seen", "last_seen", "revision_count", "section")]


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def candidate_from_row(data: Any) -> Candidate:
    """A Candidate from a row of ARTICLE_COLUMNS plus ``story_key`` and ``text_path`` (None: not read)."""
    first_seen = _utc(data["first_seen"])
    last_seen = _utc(data["last_seen"])
    assert first_seen is not None and last_seen is not None
    article = StoredArticle(
        pk=data["id"], key=data["key"], site=data["site"], article_id=data["article_id"],
        canonical_url=data["canonical_url"], url_hash=data["url_hash"], folder=data["folder"],
        headline=data["headline"], language=data["language"], published=_utc(data["published"]),
        first_seen=first_seen, last_seen=last_seen, revision_count=data["revision_count"],
        story_key=data["story_key"])
    return Candidate(article, data["section"], data["text_path"])


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
        if candidates is None:
            from monitor.search.index import IndexCandidates

            candidates = IndexCandidates(store)
        self.candidates = candidates
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
            doc = Document.from_fields(title=article.headline, body=text, site=article.site,
                                       language=article.language, section=candidate.section)
            found = evaluate(node, doc)
            if found is None:
                continue
            shown, spans = snippet(found, doc)
            yield SearchHit(candidate, shown, spans, matched_terms(found, doc))

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
